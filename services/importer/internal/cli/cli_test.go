package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"admsync/pkg/config"
	"admsync/pkg/database/dbtest"
	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/sampledata"
	"admsync/pkg/service"
	"admsync/pkg/testwait"
	"admsync/services/importer/internal/cli"
	"admsync/services/importer/internal/workbook"
)

func envFor(url string) cli.EnvFunc {
	// Port 1 refuses connections: no test depends on a NATS server that
	// happens to run on this machine.
	return envWithNATS(url, "nats://127.0.0.1:1")
}

func envWithNATS(url, natsURL string) cli.EnvFunc {
	return func() (*service.Env, error) {
		cfg := &config.Config{DatabaseURL: config.NewSecret(url), NATSURL: natsURL, LogLevel: slog.LevelWarn, LogFormat: "text"}
		return service.SetupWith("importer", cfg, &bytes.Buffer{}), nil
	}
}

func run(t *testing.T, env cli.EnvFunc, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cli.Execute(context.Background(), args, env, cli.IO{Out: &out, Err: &errb})
	if err != nil && !errors.Is(err, service.ErrReported) {
		fmt.Fprintln(&errb, "importer:", err)
	}
	return service.ExitCode(err), out.String(), errb.String()
}

func TestTemplateMatchesTheReader(t *testing.T) {
	t.Parallel()
	if got, want := workbook.Headers(), sampledata.Header[:]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("sampledata header differs from the importer's template:\n%q\n%q", want, got)
	}
	path := filepath.Join(t.TempDir(), "template.xlsx")
	code, out, _ := run(t, envFor(""), "template", path)
	if code != 0 || !strings.Contains(out, "template written") {
		t.Fatalf("template: %d %s", code, out)
	}
	r, err := workbook.Open(path, workbook.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if rec, err := r.Next(); rec != nil || err != nil {
		t.Fatalf("blank template has data: %v %v", rec, err)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"import"}, {"import", "a.xlsx", "b.xlsx"}, {"import", "--nope", "a.xlsx"}, {"template", "out.csv"}, {"sample", "x.xlsx", "--events", "0"}} {
		if code, _, _ := run(t, envFor(""), args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestImportCommand(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	env := envFor(db.URL)
	dir := t.TempDir()
	wb := filepath.Join(dir, "events.xlsx")
	code, out, errOut := run(t, env, "sample", wb, "--events", "8", "--seed", "4", "--seed-db")
	if code != 0 || !strings.Contains(out, "reference data seeded") {
		t.Fatalf("sample: %d %s %s", code, out, errOut)
	}
	code, out, _ = run(t, env, "import", wb, "--dry-run")
	if code != 0 || !strings.Contains(out, "would import 8 events (") {
		t.Fatalf("dry run: %d %q", code, out)
	}
	code, out, errOut = run(t, env, "import", wb)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "imported 8 events (") || !strings.HasSuffix(lines[0], "), rejected 0 events, skipped 0 duplicates") {
		t.Fatalf("import: %d %q %s", code, out, errOut)
	}
	// Not yet in Administrate: queued, and the writer's state is unknown.
	if !strings.HasPrefix(lines[1], "queued 8 events for Administrate: 8 messages wait in the outbox") ||
		!strings.HasPrefix(lines[2], "admwriter: unknown, NATS is unreachable") {
		t.Fatalf("import does not say where the events stand:\n%s", out)
	}
	code, out, _ = run(t, env, "import", wb, "--json")
	var sum map[string]any
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 0 || sum["duplicate_events"].(float64) != 8 {
		t.Fatalf("json re-import: %d %s %v", code, out, err)
	}
	// The progress line counts the rows read (it used to print the next
	// stage's count, 0).
	if want := fmt.Sprintf("read %d rows\n", int(sum["rows"].(float64))); !strings.Contains(errOut, want) || sum["rows"].(float64) < 8 {
		t.Fatalf("progress lacks %q: %q", want, errOut)
	}

	// A broken workbook: exit 1, the problem named by file, row and column, and a report.
	b, _ := sampledata.Generate(sampledata.Options{Events: 3, Seed: 4})
	b.Rows[0].Set("E", sampledata.Text("Nowhere"))
	bad := filepath.Join(dir, "bad.xlsx")
	if err := b.WriteFile(bad); err != nil {
		t.Fatal(err)
	}
	rep := filepath.Join(dir, "report.xlsx")
	code, out, _ = run(t, env, "import", bad, "--report", rep)
	if code != 1 || !strings.Contains(out, `bad.xlsx, sheet "Import", row 4, column E (Location) "Nowhere": no active tutorial location`) ||
		!strings.Contains(out, "rejected 1 events") {
		t.Fatalf("bad import: %d %s", code, out)
	}
	if st, err := os.Stat(rep); err != nil || st.Size() == 0 {
		t.Fatalf("report: %v", err)
	}
	// Not a workbook at all.
	csv := filepath.Join(dir, "data.xlsx")
	os.WriteFile(csv, []byte("a,b\n1,2\n"), 0o600)
	code, _, errOut = run(t, env, "import", csv)
	if code != 1 || !strings.Contains(errOut, "not an .xlsx workbook") {
		t.Fatalf("csv: %d %s", code, errOut)
	}
}

// TestImportSaysWhetherAWriterConsumes reads the admwriter consumer's state
// from a real JetStream: none consuming, then a writer waiting for
// messages.
func TestImportSaysWhetherAWriterConsumes(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv)
	ctx := natstest.Context(t)
	env := envWithNATS(db.URL, srv.URL())
	dir := t.TempDir()
	wb := func(seed int) string {
		p := filepath.Join(dir, fmt.Sprintf("w%d.xlsx", seed))
		if code, out, errOut := run(t, env, "sample", p, "--events", "3", "--seed", fmt.Sprint(seed), "--sitting", fmt.Sprintf("20%dA", 20+seed), "--seed-db"); code != 0 {
			t.Fatalf("sample: %s %s", out, errOut)
		}
		return p
	}
	first := wb(5)
	code, out, _ := run(t, env, "import", first)
	if code != 0 || !strings.Contains(out, "admwriter: no admwriter has ever consumed") {
		t.Fatalf("before any topology: %d\n%s", code, out)
	}
	if err := messaging.EnsureTopology(ctx, js); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, env, "import", wb(6))
	if code != 0 || !strings.Contains(out, "admwriter: 0 messages pending, 0 in flight, last delivery never; no admwriter is consuming now") {
		t.Fatalf("consumer without a writer: %d\n%s", code, out)
	}
	c, err := js.Consumer(ctx, messaging.StreamTutorialEvents, messaging.ConsumerAdmWriter)
	if err != nil {
		t.Fatal(err)
	}
	it, err := c.Messages() // a writer waiting for work: pull requests outstanding
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	go it.Next() // nothing arrives: nothing is relayed without importer serve
	testwait.For(t, "the writer's pull requests", func() bool {
		info, err := c.Info(ctx)
		return err == nil && info.NumWaiting > 0
	})
	code, out, _ = run(t, env, "import", wb(7))
	if code != 0 || !strings.Contains(out, "a writer is consuming") {
		t.Fatalf("with a writer: %d\n%s", code, out)
	}
}

// TestInflationBudgetFlagAndEnv: the budget is set by --max-inflated or by
// IMPORTER_MAX_INFLATED_MIB (no t.Parallel: it sets the environment).
func TestInflationBudgetFlagAndEnv(t *testing.T) {
	env := envFor(dbtest.New(t).URL)
	wb := filepath.Join(t.TempDir(), "big.xlsx")
	if code, out, errOut := run(t, env, "sample", wb, "--events", "700"); code != 0 {
		t.Fatalf("sample: %s %s", out, errOut)
	}
	code, _, errOut := run(t, env, "import", wb, "--dry-run", "--max-inflated", "1")
	if code != 1 || !strings.Contains(errOut, "would inflate to more than 1 MiB") {
		t.Fatalf("flag: %d %s", code, errOut)
	}
	t.Setenv("IMPORTER_MAX_INFLATED_MIB", "1")
	code, _, errOut = run(t, env, "import", wb, "--dry-run")
	if code != 1 || !strings.Contains(errOut, "would inflate to more than 1 MiB") {
		t.Fatalf("environment: %d %s", code, errOut)
	}
}
