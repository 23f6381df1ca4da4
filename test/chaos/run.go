package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
	"admsync/pkg/ctxtime"
	"admsync/pkg/sampledata"
	"admsync/test/harness"
)

// run is one scenario's installation and bookkeeping.
type run struct {
	cfg  Config
	res  *Result
	rng  *rand.Rand
	log  *logger
	dir  string
	st   *harness.Stack
	book *sampledata.Book
	// services by name, so they can be stopped before the final count.
	procs []*harness.Proc
	// supervised services are restarted when they exit by themselves, as
	// Kubernetes would (randomized rounds, cluster scenarios): a fault may
	// coincide with a start, and a service that refuses to start without
	// its broker is then restarted rather than left dead.
	supervised bool
	// natsMu serialises restarts of the broker.
	natsMu sync.Mutex
	// extraPublished counts messages a scenario published on
	// tutorial.event.created itself (poison), outside the outbox.
	extraPublished uint64
}

func (r *run) logf(format string, a ...any) { r.log.printf(format, a...) }

func (r *run) close() {
	if r.st != nil {
		r.st.Close()
	}
	if r.dir != "" && !r.cfg.Keep && r.res.OK() {
		_ = os.RemoveAll(r.dir)
	} else if r.dir != "" {
		r.logf("kept logs and workbooks in %s", r.dir)
	}
}

// setup shapes a scenario's installation.
type setup struct {
	serverURL string        // default Config.ServerURL
	natsChild bool          // nats-server as a child process (to SIGKILL it)
	faults    admsim.Faults // the simulator's faults from the start
	events    int           // default Config.Events
	// natsCluster runs a JetStream cluster of that many natsd children.
	natsCluster int
	// env is added to every service's environment.
	env []string
	// book, when set, is the workbook instead of a generated one (its
	// reference data is ref).
	book *sampledata.Book
	ref  *sampledata.ReferenceData
}

// up starts database, NATS and simulator, seeds both sides with the
// workbook's reference data and runs the real `syncer run all`, so the
// bridges the importer and the admwriter need exist exactly as in
// production.
func (r *run) up(ctx context.Context, s setup) error {
	if s.serverURL == "" {
		s.serverURL = r.cfg.ServerURL
	}
	if s.serverURL == r.cfg.PrivatePGURL {
		// Scenarios and rounds share the throw-away cluster: none restarts
		// it while another is being set up (the set-up is not under test).
		privatePG.RLock()
		defer privatePG.RUnlock()
	}
	if s.events == 0 {
		s.events = r.cfg.Events
	}
	dir, err := os.MkdirTemp("", "admsync-chaos-"+r.res.Name+"-")
	if err != nil {
		return err
	}
	r.dir = dir
	opts := harness.Options{ServerURL: s.serverURL, BinDir: r.cfg.BinDir, Dir: dir, RateLimit: r.cfg.Rate,
		SimFaults: s.faults, Keep: r.cfg.Keep, Log: r.logf, NATSCluster: s.natsCluster, Env: s.env}
	if s.natsChild || s.natsCluster > 1 {
		if r.cfg.NATSBin == "" {
			return errors.New("this scenario needs the natsd binary (--natsd)")
		}
		opts.NATSBin = r.cfg.NATSBin
	}
	st, err := harness.Start(ctx, opts)
	if err != nil {
		return err
	}
	r.st = st
	book, ref := s.book, s.ref
	if book == nil {
		book, ref = sampledata.Generate(sampledata.Options{Events: s.events, Seed: r.cfg.Seed})
	}
	r.book = book
	if err := st.SeedTutorial(ctx, ref); err != nil {
		return fmt.Errorf("seed tutorial tables: %w", err)
	}
	if err := admsimtest.SeedReference(st.Sim, ref); err != nil {
		return fmt.Errorf("seed simulator: %w", err)
	}
	if out, err := st.RunEnv(ctx, []string{"LOG_LEVEL=warn"}, "syncer", "run", "all", "--no-prompt"); err != nil {
		return fmt.Errorf("syncer run all: %w\n%s", err, out)
	}
	return nil
}

// spawn starts a long-running service and remembers it for the final stop.
func (r *run) spawn(name, bin string, env []string, args ...string) (*harness.Proc, error) {
	p, err := r.st.Spawn(name, bin, env, args...)
	if err != nil {
		return nil, err
	}
	if r.supervised {
		p.Supervise(time.Second)
	}
	r.procs = append(r.procs, p)
	return p, nil
}

