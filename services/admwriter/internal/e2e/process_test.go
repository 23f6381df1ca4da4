package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
	"admsync/pkg/sampledata"
	"admsync/pkg/service"
	"admsync/pkg/testwait"
	"admsync/services/admwriter/internal/failpoint"
	"admsync/services/admwriter/internal/writer"
)

const (
	childEnv = "ADMWRITER_E2E_CHILD"
	// childProductionEnv makes the child use the production consumer
	// (AckWait, lease) instead of the test-sized one.
	childProductionEnv = "ADMWRITER_E2E_CHILD_PRODUCTION"
	childWorkersEnv    = "ADMWRITER_E2E_CHILD_WORKERS"
	// childLeaseEnv sets the claim lease (default: the ack wait).
	childLeaseEnv = "ADMWRITER_E2E_LEASE"
	// childBudgetEnv is the tenant's rate budget (requests/s), shared
	// through NATS unless childLocalBudgetEnv makes it per process.
	childBudgetEnv      = "ADMWRITER_E2E_CHILD_BUDGET"
	childLocalBudgetEnv = "ADMWRITER_E2E_CHILD_LOCAL_BUDGET"
)

// crashEnv names the failpoint at which the child process exits with status
// 137, as kill -9 would. The child sets its own hook (what the build tag
// "failpoints" does for the binary), so these tests need no tag.
const crashEnv = "ADMWRITER_E2E_CRASH_AT"

// TestMain lets the test binary act as an admwriter process for the
// crash tests: with ADMWRITER_E2E_CHILD set it runs the consumer (crashing
// at the point named by ADMWRITER_E2E_CRASH_AT) instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

func childMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fail := func(err error) int {
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		return 1
	}
	env, err := service.Setup("admwriter", os.Stderr)
	if err != nil {
		return fail(err)
	}
	defer env.Close()
	pool, err := env.DB(ctx)
	if err != nil {
		return fail(err)
	}
	_, js, err := env.NATS(ctx)
	if err != nil {
		return fail(err)
	}
	opts := administrate.Options{
		APIURL: os.Getenv("ADMINISTRATE_API_URL"), TokenURL: os.Getenv("ADMINISTRATE_TOKEN_URL"),
		ClientID: os.Getenv("ADMINISTRATE_CLIENT_ID"), ClientSecret: os.Getenv("ADMINISTRATE_CLIENT_SECRET"),
		RateLimit: 1000, RateBurst: 50, Timeout: 5 * time.Second, MaxAttempts: 4,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
	}
	if r, err := strconv.ParseFloat(os.Getenv(childBudgetEnv), 64); err == nil && r > 0 {
		// As `admwriter serve` does: the rate is the tenant's, shared by all processes.
		opts.RateLimit, opts.RateBurst = r, 1
		if os.Getenv(childLocalBudgetEnv) == "" {
			if opts.Budget, err = administrate.NewSharedBudget(ctx, js, administrate.SharedBudgetOptions{Rate: r}); err != nil {
				return fail(err)
			}
		}
	}
	c, err := administrate.New(opts)
	if err != nil {
		return fail(err)
	}
	spec := testConsumer(2*time.Second, 5)
	if os.Getenv(childProductionEnv) != "" {
		spec = messaging.AdmWriterConsumer()
	}
	workers := 1
	if n, err := strconv.Atoi(os.Getenv(childWorkersEnv)); err == nil && n > 0 {
		workers = n
	}
	// A lease shorter than the ack wait lets each redelivery claim the
	// event a crashed child left behind (the crash-loop test).
	lease, _ := time.ParseDuration(os.Getenv(childLeaseEnv))
	consumer := writer.NewConsumer(writer.Config{Pool: pool, JS: js, API: writer.NewClient(c), Logger: env.Logger,
		Registry: env.Registry, Workers: workers, Failpoint: exitAt(os.Getenv(crashEnv)), Lease: lease}, spec)
	consumer.FetchWait = 200 * time.Millisecond
	if err := env.Serve(ctx, service.Service{Consumer: consumer}); err != nil {
		return fail(err)
	}
	return 0
}

// exitAt is a failpoint hook that ends the process at point.
func exitAt(point string) failpoint.Func {
	return func(p string) error {
		if p == point {
			os.Exit(137)
		}
		return nil
	}
}

