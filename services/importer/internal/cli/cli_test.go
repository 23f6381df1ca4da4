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
	"admsync/pkg/sampledata"
	"admsync/pkg/service"
	"admsync/services/importer/internal/cli"
	"admsync/services/importer/internal/workbook"
)

func envFor(url string) cli.EnvFunc {
	return func() (*service.Env, error) {
		cfg := &config.Config{DatabaseURL: config.NewSecret(url), LogLevel: slog.LevelWarn, LogFormat: "text"}
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
	last := lines[len(lines)-1]
	if code != 0 || !strings.HasPrefix(last, "imported 8 events (") || !strings.HasSuffix(last, "), rejected 0 events, skipped 0 duplicates") {
		t.Fatalf("import: %d %q %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "read ") {
		t.Fatalf("no plain progress lines on a non-terminal: %q", errOut)
	}
	code, out, _ = run(t, env, "import", wb, "--json")
	var sum map[string]any
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 0 || sum["duplicate_events"].(float64) != 8 {
		t.Fatalf("json re-import: %d %s %v", code, out, err)
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