// services starts the importer (outbox relay) and n admwriters.
func (r *run) services(writers int) (relay *harness.Proc, ws []*harness.Proc, err error) {
	if relay, err = r.spawn("importer", "importer", nil, "serve"); err != nil {
		return nil, nil, err
	}
	for i := range writers {
		name := "admwriter"
		if i > 0 {
			name = fmt.Sprintf("admwriter-%d", i+1)
		}
		w, err := r.spawn(name, "admwriter", nil, "serve")
		if err != nil {
			return nil, nil, err
		}
		ws = append(ws, w)
	}
	return relay, ws, nil
}

// upForKills brings the scenario up for an admwriter that is killed over
// and over, and returns that admwriter, with the importer beside it.
// Administrate's latency stretches each event over several calls' worth of
// time, so the kills land mid-event.
func (r *run) upForKills(ctx context.Context) (*harness.Proc, error) {
	if err := r.up(ctx, setup{faults: admsim.Faults{Latency: 40 * time.Millisecond, Jitter: 40 * time.Millisecond}}); err != nil {
		return nil, err
	}
	if _, err := r.spawn("importer", "importer", nil, "serve"); err != nil {
		return nil, err
	}
	return r.spawnAdmwriter("admwriter", "")
}

// spawnAdmwriter starts an admwriter of two workers named name; crashAt, if
// not "", is the failpoint at which it exits 137 (ADMWRITER_CRASH_AT). Two
// workers: each kill strands its in-flight messages until AckWait (60 s);
// with four, 23 crashes would strand more than MaxAckPending (64) and the
// consumer would stall for the last kills.
func (r *run) spawnAdmwriter(name, crashAt string) (*harness.Proc, error) {
	var env []string
	if crashAt != "" {
		env = []string{"ADMWRITER_CRASH_AT=" + crashAt}
	}
	return r.spawn(name, "admwriter", env, "serve", "--workers", "2")
}

// failpointRun runs an admwriter that exits at the failpoint crashAt and
// waits up to 90 s for it: hit reports that it exited 137 there. A run that
// does not reach the failpoint is stopped and noted; one that exits
// otherwise is a problem.
func (r *run) failpointRun(crashAt string) (hit bool, err error) {
	f, err := r.spawnAdmwriter("admwriter-"+crashAt, crashAt)
	if err != nil {
		return false, err
	}
	switch {
	case !f.Wait(90 * time.Second):
		f.Stop(30 * time.Second)
		r.res.notef("failpoint %s not reached", crashAt)
	case f.ExitCode() != 137:
		r.res.problemf("failpoint %s: exit status %d, want 137", crashAt, f.ExitCode())
	default:
		r.logf("failpoint %s: exited 137", crashAt)
		return true, nil
	}
	return false, nil
}

// upWith brings the stack up as s says and starts the importer (the outbox
// relay) and one admwriter.
func (r *run) upWith(ctx context.Context, s setup) (relay, writer *harness.Proc, err error) {
	if err := r.up(ctx, s); err != nil {
		return nil, nil, err
	}
	relay, ws, err := r.services(1)
	if err != nil {
		return nil, nil, err
	}
	return relay, ws[0], nil
}

// startInParts brings the stack up as s says, with the importer and one
// admwriter, splits the workbook into n parts and imports the first until
// the services are busy; the rest are the scenario's.
func (r *run) startInParts(ctx context.Context, s setup, n int) ([]*sampledata.Book, error) {
	if _, _, err := r.upWith(ctx, s); err != nil {
		return nil, err
	}
	parts := split(r.book, n)
	return parts, r.importUntilBusy(ctx, parts[0], "part-1", 3)
}

// importUntilBusy imports b as name and waits (a minute at most) until n
// events are done, so that the fault to come lands while the services are
// busy.
func (r *run) importUntilBusy(ctx context.Context, b *sampledata.Book, name string, n int) error {
	if _, err := r.importBook(ctx, b, name); err != nil {
		return err
	}
	return r.waitDone(ctx, n, time.Minute)
}

// writeBook stores a workbook in the scenario directory.
func (r *run) writeBook(b *sampledata.Book, name string) (string, error) {
	path := filepath.Join(r.dir, name+".xlsx")
	return path, b.WriteFile(path)
}

// importFile imports a workbook the scenarios expect to be accepted whole.
func (r *run) importFile(ctx context.Context, path string) (*harness.ImportSummary, error) {
	sum, out, err := r.st.Import(ctx, path)
	if err != nil {
		return nil, err
	}
	if sum.Rejected > 0 {
		return sum, fmt.Errorf("importer import %s rejected %d events: %s", filepath.Base(path), sum.Rejected, out)
	}
	return sum, nil
}

// importBook writes and imports a workbook.
func (r *run) importBook(ctx context.Context, b *sampledata.Book, name string) (*harness.ImportSummary, error) {
	path, err := r.writeBook(b, name)
	if err != nil {
		return nil, err
	}
	return r.importFile(ctx, path)
}

