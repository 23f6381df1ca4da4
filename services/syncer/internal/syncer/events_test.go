package syncer_test

import (
	"encoding/json"
	"strings"
	"testing"

	"admsync/pkg/admsim"
	"admsync/services/syncer/internal/syncer"
)

// eventWorld is a sitting with one event linked on both sides, as the
// admwriter leaves it: reference data synced, bridges holding the ids.
type eventWorld struct {
	*bundle
	eventID         string // Administrate
	sessionIDs      []string
	tutEvent        int64
	tutSessions     []int64
	london, leeds   string // Administrate locations
	tLondon, tLeeds int64
	hall, annex     string // Administrate venues (London, Leeds)
	tHall, tAnnex   int64
	ada, bob        string // Administrate instructors
	tAda, tBob      int64
	product         int64
	webSale         string
}

func newEventWorld(t *testing.T) *eventWorld {
	w := &eventWorld{bundle: setup(t)}
	s := w.sim
	w.london, w.leeds = s.Location("London"), s.Location("Leeds")
	w.hall, w.annex = s.Venue("Hall", w.london), s.Venue("Annex", w.leeds)
	w.ada, w.bob = s.Instructor("Ada", "Lovelace"), s.Instructor("Bob", "Babbage")
	w.webSale = s.CustomField("Event", "Web sale")
	w.tLondon, w.tLeeds = w.tutorialLocation("London", true), w.tutorialLocation("Leeds", true)
	w.tHall, w.tAnnex = w.tutorialVenue("Hall", w.tLondon), w.tutorialVenue("Annex", w.tLeeds)
	w.tAda, w.tBob = w.tutorialInstructor("Ada", "Lovelace", true), w.tutorialInstructor("Bob", "Babbage", true)
	for _, st := range []string{syncer.StageCustomFields, syncer.StageLocations, syncer.StageVenues, syncer.StageInstructors} {
		w.mustRun(st, syncer.Options{NoPrompt: true})
	}
	w.product = w.id(`INSERT INTO acted.products (product_code, subject_code, sitting, variation_code) VALUES ('CB1/26A/F2F', 'CB1', '26A', 'F2F') RETURNING id`)
	w.eventID, w.sessionIDs, w.tutEvent, w.tutSessions = w.linkedEvent("CB1-01-26A")
	return w
}

