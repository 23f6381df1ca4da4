package syncer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options are the flags of one run; the same for every stage of `run all`.
type Options struct {
	NoPrompt   bool // never ask; unmatched tutorial records are only logged
	Debug      bool // list every change and per-page progress
	Plan       bool // work out and show the changes, write no bridge row
	JSON       bool // the caller prints the structured result; never ask
	SkipErrors bool // run all: carry on after a failed stage
	ForceGone  bool // mark records gone even when more than half disappeared
	PageSize   int  // records per Administrate page
}

// DefaultPageSize is the page size when none is given.
const DefaultPageSize = 100

// Runner runs stages. One Runner may serve many runs, one at a time or
// concurrently (each stage run takes its own advisory lock).
type Runner struct {
	Pool    *pgxpool.Pool
	Source  Source
	Creator Creator // nil: nothing can be created in Administrate
	// Out receives the human-readable report; nil discards it.
	Out io.Writer
	// In supplies the answer to the creation prompt.
	In io.Reader
	// Interactive says stdin and stdout are a terminal; prompting needs it.
	Interactive bool
	Logger      *slog.Logger
	Metrics     *Metrics // nil: no metrics
	// LockTimeout bounds the wait for another run of the same stage.
	LockTimeout time.Duration

	inOnce sync.Once
	in     *bufio.Reader
}

// runContext is what one run's stages share.
type runContext struct {
	r       *Runner
	opts    Options
	source  Source
	creator Creator
	out     io.Writer
	shared  *shared
	support map[string]supportAnswer
}

// shared carries data between the stages of one `run all`.
type shared struct {
	courseTemplates []CourseTemplate
}

type supportAnswer struct {
	ok  bool
	why string
}

func (r *Runner) newRunContext(opts Options) *runContext {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	out := r.Out
	if out == nil {
		out = io.Discard
	}
	return &runContext{r: r, opts: opts, source: r.Source, creator: r.Creator, out: out,
		shared: &shared{}, support: map[string]supportAnswer{}}
}

func (rc *runContext) printf(format string, args ...any) { fmt.Fprintf(rc.out, format, args...) }

func (rc *runContext) debugf(format string, args ...any) {
	if rc.opts.Debug {
		fmt.Fprintf(rc.out, format, args...)
	}
}

func (rc *runContext) paging(what string) Paging {
	return Paging{Size: rc.opts.PageSize, OnPage: func(n, total int) {
		rc.debugf("Fetched %d %s. Total so far: %d\n", n, what, total)
	}}
}

// mayPrompt reports whether the creation question may be asked.
func (rc *runContext) mayPrompt() bool {
	return rc.r.Interactive && !rc.opts.NoPrompt && !rc.opts.JSON && !rc.opts.Plan
}

// supports asks (once per run) whether Administrate offers a create operation.
func (rc *runContext) supports(ctx context.Context, op string) (bool, string) {
	if a, ok := rc.support[op]; ok {
		return a.ok, a.why
	}
	var a supportAnswer
	if rc.creator == nil {
		a = supportAnswer{why: "this syncer has no Administrate client that can create records"}
	} else if ok, err := rc.creator.Supports(ctx, op); err != nil {
		a = supportAnswer{why: fmt.Sprintf("could not check whether Administrate offers %s (%v)", op, err)}
	} else if !ok {
		a = supportAnswer{why: fmt.Sprintf("Administrate does not offer %s (see `syncer doctor`)", op)}
	} else {
		a = supportAnswer{ok: true}
	}
	rc.support[op] = a
	return a.ok, a.why
}

// announce says once why no question will be asked, when that is not obvious.
func (rc *runContext) announce() {
	if !rc.opts.NoPrompt && !rc.opts.JSON && !rc.opts.Plan && !rc.r.Interactive {
		rc.printf("not a terminal: behaving as --no-prompt\n")
	}
}

// RunStage runs one stage. The result is always returned; the error is
// non-nil when the stage did not succeed (a *StageError, or the context's).
func (r *Runner) RunStage(ctx context.Context, name string, opts Options) (*StageResult, error) {
	rc := r.newRunContext(opts)
	rc.announce()
	res := r.runStage(ctx, rc, name)
	if !res.OK() {
		return res, &StageError{Stage: name, Outcome: res.Outcome, Message: res.Message}
	}
	return res, nil
}