// waitDone waits until at least n events are done, so a fault lands while
// the admwriter is busy rather than before it started.
func (r *run) waitDone(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		p, err := r.st.Progress(ctx)
		if err == nil && p.Done >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: fewer than %d events done after %s", harness.ErrTimeout, n, timeout)
		}
		if !sleep(ctx, 100*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// tally counts the outcome, retrying for up to a minute: the PostgreSQL
// cluster is shared by the scenarios that run side by side, and another
// one's pg-restart fault can be under way just when this one counts (seen:
// "the database system is not yet accepting connections" after a clean
// drain). Counting only reads, so a retry changes nothing.
func (r *run) tally(ctx context.Context) (harness.Tally, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		t, err := r.st.Tally(ctx)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return t, err
		}
		r.logf("tally: %v; retrying (PostgreSQL may be restarting for another scenario)", err)
		if !sleep(ctx, time.Second) {
			return t, ctx.Err()
		}
	}
}

// finish waits for recovery, stops the services (nothing may change under
// the count) and applies the oracle.
func (r *run) finish(ctx context.Context, healed time.Time) error {
	_, derr := r.st.WaitDrained(ctx, r.cfg.Drain, func(p harness.Progress) {
		r.logf("recovering: %d of %d done, %d dead-lettered, %d unpublished", p.Done, p.Accepted, p.Failed, p.Unsent)
	})
	r.res.Recovery = time.Since(healed)
	if derr != nil {
		r.res.problemf("not recovered: %v", derr)
	}
	r.logf("drained %.1fs after the last fault", r.res.Recovery.Seconds())
	// A stale worker could still act after the drain; give it a moment, then
	// stop everything before counting.
	sleep(ctx, 2*time.Second)
	var wg sync.WaitGroup
	for _, p := range r.procs {
		wg.Add(1)
		go func() { defer wg.Done(); p.Stop(30 * time.Second) }()
	}
	wg.Wait()
	for _, p := range r.procs {
		if c := p.Crashes(); len(c) > 0 {
			r.res.notef("%s exited by itself %d× and was restarted (first: %s)", p.Name, len(c), c[0])
		}
	}
	if pending, ack, err := r.st.ConsumerBacklog(ctx); err == nil && pending+ack > 0 {
		// Redeliveries of events already done: the admwriter skips them.
		r.res.notef("consumer backlog %d+%d (done events awaiting redelivery)", pending, ack)
	}
	t, err := r.tally(ctx)
	if err != nil {
		return fmt.Errorf("tally: %w", err)
	}
	r.res.Events, r.res.Lost, r.res.Duplicated, r.res.Unexpected = t.Accepted, t.Lost, t.Duplicated, t.Unexpected
	r.res.DeadLettered, r.res.DLQ = t.DeadLettered, t.DLQ
	if t.DLQ != uint64(r.res.ExpectedDLQ) {
		r.deadLetterReasons(ctx)
	}
	if len(t.DuplicateKey) > 0 {
		r.res.problemf("duplicated at Administrate: %s", strings.Join(t.DuplicateKey, ", "))
	}
	if t.Accepted == 0 {
		r.res.problemf("no event was accepted: the scenario tested nothing")
	}
	if err := r.checkStream(ctx); err != nil {
		return err
	}
	return r.selfCheck(ctx, t)
}

// selfCheck proves the oracle is not blind, after the real count: a second
// copy of a created event must count as one duplicate, an event no import
// explains as one unexpected, and a done bridge put back to pending as one
// lost. The services are stopped, so the planted faults harm nothing; the
// bridge is restored.
func (r *run) selfCheck(ctx context.Context, real harness.Tally) error {
	evs := r.st.Sim.Events()
	if len(evs) == 0 {
		return nil
	}
	e := evs[0]
	for _, title := range []string{e.Title, "chaos self-check: explained by no import"} {
		if _, err := r.st.Sim.AddEvent(admsim.EventSeed{CourseTemplate: e.CourseTemplateID, Title: title, LearningMode: e.LearningMode}); err != nil {
			return fmt.Errorf("oracle self-check: %w", err)
		}
	}
	var id int64
	if err := r.st.Pool.QueryRow(ctx, `UPDATE adm.events SET state = 'pending'
		WHERE id = (SELECT min(id) FROM adm.events WHERE state = 'done') RETURNING id`).Scan(&id); err != nil {
		return fmt.Errorf("oracle self-check: %w", err)
	}
	t, err := r.st.Tally(ctx)
	if _, rerr := r.st.Pool.Exec(ctx, `UPDATE adm.events SET state = 'done' WHERE id = $1`, id); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("oracle self-check: %w", err)
	}
	if t.Duplicated != real.Duplicated+1 || t.Unexpected != real.Unexpected+1 || t.Lost != real.Lost+1 {
		r.res.problemf("oracle self-check: planted 1 duplicate, 1 unexpected, 1 lost; it counted %d, %d, %d",
			t.Duplicated-real.Duplicated, t.Unexpected-real.Unexpected, t.Lost-real.Lost)
	}
	return nil
}

