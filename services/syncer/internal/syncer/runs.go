package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Every run is recorded in admsync.sync_runs (with its structured result) and
// its discrepancies in admsync.sync_discrepancies, so they can be inspected
// after the terminal output is gone.

// storedChanges bounds the change list kept in admsync.sync_runs.result.
const storedChanges = 1000

// A run row says `running` only while its owner lives. The owner holds a
// session advisory lock on the row's id, on one connection kept for the whole
// run; PostgreSQL drops it when the process dies (kill -9, OOM, lost node), so
// a `running` row whose lock is free has no owner left and is marked
// abandoned by the next run or `syncer status`.

// runLockSQL is the advisory lock key of run $1, namespaced like the stage locks.
const runLockSQL = `hashtextextended('admsync.sync.run.' || $1::bigint::text, 0)`

// owner is the connection holding the locks of the runs of one RunStage or
// RunAll call.
type owner struct {
	mu   sync.Mutex
	conn *pgxpool.Conn // nil: runs are recorded without an owner lock
}

func (r *Runner) newOwner(ctx context.Context) *owner {
	c, err := r.Pool.Acquire(ctx)
	if err != nil {
		// The run itself will fail on the database soon enough; recording it
		// without a lock only risks it being called abandoned.
		r.logger().Warn("no connection for the sync run lock", "error", err)
		return &owner{}
	}
	return &owner{conn: c}
}

func (o *owner) release() {
	if o != nil && o.conn != nil {
		o.conn.Release()
	}
}

// startRun records a run as running and takes its lock in the same statement,
// so no one can see the row before its lock is held.
func (r *Runner) startRun(ctx context.Context, o *owner, stage string, plan bool) (int64, error) {
	var id int64
	if o == nil || o.conn == nil {
		err := r.Pool.QueryRow(ctx, `INSERT INTO admsync.sync_runs (stage, plan_only) VALUES ($1, $2) RETURNING id`, stage, plan).Scan(&id)
		return id, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.conn.QueryRow(ctx, `WITH r AS (INSERT INTO admsync.sync_runs (stage, plan_only) VALUES ($1, $2) RETURNING id)
		SELECT r.id FROM r CROSS JOIN LATERAL (SELECT pg_advisory_lock(hashtextextended('admsync.sync.run.' || r.id::text, 0))) l`,
		stage, plan).Scan(&id)
	return id, err
}

// unlockRun lets go of a finished run's lock.
func (o *owner) unlockRun(ctx context.Context, id int64) {
	if o == nil || o.conn == nil || id == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+runLockSQL+`)`, id) //nolint:errcheck // released with the connection anyway
}

// AbandonedRun is a run whose process ended before it finished.
type AbandonedRun struct {
	ID        int64     `json:"id"`
	Stage     string    `json:"stage"`
	StartedAt time.Time `json:"started_at"`
}

// abandonedMessage is stored as the message of an abandoned run.
const abandonedMessage = "abandoned: the process running it ended before it finished (killed or lost); nothing of an unfinished stage was committed"

