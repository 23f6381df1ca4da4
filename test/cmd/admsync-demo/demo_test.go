package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"admsync/pkg/database"
	"admsync/pkg/database/dbtest"
	"admsync/pkg/testwait"
)

// With -keep the demo leaves the services running after its report (the
// URLs it prints answer) until it is interrupted, and then stops them.
func TestKeepKeepsServicesRunningUntilInterrupted(t *testing.T) {
	bin, err := filepath.Abs("../../../bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"syncer", "importer", "admwriter"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s missing in bin/: run `make build` first (make test does)", b)
		}
	}
	t.Setenv("DATABASE_URL", dbtest.ServerURL())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testwait.Buffer
	// What -keep kept is this test's to remove, also when it fails.
	t.Cleanup(func() { removeKept(t, out.String()) })
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-keep", "-events", "4", "-bin", bin}, &out) }()

	testwait.For(t, "the report of a kept demo", func() bool {
		select {
		case err := <-done:
			t.Fatalf("demo ended before being interrupted: %v\n%s", err, out.String())
		default:
		}
		return strings.Contains(out.String(), "demo: accepted ")
	})
	if !strings.Contains(out.String(), "until you press Ctrl-C") {
		t.Fatalf("the kept demo does not say the services keep running:\n%s", out.String())
	}
	urls := regexp.MustCompile(`readiness (http://\S+/readyz)`).FindAllStringSubmatch(out.String(), -1)
	if len(urls) != 3 {
		t.Fatalf("want the three services' readiness URLs in:\n%s", out.String())
	}
	for _, u := range urls {
		resp, err := http.Get(u[1])
		if err != nil {
			t.Fatalf("%s after the report: %v", u[1], err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s after the report: %s", u[1], resp.Status)
		}
	}

	// The file it names is all another shell needs: a lifecycle command
	// reaches the database, NATS and the simulated tenant (with its
	// currency, which prices need) and plans prices for the demo's events.
	envFile := regexp.MustCompile(`in another shell: \. (\S+)`).FindStringSubmatch(out.String())
	if envFile == nil {
		t.Fatalf("want the environment file for other shells in:\n%s", out.String())
	}
	cmd := exec.Command("sh", "-c", `. "$1" && exec "$2" events prices add --plan`, "sh", envFile[1], filepath.Join(bin, "admwriter"))
	cmd.Env = append(os.Environ(), "LOG_LEVEL=warn")
	plan, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(plan), "would change") {
		t.Errorf("admwriter events prices add --plan with %s: %v\n%s", envFile[1], err, plan)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("interrupted demo = %v, want nil", err)
	}
	if _, err := http.Get(urls[0][1]); err == nil {
		t.Errorf("%s still answers after the interrupt", urls[0][1])
	}
}

// removeKept drops the database and the directory a kept demo names.
func removeKept(t *testing.T, report string) {
	kept := regexp.MustCompile(`kept database (\S+) and directory (\S+)`).FindStringSubmatch(report)
	if kept == nil {
		return
	}
	os.RemoveAll(kept[2])
	pool, err := database.Open(context.Background(), dbtest.ServerURL())
	if err != nil {
		t.Error(err)
		return
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{kept[1]}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("drop the kept database: %v", err)
	}
}
