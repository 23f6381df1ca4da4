package cli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"admsync/pkg/admsim"
	"admsync/pkg/service"
	"admsync/services/syncer/internal/cli"
	"admsync/services/syncer/internal/syncer"
)

// asMainEnv makes the test binary behave as the syncer binary, so a test can
// run it as a real process and kill it.
const asMainEnv = "SYNCER_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		err := cli.Execute(context.Background(), os.Args[1:], cli.OSDeps())
		if err != nil {
			fmt.Fprintln(os.Stderr, "syncer:", err)
		}
		os.Exit(service.ExitCode(err))
	}
	os.Exit(m.Run())
}

// TestKilledRunIsMarkedAbandoned starts `syncer run all` as a process against
// a slow simulator, kills it with SIGKILL mid-run, and checks that its
// `running` rows are then marked abandoned by `syncer status` — while a live
// run, seen before the kill, is left running.
func TestKilledRunIsMarkedAbandoned(t *testing.T) {
	w := newWorld(t)
	for i := range 30 {
		w.sim.Location(fmt.Sprintf("Town %02d", i))
		w.tutorialLocation(fmt.Sprintf("Town %02d", i))
	}
	w.sim.SetFaults(admsim.Faults{Latency: 300 * time.Millisecond})

	cmd := exec.Command(os.Args[0], "run", "all", "--no-prompt", "--page-size", "2")
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	for k, v := range w.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = &w.stdout, &w.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill() //nolint:errcheck
			cmd.Wait()         //nolint:errcheck
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Wait until the run is under way: the all row and a stage row running.
	for {
		var n int
		if err := w.db.Pool.QueryRow(ctx, `SELECT count(*) FROM admsync.sync_runs WHERE status = 'running'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the run never started:\n%s", w.output())
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Alive: its lock is held, so nothing is abandoned.
	if got, err := syncer.MarkAbandoned(ctx, w.db.Pool); err != nil || len(got) != 0 {
		t.Fatalf("a live run was marked abandoned: %v %v", got, err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred cleanup runs
		t.Fatal(err)
	}
	cmd.Wait() //nolint:errcheck // killed
	killed = true

	var running []int64
	rows, _ := w.db.Pool.Query(ctx, `SELECT id FROM admsync.sync_runs WHERE status = 'running' ORDER BY id`)
	for rows.Next() {
		var id int64
		rows.Scan(&id) //nolint:errcheck
		running = append(running, id)
	}
	rows.Close()
	if len(running) < 2 {
		t.Fatalf("want the killed run's rows still running before the check, got %v", running)
	}
	// PostgreSQL notices the dead connection asynchronously; status is
	// retried until its lock is released (bounded by ctx).
	for {
		if code := w.exec("status"); code != 0 {
			t.Fatalf("status: exit %d\n%s", code, w.output())
		}
		if strings.Contains(w.output(), "marked abandoned") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the killed run was never marked abandoned:\n%s", w.output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	var left int
	if err := w.db.Pool.QueryRow(ctx, `SELECT count(*) FROM admsync.sync_runs WHERE id = ANY($1) AND status <> 'abandoned'`, running).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d of the killed run's rows are not abandoned", left)
	}
	if code := w.exec("status"); code != 0 || !strings.Contains(w.output(), "abandoned") || !strings.Contains(w.output(), "all") {
		t.Errorf("status does not show the abandoned runs (exit %d):\n%s", code, w.output())
	}
}
