package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"admsync/pkg/admsim"
)

// importLockKey mirrors the importer's advisory lock (package load): an
// import holds it for its whole write transaction, so a kill aimed while
// it is held lands inside that transaction.
const importLockKey int64 = 0x61646d73696d706f

func (r *run) importLockHeld(ctx context.Context) (bool, error) {
	var held bool
	err := r.st.Pool.QueryRow(ctx, `SELECT EXISTS (
		SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()
		  AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 1)`,
		importLockKey>>32, importLockKey&0xffffffff).Scan(&held)
	return held, err
}

// waitImportLock waits up to timeout for an import's write transaction.
func (r *run) waitImportLock(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if held, err := r.importLockHeld(ctx); err == nil && held {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// importerKill: R1. Each part of the workbook is imported by a real
// `importer import` that is SIGKILLed a random few milliseconds after its
// write transaction started; whatever the kill hit, the part must be in the
// database completely or not at all. Then every part is imported again:
// the committed ones must come back as duplicates only.
func importerKill(ctx context.Context, r *run) error {
	if _, _, err := r.upWith(ctx, setup{}); err != nil {
		return err
	}
	parts := split(r.book, 10)
	paths := make([]string, len(parts))
	committed := make([]bool, len(parts))
	rolledBack, late := 0, 0
	for i, part := range parts {
		path, err := r.writeBook(part, fmt.Sprintf("part-%02d", i+1))
		if err != nil {
			return err
		}
		paths[i] = path
		before, err := r.counts(ctx)
		if err != nil {
			return err
		}
		cmd := r.st.Command(ctx, []string{"LOG_LEVEL=warn"}, "importer", "import", path, "--json")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return err
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		inTx := false
		deadline := time.Now().Add(30 * time.Second)
	poll:
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				break poll
			default:
			}
			if held, err := r.importLockHeld(ctx); err == nil && held {
				inTx = true
				break
			}
			time.Sleep(time.Millisecond)
		}
		if inTx {
			sleep(ctx, r.jitter(0, 40*time.Millisecond))
		}
		_ = cmd.Process.Kill()
		<-exited
		after, err := r.counts(ctx)
		if err != nil {
			return err
		}
		want := countsOf(part)
		c, ok := allOrNothing(after.minus(before), want)
		if !ok {
			r.res.problemf("part %d half-written after kill -9: wrote %+v, want nothing or %+v", i+1, after.minus(before), want)
		}
		committed[i] = c
		switch {
		case c:
			late++
		case inTx:
			rolledBack++
		}
	}
	r.logf("%d kills inside the write transaction rolled back, %d landed after the commit", rolledBack, late)
	r.res.notef("%d kills mid-write rolled back whole, %d after commit", rolledBack, late)
	for i, path := range paths {
		sum, err := r.importFile(ctx, path)
		if err != nil {
			return err
		}
		want := countsOf(parts[i])
		switch {
		case committed[i] && (sum.Imported != 0 || sum.Duplicates != want.Events):
			r.res.problemf("re-import of committed part %d: imported %d, duplicates %d; want 0 and %d", i+1, sum.Imported, sum.Duplicates, want.Events)
		case !committed[i] && sum.Imported != want.Events:
			r.res.problemf("re-import of rolled-back part %d imported %d events, want %d", i+1, sum.Imported, want.Events)
		}
	}
	return r.finish(ctx, time.Now())
}

// relayKill: R2. Imports keep adding outbox rows while the process running
// the relay (`importer serve`) is SIGKILLed 20 times; a relay killed after
// a PubAck and before marking its row republishes it, and the stream's
// deduplication window must absorb that.
func relayKill(ctx context.Context, r *run) error {
	relay, _, err := r.upWith(ctx, setup{})
	if err != nil {
		return err
	}
	parts := split(r.book, 20)
	imported := make(chan error, 1)
	go func() {
		for i, p := range parts {
			if _, err := r.importBook(ctx, p, fmt.Sprintf("part-%02d", i+1)); err != nil {
				imported <- err
				return
			}
			sleep(ctx, r.jitter(0, 300*time.Millisecond))
		}
		imported <- nil
	}()
	backlog := 0
	for range 20 {
		sleep(ctx, r.jitter(200*time.Millisecond, time.Second))
		// The relay drains a part in milliseconds: aim the kill at the moment
		// an import has just committed rows it has not published yet.
		if r.waitUnsent(ctx, time.Second) {
			sleep(ctx, r.jitter(0, 5*time.Millisecond))
			backlog++
		}
		relay.Kill()
		if err := relay.Restart(); err != nil {
			return err
		}
	}
	if err := <-imported; err != nil {
		return err
	}
	r.res.notef("20 kills, %d aimed at unpublished outbox rows", backlog)
	return r.finish(ctx, time.Now())
}

