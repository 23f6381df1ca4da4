package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging"
	"admsync/pkg/sampledata"
	"admsync/pkg/testwait"
)

// Replay skips letters that failed because of the message itself, resolves
// letters whose event has since been done (after `retry --all`), and
// delete selects by id, --all, --done and filters.
func TestDLQReplaySkipsPoisonAndResolvesDoneEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ct := b.template(sampledata.LMS, 0)
	evA := b.seedEvent(eventSpec{Template: ct, Title: "ELO-DLQ-A", Location: "Online"})
	evB := b.seedEvent(eventSpec{Template: ct, Title: "ELO-DLQ-B", Location: "Online"})
	// No location bridge: both fail permanently, for a reason a sync fixes.
	b.db.Exec(t, `UPDATE adm.locations SET gone_at = now() WHERE name = 'Online'`)
	b.start(runOpts{workers: 2})
	b.enqueue(evA, evB)
	// A malformed message: poison, whatever is fixed.
	b.ensureStreams()
	if _, err := b.js.Publish(b.ctx, messaging.SubjectTutorialEventCreated, []byte(`{"tutorial_event_id":"seven"}`),
		jetstream.WithMsgID("malformed-1")); err != nil {
		t.Fatal(err)
	}
	testwait.For(b.t, "three dead letters", func() bool { return len(b.deadLetters()) == 3 })
	var poisonID uint64
	for _, dl := range b.deadLetters() {
		if strings.Contains(dl.Reason, "decode") {
			poisonID = dl.Sequence
		}
	}
	if poisonID == 0 {
		t.Fatalf("no dead letter of the malformed message: %+v", b.deadLetters())
	}

	// Fix the cause and retry: both events get done, their letters stay.
	b.db.Exec(t, `UPDATE adm.locations SET gone_at = NULL WHERE name = 'Online'`)
	if out, code := b.admwriter("retry", "--all"); code != 0 {
		t.Fatalf("retry --all (exit %d):\n%s", code, out)
	}
	b.waitState("done", 2)

	out, code := b.admwriter("dlq", "list")
	if code != 0 || strings.Count(out, "  done  ") != 2 || !strings.Contains(out, "poison") ||
		!strings.Contains(out, "2 events are done in Administrate since") || !strings.Contains(out, "dlq delete --done") ||
		!strings.Contains(out, "1 letter failed for a reason in the message itself") {
		t.Errorf("dlq list (exit %d):\n%s", code, out)
	}
	out, code = b.admwriter("dlq", "show", fmt.Sprint(poisonID))
	if code != 0 || !strings.Contains(out, "poison") {
		t.Errorf("dlq show of the poison letter (exit %d):\n%s", code, out)
	}

	// Replay --all: nothing republished; the done events' letters removed,
	// the poison letter kept and named.
	b.sim.ResetRequests()
	out, code = b.admwriter("dlq", "replay", "--all")
	if code != 0 || !strings.Contains(out, "replayed 0 dead letters, removed 2 whose event is already done, skipped 1 poison") {
		t.Errorf("dlq replay --all (exit %d):\n%s", code, out)
	}
	if dls := b.deadLetters(); len(dls) != 1 || dls[0].Sequence != poisonID {
		t.Fatalf("dead letters after replay --all: %+v", dls)
	}
	// By id it is refused (exit 1) and kept; --force sends it.
	if out, code := b.admwriter("dlq", "replay", fmt.Sprint(poisonID)); code != 1 || !strings.Contains(out, "poison") {
		t.Errorf("dlq replay of poison (exit %d):\n%s", code, out)
	}
	if len(b.deadLetters()) != 1 {
		t.Fatal("a skipped poison letter was removed")
	}
	if out, code := b.admwriter("dlq", "replay", "--force", fmt.Sprint(poisonID)); code != 0 || !strings.Contains(out, "replayed 1 dead letter") {
		t.Errorf("dlq replay --force (exit %d):\n%s", code, out)
	}
	// It fails again, as it must: a new letter for the same message.
	testwait.For(b.t, "the forced poison back in the DLQ", func() bool { return len(b.deadLetters()) == 1 })
	if len(b.sim.Requests()) != 0 {
		t.Errorf("replays called Administrate: %v", b.calls())
	}

	// delete by filter: --reason, --cause, --older-than, --done, --all.
	dl := b.deadLetters()[0]
	if out, code := b.admwriter("dlq", "delete", "--reason", "no such text"); code != 0 || !strings.Contains(out, "deleted 0 dead letters") {
		t.Errorf("delete --reason (no match) (exit %d):\n%s", code, out)
	}
	if out, code := b.admwriter("dlq", "delete", "--older-than", "1h"); code != 0 || !strings.Contains(out, "deleted 0 dead letters") {
		t.Errorf("delete --older-than 1h (exit %d):\n%s", code, out)
	}
	if out, code := b.admwriter("dlq", "delete", "--done"); code != 0 || !strings.Contains(out, "deleted 0 dead letters") {
		t.Errorf("delete --done with no done event (exit %d):\n%s", code, out)
	}
	if out, code := b.admwriter("dlq", "delete", "--cause", "malformed", "--reason", "DECODE"); code != 0 || !strings.Contains(out, "deleted 1 dead letter") {
		t.Errorf("delete --cause malformed --reason DECODE (exit %d):\n%s", code, out)
	}
	// --done removes the letters of done events; --all the rest.
	b.publishDeadLetterCopy(dl)
	doneLetter := b.deadLetters()[0]
	doneLetter.Payload = fmt.Appendf(nil, `{"tutorial_event_id":%d,"import_run_id":%d}`, evA, b.runID)
	b.publishDeadLetterCopy(doneLetter)
	b.publishDeadLetterCopy(dl)
	if out, code := b.admwriter("dlq", "delete", "--done"); code != 0 || !strings.Contains(out, "deleted 1 dead letter") {
		t.Errorf("delete --done (exit %d):\n%s", code, out)
	}
	if n := len(b.deadLetters()); n != 2 {
		t.Errorf("%d letters after delete --done, want 2", n)
	}
	if out, code := b.admwriter("dlq", "delete", "--all"); code != 0 || !strings.Contains(out, "deleted 2 dead letters") {
		t.Errorf("delete --all (exit %d):\n%s", code, out)
	}
	for _, args := range [][]string{{"dlq", "delete"}, {"dlq", "delete", "--all", "5"}, {"dlq", "delete", "--all", "--done"},
		{"dlq", "delete", "--cause", "bad"}, {"dlq", "list", "--cause", "bad"}} {
		if out, code := b.admwriter(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2:\n%s", args, code, out)
		}
	}
}