// checkStream compares the messages JetStream stored on TUTORIAL_EVENTS
// with the outbox rows: the relay publishes each row with its id as
// Nats-Msg-Id, so however often it retried (killed after the PubAck and
// before marking the row), the stream must hold each row once.
func (r *run) checkStream(ctx context.Context) error {
	stored, err := r.st.StreamStored(ctx, "TUTORIAL_EVENTS")
	if err != nil {
		return fmt.Errorf("stream info: %w", err)
	}
	var rows uint64
	if err := r.st.Pool.QueryRow(ctx, `SELECT count(*) FROM admsync.outbox WHERE subject LIKE 'tutorial.event.%'`).Scan(&rows); err != nil {
		return err
	}
	switch want := rows + r.extraPublished; {
	case stored > want:
		r.res.problemf("TUTORIAL_EVENTS stored %d messages for %d outbox rows: deduplication by Nats-Msg-Id missed %d", stored, rows, stored-want)
	case stored < want:
		r.res.problemf("TUTORIAL_EVENTS stored only %d messages for %d outbox rows", stored, want)
	}
	return nil
}

// counts is what one import writes, for the all-or-nothing check.
type counts struct {
	Events, Sessions, ImportEvents, Outbox, Runs int
}

func (c counts) minus(o counts) counts {
	return counts{c.Events - o.Events, c.Sessions - o.Sessions, c.ImportEvents - o.ImportEvents, c.Outbox - o.Outbox, c.Runs - o.Runs}
}

func (r *run) counts(ctx context.Context) (counts, error) {
	var c counts
	var err error
	// After a PostgreSQL restart the pool's first attempts may still fail.
	for range 50 {
		err = r.st.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM acted.tutorial_events),
			(SELECT count(*) FROM acted.tutorial_sessions),
			(SELECT count(*) FROM admsync.import_events),
			(SELECT count(*) FROM admsync.outbox),
			(SELECT count(*) FROM admsync.import_runs)`).Scan(&c.Events, &c.Sessions, &c.ImportEvents, &c.Outbox, &c.Runs)
		if err == nil {
			return c, nil
		}
		if !sleep(ctx, 200*time.Millisecond) {
			break
		}
	}
	return c, err
}

// allOrNothing checks that a (possibly killed) import of a workbook wrote
// either nothing or the whole workbook: every event, session, import
// record and outbox message, and one import run.
func allOrNothing(delta counts, want fileCounts) (committed bool, ok bool) {
	switch delta {
	case counts{}:
		return false, true
	case counts{want.Events, want.Sessions, want.Events, want.Events, 1}:
		return true, true
	}
	return false, false
}

// sleep waits for d and reports whether it did, false when ctx ended the wait.
func sleep(ctx context.Context, d time.Duration) bool { return ctxtime.Sleep(ctx, d) == nil }

// jitter is a random duration in [lo, hi).
func (r *run) jitter(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.rng.Int64N(int64(hi-lo)))
}

// deadLetterReasons notes why messages were dead-lettered (the first few
// distinct reasons), so an unexpected dead letter explains itself in the
// table.
func (r *run) deadLetterReasons(ctx context.Context) {
	letters, err := r.st.DeadLetters(ctx)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	var reasons []string
	for _, l := range letters {
		reason := l.Header.Get("Admsync-Dlq-Reason")
		if len(reason) > 200 {
			reason = reason[:200] + "…"
		}
		if !seen[reason] && len(reasons) < 3 {
			seen[reason] = true
			reasons = append(reasons, fmt.Sprintf("%s: %q", l.Subject, reason))
		}
	}
	r.res.notef("dead letters: %s", strings.Join(reasons, "; "))
}

// privatePG orders restarts of the throw-away PostgreSQL cluster after the
// set-ups running on it.
var privatePG sync.RWMutex

// restartPG restarts the throw-away cluster (pg_ctl restart -m immediate).
func (r *run) restartPG(ctx context.Context) ([]byte, error) {
	privatePG.Lock()
	defer privatePG.Unlock()
	return exec.CommandContext(ctx, r.cfg.PGRestart[0], r.cfg.PGRestart[1:]...).CombinedOutput()
}