// waitUnsent waits up to timeout for outbox rows not yet published.
func (r *run) waitUnsent(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var n int
		if err := r.st.Pool.QueryRow(ctx, `SELECT count(*) FROM admsync.outbox WHERE published_at IS NULL`).Scan(&n); err == nil && n > 0 {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// claimsSince counts live claims taken since t: after a kill, the events
// the dead admwriter was in the middle of.
func (r *run) claimsSince(ctx context.Context, t time.Time) int {
	var n int
	_ = r.st.Pool.QueryRow(ctx, `SELECT count(*) FROM adm.events
		WHERE attempt_token IS NOT NULL AND claimed_at >= $1`, t).Scan(&n)
	return n
}

// admwriterKill: R4. The admwriter is SIGKILLed 20 times at random and
// restarted; three of those restarts are instead a run with one failpoint
// (after_create, before_bridge_commit, before_ack), which exits with 137
// exactly in the window a random kill rarely hits. Reconcile-before-create
// must keep the simulator free of duplicates.
func admwriterKill(ctx context.Context, r *run) error {
	w, err := r.upForKills(ctx)
	if err != nil {
		return err
	}
	if err := r.importUntilBusy(ctx, r.book, "all", 3); err != nil {
		return err
	}
	points := []string{"after_create", "before_bridge_commit", "before_ack"}
	// Failpoints early, while fresh events are still waiting: a redelivered
	// event that is reconciled never reaches after_create.
	at := map[int]string{}
	for _, k := range r.rng.Perm(8)[:3] {
		at[k+2] = points[len(at)]
	}
	interrupted, hit := 0, 0
	started := time.Now()
	for k := 1; k <= 20; k++ {
		sleep(ctx, r.jitter(300*time.Millisecond, 1500*time.Millisecond))
		w.Kill()
		if r.claimsSince(ctx, started) > 0 {
			interrupted++
		}
		if fp, ok := at[k]; ok {
			fpStart := time.Now()
			reached, err := r.failpointRun(fp)
			if err != nil {
				return err
			}
			if reached {
				hit++
				if r.claimsSince(ctx, fpStart) > 0 {
					interrupted++
				}
			}
		}
		started = time.Now()
		if err := w.Restart(); err != nil {
			return err
		}
	}
	reconciled := countLines(w.Log, "adopted the event an earlier attempt created")
	for _, fp := range points {
		reconciled += countLines(r.st.Dir+"/admwriter-"+fp+".log", "adopted the event an earlier attempt created")
	}
	r.res.notef("20 kills + %d/3 failpoints; %d crashes interrupted events", hit, interrupted)
	healed := time.Now()
	err = r.finish(ctx, healed)
	reconciled += countLines(w.Log, "adopted the event an earlier attempt created")
	r.res.notef("adopted by reconcile %d", reconciled)
	return err
}

// countLines counts the lines of a log file that contain s.
func countLines(path, s string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte(s))
}

// liveClaims lists tutorial events with a claim and its token.
func (r *run) liveClaims(ctx context.Context) map[int64]string {
	out := map[int64]string{}
	rows, err := r.st.Pool.Query(ctx, `SELECT tutorial_event_id, attempt_token::text FROM adm.events
		WHERE attempt_token IS NOT NULL AND state <> 'done'`)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tok string
		if rows.Scan(&id, &tok) == nil {
			out[id] = tok
		}
	}
	return out
}

