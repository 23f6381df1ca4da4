package pipeline_test

import (
	"testing"
	"time"

	"admsync/pkg/sampledata"
)

// TestRules breaks one rule per case in an otherwise valid generated
// workbook and expects a problem at the exact Excel row and column.
func TestRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	base := book(80)
	bl := pick(t, base, b.ref, sampledata.Blended, 3)
	lms := pick(t, base, b.ref, sampledata.LMS, 1)
	cls := pick(t, base, b.ref, sampledata.Classroom, 2)
	ev := bl.first     // blended event row
	s2 := bl.first + 1 // its second session
	s3 := bl.first + 2
	notApproved := ""
	approved := map[string]bool{}
	for _, n := range bl.ct.Approved {
		approved[n] = true
	}
	for _, in := range b.ref.Instructors {
		if !approved[in.FullName()] {
			notApproved = in.FullName()
			break
		}
	}
	// Reference rows some cases need: an unlinked template, an ambiguous location.
	b.exec(`INSERT INTO acted.tutorial_course_templates (code, title) VALUES ('ZZ9_LO_3', 'unlinked')`)
	b.exec(`INSERT INTO acted.tutorial_locations (name) VALUES ('Springfield '), ('SPRINGFIELD')`)

	type tc struct {
		name   string
		row    int // index into Rows
		col    string
		want   string
		mutate func(r []sampledata.Row)
	}
	set := func(i int, col string, v sampledata.Value) func([]sampledata.Row) {
		return func(r []sampledata.Row) { r[i].Set(col, v) }
	}
	blank := sampledata.Value{}
	cases := []tc{
		{"unknown course template", ev, "A", "no active tutorial course template", set(ev, "A", sampledata.Text("NOPE_LO_3"))},
		{"course template not linked", ev, "A", "not linked to an Administrate course template", set(ev, "A", sampledata.Text("ZZ9_LO_3"))},
		{"event title required", ev, "B", "is required", set(ev, "B", blank)},
		{"learning mode unknown", ev, "D", "is not a learning mode", set(ev, "D", sampledata.Text("Hybrid"))},
		{"learning mode disagrees with code", ev, "D", "says LMS", set(ev, "D", sampledata.Text("Self Paced (LMS)"))},
		{"LMS code needs LMS mode", lms.first, "D", "must be Self Paced (LMS)", set(lms.first, "D", sampledata.Text("Blended"))},
		{"time zone unknown", ev, "G", "not a known time zone", set(ev, "G", sampledata.Text("Mars - Olympus Mons"))},
		{"location unknown", ev, "E", "no active tutorial location", set(ev, "E", sampledata.Text("Atlantis"))},
		{"location ambiguous", ev, "E", "is ambiguous", func(r []sampledata.Row) {
			r[ev].Set("E", sampledata.Text("springfield"))
			r[ev].Set("F", sampledata.Text("TBC"))
		}},
		{"venue unknown", ev, "F", "no tutorial venue has this name", set(ev, "F", sampledata.Text("The Moon"))},
		{"classroom start date required", ev, "H", "is required", set(ev, "H", blank)},
		{"classroom start time malformed", s2, "I", "is not a time of day", set(s2, "I", sampledata.Text("25:00"))},
		{"impossible date", s2, "H", "not a real calendar date", set(s2, "H", sampledata.Text("31/02/2026"))},
		{"max places not an integer", ev, "P", "not a whole number", set(ev, "P", sampledata.Text("twelve"))},
		{"max places required", ev, "P", "is required for a blended event", set(ev, "P", blank)},
		{"finalisation date required", ev, "X", "is required for a blended event", set(ev, "X", blank)},
		{"LMS window required (blended)", ev, "N", "is required for a blended event", set(ev, "N", blank)},
		{"LMS end before start", lms.first, "N", "not after the LMS start", set(lms.first, "N", sampledata.DateOf(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)))},
		{"LMS end required (LMS)", lms.first, "N", "is required for an LMS event", set(lms.first, "N", blank)},
		{"OCR moodle code required", lms.first, "AA", "is required for an LMS event", set(lms.first, "AA", blank)},
		{"sitting required", ev, "Z", "is required", set(ev, "Z", blank)},
		{"web sale Y/N", ev, "Y", "is not Y or N", set(ev, "Y", sampledata.Text("Maybe"))},
		{"event url invalid", ev, "V", "not a valid http(s) URL", set(ev, "V", sampledata.Text("meet example com"))},
		{"session url invalid", s2, "W", "not a valid http(s) URL", set(s2, "W", sampledata.Text("ftp://x"))},
		{"session ends before it starts", s2, "J", "does not end after it starts", set(s2, "K", sampledata.Text("08:00"))},
		{"session title required", s2, "C", "is required", set(s2, "C", blank)},
		{"day not an integer", s2, "U", "not a whole number", set(s2, "U", sampledata.Text("two"))},
		{"day repeated", s3, "U", "repeats the session at row", set(s3, "U", sampledata.Num(2))},
		{"day gap", s3, "U", "Day 3 is missing", set(s3, "U", sampledata.Num(4))},
		{"sessions out of day order", s3, "H", "starts before Day 2", func(r []sampledata.Row) {
			r[s3].Set("H", r[s2].Get("H"))
			r[s3].Set("I", sampledata.Text("08:00"))
			r[s3].Set("J", r[s2].Get("J"))
			r[s3].Set("K", sampledata.Text("08:30"))
		}},
		{"session outside the LMS window", s2, "H", "outside the event's LMS window", func(r []sampledata.Row) {
			d := r[s2].Get("H").Date.AddDate(-1, 0, 0)
			r[s2].Set("H", sampledata.DateOf(d))
			r[s2].Set("J", sampledata.DateOf(d))
		}},
		{"instructor unknown", s2, "S", "no active tutorial instructor", set(s2, "S", sampledata.Text("Nobody Known"))},
		{"instructor not approved", ev, "R", "is not approved for course template", set(ev, "R", sampledata.Text(notApproved))},
		{"second instructor of a list not approved", s2, "S", "is not approved", set(s2, "S", sampledata.Text(bl.ct.Approved[0]+" ; "+notApproved))},
		{"administrator unknown", ev, "T", "no Administrate administrator", set(ev, "T", sampledata.Text("Priya Castle / Ghost Admin"))},
		{"product missing", ev, "A", "no active product for subject", set(ev, "Z", sampledata.Text("2031S"))},
		{"session count differs from the code", ev, "A", "has 3 sessions but the event has 2", nil},
		{"session row under an LMS event", lms.first + 1, "C", "LMS events have no sessions", nil},
		{"classroom needs max places", cls.first, "P", "is required for a classroom event", set(cls.first, "P", blank)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			bk := &sampledata.Book{Rows: append([]sampledata.Row(nil), base.Rows...)}
			row := c.row
			switch c.name {
			case "session count differs from the code":
				// Drop the third session of a 3-session event; the template promises 3.
				if bl.ct.Sessions != 3 {
					t.Skipf("sample template has %d sessions", bl.ct.Sessions)
				}
				bk.Rows = append(bk.Rows[:s3:s3], bk.Rows[s3+1:]...)
			case "session row under an LMS event":
				extra := base.Rows[s2]
				bk.Rows = append(bk.Rows[:lms.first+1:lms.first+1], append([]sampledata.Row{extra}, bk.Rows[lms.first+1:]...)...)
			default:
				c.mutate(bk.Rows)
			}
			sub := &bundle{t: t, db: b.db, ref: b.ref, dir: t.TempDir()}
			out := sub.run(sub.write(bk), true)
			got, ok := problemAt(out, excelRow(row), c.col, c.want)
			if !ok {
				t.Fatalf("want a problem at %s%d containing %q; got:\n%s", c.col, excelRow(row), c.want, got)
			}
			evRow := excelRow(bl.first)
			if row >= lms.first && row < lms.first+lms.n+1 && c.name != "session count differs from the code" {
				evRow = excelRow(lms.first)
			}
			if row == cls.first {
				evRow = excelRow(cls.first)
			}
			if st := statusOf(out, evRow); st != "rejected" {
				t.Fatalf("event at row %d is %q, want rejected", evRow, st)
			}
			if out.Summary.Rejected != 1 {
				t.Fatalf("rejected %d events, want exactly 1 (the others are valid): %s", out.Summary.Rejected, out.Summary.Line())
			}
		})
	}
}
