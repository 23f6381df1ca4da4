// Package runbook exercises every command of docs/runbook.md with the real
// nats CLI against an embedded nats-server and the real service binaries,
// so the runbook cannot drift from what the system does.
package runbook

import (
	"admsync/pkg/testwait"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
	"admsync/pkg/database/dbtest"
	"admsync/pkg/sampledata"
	"admsync/test/harness"
)

type runbook struct {
	t   *testing.T
	st  *harness.Stack
	bin string
}

// nats runs the real CLI against the stack's server.
func (r *runbook) nats(args ...string) string {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(r.bin, "nats"), append([]string{"--server", r.st.NATS.URL()}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("nats %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// subscribe starts `nats sub SUBJECT --count 1` and returns a function
// waiting for the message body (the JSON line after "Received on").
func (r *runbook) subscribe(subject string) func() []byte {
	r.t.Helper()
	cmd := exec.Command(filepath.Join(r.bin, "nats"), "--server", r.st.NATS.URL(), "sub", subject, "--count", "1")
	var out testwait.Buffer
	var errb testwait.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = cmd.Process.Kill() })
	// The CLI says it is subscribed before the request may be sent.
	testwait.For(r.t, "nats sub to subscribe", func() bool { return strings.Contains(errb.String(), "Subscribing on") })
	return func() []byte {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				r.t.Fatalf("nats sub %s: %v\n%s", subject, err, errb.String())
			}
		case <-time.After(90 * time.Second):
			r.t.Fatalf("no message on %s within 90s", subject)
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "{") {
				return []byte(strings.TrimSpace(line))
			}
		}
		r.t.Fatalf("nats sub %s printed no JSON body:\n%s", subject, out.String())
		return nil
	}
}

