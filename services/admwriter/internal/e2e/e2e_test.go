package e2e

import (
	"fmt"
	"testing"
	"time"

	"admsync/pkg/metricstest"
	"admsync/pkg/sampledata"
)

// TestImportedEventsAreCreatedOnce: blended, LMS and classroom events go
// through the outbox to JetStream to the admwriter, and each exists once in
// Administrate with the workbook's dates, zone, custom fields, sessions and
// staff, with adm.events and adm.sessions filled.
func TestImportedEventsAreCreatedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	blended := b.template(sampledata.Blended, 0)
	lms := b.template(sampledata.LMS, 0)
	classroom := b.template(sampledata.Classroom, 0)
	admin := sampledata.ExternalID("Contact", 1001)

	evBlended := b.seedEvent(eventSpec{Template: blended, Title: "ELO-" + blended.Code + "-26A", Location: "London", Venue: "Central Training Centre",
		EventURL: "https://example.test/e1", WebSale: true, Admins: []string{admin}})
	evLMS := b.seedEvent(eventSpec{Template: lms, Title: "ELO-" + lms.Code + "-26A", Location: "Online"})
	// A zone other than the server's and the default, across a DST change.
	evClass := b.seedEvent(eventSpec{Template: classroom, Title: "ELO-" + classroom.Code + "-26A", Location: "Live online", Venue: "Live online",
		Zone: "America/New_York", FirstDay: time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)})

	b.start(runOpts{workers: 4})
	b.enqueue(evBlended, evLMS, evClass)
	b.waitState("done", 3)

	if got := b.calls()["CreateBlendedEvent"]; got != 1 {
		t.Errorf("CreateBlendedEvent calls = %d, want 1", got)
	}
	if got := len(b.sim.Events()); got != 3 {
		t.Fatalf("simulator has %d events, want 3", got)
	}
	cf := b.customFieldLabels()

	// Blended.
	ext, _ := b.bridge(evBlended)
	ev, ok := b.sim.Server.Event(ext)
	if !ok {
		t.Fatalf("bridge points at %q, which the simulator does not have", ext)
	}
	if ev.Title != "ELO-"+blended.Code+"-26A" || ev.LearningMode != "blended" || ev.TimeZoneName != "Europe/London" {
		t.Errorf("blended event %+v", ev)
	}
	if ev.LmsStart.String() != "2025-09-30T16:00:00" {
		t.Errorf("LMS start %s, want the workbook's wall clock 2025-09-30T16:00:00", ev.LmsStart)
	}
	if ev.MaxPlaces != 12 || ev.LocationID != sampledata.ExternalID("Location", 3) {
		t.Errorf("max places %d location %s", ev.MaxPlaces, ev.LocationID)
	}
	fields := map[string]string{}
	for k, v := range ev.CustomFields {
		fields[cf[k]] = v
	}
	want := map[string]string{"Sitting": "2026A", "Web sale": "true", "URL": "https://example.test/e1", "Finalisation date": "2026-02-28"}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("blended custom field %q = %q, want %q (all: %v)", k, fields[k], v, fields)
		}
	}
	if len(ev.Staff) != 1 || ev.Staff[0].ContactID != admin || ev.Staff[0].StaffType != "administrator" {
		t.Errorf("event staff %+v, want the administrator", ev.Staff)
	}
	b.checkSessions(evBlended, ext, blended, "Europe/London", 30)

	// LMS: no sessions, OCR moodle code and web sale as text.
	ext, _ = b.bridge(evLMS)
	ev, _ = b.sim.Server.Event(ext)
	fields = map[string]string{}
	for k, v := range ev.CustomFields {
		fields[cf[k]] = v
	}
	if ev.LearningMode != "lms" || fields["Web sale"] != "false" || fields["OCR Moodle Code"] == "" || fields["Sitting"] != "2026A" {
		t.Errorf("LMS event %+v fields %v", ev, fields)
	}

	// Classroom in New York: session times are New York wall clock.
	ext, _ = b.bridge(evClass)
	ev, _ = b.sim.Server.Event(ext)
	if ev.LearningMode != "classroom" || ev.TimeZoneName != "America/New_York" || ev.Start.String() != "2026-03-07T09:30:00" {
		t.Errorf("classroom event %+v", ev)
	}
	b.checkSessions(evClass, ext, classroom, "America/New_York", 7)

	// Results published.
	if got := len(b.results("adm.event.linked")); got != 3 {
		t.Errorf("adm.event.linked messages = %d, want 3", got)
	}
	b.noDeadLetters()
	// Calls per blended event with S sessions and one instructor each, plus one administrator.
	s := blended.Sessions
	if got := b.calls()["UpdateSession"] + b.calls()["AddSessionStaff"]; got != 2*(s+classroom.Sessions) {
		t.Errorf("session calls = %d, want %d", got, 2*(s+classroom.Sessions))
	}
	if got := b.calls()["Events"] + b.calls()["EventWithSessions"]; got != 0 {
		t.Errorf("lookups on first attempts = %d, want 0", got)
	}

	// Metrics, by their exact names.
	metrics := map[string]float64{
		`admsync_admwriter_events_total{outcome="linked"}`:  3,
		`admsync_admwriter_events_total{outcome="failed"}`:  0,
		`admsync_admwriter_events_total{outcome="skipped"}`: 0,
		`admsync_admwriter_sessions_updated_total`:          float64(s + classroom.Sessions),
		`admsync_admwriter_staff_added_total`:               float64(s + classroom.Sessions + 1),
		`admsync_admwriter_breaker_state`:                   0,
		`admsync_admwriter_event_duration_seconds_count`:    3,
	}
	got := metricstest.Flatten(t, b.registry)
	for name, want := range metrics {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
}

