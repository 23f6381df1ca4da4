package e2e

import (
	"fmt"
	"strings"
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