// admwriterPause: R5. One admwriter is stopped (SIGSTOP) the moment it has
// marked an event "creating" and is about to send the create, and left
// stopped past AckWait (60 s, not configurable from the serve command), the
// busy retry and the claim lease, so JetStream redelivers its events to a
// second admwriter started meanwhile, which takes the claims over,
// reconciles and writes them. When the stopped one resumes, everything it
// still had in hand must be fenced: no bridge write, no second event.
//
// The stopped writer runs with a small rate budget (3 requests/s), so its
// workers spend most of their time waiting for budget just before a call:
// that is where a stop lands, as it would behind Administrate's real limit.
// The simulator answers at once; with artificial latency it would see the
// client disconnect before applying a late create and hide the outcome.
//
// As of this writing it finds duplicates: the writer learns it lost the
// claim only from its heartbeat or the next fenced write, so a create held
// back by the rate budget goes out on resume, after the other writer has
// reconciled (nothing found) and created the event itself.
func admwriterPause(ctx context.Context, r *run) error {
	if err := r.up(ctx, setup{events: r.cfg.Events / 2}); err != nil {
		return err
	}
	if _, err := r.spawn("importer", "importer", nil, "serve"); err != nil {
		return err
	}
	a, err := r.spawn("admwriter", "admwriter", []string{"ADMINISTRATE_RATE_LIMIT=3"}, "serve")
	if err != nil {
		return err
	}
	if _, err := r.importBook(ctx, r.book, "all"); err != nil {
		return err
	}
	// Once a few events are done its budget is spent and every call waits
	// for it; before that, the first calls go out at once.
	if err := r.waitDone(ctx, 3, 2*time.Minute); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := r.st.Pool.QueryRow(ctx, `SELECT count(*) FROM adm.events WHERE state = 'creating'`).Scan(&n); err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) || !sleep(ctx, 2*time.Millisecond) {
			return fmt.Errorf("no event reached the creating state within a minute")
		}
	}
	a.Pause()
	paused := time.Now()
	held := r.liveClaims(ctx)
	var creating int
	_ = r.st.Pool.QueryRow(ctx, `SELECT count(*) FROM adm.events WHERE state = 'creating' AND attempt_token IS NOT NULL`).Scan(&creating)
	r.logf("admwriter stopped for %s holding %d claims (%d creating); starting a second one", r.cfg.Pause, len(held), creating)
	b, err := r.spawn("admwriter-2", "admwriter", nil, "serve")
	if err != nil {
		return err
	}
	sleep(ctx, r.cfg.Pause-time.Since(paused))
	takenOver := 0
	now := r.liveClaims(ctx)
	for id, tok := range held {
		var state string
		_ = r.st.Pool.QueryRow(ctx, `SELECT state FROM adm.events WHERE tutorial_event_id = $1`, id).Scan(&state)
		if now[id] != tok || state == "done" {
			takenOver++
		}
	}
	a.Resume()
	healed := time.Now()
	r.logf("admwriter resumed; %d of its %d claims were taken over", takenOver, len(held))
	// Let the resumed writer run into its fences before the count.
	sleep(ctx, 5*time.Second)
	err = r.finish(ctx, healed)
	r.res.notef("stopped %s holding %d claims (%d creating), %d taken over; other writer: %d busy retries, %d adopted; stopped writer fenced %d",
		r.cfg.Pause, len(held), creating, takenOver, countLines(b.Log, "event claimed by another worker"),
		countLines(b.Log, "adopted the event an earlier attempt created"), countLines(a.Log, "claim lost to another worker"))
	if takenOver == 0 {
		r.res.problemf("the other writer took no claim over: the stale-worker case was not tested")
	}
	return err
}

// natsFaults: R6. The broker is restarted three times while the relay
// publishes and the admwriter consumes; each restart happens while another
// part of the workbook is being imported.
func natsFaults(ctx context.Context, r *run, graceful bool) error {
	parts, err := r.startInParts(ctx, setup{natsChild: !graceful}, 4)
	if err != nil {
		return err
	}
	var downs []string
	for i := 1; i < len(parts); i++ {
		sleep(ctx, r.jitter(time.Second, 3*time.Second))
		imported := make(chan error, 1)
		go func() {
			_, err := r.importBook(ctx, parts[i], fmt.Sprintf("part-%d", i+1))
			imported <- err
		}()
		sleep(ctx, r.jitter(0, 300*time.Millisecond))
		t := time.Now()
		if err := r.st.RestartNATS(ctx, graceful); err != nil {
			return fmt.Errorf("restart nats-server: %w", err)
		}
		downs = append(downs, fmt.Sprintf("%.1f", time.Since(t).Seconds()))
		if err := <-imported; err != nil {
			return err
		}
	}
	r.res.notef("3 restarts, broker back after %s s", strings.Join(downs, "/"))
	return r.finish(ctx, time.Now())
}