// customFieldLabels maps definition ids to labels.
func (b *bundle) customFieldLabels() map[string]string {
	out := map[string]string{}
	for i, cf := range b.ref.CustomFields {
		out[sampledata.ExternalID("CustomFieldDefinition", i+1)] = cf.Label
	}
	return out
}

// checkSessions compares an event's simulator sessions with its tutorial
// sessions and adm.sessions rows.
func (b *bundle) checkSessions(ev int64, ext string, ct sampledata.CourseTemplate, zone string, firstDay int) {
	t := b.t
	t.Helper()
	sessions := b.sim.Sessions(ext)
	if len(sessions) != ct.Sessions {
		t.Fatalf("event %s has %d sessions, want %d", ext, len(sessions), ct.Sessions)
	}
	cf := b.customFieldLabels()
	instructor := sampledata.ExternalID("Contact", indexOf(b.ref.Instructors, ct.Approved[0])+1)
	for i, s := range sessions {
		day := i + 1
		if s.Title != fmt.Sprintf("%s-%d", mustTitle(b, ev), day) {
			t.Errorf("session %d title %q", day, s.Title)
		}
		wantStart := time.Date(2026, 3, firstDay, 9, 30, 0, 0, time.UTC).AddDate(0, 0, i).Format("2006-01-02T15:04:05")
		if s.Start.String() != wantStart || s.TimeZoneName != zone {
			t.Errorf("session %d start %s zone %s, want %s in %s", day, s.Start, s.TimeZoneName, wantStart, zone)
		}
		fields := map[string]string{}
		for k, v := range s.CustomFields {
			fields[cf[k]] = v
		}
		if fields["Day"] != fmt.Sprint(day) || fields["URL"] == "" {
			t.Errorf("session %d custom fields %v", day, fields)
		}
		if len(s.Staff) != 1 || s.Staff[0].ContactID != instructor {
			t.Errorf("session %d staff %+v, want %s", day, s.Staff, instructor)
		}
		var bridged string
		var staffDone bool
		if err := b.db.Pool.QueryRow(b.ctx, `SELECT s.external_id, s.staff_done FROM adm.sessions s JOIN adm.events e ON e.id = s.event_id
			WHERE e.tutorial_event_id = $1 AND s.day_number = $2`, ev, day).Scan(&bridged, &staffDone); err != nil {
			t.Fatalf("adm.sessions day %d: %v", day, err)
		}
		if bridged != s.ID || !staffDone {
			t.Errorf("adm.sessions day %d = %s (staff %v), want %s", day, bridged, staffDone, s.ID)
		}
	}
}

func mustTitle(b *bundle, ev int64) string {
	var title string
	if err := b.db.Pool.QueryRow(b.ctx, `SELECT title FROM admsync.import_events WHERE tutorial_event_id = $1`, ev).Scan(&title); err != nil {
		b.t.Fatal(err)
	}
	return title
}

func indexOf(people []sampledata.Person, full string) int {
	for i, p := range people {
		if p.FullName() == full {
			return i
		}
	}
	return -1
}
