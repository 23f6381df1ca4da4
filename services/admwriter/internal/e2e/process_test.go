package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/administrate"
	"admsync/pkg/database"
	"admsync/pkg/sampledata"
	"admsync/services/admwriter/internal/failpoint"
	"admsync/services/admwriter/internal/serve"
	"admsync/services/admwriter/internal/writer"
)

const childEnv = "ADMWRITER_E2E_CHILD"

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
	pool, err := database.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return fail(err)
	}
	defer pool.Close()
	nc, err := nats.Connect(os.Getenv("NATS_URL"))
	if err != nil {
		return fail(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fail(err)
	}
	c, err := administrate.New(administrate.Options{
		APIURL: os.Getenv("ADMINISTRATE_API_URL"), TokenURL: os.Getenv("ADMINISTRATE_TOKEN_URL"),
		ClientID: os.Getenv("ADMINISTRATE_CLIENT_ID"), ClientSecret: os.Getenv("ADMINISTRATE_CLIENT_SECRET"),
		RateLimit: 1000, RateBurst: 50, Timeout: 5 * time.Second, MaxAttempts: 4,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
	})
	if err != nil {
		return fail(err)
	}
	spec := testConsumer(2*time.Second, 5)
	err = serve.Run(ctx, serve.Options{Pool: pool, JS: js, API: writer.NewClient(c), Logger: testLogger(),
		Workers: 1, Consumer: &spec, Failpoint: exitAt(os.Getenv(crashEnv)), FetchWait: 200 * time.Millisecond})
	if err != nil {
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

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnv+"=1",
		crashEnv+"="+failpoint.AfterCreate,
		"DATABASE_URL="+b.db.URL,
		"NATS_URL="+b.nats.URL(),
		"ADMINISTRATE_API_URL="+b.sim.APIURL,
		"ADMINISTRATE_TOKEN_URL="+b.sim.TokenURL,
		"ADMINISTRATE_CLIENT_ID="+b.sim.ClientID,
		"ADMINISTRATE_CLIENT_SECRET="+b.sim.ClientSecret,
	)
	cmd.Stderr = os.Stderr
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
	if got := len(b.eventsTitled(title)); got != 1 {
		t.Fatalf("after restart: %d events, want 1", got)
	}
	if got := b.calls()["CreateBlendedEvent"]; got != 1 {
		t.Errorf("CreateBlendedEvent calls = %d, want 1", got)
	}
	if ext, _ := b.bridge(ev); ext != b.eventsTitled(title)[0].ID {
		t.Errorf("bridge %s does not point at the created event", ext)
	}
}