// A real admwriter process is killed by its failpoint right after the
// create (exit status 137, nothing written, nothing acked); a restarted
// consumer finishes the event without creating it again.
func TestProcessKilledAfterCreate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ct := b.template(sampledata.Blended, 5)
	title := "ELO-KILLED-26A"
	ev := b.seedEvent(eventSpec{Template: ct, Title: title, Location: "Dublin", Venue: "Docklands Centre"})
	b.enqueue(ev)

	cmd := b.child(crashEnv + "=" + failpoint.AfterCreate)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the admwriter process did not reach the failpoint")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 137 {
		t.Fatalf("process ended with %v, want exit status 137 at the failpoint", err)
	}
	if got := len(b.eventsTitled(title)); got != 1 {
		t.Fatalf("before restart: %d events in Administrate, want the 1 created before the crash", got)
	}
	if ext, state := b.bridge(ev); ext != "" || state != "creating" {
		t.Fatalf("before restart: bridge %q %s, want no id and creating", ext, state)
	}

	b.start(runOpts{workers: 2})
	b.waitState("done", 1)
	b.createdOnce(ev, title)
}

// child prepares an admwriter process (this test binary in child mode)
// against the bundle's database, NATS and simulator.
func (b *bundle) child(env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnv+"=1",
		"DATABASE_URL="+b.db.URL, "METRICS_ADDR=", "LOG_LEVEL=warn",
		"NATS_URL="+b.nats.URL(),
		"ADMINISTRATE_API_URL="+b.sim.APIURL,
		"ADMINISTRATE_TOKEN_URL="+b.sim.TokenURL,
		"ADMINISTRATE_CLIENT_ID="+b.sim.ClientID,
		"ADMINISTRATE_CLIENT_SECRET="+b.sim.ClientSecret,
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// kill -9 of an admwriter process with events in flight, production
// consumer and lease settings: a second writer takes every one of them over
// and finishes it, each event existing once in Administrate with its
// sessions and staff once each. The time from the kill until the last
// in-flight event is done is logged; it must be well inside the 60 s the
// old lease and AckWait made it wait.
func TestKilledWriterIsTakenOverPromptly(t *testing.T) {
	t.Parallel()
	b := setup(t, withLatency(150*time.Millisecond))
	b.spec = messaging.AdmWriterConsumer()
	const events = 8
	var ids []int64
	titles := map[int64]string{}
	for i := range events {
		ct := b.template(sampledata.Blended, i)
		title := fmt.Sprintf("ELO-TAKEOVER-%02d-26A", i)
		ev := b.seedEvent(eventSpec{Template: ct, Title: title, Location: "London", Venue: "Riverside Rooms"})
		ids = append(ids, ev)
		titles[ev] = title
	}
	b.enqueue(ids...)

	cmd := b.child(childProductionEnv+"=1", childWorkersEnv+"=4")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Kill it once four events are claimed and unfinished: in flight.
	inFlight := func() []int64 {
		rows, err := b.db.Pool.Query(b.ctx, `SELECT tutorial_event_id FROM adm.events
			WHERE attempt_token IS NOT NULL AND state IN ('pending', 'creating', 'created')`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		return out
	}
	var flying []int64
	testwait.For(b.t, "four events in flight", func() bool { flying = inFlight(); return len(flying) >= 4 })
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no drain, no release, no nak
		t.Fatal(err)
	}
	<-exited
	killed := time.Now()
	flying = inFlight() // what the dead process left behind
	t.Logf("killed the writer with %d event(s) in flight", len(flying))
	if len(flying) == 0 {
		t.Fatal("nothing was in flight at the kill: the test tests nothing")
	}

	b.start(runOpts{workers: 4})
	b.waitState("done", events)
	all := time.Since(killed)

	var last time.Time
	for _, ev := range flying {
		var fin time.Time
		if err := b.db.Pool.QueryRow(b.ctx, `SELECT finished_at FROM adm.events WHERE tutorial_event_id = $1`, ev).Scan(&fin); err != nil {
			t.Fatal(err)
		}
		if fin.After(last) {
			last = fin
		}
	}
	takeover := last.Sub(killed)
	t.Logf("takeover: the %d in-flight event(s) were done %.1f s after the kill (all %d events: %.1f s; lease %s, AckWait %s)",
		len(flying), takeover.Seconds(), events, all.Seconds(), writer.DefaultLease, b.spec.Config.AckWait)
	if takeover >= 60*time.Second {
		t.Errorf("takeover took %s: no better than the old 60 s lease", takeover)
	}

	for _, ev := range ids {
		got := b.eventsTitled(titles[ev])
		if len(got) != 1 {
			t.Errorf("%s: %d events in Administrate, want 1", titles[ev], len(got))
			continue
		}
		for d, s := range b.sim.Sessions(got[0].ID) {
			if len(s.Staff) != 1 || s.Title != fmt.Sprintf("%s-%d", titles[ev], d+1) {
				t.Errorf("%s Day %d: title %q staff %v", titles[ev], d+1, s.Title, s.Staff)
			}
		}
	}
	b.noDeadLetters()
}