// commandLetters lists the dead-lettered event commands.
func (b *bundle) commandLetters() []messaging.DeadLetter {
	b.t.Helper()
	dls, err := messaging.NewDLQ(b.js).List(b.ctx, messaging.ListOptions{OriginalSubject: messaging.SubjectEventCommands})
	if err != nil {
		b.t.Fatal(err)
	}
	return dls
}

// TestDLQCoversEventCommands: a lifecycle command Administrate rejects is
// dead-lettered on dlq.event.command.<action>; dlq list and show name it
// (subject, action, event, code, run; the --json rows keep their fields and
// gain kind, subject, action, event_id, run_id); replay refuses it as poison
// naming the events command to re-run, sends it again with --force; delete
// --done leaves it (not decidable locally) and delete by id removes it.
func TestDLQCoversEventCommands(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ev := b.seedEvent(eventSpec{Template: b.template(sampledata.LMS, 0), Title: "DLQ-CMD", Location: "Online"})
	b.start(runOpts{workers: 1})
	b.enqueue(ev)
	b.waitState("done", 1)
	b.startCommands()
	var bridgeID int64
	if err := b.db.Pool.QueryRow(b.ctx, `SELECT id FROM adm.events WHERE tutorial_event_id = $1`, ev).Scan(&bridgeID); err != nil {
		t.Fatal(err)
	}
	// An Administrate id Administrate does not know: the command is rejected.
	cmd := messaging.EventCommand{EventCommandRef: messaging.EventCommandRef{RunID: "ops-dlq", Action: messaging.ActionSoldOut,
		EventID: bridgeID, AdmEventID: "RXZlbnQ6OTk5OTk5", Code: "DLQ-CMD-1"}, On: true}
	data, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.js.Publish(b.ctx, "event.command.soldout", data, jetstream.WithMsgID("dlq-cmd-1")); err != nil {
		t.Fatal(err)
	}
	testwait.For(b.t, "the rejected command's dead letter", func() bool { return len(b.commandLetters()) == 1 })
	id := b.commandLetters()[0].Sequence

	out, code := b.admwriter("dlq", "list")
	t.Logf("dlq list:\n%s", out)
	want := fmt.Sprintf("soldout event %d DLQ-CMD-1 run ops-dlq", bridgeID)
	if code != 0 || !strings.Contains(out, "event.command.soldout") || !strings.Contains(out, want) ||
		!strings.Contains(out, "SUBJECT") || !strings.Contains(out, "TUTORIAL EVENT") || !strings.Contains(out, "poison") ||
		!strings.Contains(out, "1 dead letter") {
		t.Errorf("dlq list (exit %d), want %q:\n%s", code, want, out)
	}
	out, code = b.admwriter("dlq", "list", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 {
		t.Fatalf("dlq list --json (exit %d, %v):\n%s", code, err, out)
	}
	r := rows[0]
	if r["kind"] != "event command" || r["subject"] != "event.command.soldout" || r["action"] != "soldout" ||
		r["event_id"] != float64(bridgeID) || r["event_code"] != "DLQ-CMD-1" || r["run_id"] != "ops-dlq" ||
		r["tutorial_event_id"] != float64(0) || r["id"] != float64(id) || r["poison"] != true || r["reason"] == "" {
		t.Errorf("dlq list --json row: %v", r)
	}
	out, code = b.admwriter("dlq", "show", fmt.Sprint(id))
	if code != 0 || !strings.Contains(out, "event.command.soldout (event command)") || !strings.Contains(out, "ops-dlq") ||
		!strings.Contains(out, "DLQ-CMD-1") || !strings.Contains(out, "poison") {
		t.Errorf("dlq show (exit %d):\n%s", code, out)
	}

	// --done does not judge commands; a poison command is refused by id,
	// naming the events command to run again, and kept.
	if out, code := b.admwriter("dlq", "delete", "--done"); code != 0 || !strings.Contains(out, "deleted 0 dead letters") {
		t.Errorf("delete --done (exit %d):\n%s", code, out)
	}
	if out, code := b.admwriter("dlq", "replay", fmt.Sprint(id)); code != 1 || !strings.Contains(out, "poison") ||
		!strings.Contains(out, "admwriter events soldout") {
		t.Errorf("dlq replay of the rejected command (exit %d):\n%s", code, out)
	}
	if len(b.commandLetters()) != 1 {
		t.Fatal("a refused replay removed the letter")
	}
	// --force republishes the command itself; Administrate rejects it again.
	b.sim.ResetRequests()
	if out, code := b.admwriter("dlq", "replay", "--force", fmt.Sprint(id)); code != 0 || !strings.Contains(out, "replayed 1 dead letter") ||
		!strings.Contains(out, "event command "+want) {
		t.Errorf("dlq replay --force (exit %d):\n%s", code, out)
	}
	testwait.For(b.t, "the replayed command back in the DLQ", func() bool {
		dls := b.commandLetters()
		return len(dls) == 1 && dls[0].Sequence != id
	})
	if len(b.sim.Requests()) == 0 {
		t.Error("the replayed command sent nothing to Administrate")
	}
	again := b.commandLetters()[0]
	var replayed messaging.EventCommand
	if err := json.Unmarshal(again.Payload, &replayed); err != nil || replayed.EventCommandRef != cmd.EventCommandRef || !replayed.On {
		t.Errorf("replayed command = %+v (%v), want %+v", replayed, err, cmd)
	}
	if out, code := b.admwriter("dlq", "delete", fmt.Sprint(again.Sequence)); code != 0 || !strings.Contains(out, "deleted 1 dead letter") {
		t.Errorf("dlq delete (exit %d):\n%s", code, out)
	}
	if dls := b.commandLetters(); len(dls) != 0 {
		t.Errorf("letters after delete: %+v", dls)
	}
}

// TestDLQCoversEveryService: the DLQ stream is shared, and the alert on its
// size sends the operator to admwriter dlq list, so the syncer's and the
// importer's letters (here a sync request its handler refused) are listed,
// shown, replayed to their own subject and deleted there too.
func TestDLQCoversEveryService(t *testing.T) {
	t.Parallel()
	b := setup(t)
	spec := messaging.SyncerConsumer()
	topo := messaging.DefaultTopology().Only(messaging.StreamSyncRequests, messaging.StreamDLQ)
	topo.Consumers = []messaging.ConsumerSpec{spec}
	if err := topo.Ensure(b.ctx, b.js); err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int32
	r, err := messaging.NewRunner(b.js, messaging.RunnerOptions{Consumer: spec, Workers: 1,
		Handler: func(context.Context, jetstream.Msg) error {
			handled.Add(1)
			return messaging.Permanent(errors.New("stage refused for the test"))
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(b.ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	if _, err := b.js.Publish(b.ctx, messaging.SubjectSyncRequestPrefix+"venues", []byte(`{"request_id":"dlq-sync-1"}`),
		jetstream.WithMsgID("dlq-sync-1")); err != nil {
		t.Fatal(err)
	}
	letters := func() []messaging.DeadLetter {
		dls, err := messaging.NewDLQ(b.js).List(b.ctx, messaging.ListOptions{OriginalSubject: messaging.SubjectSyncRequests})
		if err != nil {
			t.Fatal(err)
		}
		return dls
	}
	testwait.For(b.t, "the refused sync request's dead letter", func() bool { return len(letters()) == 1 })
	id := letters()[0].Sequence

	out, code := b.admwriter("dlq", "list")
	if code != 0 || !strings.Contains(out, "sync.request.venues") || !strings.Contains(out, "1 dead letter") {
		t.Errorf("dlq list (exit %d):\n%s", code, out)
	}
	out, code = b.admwriter("dlq", "list", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 ||
		rows[0]["kind"] != "sync request" || rows[0]["subject"] != "sync.request.venues" {
		t.Errorf("dlq list --json (exit %d, %v):\n%s", code, err, out)
	}
	if out, code := b.admwriter("dlq", "show", fmt.Sprint(id)); code != 0 || !strings.Contains(out, "sync.request.venues (sync request)") {
		t.Errorf("dlq show (exit %d):\n%s", code, out)
	}
	// A handler's refusal is not poison: replay sends it to its own subject,
	// where the handler refuses it again into a new letter.
	if out, code := b.admwriter("dlq", "replay", fmt.Sprint(id)); code != 0 || !strings.Contains(out, "sync request sync.request.venues replayed") {
		t.Fatalf("dlq replay (exit %d):\n%s", code, out)
	}
	testwait.For(b.t, "the replayed request handled again", func() bool { return handled.Load() == 2 && len(letters()) == 1 })
	if letters()[0].Sequence == id {
		t.Fatal("the replayed letter was not removed")
	}
	if out, code := b.admwriter("dlq", "delete", "--all"); code != 0 || !strings.Contains(out, "deleted 1 dead letter") {
		t.Errorf("dlq delete --all (exit %d):\n%s", code, out)
	}
	if n := len(letters()); n != 0 {
		t.Errorf("%d letters left after delete --all", n)
	}
}