func natsRestart(ctx context.Context, r *run) error { return natsFaults(ctx, r, true) }
func natsKill(ctx context.Context, r *run) error    { return natsFaults(ctx, r, false) }

// pgRestart: R7. A throw-away PostgreSQL cluster (never the machine's) is
// restarted with -m immediate three times, each while a part of the
// workbook is being imported and the services are working. A cut import
// must leave nothing behind and succeed when run again.
func pgRestart(ctx context.Context, r *run) error {
	if r.cfg.PrivatePGURL == "" || len(r.cfg.PGRestart) == 0 {
		r.res.Skipped = "no throw-away PostgreSQL cluster given (--pg-url, --pg-restart)"
		return nil
	}
	parts, err := r.startInParts(ctx, setup{serverURL: r.cfg.PrivatePGURL}, 4)
	if err != nil {
		return err
	}
	cut := 0
	for i := 1; i < len(parts); i++ {
		sleep(ctx, r.jitter(time.Second, 3*time.Second))
		before, err := r.counts(ctx)
		if err != nil {
			return err
		}
		path, err := r.writeBook(parts[i], fmt.Sprintf("part-%d", i+1))
		if err != nil {
			return err
		}
		imported := make(chan error, 1)
		go func() {
			_, err := r.importFile(ctx, path)
			imported <- err
		}()
		// Aim at the import's write transaction (it holds the import lock),
		// a few milliseconds in.
		if r.waitImportLock(ctx, 10*time.Second) {
			sleep(ctx, r.jitter(0, 20*time.Millisecond))
		}
		if out, err := r.restartPG(ctx); err != nil {
			return fmt.Errorf("restart PostgreSQL: %w: %s", err, out)
		}
		ierr := <-imported
		after, err := r.counts(ctx)
		if err != nil {
			return err
		}
		want := countsOf(parts[i])
		committed, ok := allOrNothing(after.minus(before), want)
		switch {
		case !ok:
			r.res.problemf("part %d half-written across the restart: %+v, want nothing or %+v", i+1, after.minus(before), want)
		case committed && ierr != nil:
			r.res.notef("part %d committed although the importer reported %v", i+1, ierr)
		case !committed && ierr == nil:
			r.res.problemf("part %d: the importer reported success but nothing was written", i+1)
		case !committed:
			cut++
			r.logf("import of part %d failed across the restart (%v); importing it again", i+1, ierr)
			if err := r.retryImport(ctx, path, want); err != nil {
				return err
			}
		}
	}
	r.res.notef("3 restarts, %d imports cut and rerun", cut)
	return r.finish(ctx, time.Now())
}

// retryImport runs an import until it succeeds (PostgreSQL may still be
// recovering) and checks it wrote the whole file.
func (r *run) retryImport(ctx context.Context, path string, want fileCounts) error {
	var last error
	for range 20 {
		sum, err := r.importFile(ctx, path)
		if err == nil {
			if sum.Imported != want.Events {
				r.res.problemf("re-import of %s imported %d events, want %d", path, sum.Imported, want.Events)
			}
			return nil
		}
		last = err
		sleep(ctx, time.Second)
	}
	return fmt.Errorf("import kept failing after the restart: %w", last)
}

// admOutage: R9. Administrate answers 503 to every request for minutes in
// the middle of the run. The breaker must stop consumption instead of
// burning deliveries: no dead letter, and the backlog drains after.
func admOutage(ctx context.Context, r *run) error {
	_, w, err := r.upWith(ctx, setup{})
	if err != nil {
		return err
	}
	if err := r.importUntilBusy(ctx, r.book, "all", 5); err != nil {
		return err
	}
	if err := r.st.Sim.StartOutage(r.cfg.Outage); err != nil {
		return err
	}
	p, _ := r.st.Progress(ctx)
	r.logf("Administrate down for %s with %d of %d events done", r.cfg.Outage, p.Done, p.Accepted)
	sleep(ctx, r.cfg.Outage)
	healed := time.Now()
	err = r.finish(ctx, healed)
	var maxAttempts int
	_ = r.st.Pool.QueryRow(ctx, `SELECT coalesce(max(attempts), 0) FROM adm.events`).Scan(&maxAttempts)
	refused := 0
	for _, q := range r.st.Sim.Requests() {
		if q.Status == 503 {
			refused++
		}
	}
	r.res.notef("down %s with %d done; %d requests refused; breaker changes %d; max attempts per event %d",
		r.cfg.Outage, p.Done, refused, countLines(w.Log, "circuit breaker changed"), maxAttempts)
	return err
}