// RunAll runs every stage in order (FR-022), stopping at the first failure
// unless opts.SkipErrors. The error is non-nil when any stage failed.
func (r *Runner) RunAll(ctx context.Context, opts Options) (*AllResult, error) {
	rc := r.newRunContext(opts)
	start := time.Now()
	all := &AllResult{Stage: All, PlanOnly: opts.Plan, StartedAt: start.UTC(), Stages: []StageResult{}}
	runID, runErr := r.startRun(ctx, All, opts.Plan)
	all.RunID = runID
	rc.printf("=== Administrate sync: all stages ===\n")
	rc.announce()
	var failed []string
	for i, name := range Order {
		info := Infos[name]
		if len(failed) > 0 && !opts.SkipErrors {
			all.NotRun = append(all.NotRun, name)
			continue
		}
		if err := ctx.Err(); err != nil {
			all.NotRun = append(all.NotRun, name)
			continue
		}
		rc.printf("\n[%d/%d] %s\n", i+1, len(Order), info.Display)
		res := r.runStage(ctx, rc, name)
		all.Stages = append(all.Stages, *res)
		all.Totals = all.Totals.Add(res.Counts)
		all.RowsApplied += res.RowsApplied
		all.DBSeconds += res.DBSeconds
		if res.OK() {
			all.Succeeded++
			rc.printf("  ✓ %s: %s\n", info.Display, res.Counts.Line())
			continue
		}
		all.Failed++
		failed = append(failed, name)
		rc.printf("  ✗ %s: FAILED - %s\n", info.Display, res.Message)
		if !opts.SkipErrors {
			rc.printf("\nSync stopped after the %s failure; use --skip-errors to run the remaining stages anyway.\n", info.Display)
		}
	}
	all.DurationSeconds = time.Since(start).Seconds()
	all.Outcome = OutcomeOK
	if len(failed) > 0 {
		all.Outcome = OutcomeFailed
	}
	rc.printf("\n=== Sync complete ===\n")
	rc.printf("Total: %s\n", all.Totals.Line())
	rc.printf("Stages: %d succeeded, %d failed, %d not run, out of %d\n", all.Succeeded, all.Failed, len(all.NotRun), len(Order))
	if len(failed) > 0 {
		rc.printf("Failed: %s. Rerun them one at a time with --debug for details.\n", strings.Join(failed, ", "))
	}
	if runErr == nil {
		r.finishAll(ctx, runID, all)
	}
	r.Metrics.observeAll(all)
	if len(failed) > 0 {
		return all, &AllError{Failed: failed}
	}
	return all, nil
}

