package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"admsync/pkg/config"
	"admsync/pkg/sampledata"
	"admsync/pkg/service"
	"admsync/pkg/testwait"
	"admsync/services/admwriter/internal/cli"
)

// admwriter runs the command tree against the bundle's database and NATS
// and returns stdout and the process exit code.
func (b *bundle) admwriter(args ...string) (string, int) {
	b.t.Helper()
	root := cli.NewRoot(func() (*service.Env, error) { return b.env(), nil })
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(b.ctx)
	if err != nil {
		fmt.Fprintln(&out, "error:", err)
	}
	return out.String(), service.ExitCode(err)
}

// env is a fresh process environment on the bundle's database and NATS,
// as the binary would build it (with no metrics listener).
func (b *bundle) env() *service.Env {
	b.t.Helper()
	cfg, err := config.LoadWith(config.MapLookuper(map[string]string{
		"DATABASE_URL": b.db.URL, "NATS_URL": b.nats.URL(), "METRICS_ADDR": "", "LOG_LEVEL": "error", "LOG_FORMAT": "text",
	}))
	if err != nil {
		b.t.Fatal(err)
	}
	return service.SetupWith("admwriter", cfg, io.Discard)
}

func TestCommands(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good := b.template(sampledata.LMS, 0)
	bad := b.template(sampledata.LMS, 1)
	evGood := b.seedEvent(eventSpec{Template: good, Title: "ELO-CLI-GOOD", Location: "Online"})
	evBad := b.seedEvent(eventSpec{Template: bad, Title: "ELO-CLI-BAD", Location: "Online"})
	// The bad one's location has no Administrate bridge: a permanent error.
	b.db.Exec(t, `UPDATE adm.locations SET gone_at = now() WHERE name = 'Online'`)
	b.start(runOpts{workers: 2})
	b.enqueue(evBad)
	b.waitState("failed", 1)
	testwait.For(b.t, "a dead letter", func() bool { return len(b.deadLetters()) == 1 })
	b.db.Exec(t, `UPDATE adm.locations SET gone_at = NULL WHERE name = 'Online'`)

	out, code := b.admwriter("status")
	if code != 0 || !strings.Contains(out, "not started  1") || !strings.Contains(out, "failed       1") {
		t.Errorf("status (exit %d):\n%s", code, out)
	}

	out, code = b.admwriter("dlq", "list")
	if code != 0 || !strings.Contains(out, "WHEN") || !strings.Contains(out, "TUTORIAL EVENT") ||
		!strings.Contains(out, fmt.Sprint(evBad)) || !strings.Contains(out, "Online") || !strings.Contains(out, "1 dead letter") {
		t.Errorf("dlq list (exit %d):\n%s", code, out)
	}
	out, _ = b.admwriter("dlq", "list", "--json")
	var rows []struct {
		ID              uint64 `json:"id"`
		TutorialEventID int64  `json:"tutorial_event_id"`
		Reason          string `json:"reason"`
		Deliveries      int    `json:"deliveries"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].TutorialEventID != evBad || rows[0].Deliveries != 1 {
		t.Fatalf("dlq list --json: %v\n%s", err, out)
	}
	out, code = b.admwriter("dlq", "show", fmt.Sprint(rows[0].ID))
	if code != 0 || !strings.Contains(out, "bridge") || !strings.Contains(out, "failed") || !strings.Contains(out, rows[0].Reason) {
		t.Errorf("dlq show (exit %d):\n%s", code, out)
	}

	// Usage mistakes exit 2.
	for _, args := range [][]string{{"dlq", "replay"}, {"retry"}, {"retry", "--all", "--import", "3"}, {"dlq", "show", "x"}, {"serve", "--workers", "0"}} {
		if out, code := b.admwriter(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2:\n%s", args, code, out)
		}
	}

	out, code = b.admwriter("dlq", "replay", "--all")
	if code != 0 || !strings.Contains(out, "replayed 1 dead letter") {
		t.Errorf("dlq replay --all (exit %d):\n%s", code, out)
	}
	b.waitState("done", 1)

	// retry sends the event that was never sent, through the outbox.
	out, code = b.admwriter("retry", "--all")
	if code != 0 || !strings.Contains(out, "queued 1 tutorial event") {
		t.Errorf("retry --all (exit %d):\n%s", code, out)
	}
	b.waitState("done", 2)
	if ext, _ := b.bridge(evGood); ext == "" {
		t.Error("retry did not write the unsent event")
	}
	out, _ = b.admwriter("status", "--json")
	var counts map[string]int
	if err := json.Unmarshal([]byte(out), &counts); err != nil || counts["done"] != 2 || counts["failed"] != 0 {
		t.Errorf("status --json: %v %v", counts, err)
	}
	if out, _ := b.admwriter("dlq", "list"); !strings.Contains(out, "no dead letters") {
		t.Errorf("dlq list after replay:\n%s", out)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	root := cli.NewRoot(func() (*service.Env, error) { t.Fatal("help must not need the environment"); return nil, nil })
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"dlq", "--help"}, {"dlq", "list", "--help"}, {"dlq", "show", "--help"},
		{"dlq", "replay", "--help"}, {"dlq", "delete", "--help"}, {"retry", "--help"}, {"status", "--help"}, {"migrate", "--help"},
	} {
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%v printed no usage:\n%s", args, out.String())
		}
	}
}