// adm429: R10. The simulator's rate limit is below the services' own
// budget, so the admwriter keeps running into 429 + Retry-After; it must
// slow down, never dead-letter.
func adm429(ctx context.Context, r *run) error {
	if err := r.up(ctx, setup{}); err != nil {
		return err
	}
	limit := int(r.cfg.Rate / 3)
	if err := r.st.Sim.UpdateFaults(func(f *admsim.Faults) { f.RateLimit, f.RateWindow = limit, time.Second }); err != nil {
		return err
	}
	if _, _, err := r.services(1); err != nil {
		return err
	}
	if _, err := r.importBook(ctx, r.book, "all"); err != nil {
		return err
	}
	start := time.Now()
	err := r.finish(ctx, start)
	total, limited := 0, 0
	for _, q := range r.st.Sim.Requests() {
		total++
		if q.Status == 429 {
			limited++
		}
	}
	r.res.notef("simulator limit %d/s vs services %g/s: %d of %d requests got 429; recovery = whole write", limit, r.cfg.Rate, limited, total)
	if limited == 0 {
		r.res.problemf("no 429 was answered: the scenario tested nothing")
	}
	return err
}

// poison: R11. After the sync, 1 % of the events' course templates are
// made to point at an Administrate id that no longer exists (as if deleted
// there after the sync), so their creates are refused as validation
// errors; two malformed messages (not JSON; an unknown tutorial event) are
// published beside them. Exactly those must be dead-lettered and every
// other event written.
func poison(ctx context.Context, r *run) error {
	if err := r.up(ctx, setup{events: 2 * r.cfg.Events}); err != nil {
		return err
	}
	perCode := map[string]int{}
	for _, g := range groups(r.book) {
		perCode[g.code()]++
	}
	target := max(1, len(groups(r.book))/100)
	var singles []string
	for code, n := range perCode {
		if n == 1 {
			singles = append(singles, code)
		}
	}
	sort.Strings(singles)
	if len(singles) < target {
		return fmt.Errorf("only %d course templates are used by exactly one event; need %d", len(singles), target)
	}
	r.rng.Shuffle(len(singles), func(i, j int) { singles[i], singles[j] = singles[j], singles[i] })
	codes := singles[:target]
	for i, code := range codes {
		tag, err := r.st.Pool.Exec(ctx, `UPDATE adm.course_templates SET external_id = $1
			WHERE tutorial_course_template_id = (SELECT id FROM acted.tutorial_course_templates WHERE code = $2)`,
			admsim.GlobalID("CourseTemplate", 900000+i), code)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("course template %s: %d bridges changed, want 1", code, tag.RowsAffected())
		}
	}
	if _, _, err := r.services(1); err != nil {
		return err
	}
	if _, err := r.importBook(ctx, r.book, "all"); err != nil {
		return err
	}
	for i, body := range []string{`not json at all`, `{"tutorial_event_id": 987654321}`} {
		if err := r.st.Publish(ctx, "tutorial.event.created", fmt.Sprintf("chaos-poison-%d", i), []byte(body)); err != nil {
			return err
		}
		r.extraPublished++
	}
	r.res.ExpectedFailed = len(codes)
	r.res.ExpectedDLQ = len(codes) + 2
	err := r.finish(ctx, time.Now())
	// The failed bridges must be exactly the poisoned events.
	rows, qerr := r.st.Pool.Query(ctx, `SELECT ie.course_template_code FROM adm.events e
		JOIN admsync.import_events ie ON ie.tutorial_event_id = e.tutorial_event_id WHERE e.state = 'failed'`)
	if qerr != nil {
		return errors.Join(err, qerr)
	}
	defer rows.Close()
	poisoned := map[string]bool{}
	for _, c := range codes {
		poisoned[c] = true
	}
	for rows.Next() {
		var code string
		if rows.Scan(&code) == nil && !poisoned[code] {
			r.res.problemf("event of course template %s dead-lettered although not poisoned", code)
		}
	}
	r.res.notef("poisoned %d of %d events (%s) + 2 malformed messages", len(codes), len(groups(r.book)), strings.Join(codes, ", "))
	return err
}
