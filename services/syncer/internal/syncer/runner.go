package syncer

import (
	"bufio"
	"bytes"
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
	// The events stage (events_stage.go): the sitting to read ("" = every
	// event), whether Administrate events with no bridge are adopted, which
	// side wins a conflict, and whether `run all` runs it after the others.
	Sitting    string
	Adopt      bool
	Conflicts  string
	WithEvents bool
	// PageConcurrency is how many pages of one list are in flight once its
	// total is known (0: DefaultPageConcurrency). The client's rate budget
	// still spaces the requests.
	PageConcurrency int
}

// DefaultPageSize is the page size when none is given.
const DefaultPageSize = 100

// DefaultPageConcurrency keeps a few pages in flight: enough to stay at the
// rate budget when each Administrate request takes longer than the budget's
// spacing (100 ms against 66 ms at 15 requests/s), few enough to be polite.
const DefaultPageConcurrency = 4

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
	owner   *owner
	// fetches are the reads `run all` started at once, by stage; nil for a
	// single stage, which reads after its prerequisites.
	fetches map[string]*fetchFuture
}

// shared carries data between the stages of one `run all`.
type shared struct {
	courseTemplates []CourseTemplate
	// ctFetch, in `run all`, is the course-templates read the prices stage
	// waits for and reuses.
	ctFetch *fetchFuture
	// planned holds, in a plan-only `run all`, each planned table as it would
	// stand after its stage, so that later stages plan against what earlier
	// ones would write (nothing is written).
	mu      sync.Mutex
	planned map[string][]stored
}

// plannedTable returns the planned rows of a table, if a stage planned it.
func (s *shared) plannedTable(name string) ([]stored, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, ok := s.planned[name]
	if !ok {
		return nil, false
	}
	return append([]stored(nil), rows...), true
}

// fetchFuture is a stage's read running ahead of its turn. Its report lines
// are kept until the stage runs, so stages never interleave their output.
type fetchFuture struct {
	done chan struct{}
	err  error
	out  bytes.Buffer
}