// runStage runs one stage: prerequisites, fetch, then match, plan and apply
// in one locked transaction, then report and the creation prompt.
func (r *Runner) runStage(ctx context.Context, rc *runContext, name string) *StageResult {
	st := newStage(name)
	info := st.info()
	start := time.Now()
	res := &StageResult{Stage: name, PlanOnly: rc.opts.Plan, StartedAt: start.UTC(),
		UnmatchedTutorial: []Record{}, UnmatchedAdministrate: []Record{}, Ambiguous: []Ambiguous{},
		Skipped: []Record{}, Errors: []string{}}
	log := r.logger().With("stage", name)
	defer func() {
		res.DurationSeconds = time.Since(start).Seconds()
		r.finishRun(ctx, res)
		r.Metrics.observe(res)
		log.Info("sync stage finished", "outcome", res.Outcome, "created", res.Counts.Created, "updated", res.Counts.Updated,
			"unchanged", res.Counts.Unchanged, "gone", res.Counts.Gone, "skipped", res.Counts.Skipped, "errors", res.Counts.Errors,
			"rows_applied", res.RowsApplied, "duration_seconds", res.DurationSeconds, "plan_only", res.PlanOnly)
	}()
	runID, err := r.startRun(ctx, name, rc.opts.Plan)
	if err != nil {
		return r.fail(rc, res, start, fmt.Errorf("record the run in admsync.sync_runs: %w", err))
	}
	res.RunID = runID

	if err := st.prerequisites(ctx, r.Pool); err != nil {
		return r.fail(rc, res, start, err)
	}
	rc.printf("Fetching %s...\n", info.Display)
	if err := st.fetch(ctx, rc); err != nil {
		return r.fail(rc, res, start, fmt.Errorf("Administrate could not be read, so no local row was changed: %w", err))
	}

	var sp *stagePlan
	var txStart time.Time
	err = r.inStageTx(ctx, rc, name, func(tx pgx.Tx) error {
		txStart = time.Now()
		var err error
		if sp, err = st.plan(ctx, tx, rc); err != nil {
			return err
		}
		if rc.opts.Plan {
			return nil // the caller rolls back
		}
		for _, tp := range sp.tables {
			if err := tp.apply(ctx, tx); err != nil {
				return err
			}
		}
		for _, pp := range sp.pairs {
			if err := pp.apply(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if !txStart.IsZero() {
		res.DBSeconds = time.Since(txStart).Seconds()
	}
	if err != nil {
		return r.fail(rc, res, start, err)
	}
	note := ""
	if sp.fetchedNote != "" {
		note = " (" + sp.fetchedNote + ")"
	}
	rc.printf("Fetched %d %s%s; %s\n", sp.fetched, info.Display, note, planLine(sp))
	fillResult(res, sp, rc.opts)
	r.report(rc, info, res, sp)
	if !rc.opts.Plan && len(sp.unmatchedForCreate) > 0 {
		if cs, ok := st.(creatingStage); ok {
			r.promptPhase(ctx, rc, cs, res, sp)
		}
	}
	res.Outcome = OutcomeOK
	if len(res.Errors) > 0 {
		res.Outcome = OutcomePartial
		res.Message = fmt.Sprintf("%d error(s); first: %s", len(res.Errors), res.Errors[0])
	}
	if rc.opts.Plan {
		rc.printf("%s (plan only, nothing written): %s\n", info.Display, res.Counts.Line())
	} else {
		rc.printf("Sync completed: %s\n", res.Counts.Line())
	}
	return res
}

func planLine(sp *stagePlan) string {
	w := 0
	for _, t := range sp.tables {
		w += t.writes()
	}
	for _, p := range sp.pairs {
		w += p.writes()
	}
	if w == 0 {
		return "nothing to change"
	}
	return fmt.Sprintf("%d row(s) to write", w)
}

func (r *Runner) fail(rc *runContext, res *StageResult, start time.Time, err error) *StageResult {
	res.Outcome = OutcomeFailed
	res.Message = err.Error()
	res.Errors = append(res.Errors, err.Error())
	res.Counts.Errors++
	rc.printf("Error: %s\n", err)
	return res
}

// inStageTx runs fn in a transaction holding the stage's advisory lock, so
// two runs of one stage never interleave: the second waits, then plans
// against what the first committed. A plan-only run reads a snapshot
// without the lock and always rolls back.
func (r *Runner) inStageTx(ctx context.Context, rc *runContext, name string, fn func(pgx.Tx) error) error {
	opts := pgx.TxOptions{}
	if rc.opts.Plan {
		opts = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	}
	tx, err := r.Pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if !rc.opts.Plan {
		if err := r.lockStage(ctx, rc, tx, name); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if rc.opts.Plan {
		return nil
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit %s: %w", name, err)
	}
	return nil
}

// lockKey is the advisory lock of a stage, namespaced so that other users of
// advisory locks in the same database do not collide with it.
const lockSQL = `hashtextextended('admsync.sync.' || $1, 0)`

func (r *Runner) lockStage(ctx context.Context, rc *runContext, tx pgx.Tx, name string) error {
	var got bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(`+lockSQL+`)`, name).Scan(&got); err != nil {
		return fmt.Errorf("lock stage %s: %w", name, err)
	}
	if got {
		return nil
	}
	rc.printf("Another run of %s is applying its changes; waiting for it to finish...\n", name)
	timeout := r.LockTimeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = '%dms'", timeout.Milliseconds())); err != nil {
		return fmt.Errorf("lock stage %s: %w", name, err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+lockSQL+`)`, name); err != nil {
		return fmt.Errorf("another run of %s held its lock for more than %s: %w", name, timeout, err)
	}
	_, err := tx.Exec(ctx, "SET LOCAL lock_timeout = 0")
	return err
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// fillResult turns the plan into the structured result.
func fillResult(res *StageResult, sp *stagePlan, opts Options) {
	res.Fetched = sp.fetched
	main := sp.tables[0]
	res.Counts = Counts{Created: len(main.creates), Updated: len(main.updates), Unchanged: main.unchanged,
		Gone: len(main.gone), Skipped: len(sp.skipped), Errors: len(sp.errors)}
	var blocked []string
	for i, t := range sp.tables {
		if !opts.Plan {
			res.RowsApplied += t.writes()
		}
		if t.goneBlocked != "" {
			blocked = append(blocked, fmt.Sprintf("%s: %s (%d row(s) kept)", t.t.name, t.goneBlocked, t.blockedGone))
		}
		if i > 0 {
			res.Mirrors = append(res.Mirrors, Mirror{Name: t.t.name, Counts: Counts{Created: len(t.creates),
				Updated: len(t.updates), Unchanged: t.unchanged, Gone: len(t.gone)}})
		}
	}
	for _, p := range sp.pairs {
		if !opts.Plan {
			res.RowsApplied += p.writes()
		}
		res.Mirrors = append(res.Mirrors, Mirror{Name: p.name, Counts: p.counts()})
	}
	res.GoneBlocked = strings.Join(blocked, "; ")
	res.Skipped = append(res.Skipped, sp.skipped...)
	res.Errors = append(res.Errors, sp.errors...)
	if m := sp.matched; m != nil {
		for _, it := range m.unmatchedTutorial {
			res.UnmatchedTutorial = append(res.UnmatchedTutorial, Record{ID: it.ID, Description: describeItem(it)})
		}
		for _, it := range m.unmatchedAdministrate {
			res.UnmatchedAdministrate = append(res.UnmatchedAdministrate, Record{ID: it.ID, Description: describeItem(it)})
		}
		for _, a := range m.ambiguous {
			res.Ambiguous = append(res.Ambiguous, describeAmbiguity(a))
		}
	}
	if opts.Plan || opts.Debug {
		for _, t := range sp.tables {
			for _, group := range [][]change{t.creates, t.updates, t.gone} {
				for _, c := range group {
					res.Changes = append(res.Changes, Change{Action: c.action, Table: t.t.name,
						ID: strings.Join(c.row.key, "/"), Description: sp.describe(c), Fields: c.fields})
				}
			}
		}
		for _, p := range sp.pairs {
			for _, k := range p.inserts {
				res.Changes = append(res.Changes, Change{Action: "create", Table: "adm.course_template_instructors", ID: k[0] + "/" + k[1]})
			}
			for _, k := range p.deletes {
				res.Changes = append(res.Changes, Change{Action: "delete", Table: "adm.course_template_instructors", ID: k[0] + "/" + k[1]})
			}
		}
	}
}

func describeItem(it item) string {
	if it.Note == "" {
		return it.Label
	}
	return it.Label + " — " + it.Note
}

func describeAmbiguity(a ambiguity) Ambiguous {
	out := Ambiguous{Key: strings.ReplaceAll(a.Key, "\x1f", " / "), Tutorial: []Record{}, Administrate: []Record{}}
	for _, t := range a.Tutorial {
		out.Tutorial = append(out.Tutorial, Record{ID: t.ID, Description: t.Label})
	}
	for _, x := range a.Administrate {
		out.Administrate = append(out.Administrate, Record{ID: x.ID, Description: x.Label})
	}
	var why []string
	if len(a.Tutorial) > 1 {
		why = append(why, fmt.Sprintf("%d tutorial records", len(a.Tutorial)))
	}
	if len(a.Administrate) > 1 {
		why = append(why, fmt.Sprintf("%d Administrate records", len(a.Administrate)))
	}
	out.Description = strings.Join(why, " and ") + " share this key; none is linked until the duplicates are resolved"
	return out
}