func TestRunbook(t *testing.T) {
	bin, err := filepath.Abs("../../bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"syncer", "importer", "admwriter", "nats"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s missing in bin/: run `make build natscli` first (make test does)", b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := harness.Start(ctx, harness.Options{ServerURL: dbtest.ServerURL(), BinDir: bin, RateLimit: 50, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	book, ref := sampledata.Generate(sampledata.Options{Events: 4, Seed: 17})
	if err := st.SeedTutorial(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if err := admsimtest.SeedReference(st.Sim, ref); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"syncer", "importer", "admwriter"} {
		if _, err := st.Spawn(svc, svc, nil, "serve"); err != nil {
			t.Fatal(err)
		}
	}
	r := &runbook{t: t, st: st, bin: bin}
	waitStreams(t, r)

	// Runbook: trigger a sync and watch its result.
	wait := r.subscribe("sync.result.all")
	r.nats("pub", "sync.request.all", "")
	var result struct {
		Stages []json.RawMessage `json:"stages"`
	}
	body := wait()
	if err := json.Unmarshal(body, &result); err != nil || len(result.Stages) != 7 {
		t.Fatalf("sync.result.all is not a 7-stage result: %v\n%s", err, body)
	}
	var locations int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM adm.locations WHERE tutorial_location_id IS NOT NULL`).Scan(&locations); err != nil || locations != len(ref.Locations) {
		t.Fatalf("after the sync %d locations are linked, want %d (%v)", locations, len(ref.Locations), err)
	}
	// One stage, with options in the body.
	wait = r.subscribe("sync.result.locations")
	r.nats("pub", "sync.request.locations", `{"page_size": 200}`)
	var stage struct {
		Stage  string `json:"stage"`
		Counts struct {
			Unchanged int `json:"unchanged"`
		} `json:"counts"`
	}
	body = wait()
	if err := json.Unmarshal(body, &stage); err != nil || stage.Stage != "locations" || stage.Counts.Unchanged != len(ref.Locations) {
		t.Fatalf("sync.result.locations: want the locations stage with %d unchanged: %v\n%s", len(ref.Locations), err, body)
	}

	// Runbook: hand a workbook to the importer.
	path := filepath.Join(t.TempDir(), "season.xlsx")
	if err := book.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	r.nats("object", "put", "workbooks", path, "--name", "season.xlsx", "--force", "--no-progress")
	wait = r.subscribe("import.result.season")
	r.nats("pub", "import.request.season", `{"object":"season.xlsx"}`)
	var imported struct {
		Status  string `json:"status"`
		Summary struct {
			Imported int `json:"imported_events"`
			Rejected int `json:"rejected_events"`
		} `json:"summary"`
	}
	body = wait()
	if err := json.Unmarshal(body, &imported); err != nil || imported.Summary.Imported != 4 || imported.Summary.Rejected != 0 {
		t.Fatalf("import.result.season: want 4 imported, 0 rejected: %v\n%s", err, body)
	}
	// A dry run of the same workbook: nothing new, reported as duplicates.
	wait = r.subscribe("import.result.check-1")
	r.nats("pub", "import.request.check-1", `{"object": "season.xlsx", "dry_run": true}`)
	var dry struct {
		Summary struct {
			DryRun     bool `json:"dry_run"`
			Imported   int  `json:"imported_events"`
			Duplicates int  `json:"duplicate_events"`
		} `json:"summary"`
	}
	body = wait()
	if err := json.Unmarshal(body, &dry); err != nil || !dry.Summary.DryRun || dry.Summary.Imported != 0 || dry.Summary.Duplicates != 4 {
		t.Fatalf("import.result.check-1: want a dry run with 4 duplicates: %v\n%s", err, body)
	}

	// Runbook: check consumer lag once the admwriter has caught up.
	if _, err := st.WaitDrained(ctx, 2*time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	var info struct {
		NumPending    int `json:"num_pending"`
		NumAckPending int `json:"num_ack_pending"`
		Delivered     struct {
			Stream int `json:"stream_seq"`
		} `json:"delivered"`
	}
	if err := json.Unmarshal([]byte(r.nats("consumer", "info", "TUTORIAL_EVENTS", "admwriter", "--json")), &info); err != nil {
		t.Fatal(err)
	}
	if info.NumPending != 0 || info.NumAckPending != 0 || info.Delivered.Stream < 4 {
		t.Fatalf("consumer admwriter after drain: %+v", info)
	}
	if out := r.nats("consumer", "report", "TUTORIAL_EVENTS"); !strings.Contains(out, "admwriter") {
		t.Fatalf("consumer report does not list admwriter:\n%s", out)
	}
	if out := r.nats("stream", "info", "TUTORIAL_EVENTS"); !strings.Contains(out, "tutorial.event.>") {
		t.Fatalf("stream info does not show the stream's subjects:\n%s", out)
	}

	// Runbook: bring changes made in Administrate back (events stage, webhook backlog).
	var evID string
	var tutID int64
	if err := st.Pool.QueryRow(ctx, `SELECT external_id, tutorial_event_id FROM adm.events WHERE external_id IS NOT NULL ORDER BY id LIMIT 1`).Scan(&evID, &tutID); err != nil {
		t.Fatal(err)
	}
	if err := st.Sim.ChangeEvent(evID, []byte(`{"isSoldOut": true}`)); err != nil {
		t.Fatal(err)
	}
	wait = r.subscribe("sync.result.events")
	r.nats("pub", "sync.request.events", `{"conflicts": ""}`)
	var events struct {
		Stage  string `json:"stage"`
		Counts struct {
			Updated int `json:"updated"`
		} `json:"counts"`
	}
	body = wait()
	if err := json.Unmarshal(body, &events); err != nil || events.Stage != "events" || events.Counts.Updated < 1 {
		t.Fatalf("sync.result.events: want the events stage with updates: %v\n%s", err, body)
	}
	var soldOut bool
	if err := st.Pool.QueryRow(ctx, `SELECT is_soldout FROM acted.tutorial_events WHERE id = $1`, tutID).Scan(&soldOut); err != nil || !soldOut {
		t.Fatalf("the event sold out in Administrate is not sold out locally (%v)", err)
	}
	if out := r.nats("stream", "info", "WEBHOOKS"); !strings.Contains(out, "webhook.administrate.>") {
		t.Fatalf("stream info WEBHOOKS:\n%s", out)
	}
	if out := r.nats("consumer", "info", "WEBHOOKS", "syncer-webhooks"); !strings.Contains(out, "syncer-webhooks") {
		t.Fatalf("consumer info WEBHOOKS syncer-webhooks:\n%s", out)
	}

	// Runbook: Administrate refuses an event; inspect the DLQ, fix the cause,
	// replay. Here the cause is a create mutation the tenant does not offer.
	st.Sim.UpdateFaults(func(f *admsim.Faults) {
		f.Disabled = []string{"event.createBlended", "event.createClassroom", "event.createLMS"}
	})
	// The same generator seed with more events: the first four are skipped as
	// already imported, two are new.
	book2, _ := sampledata.Generate(sampledata.Options{Events: 6, Seed: 17})
	path2 := filepath.Join(t.TempDir(), "late.xlsx")
	if err := book2.WriteFile(path2); err != nil {
		t.Fatal(err)
	}
	r.nats("object", "put", "workbooks", path2, "--name", "late.xlsx", "--force", "--no-progress")
	wait = r.subscribe("import.result.late")
	r.nats("pub", "import.request.late", `{"object":"late.xlsx"}`)
	body = wait()
	if err := json.Unmarshal(body, &imported); err != nil || imported.Summary.Imported != 2 {
		t.Fatalf("import.result.late: want 2 new events: %v\n%s", err, body)
	}
	p, err := st.WaitDrained(ctx, 2*time.Minute, nil)
	if err != nil || p.Failed == 0 {
		t.Fatalf("want dead-lettered events, got %+v (%v)", p, err)
	}
	var dlq struct {
		State struct {
			Msgs     int    `json:"messages"`
			FirstSeq uint64 `json:"first_seq"`
		} `json:"state"`
	}
	if err := json.Unmarshal([]byte(r.nats("stream", "info", "DLQ", "--json")), &dlq); err != nil || dlq.State.Msgs != p.Failed {
		t.Fatalf("DLQ holds %d messages, %d events failed (%v)", dlq.State.Msgs, p.Failed, err)
	}
	msg := r.nats("stream", "get", "DLQ", itoa(dlq.State.FirstSeq))
	if !strings.Contains(msg, "Admsync-Dlq-Reason") || !strings.Contains(msg, "tutorial.event.created") {
		t.Fatalf("dead letter lacks its reason or original subject:\n%s", msg)
	}
	seq := itoa(dlq.State.FirstSeq)
	out, err := st.Run(ctx, "admwriter", "dlq", "list")
	if err != nil || !strings.Contains(out, "rejected") || !strings.Contains(out, fmt.Sprintf("%d dead letters", p.Failed)) {
		t.Fatalf("admwriter dlq list: %v\n%s", err, out)
	}
	if out, err := st.Run(ctx, "admwriter", "dlq", "show", seq); err != nil || !strings.Contains(out, seq) {
		t.Fatalf("admwriter dlq show %s: %v\n%s", seq, err, out)
	}
	st.Sim.UpdateFaults(func(f *admsim.Faults) { f.Disabled = nil })
	// Administrate refused them: poison, skipped by a plain replay, sent
	// again with --force once the cause is corrected.
	if out, err := st.Run(ctx, "admwriter", "dlq", "replay", "--all"); err != nil ||
		!strings.Contains(out, fmt.Sprintf("replayed 0 dead letters, skipped %d poison", p.Failed)) {
		t.Fatalf("admwriter dlq replay --all: %v\n%s", err, out)
	}
	if out, err := st.Run(ctx, "admwriter", "dlq", "replay", "--all", "--force"); err != nil {
		t.Fatalf("admwriter dlq replay --all --force: %v\n%s", err, out)
	}
	testwait.Within(t, 2*time.Minute, "every replayed event written", func() bool {
		p, err = st.Progress(ctx)
		return err == nil && p.Failed == 0 && p.Remaining == 0
	})
	tally, err := st.Tally(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tally.Created != p.Accepted || tally.Duplicated != 0 || tally.DLQ != 0 {
		t.Fatalf("after replay: %+v", tally)
	}

	// Runbook: after an outage, status and retry; with everything done the
	// retry has nothing to queue.
	if out, err := st.Run(ctx, "admwriter", "status"); err != nil || !strings.Contains(out, "done") {
		t.Fatalf("admwriter status: %v\n%s", err, out)
	}
	if out, err := st.Run(ctx, "admwriter", "retry", "--all"); err != nil || !strings.Contains(out, "queued 0 tutorial events") {
		t.Fatalf("admwriter retry --all: %v\n%s", err, out)
	}

	// Runbook: publish, price and tidy imported events, by the CLI and over NATS.
	out, err = st.Run(ctx, "admwriter", "events", "list", "--json")
	var listed []struct {
		EventID    int64  `json:"event_id"`
		AdmEventID string `json:"adm_event_id"`
		Code       string `json:"code"`
		State      string `json:"state"`
		SoldOut    bool   `json:"sold_out"`
	}
	jsonLine := "" // the command's logs share the output
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "[") {
			jsonLine = line
		}
	}
	if err != nil || json.Unmarshal([]byte(jsonLine), &listed) != nil || len(listed) != p.Accepted || listed[0].State != "draft" {
		t.Fatalf("admwriter events list --json: %v\n%s", err, out)
	}
	first := listed[0]
	wait = r.subscribe("event.result.ops-1")
	r.nats("pub", "event.command.soldout", fmt.Sprintf(`{"run_id": "ops-1", "action": "soldout", "event_id": %d, "adm_event_id": %q, "on": true}`,
		first.EventID, first.AdmEventID))
	var answer struct {
		Outcome string `json:"outcome"`
		EventID int64  `json:"event_id"`
	}
	body = wait()
	if err := json.Unmarshal(body, &answer); err != nil || answer.Outcome != "changed" || answer.EventID != first.EventID {
		t.Fatalf("event.result.ops-1: %v\n%s", err, body)
	}
	if ev, ok := st.Sim.Event(first.AdmEventID); !ok || !ev.IsSoldOut {
		t.Fatalf("event %s is not sold out in Administrate", first.AdmEventID)
	}
	if out, err := st.Run(ctx, "admwriter", "events", "soldout", "on", "--code", first.Code, "--yes"); err != nil || !strings.Contains(out, "nothing to change") {
		t.Fatalf("admwriter events soldout on a second time: %v\n%s", err, out)
	}
	if out, err := st.Run(ctx, "admwriter", "events", "publish", "--plan"); err != nil ||
		!strings.Contains(out, fmt.Sprintf("plan: %d events would change", p.Accepted)) {
		t.Fatalf("admwriter events publish --plan: %v\n%s", err, out)
	}
	if out, err := st.Run(ctx, "admwriter", "events", "publish", "--yes"); err != nil ||
		!strings.Contains(out, fmt.Sprintf("publish: %d changed, 0 unchanged", p.Accepted)) {
		t.Fatalf("admwriter events publish: %v\n%s", err, out)
	}
	if out := r.nats("stream", "info", "EVENT_COMMANDS"); !strings.Contains(out, "event.command.>") {
		t.Fatalf("stream info EVENT_COMMANDS:\n%s", out)
	}
	if err := json.Unmarshal([]byte(r.nats("consumer", "info", "EVENT_COMMANDS", "admwriter-commands", "--json")), &info); err != nil ||
		info.NumPending != 0 || info.NumAckPending != 0 {
		t.Fatalf("consumer admwriter-commands: %+v (%v)", info, err)
	}
}

// waitStreams waits until the services have declared their streams.
func waitStreams(t *testing.T, r *runbook) {
	testwait.For(t, "the services to declare their streams", func() bool {
		out, _ := exec.Command(filepath.Join(r.bin, "nats"), "--server", r.st.NATS.URL(), "stream", "ls", "--names").Output()
		s := string(out)
		return strings.Contains(s, "SYNC_REQUESTS") && strings.Contains(s, "IMPORT_REQUESTS") && strings.Contains(s, "TUTORIAL_EVENTS") && strings.Contains(s, "DLQ")
	})
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