// wait waits for the read or ctx, prints what the read reported and returns its error.
func (f *fetchFuture) wait(ctx context.Context, rc *runContext) error {
	select {
	case <-f.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	rc.out.Write(f.out.Bytes()) //nolint:errcheck // report output
	f.out.Reset()
	return f.err
}

type supportAnswer struct {
	ok  bool
	why string
}

func (r *Runner) newRunContext(opts Options) *runContext {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.PageConcurrency <= 0 {
		opts.PageConcurrency = DefaultPageConcurrency
	}
	out := r.Out
	if out == nil {
		out = io.Discard
	}
	return &runContext{r: r, opts: opts, source: r.Source, creator: r.Creator, out: out,
		shared: &shared{planned: map[string][]stored{}}, support: map[string]supportAnswer{}}
}

func (rc *runContext) printf(format string, args ...any) { fmt.Fprintf(rc.out, format, args...) }

func (rc *runContext) debugf(format string, args ...any) {
	if rc.opts.Debug {
		fmt.Fprintf(rc.out, format, args...)
	}
}

// paging is how a stage pages one list; with --debug every page is reported.
func (rc *runContext) paging(what string) Paging {
	return Paging{Size: rc.opts.PageSize, Concurrency: rc.opts.PageConcurrency, OnPage: func(n, soFar int) {
		rc.debugf("  Fetched %d %s (%d so far)\n", n, what, soFar)
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
	rc.owner = r.newOwner(ctx)
	defer rc.owner.release()
	r.sweepAbandoned(ctx, rc)
	rc.announce()
	var res *StageResult
	if name == StageEvents {
		res = r.runEvents(ctx, rc)
	} else {
		res = r.runStage(ctx, rc, newStage(name))
	}
	if !res.OK() {
		return res, &StageError{Stage: name, Outcome: res.Outcome, Message: res.Message}
	}
	if res.Counts.Skipped > 0 {
		return res, &SkippedError{Skipped: res.Counts.Skipped, Stages: []string{name}}
	}
	return res, nil
}

// dependsOn lists, per stage, the stages whose rows it needs: it starts its
// transaction only after they finished.
var dependsOn = map[string][]string{
	StageVenues:               {StageLocations},
	StageCourseTemplates:      {StageCustomFields},
	StageCourseTemplatePrices: {StageCourseTemplates, StagePriceLevels},
}

// dependents lists, in order, the stages that need name directly or through another.
func dependents(name string) []string {
	var out []string
	needs := map[string]bool{name: true}
	for _, st := range Order {
		for _, d := range dependsOn[st] {
			if needs[d] && !needs[st] {
				needs[st] = true
				out = append(out, st)
			}
		}
	}
	return out
}

// stageRun is one stage of `run all`: its result (nil: not run) and, when
// stages run concurrently, its report until it is printed in stage order.
type stageRun struct {
	done chan struct{}
	res  *StageResult
	out  bytes.Buffer
}

// readsAfterTemplates wait for the course-templates read: that read and the
// writes it feeds (templates, then 30,000-odd prices) are the longest chain,
// so it takes the rate budget first and its writes overlap these reads.
var readsAfterTemplates = map[string]bool{StageLocations: true, StageVenues: true, StageInstructors: true}

// startFetches starts every stage's read at once, within the client's shared
// rate budget: the reads do not depend on each other (the prices stage reuses
// the course-templates read), only the writes do, and those run one
// transaction per stage in dependency order.
func (r *Runner) startFetches(ctx context.Context, rc *runContext, stages map[string]stage) (wait func()) {
	rc.fetches = map[string]*fetchFuture{}
	var wg sync.WaitGroup
	for _, name := range Order {
		f := &fetchFuture{done: make(chan struct{})}
		rc.fetches[name] = f
		if name == StageCourseTemplates {
			rc.shared.ctFetch = f
		}
	}
	for _, name := range Order {
		f, st := rc.fetches[name], stages[name]
		frc := *rc
		frc.out = &f.out
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(f.done)
			if readsAfterTemplates[name] {
				select {
				case <-rc.shared.ctFetch.done:
				case <-ctx.Done():
				}
			}
			f.err = st.fetch(ctx, &frc)
		}()
	}
	return wg.Wait
}

// RunAll runs every stage in dependency order; a failed stage stops the
// stages that depend on it unless opts.SkipErrors. The error is non-nil when any stage failed (an
// *AllError) or, every stage having completed, records were skipped (a
// *SkippedError, exit code 3).
func (r *Runner) RunAll(ctx context.Context, opts Options) (*AllResult, error) {
	rc := r.newRunContext(opts)
	rc.owner = r.newOwner(ctx)
	defer rc.owner.release()
	start := time.Now()
	all := &AllResult{Stage: All, PlanOnly: opts.Plan, StartedAt: start.UTC(), Stages: []StageResult{}}
	title := "=== Administrate sync: all stages ===\n"
	if opts.Plan {
		title = "=== Administrate sync plan: all stages (nothing is written) ===\n"
	}
	rc.printf("%s", title)
	r.sweepAbandoned(ctx, rc)
	runID, runErr := r.startRun(ctx, rc.owner, All, opts.Plan)
	all.RunID = runID
	rc.announce()
	stages := map[string]stage{}
	for _, name := range Order {
		stages[name] = newStage(name)
	}
	fctx, stopFetches := context.WithCancel(ctx)
	waitFetches := r.startFetches(fctx, rc, stages)
	defer waitFetches()
	defer stopFetches()
	// Without a question to ask, each stage runs as soon as the stages it
	// depends on are done (one transaction per stage, never before its
	// dependencies), its report held back and printed in stage order. With a
	// question, stages run one after another so each can ask.
	concurrent := !rc.mayPrompt()
	runs := map[string]*stageRun{}
	for _, name := range Order {
		runs[name] = &stageRun{done: make(chan struct{})}
	}
	// A failed stage stops the stages that depend on it, whatever the
	// timing; --skip-errors runs them anyway.
	blocked := func(name string) bool {
		if ctx.Err() != nil {
			return true
		}
		for _, d := range dependsOn[name] {
			if res := runs[d].res; !opts.SkipErrors && (res == nil || !res.OK()) {
				return true
			}
		}
		return false
	}
	execute := func(name string, src *runContext) {
		sr := runs[name]
		defer close(sr.done)
		for _, d := range dependsOn[name] {
			<-runs[d].done
		}
		if blocked(name) {
			return
		}
		sr.res = r.runStage(ctx, src, stages[name])
	}
	if concurrent {
		for _, name := range Order {
			src := *rc
			src.out = &runs[name].out
			go execute(name, &src)
		}
	}
	var failed, skipped []string
	for i, name := range Order {
		info := Infos[name]
		sr := runs[name]
		if !concurrent {
			if !blocked(name) {
				rc.printf("\n[%d/%d] %s\n", i+1, len(Order), info.Display)
			}
			execute(name, rc)
		} else {
			<-sr.done
			if sr.res != nil {
				rc.printf("\n[%d/%d] %s\n", i+1, len(Order), info.Display)
				rc.out.Write(sr.out.Bytes()) //nolint:errcheck // report output
			}
		}
		res := sr.res
		if res == nil {
			all.NotRun = append(all.NotRun, name)
			continue
		}
		all.Stages = append(all.Stages, *res)
		all.Totals = all.Totals.Add(res.Counts)
		all.RowsApplied += res.RowsApplied
		all.DBSeconds += res.DBSeconds
		if res.OK() {
			all.Succeeded++
			if res.Counts.Skipped > 0 {
				skipped = append(skipped, name)
				rc.printf("  ⚠ %s: completed with %d skipped record(s), listed above: %s\n", info.Display, res.Counts.Skipped, res.Counts.line(opts.Plan))
			} else {
				rc.printf("  ✓ %s: %s\n", info.Display, res.Counts.line(opts.Plan))
			}
			continue
		}
		all.Failed++
		failed = append(failed, name)
		rc.printf("  ✗ %s: FAILED - %s\n", info.Display, res.Message)
		if deps := dependents(name); !opts.SkipErrors && len(deps) > 0 {
			rc.printf("\nThe stages that need %s (%s) are not run; use --skip-errors to run them anyway.\n", info.Display, strings.Join(deps, ", "))
		}
	}
	if opts.WithEvents {
		r.runEventsInAll(ctx, rc, all, &failed, &skipped)
	}
	all.DurationSeconds = time.Since(start).Seconds()
	all.Outcome = OutcomeOK
	if len(failed) > 0 {
		all.Outcome = OutcomeFailed
	}
	if opts.Plan {
		rc.printf("\n=== Plan complete: nothing was written ===\n")
	} else {
		rc.printf("\n=== Sync complete ===\n")
	}
	rc.printf("Total: %s\n", all.Totals.line(opts.Plan))
	rc.printf("Stages: %d succeeded, %d failed, %d not run, out of %d\n", all.Succeeded, all.Failed, len(all.NotRun), len(Order))
	if len(failed) > 0 {
		rc.printf("Failed: %s. Rerun them one at a time with --debug for details.\n", strings.Join(failed, ", "))
	}
	if len(skipped) > 0 {
		rc.printf("Completed with %d skipped record(s) in %s (exit code 3); each is listed under its stage with the reason.\n",
			all.Totals.Skipped, strings.Join(skipped, ", "))
	}
	if runErr == nil {
		r.finishAll(ctx, rc.owner, runID, all)
	}
	r.Metrics.observeAll(all)
	if len(failed) > 0 {
		return all, &AllError{Failed: failed}
	}
	if len(skipped) > 0 {
		return all, &SkippedError{Skipped: all.Totals.Skipped, Stages: skipped}
	}
	return all, nil
}

// runStage runs one stage: prerequisites, fetch, then match, plan and apply
// in one locked transaction, then report and the creation prompt.
func (r *Runner) runStage(ctx context.Context, rc *runContext, st stage) *StageResult {
	info := st.info()
	name := info.Name
	start := time.Now()
	res := &StageResult{Stage: name, PlanOnly: rc.opts.Plan, StartedAt: start.UTC(),
		UnmatchedTutorial: []Record{}, UnmatchedAdministrate: []Record{}, Ambiguous: []Ambiguous{},
		Skipped: []Record{}, Errors: []string{}}
	log := r.logger().With("stage", name)
	defer func() {
		res.DurationSeconds = time.Since(start).Seconds()
		r.finishRun(ctx, rc.owner, res)
		r.Metrics.observe(res)
		log.Info("sync stage finished", "outcome", res.Outcome, "created", res.Counts.Created, "updated", res.Counts.Updated,
			"unchanged", res.Counts.Unchanged, "gone", res.Counts.Gone, "skipped", res.Counts.Skipped, "errors", res.Counts.Errors,
			"rows_applied", res.RowsApplied, "duration_seconds", res.DurationSeconds, "plan_only", res.PlanOnly)
	}()
	runID, err := r.startRun(ctx, rc.owner, name, rc.opts.Plan)
	if err != nil {
		return r.fail(rc, res, start, fmt.Errorf("record the run in admsync.sync_runs: %w", err))
	}
	res.RunID = runID

	if err := st.prerequisites(ctx, r.Pool, rc); err != nil {
		return r.fail(rc, res, start, err)
	}
	rc.printf("Fetching %s...\n", info.Display)
	fetch := func() error { return st.fetch(ctx, rc) }
	if f := rc.fetches[name]; f != nil {
		fetch = func() error { return f.wait(ctx, rc) }
	}
	if err := fetch(); err != nil {
		return r.fail(rc, res, start, fmt.Errorf("Administrate could not be read, so no local row was changed: %w", err))
	}

	var sp *stagePlan
	var gone []Gone
	var txStart time.Time
	err = r.inStageTx(ctx, rc, name, func(tx pgx.Tx) error {
		txStart = time.Now()
		var err error
		if sp, err = st.plan(ctx, tx, rc); err != nil {
			return err
		}
		noteGoneLinks(sp, info.Noun)
		if gone, err = describeGone(ctx, tx, sp, info.Noun); err != nil {
			return err
		}
		if rc.opts.Plan {
			rc.remember(sp)
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
	what := sp.fetchedWhat
	if what == "" {
		what = fmt.Sprintf("%d %s", sp.fetched, info.Display)
	}
	if sp.fetchedNote != "" {
		what += " (" + sp.fetchedNote + ")"
	}
	rc.printf("Fetched %s; %s\n", what, planLine(sp, rc.opts.Plan))
	fillResult(res, sp, rc.opts)
	res.Gone = gone
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
	switch {
	case rc.opts.Plan:
		rc.printf("Plan for %s (nothing written): %s\n", info.Display, res.Counts.line(true))
	case res.Counts.Skipped > 0 && res.OK():
		rc.printf("Sync completed with %d skipped record(s), listed above: %s\n", res.Counts.Skipped, res.Counts.Line())
	default:
		rc.printf("Sync completed: %s\n", res.Counts.Line())
	}
	return res
}

func planLine(sp *stagePlan, plan bool) string {
	w := 0
	for _, t := range sp.tables {
		w += t.writes()
	}
	for _, p := range sp.pairs {
		w += p.writes()
	}
	switch {
	case w == 0:
		return "nothing to change"
	case plan:
		return fmt.Sprintf("would write %d row(s)", w)
	default:
		return fmt.Sprintf("%d row(s) to write", w)
	}
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
						ID: strings.Join(c.row.key, "/"), Description: sp.description(c), Fields: c.fields})
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

// remember keeps, in a plan of all stages, how each planned table would
// stand, for the stages after it.
func (rc *runContext) remember(sp *stagePlan) {
	if rc.fetches == nil { // a single stage: nothing comes after it
		return
	}
	rc.shared.mu.Lock()
	defer rc.shared.mu.Unlock()
	for _, t := range sp.tables {
		rc.shared.planned[t.t.name] = t.after()
	}
}

// load reads t's stored rows, or in a plan of all stages the rows an earlier
// stage planned for it.
func (rc *runContext) load(ctx context.Context, tx pgx.Tx, t *table) ([]stored, error) {
	if planned, ok := rc.shared.plannedTable(t.name); ok {
		return planned, nil
	}
	return t.load(ctx, tx)
}