// linkedEvent makes an event with two sessions in both systems and the bridges between them.
func (w *eventWorld) linkedEvent(code string) (string, []string, int64, []int64) {
	w.t.Helper()
	id := w.sim.SeedEvent(admsim.EventSeed{Title: code, Location: w.london, Venue: w.hall, MaxPlaces: 20,
		CustomFieldValues: []admsim.CustomFieldValueSeed{{Definition: w.webSale, Value: "False"}},
		Sessions: []admsim.SessionSeed{
			{Title: code + "-1", Location: w.london, Venue: w.hall, Staff: []admsim.StaffSeed{{Contact: w.ada, StaffType: "instructor"}}},
			{Title: code + "-2", Location: w.london, Venue: w.hall, Staff: []admsim.StaffSeed{{Contact: w.ada, StaffType: "instructor"}}},
		}})
	ev, err := w.source(100).SyncedEvent(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	tut := w.id(`INSERT INTO acted.tutorial_events (code, venue_id, location_id, remain_space, start_date, end_date, product_id)
		VALUES ($1, $2, $3, 20, '2026-09-01', '2026-09-02', $4) RETURNING id`, code, w.tHall, w.tLondon, w.product)
	bridge := w.id(`INSERT INTO adm.events (external_id, tutorial_event_id, state) VALUES ($1, $2, 'done') RETURNING id`, id, tut)
	var sids []string
	var tsess []int64
	for i, s := range ev.Sessions {
		ts := w.id(`INSERT INTO acted.tutorial_sessions (tutorial_event_id, title, venue_id, location_id, start_date, end_date, sequence)
			VALUES ($1, $2, $3, $4, '2026-09-01 09:00', '2026-09-01 17:00', $5) RETURNING id`, tut, s.Title, w.tHall, w.tLondon, i+1)
		w.exec(`INSERT INTO acted.tutorial_session_instructors (tutorialsessions_id, tutorialinstructor_id) VALUES ($1, $2)`, ts, w.tAda)
		w.exec(`INSERT INTO adm.sessions (event_id, external_id, tutorial_session_id, day_number, staff_done) VALUES ($1, $2, $3, $4, true)`, bridge, s.ID, ts, i+1)
		sids, tsess = append(sids, s.ID), append(tsess, ts)
	}
	return id, sids, tut, tsess
}

func (w *eventWorld) change(kind, id string, v any) {
	w.t.Helper()
	body, _ := json.Marshal(v)
	var err error
	if kind == "event" {
		err = w.sim.ChangeEvent(id, body)
	} else {
		err = w.sim.ChangeSession(id, body)
	}
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *eventWorld) instructors(session int64) string {
	return w.str(`SELECT string_agg(tutorialinstructor_id::text, ',' ORDER BY tutorialinstructor_id) FROM acted.tutorial_session_instructors WHERE tutorialsessions_id = $1`, session)
}

// A change made in Administrate (cancel, sell out, move a session, change its
// staff) reaches the tutorial tables; a rerun changes nothing.
func TestEventsStageBringsAdministrateChangesBack(t *testing.T) {
	w := newEventWorld(t)
	opts := syncer.Options{NoPrompt: true, Sitting: "26A"}
	res := w.mustRun(syncer.StageEvents, opts)
	wantCounts(t, res, syncer.Counts{Updated: 1}) // first sync: Administrate's lifecycle and web sale recorded
	if got := w.str(`SELECT adm_lifecycle_state FROM adm.events WHERE external_id = $1`, w.eventID); got != "draft" {
		t.Fatalf("lifecycle state = %s", got)
	}

	w.change("event", w.eventID, map[string]any{"lifecycleState": "cancelled", "isSoldOut": true})
	w.change("session", w.sessionIDs[1], map[string]any{"locationId": w.leeds, "venueId": w.annex, "instructors": []string{w.bob}})
	// --plan shows the changes and writes nothing.
	plan := opts
	plan.Plan = true
	res = w.mustRun(syncer.StageEvents, plan)
	if res.Counts.Updated != 1 || len(res.Changes) != 1 || !strings.Contains(w.out.String(), "is_soldout") {
		t.Fatalf("plan: %+v %+v\n%s", res.Counts, res.Changes, w.out.String())
	}
	if got := w.str(`SELECT is_soldout::text FROM acted.tutorial_events WHERE id = $1`, w.tutEvent); got != "false" {
		t.Fatal("--plan wrote")
	}
	res = w.mustRun(syncer.StageEvents, opts)
	wantCounts(t, res, syncer.Counts{Updated: 1})
	if got := w.str(`SELECT is_soldout::text || '/' || remain_space FROM acted.tutorial_events WHERE id = $1`, w.tutEvent); got != "true/0" {
		t.Errorf("sold out / remaining = %s, want true/0", got)
	}
	if got := w.str(`SELECT adm_lifecycle_state || '/' || (adm_cancelled_at IS NOT NULL)::text FROM adm.events WHERE external_id = $1`, w.eventID); got != "cancelled/true" {
		t.Errorf("bridge state = %s, want cancelled/true", got)
	}
	if got := w.str(`SELECT venue_id || '/' || location_id FROM acted.tutorial_sessions WHERE id = $1`, w.tutSessions[1]); got != itoa(w.tAnnex)+"/"+itoa(w.tLeeds) {
		t.Errorf("session 2 venue/location = %s, want the Annex in Leeds", got)
	}
	if got := w.instructors(w.tutSessions[1]); got != itoa(w.tBob) {
		t.Errorf("session 2 instructors = %s, want Bob (%d)", got, w.tBob)
	}
	if got := w.instructors(w.tutSessions[0]); got != itoa(w.tAda) {
		t.Errorf("session 1 instructors = %s, want Ada unchanged", got)
	}

	res = w.mustRun(syncer.StageEvents, opts)
	wantCounts(t, res, syncer.Counts{Unchanged: 1})
	if res.RowsApplied != 0 {
		t.Errorf("rerun applied %d rows", res.RowsApplied)
	}
}

// A field changed both locally (a correction) and in Administrate is reported
// with both values and left alone; --conflicts administrate takes Administrate's.
func TestEventsStageReportsConflicts(t *testing.T) {
	w := newEventWorld(t)
	opts := syncer.Options{NoPrompt: true, Sitting: "26A"}
	w.mustRun(syncer.StageEvents, opts)
	w.exec(`UPDATE acted.tutorial_events SET remain_space = 5 WHERE id = $1`, w.tutEvent) // the correction
	w.change("event", w.eventID, map[string]any{"maxPlaces": 30, "isSoldOut": true})
	res := w.mustRunSkipping(syncer.StageEvents, opts)
	if len(res.Conflicts) != 1 || res.Conflicts[0].Field != "remain_space" || res.Conflicts[0].Local != "5" || res.Conflicts[0].Administrate != "0" {
		t.Fatalf("conflicts = %+v", res.Conflicts)
	}
	if got := w.str(`SELECT is_soldout::text || '/' || remain_space FROM acted.tutorial_events WHERE id = $1`, w.tutEvent); got != "true/5" {
		t.Errorf("after a conflict: %s, want sold out applied and remain_space kept at 5", got)
	}
	if out := w.out.String(); !strings.Contains(out, "--conflicts administrate") || !strings.Contains(out, `local "5", Administrate "0"`) {
		t.Errorf("report does not give both values and the choice:\n%s", out)
	}
	// Still a conflict on the next run: nothing was accepted silently.
	if res = w.mustRunSkipping(syncer.StageEvents, opts); len(res.Conflicts) != 1 {
		t.Fatalf("second run conflicts = %+v", res.Conflicts)
	}
	opts.Conflicts = syncer.ConflictsAdministrate
	res = w.mustRun(syncer.StageEvents, opts)
	if got := w.str(`SELECT remain_space::text FROM acted.tutorial_events WHERE id = $1`, w.tutEvent); got != "0" || len(res.Conflicts) != 1 {
		t.Errorf("--conflicts administrate: remain_space %s, conflicts %+v", got, res.Conflicts)
	}
	opts.Conflicts = ""
	wantCounts(t, w.mustRun(syncer.StageEvents, opts), syncer.Counts{Unchanged: 1})
}

// Reports both ways: an Administrate event with no bridge (adopted with
// --adopt), and a linked event Administrate no longer returns (marked gone,
// the tutorial event kept).
func TestEventsStageUnmatchedAdoptAndGone(t *testing.T) {
	w := newEventWorld(t)
	opts := syncer.Options{NoPrompt: true, Sitting: "26A"}
	_, _, gone, _ := w.linkedEvent("CB1-03-26A")
	w.exec(`UPDATE adm.events SET external_id = 'Q291cnNlOjk5OTk=' WHERE tutorial_event_id = $1`, gone) // Course:9999, never existed
	stray := w.sim.SeedEvent(admsim.EventSeed{Title: "CB1-02-26A", Location: w.london,
		Sessions: []admsim.SessionSeed{{Title: "CB1-02-26A-1", Location: w.london}}})
	tut := w.id(`INSERT INTO acted.tutorial_events (code, start_date, end_date, product_id) VALUES ('CB1-02-26A', '2026-09-01', '2026-09-01', $1) RETURNING id`, w.product)
	w.exec(`INSERT INTO acted.tutorial_sessions (tutorial_event_id, title, start_date, end_date, sequence) VALUES ($1, 'CB1-02-26A-1', '2026-09-01 09:00', '2026-09-01 17:00', 1)`, tut)

	// The re-pointed event's Administrate original is reported too: its
	// tutorial event has a bridge (to the vanished id), so it is never adopted.
	unmatched := func(res *syncer.StageResult) map[string]string {
		m := map[string]string{}
		for _, u := range res.UnmatchedAdministrate {
			m[u.ID] = u.Description
		}
		return m
	}
	res := w.mustRun(syncer.StageEvents, opts)
	if u := unmatched(res); len(u) != 2 || !strings.Contains(u[stray], "--adopt") {
		t.Fatalf("unmatched Administrate = %+v", res.UnmatchedAdministrate)
	}
	if res.Counts.Gone != 1 || len(res.Gone) != 1 || !strings.Contains(res.Gone[0].Description, "CB1-03-26A") {
		t.Fatalf("gone = %d %+v", res.Counts.Gone, res.Gone)
	}
	if w.count(`SELECT 1 FROM acted.tutorial_events WHERE id = $1`, gone) != 1 || w.str(`SELECT (gone_at IS NOT NULL)::text FROM adm.events WHERE tutorial_event_id = $1`, gone) != "true" {
		t.Fatal("the gone event's tutorial row must stay and its bridge be marked gone")
	}
	opts.Adopt = true
	res = w.mustRun(syncer.StageEvents, opts)
	if u := unmatched(res); res.Counts.Created != 1 || len(u) != 1 || u[stray] != "" {
		t.Fatalf("adopt: %+v, unmatched %+v", res.Counts, res.UnmatchedAdministrate)
	}
	if w.count(`SELECT 1 FROM adm.events e JOIN adm.sessions s ON s.event_id = e.id WHERE e.external_id = $1 AND e.tutorial_event_id = $2`, stray, tut) != 1 {
		t.Fatal("adopted event and its session not linked")
	}
}

// `run all` leaves the events stage out unless asked; --with-events runs it last.
func TestRunAllWithEvents(t *testing.T) {
	w := newEventWorld(t)
	all, _ := w.runner(syncer.Options{NoPrompt: true}, "").RunAll(w.ctx, syncer.Options{NoPrompt: true})
	for _, s := range all.Stages {
		if s.Stage == syncer.StageEvents {
			t.Fatal("run all ran the events stage without --with-events")
		}
	}
	all, _ = w.runner(syncer.Options{NoPrompt: true}, "").RunAll(w.ctx, syncer.Options{NoPrompt: true, WithEvents: true, Sitting: "26A"})
	last := all.Stages[len(all.Stages)-1]
	if last.Stage != syncer.StageEvents || !last.OK() || last.Fetched != 1 {
		t.Fatalf("last stage of run all --with-events = %s %s fetched %d\n%s", last.Stage, last.Outcome, last.Fetched, w.out.String())
	}
}
