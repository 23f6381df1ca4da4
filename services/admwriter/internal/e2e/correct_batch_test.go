package e2e

import (
	"encoding/json"
	"testing"

	"admsync/pkg/messaging"
	"admsync/pkg/sampledata"
	"admsync/pkg/testwait"
)

// TestCorrectionWritesShareOneRequest: a correction naming every Day of a
// blended event of three sessions (their updates) and their instructors, of
// which two were taken off in Administrate, reads the event once and sends
// its writes (three session updates, two staff additions) as one request: 2
// requests where it took 6, recorded as such in adm.event_changes.
func TestCorrectionWritesShareOneRequest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ct := b.templateWithSessions(sampledata.Blended, 3)
	ev := b.seedEvent(eventSpec{Template: ct, Title: "CW-BATCH-26A", Location: "London", Venue: "Riverside Rooms"})
	b.start(runOpts{workers: 2})
	b.enqueue(ev)
	b.waitState("done", 1)
	ext, _ := b.bridge(ev)
	sessions := b.sim.Sessions(ext)
	if len(sessions) != 3 {
		t.Fatalf("%d sessions, want 3", len(sessions))
	}
	for _, s := range sessions[1:3] { // Days 2 and 3 lose their instructor
		if err := b.sim.ChangeSession(s.ID, []byte(`{"instructors": []}`)); err != nil {
			t.Fatal(err)
		}
	}
	before := len(b.sim.Requests())

	body, _ := json.Marshal(messaging.TutorialEventChanged{TutorialEventID: ev, ImportRunID: b.runID, Revision: 1,
		SessionDays: []int{1, 2, 3}, StaffDays: []int{1, 2, 3}})
	if _, err := b.js.Publish(b.ctx, messaging.SubjectTutorialEventChanged, body); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the correction applied", func() bool {
		return b.count(t, `SELECT count(*) FROM adm.event_changes`) == 1
	})
	reqs := b.sim.Requests()[before:]
	if len(reqs) != 2 || len(reqs[1].Fields) != 5 {
		for _, r := range reqs {
			t.Logf("request %s: %d fields %v", r.Operation, len(r.Fields), r.Operations())
		}
		t.Fatalf("%d requests, want 2: the event read, then its 3 session updates and 2 staff additions as one", len(reqs))
	}
	if calls := b.count(t, `SELECT calls FROM adm.event_changes`); calls != 2 {
		t.Errorf("adm.event_changes.calls = %d, want 2", calls)
	}
	for i, s := range b.sim.Sessions(ext) {
		if len(s.Staff) != 1 {
			t.Errorf("Day %d staff %+v, want its one instructor", i+1, s.Staff)
		}
	}
}
