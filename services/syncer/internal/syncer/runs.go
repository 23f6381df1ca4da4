package syncer

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// Every run is recorded in admsync.sync_runs (with its structured result) and
// its discrepancies in admsync.sync_discrepancies, so they can be inspected
// after the terminal output is gone.

// storedChanges bounds the change list kept in admsync.sync_runs.result.
const storedChanges = 1000

func (r *Runner) startRun(ctx context.Context, stage string, plan bool) (int64, error) {
	var id int64
	err := r.Pool.QueryRow(ctx, `INSERT INTO admsync.sync_runs (stage, plan_only) VALUES ($1, $2) RETURNING id`, stage, plan).Scan(&id)
	return id, err
}

// finishRun records the outcome; a failure to do so is logged, not fatal:
// the sync itself has already committed or failed.
func (r *Runner) finishRun(ctx context.Context, res *StageResult) {
	if res.RunID == 0 {
		return
	}
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
func (r *Runner) finishAll(ctx context.Context, id int64, all *AllResult) {
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