// MarkAbandoned marks every `running` run whose owner is gone as abandoned
// and returns them. A run whose lock is held is alive and left alone.
func MarkAbandoned(ctx context.Context, pool *pgxpool.Pool) ([]AbandonedRun, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("look for abandoned sync runs: %w", err)
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, `SELECT id, stage, started_at FROM admsync.sync_runs WHERE status = 'running' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("look for abandoned sync runs: %w", err)
	}
	cands, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AbandonedRun])
	if err != nil {
		return nil, fmt.Errorf("look for abandoned sync runs: %w", err)
	}
	var out []AbandonedRun
	for _, c := range cands {
		var free bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+runLockSQL+`)`, c.ID).Scan(&free); err != nil {
			return out, fmt.Errorf("check sync run %d: %w", c.ID, err)
		}
		if !free {
			continue // its owner is alive
		}
		tag, err := conn.Exec(ctx, `UPDATE admsync.sync_runs SET status = 'abandoned', finished_at = now(), message = $2
			WHERE id = $1 AND status = 'running'`, c.ID, abandonedMessage)
		_, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+runLockSQL+`)`, c.ID)
		if err != nil {
			return out, fmt.Errorf("mark sync run %d abandoned: %w", c.ID, err)
		}
		if uerr != nil {
			return out, fmt.Errorf("unlock sync run %d: %w", c.ID, uerr)
		}
		if tag.RowsAffected() == 1 {
			out = append(out, c)
		}
	}
	return out, nil
}

// sweepAbandoned marks abandoned runs before a new run and says so in the report.
func (r *Runner) sweepAbandoned(ctx context.Context, rc *runContext) {
	gone, err := MarkAbandoned(ctx, r.Pool)
	if err != nil {
		r.logger().Warn("mark abandoned sync runs", "error", err)
		return
	}
	for _, a := range gone {
		rc.printf("⚠ Earlier run %d (%s, started %s) ended without finishing: its process is gone; marked abandoned (see `syncer status`).\n",
			a.ID, a.Stage, a.StartedAt.Local().Format("2006-01-02 15:04:05"))
		r.logger().Warn("sync run abandoned", "run_id", a.ID, "stage", a.Stage, "started_at", a.StartedAt)
	}
}

// finishRun records the outcome; a failure to do so is logged, not fatal:
// the sync itself has already committed or failed.
func (r *Runner) finishRun(ctx context.Context, o *owner, res *StageResult) {
	if res.RunID == 0 {
		return
	}
	defer o.unlockRun(ctx, res.RunID)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	// The change list of a first run can run to tens of thousands of lines;
	// the stored copy keeps the first storedChanges of them.
	stored := *res
	if len(stored.Changes) > storedChanges {
		stored.Changes = stored.Changes[:storedChanges]
		stored.Truncated = true
	}
	body, err := json.Marshal(&stored)
	if err != nil {
		r.logger().Error("encode sync result", "stage", res.Stage, "error", err)
		return
	}
	status := "ok"
	if !res.OK() {
		status = "failed"
	}
	c := res.Counts
	err = pgx.BeginFunc(ctx, r.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE admsync.sync_runs SET finished_at = now(), status = $2, created = $3, updated = $4,
			unchanged = $5, gone = $6, skipped = $7, errors = $8, message = NULLIF($9, ''), result = $10 WHERE id = $1`,
			res.RunID, status, c.Created, c.Updated, c.Unchanged, c.Gone, c.Skipped, c.Errors, res.Message, body); err != nil {
			return err
		}
		var rows [][]any
		add := func(kind, id, desc string) { rows = append(rows, []any{res.RunID, kind, id, desc}) }
		for _, x := range res.UnmatchedTutorial {
			add("unmatched_tutorial", x.ID, x.Description)
		}
		for _, x := range res.UnmatchedAdministrate {
			add("unmatched_administrate", x.ID, x.Description)
		}
		for _, a := range res.Ambiguous {
			add("ambiguous", a.Key, a.Description)
		}
		for _, x := range res.Skipped {
			add("skipped", x.ID, x.Description)
		}
		for _, e := range res.Errors {
			add("error", res.Stage, e)
		}
		if len(rows) == 0 {
			return nil
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"admsync", "sync_discrepancies"},
			[]string{"sync_run_id", "kind", "identifier", "description"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		r.logger().Error("record sync result", "stage", res.Stage, "run_id", res.RunID, "error", err)
	}
}

// finishAll records the outcome of `run all` (its stages have their own rows).
func (r *Runner) finishAll(ctx context.Context, o *owner, id int64, all *AllResult) {
	defer o.unlockRun(ctx, id)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	summary := struct {
		*AllResult
		Stages []string `json:"stages"`
	}{AllResult: all}
	for _, s := range all.Stages {
		summary.Stages = append(summary.Stages, s.Stage+": "+s.Outcome)
	}
	body, _ := json.Marshal(summary)
	status, msg := "ok", ""
	if all.Outcome != OutcomeOK {
		status = "failed"
		for _, s := range all.Stages {
			if !s.OK() {
				msg += s.Stage + ": " + s.Message + "; "
			}
		}
	}
	c := all.Totals
	if _, err := r.Pool.Exec(ctx, `UPDATE admsync.sync_runs SET finished_at = now(), status = $2, created = $3, updated = $4,
		unchanged = $5, gone = $6, skipped = $7, errors = $8, message = NULLIF($9, ''), result = $10 WHERE id = $1`,
		id, status, c.Created, c.Updated, c.Unchanged, c.Gone, c.Skipped, c.Errors, msg, body); err != nil {
		r.logger().Error("record sync result", "stage", All, "run_id", id, "error", err)
	}
}

// RunRecord is one row of admsync.sync_runs, for `syncer status`.
type RunRecord struct {
	ID         int64      `json:"id"`
	Stage      string     `json:"stage"`
	Status     string     `json:"status"` // running, ok, failed, abandoned
	PlanOnly   bool       `json:"plan_only"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Counts     Counts     `json:"counts"`
	Message    string     `json:"message,omitempty"`
}

// RecentRuns returns the latest limit runs, newest first.
func RecentRuns(ctx context.Context, pool *pgxpool.Pool, limit int) ([]RunRecord, error) {
	rows, err := pool.Query(ctx, `SELECT id, stage, status, plan_only, started_at, finished_at,
		created, updated, unchanged, gone, skipped, errors, coalesce(message, '')
		FROM admsync.sync_runs ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read sync runs: %w", err)
	}
	defer rows.Close()
	var out []RunRecord
	for rows.Next() {
		var r RunRecord
		c := &r.Counts
		if err := rows.Scan(&r.ID, &r.Stage, &r.Status, &r.PlanOnly, &r.StartedAt, &r.FinishedAt,
			&c.Created, &c.Updated, &c.Unchanged, &c.Gone, &c.Skipped, &c.Errors, &r.Message); err != nil {
			return nil, fmt.Errorf("read sync runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
