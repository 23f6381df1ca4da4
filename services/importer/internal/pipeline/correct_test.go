package pipeline_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"admsync/pkg/messaging"
	"admsync/pkg/sampledata"
	"admsync/services/importer/internal/validate"
)

// A corrected workbook imported again: the three changed events are listed
// field by field (dry run and import alike), their rows are updated in the
// import's transaction with one tutorial.event.changed each, the others are
// skipped; the same file once more changes nothing.
func TestReimportCorrectsChangedEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(20)
	first := b.run(b.write(bk), false)
	if first.Summary.Imported != 20 || first.Summary.Failed() {
		t.Fatalf("first import: %s", first.Summary.Line())
	}
	want, err := sampledata.Correct(bk, b.ref)
	if err != nil {
		t.Fatal(err)
	}
	path := b.write(bk)

	dry := b.runWritesNothing("the dry run", path, true)
	if dry.Summary.Changed != 3 || dry.Summary.Duplicates != 17 || dry.Summary.Imported != 0 || dry.Summary.Failed() {
		t.Fatalf("dry run: %s", dry.Summary.Line())
	}
	if !strings.Contains(dry.Summary.Line(), "would change 3 events") {
		t.Errorf("dry-run line: %s", dry.Summary.Line())
	}
	got := map[string]string{}
	for _, c := range dry.Summary.Changes {
		got[c.Event+"|"+c.Field] = c.Old + " → " + c.New
	}
	for _, w := range want {
		v, ok := got[w.Title+"|"+w.Field]
		if !ok || !strings.Contains(v, w.New) {
			t.Errorf("%s %s: reported %q, want … → %s (all: %v)", w.Title, w.Field, v, w.New, got)
		}
	}
	if len(dry.Summary.Changes) != 3 {
		t.Errorf("%d changes reported, want 3: %v", len(dry.Summary.Changes), got)
	}

	out := b.run(path, false)
	if out.Summary.Changed != 3 || out.Summary.Duplicates != 17 || out.Summary.RunID == 0 {
		t.Fatalf("corrective import: %s", out.Summary.Line())
	}
	ctx := context.Background()
	var places int
	if err := b.db.Pool.QueryRow(ctx, `SELECT max_places FROM admsync.import_events WHERE title = $1`, want[0].Title).Scan(&places); err != nil {
		t.Fatal(err)
	}
	if want[0].New != strconv.Itoa(places) {
		t.Errorf("max_places = %d, want %s", places, want[0].New)
	}
	var start string
	if err := b.db.Pool.QueryRow(ctx, `SELECT to_char(s.start_date AT TIME ZONE 'Europe/London', 'HH24:MI') FROM acted.tutorial_sessions s
		JOIN acted.tutorial_events e ON e.id = s.tutorial_event_id WHERE e.code = $1 AND s.sequence = 2`, want[1].Title).Scan(&start); err != nil {
		t.Fatal(err)
	}
	if start != want[1].New {
		t.Errorf("Day 2 starts at %s, want %s", start, want[1].New)
	}
	var inst string
	if err := b.db.Pool.QueryRow(ctx, `SELECT string_agg(trim(u.first_name || ' ' || u.last_name), ', ')
		FROM acted.tutorial_session_instructors si JOIN acted.tutorial_sessions s ON s.id = si.tutorialsessions_id
		JOIN acted.tutorial_events e ON e.id = s.tutorial_event_id JOIN acted.tutorial_instructors ti ON ti.id = si.tutorialinstructor_id
		JOIN acted.staff st ON st.id = ti.staff_id JOIN public.auth_user u ON u.id = st.user_id
		WHERE e.code = $1 AND s.sequence = 1`, want[2].Title).Scan(&inst); err != nil {
		t.Fatal(err)
	}
	if inst != want[2].New {
		t.Errorf("Day 1 instructors = %q, want %q", inst, want[2].New)
	}
	rows, err := b.db.Pool.Query(ctx, `SELECT payload FROM admsync.outbox WHERE subject = $1`, messaging.SubjectTutorialEventChanged)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []messaging.TutorialEventChanged
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var m messaging.TutorialEventChanged
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	rows.Close()
	if len(msgs) != 3 {
		t.Fatalf("%d change messages, want 3", len(msgs))
	}
	kinds := map[string]bool{}
	for _, m := range msgs {
		if m.Revision != 1 || m.ImportRunID != out.Summary.RunID {
			t.Errorf("message %+v", m)
		}
		if len(m.EventFields) == 1 && m.EventFields[0] == messaging.ChangedFieldMaxPlaces {
			kinds["places"] = true
		}
		if reflect.DeepEqual(m.SessionDays, []int{2}) {
			kinds["time"] = true
		}
		if reflect.DeepEqual(m.StaffDays, []int{1}) {
			kinds["staff"] = true
		}
	}
	if len(kinds) != 3 {
		t.Errorf("messages %+v", msgs)
	}
	var status string
	if err := b.db.Pool.QueryRow(ctx, `SELECT status FROM admsync.import_rows WHERE import_run_id = $1 AND messages::text LIKE '%Max places%'`,
		out.Summary.RunID).Scan(&status); err != nil || status != string(validate.Changed) {
		t.Errorf("import row status %q, %v", status, err)
	}

	again := b.runWritesNothing("the identical re-import", path, false)
	if again.Summary.Changed != 0 || again.Summary.Duplicates != 20 || again.Summary.RunID != 0 {
		t.Fatalf("second identical import: %s", again.Summary.Line())
	}
}

// Another number of Days cannot be applied in place: the event is refused
// with the file, sheet and row and what to do, and nothing of it is written.
func TestReimportRefusesAnotherNumberOfDays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(20)
	b.run(b.write(bk), false)
	title, err := sampledata.ChangeDays(bk, b.ref)
	if err != nil {
		t.Fatal(err)
	}
	before := b.counts()
	out := b.run(b.write(bk), false)
	if out.Summary.Rejected != 1 || out.Summary.Changed != 0 {
		t.Fatalf("import: %s", out.Summary.Line())
	}
	var text string
	for _, p := range out.Summary.Problems {
		text += p.Text + "\n"
	}
	for _, w := range []string{"sheet", "row", "Day(s)", "cannot add or remove", "delete the draft event in Administrate"} {
		if !strings.Contains(text, w) {
			t.Errorf("refusal lacks %q:\n%s", w, text)
		}
	}
	var code string
	if err := b.db.Pool.QueryRow(context.Background(), `SELECT course_template_code FROM admsync.import_events WHERE title = $1`, title).Scan(&code); err != nil {
		t.Fatal(err)
	}
	after := b.counts()
	for _, tbl := range []string{"acted.tutorial_events", "acted.tutorial_sessions", "acted.tutorial_session_instructors", "admsync.import_events", "admsync.outbox"} {
		if before[tbl] != after[tbl] {
			t.Errorf("%s: %d rows before, %d after", tbl, before[tbl], after[tbl])
		}
	}
	var changed int
	if err := b.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM admsync.import_events WHERE revision > 0`).Scan(&changed); err != nil || changed != 0 {
		t.Errorf("%d events marked corrected (%v)", changed, err)
	}
}

// Events of the file's sittings that a new workbook no longer has are
// listed, never deleted.
func TestReimportReportsMissingEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(10)
	b.run(b.write(bk), false)
	gone := bk.Rows[0].Get("B").Text
	n := 1
	for n < len(bk.Rows) && bk.Rows[n].Get("A").Kind == sampledata.Blank {
		n++
	}
	bk.Rows = bk.Rows[n:]
	out := b.runWritesNothing("reporting a missing event", b.write(bk), false)
	if len(out.Summary.Missing) != 1 || out.Summary.Missing[0].Title != gone {
		t.Fatalf("missing = %+v, want %s", out.Summary.Missing, gone)
	}
	if !strings.Contains(out.Summary.Line(), "not in this file (not deleted)") {
		t.Errorf("line: %s", out.Summary.Line())
	}
}
