package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/xuri/excelize/v2"

	"admsync/pkg/sampledata"
	"admsync/services/importer/internal/pipeline"
	"admsync/services/importer/internal/report"
	"admsync/services/importer/internal/validate"
	"admsync/services/importer/internal/workbook"
)

func TestDryRunChangesNoTable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	out := b.runWritesNothing("the dry run", b.write(book(20)), true)
	if out.Summary.Imported != 20 || !strings.HasPrefix(out.Summary.Line(), "would import 20 events") {
		t.Fatalf("dry run: %s", out.Summary.Line())
	}
}

func TestImportThenReimportCreatesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(25)
	path := b.write(bk)
	reg := prometheus.NewRegistry()
	m, err := pipeline.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pipeline.Import(context.Background(), b.db.Pool, path, pipeline.Options{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	sum := out.Summary
	if sum.Imported != 25 || sum.Rejected != 0 || sum.RunID == 0 {
		t.Fatalf("first import: %s", sum.Line())
	}
	if got := testutil.ToFloat64(m.Events.WithLabelValues("accepted")); got != 25 {
		t.Fatalf("events metric %v", got)
	}
	if got := testutil.ToFloat64(m.Rows.WithLabelValues("accepted")); int(got) != len(bk.Rows) {
		t.Fatalf("rows metric %v, want %d", got, len(bk.Rows))
	}
	if n := testutil.CollectAndCount(reg, "admsync_import_stage_duration_seconds"); n != 3 {
		t.Fatalf("stage histogram series %d, want parse/validate/write", n)
	}
	c := b.counts()
	if c["acted.tutorial_events"] != 25 || c["acted.tutorial_sessions"] != sum.Sessions || c["admsync.import_rows"] != len(bk.Rows) {
		t.Fatalf("counts after import: %v (summary %s)", c, sum.Line())
	}
	// Exactly one outbox row per accepted event, carrying ids only.
	rows, err := b.db.Pool.Query(context.Background(), `SELECT subject, payload FROM admsync.outbox`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for rows.Next() {
		var subject string
		var payload []byte
		if err := rows.Scan(&subject, &payload); err != nil {
			t.Fatal(err)
		}
		var p map[string]int64
		if err := json.Unmarshal(payload, &p); err != nil || len(p) != 2 || p["import_run_id"] != sum.RunID {
			t.Fatalf("payload %s", payload)
		}
		if subject != "tutorial.event.created" || seen[p["tutorial_event_id"]] {
			t.Fatalf("subject %s, repeated id %d", subject, p["tutorial_event_id"])
		}
		seen[p["tutorial_event_id"]] = true
	}
	rows.Close()
	var orphans int
	if err := b.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM acted.tutorial_events e WHERE NOT EXISTS
		(SELECT 1 FROM admsync.outbox o WHERE (o.payload->>'tutorial_event_id')::bigint = e.id)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 25 || orphans != 0 {
		t.Fatalf("outbox has %d events, %d tutorial events without a message", len(seen), orphans)
	}
	// Sessions are instants in the row's zone; instructors are linked.
	var start time.Time
	var links int
	if err := b.db.Pool.QueryRow(context.Background(), `SELECT min(start_date) FROM acted.tutorial_sessions`).Scan(&start); err != nil {
		t.Fatal(err)
	}
	if err := b.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM acted.tutorial_session_instructors`).Scan(&links); err != nil {
		t.Fatal(err)
	}
	if links < sum.Sessions {
		t.Fatalf("%d instructor links for %d sessions", links, sum.Sessions)
	}

	again := b.runWritesNothing("re-import", path, false)
	if again.Summary.Imported != 0 || again.Summary.Duplicates != 25 || again.Summary.Failed() {
		t.Fatalf("re-import: %s", again.Summary.Line())
	}
}

// equivalent imports two variants of one workbook and expects the same
// stored sessions and events.
func stored(t *testing.T, b *bundle) [][]any {
	t.Helper()
	rows, err := b.db.Pool.Query(context.Background(), `
		SELECT s.title, s.start_date, s.end_date, e.start_date, e.end_date, e.finalisation_date, ie.lms_start, ie.lms_end
		FROM acted.tutorial_sessions s JOIN acted.tutorial_events e ON e.id = s.tutorial_event_id
		JOIN admsync.import_events ie ON ie.tutorial_event_id = e.id ORDER BY s.title`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestCellFormsAreEquivalent(t *testing.T) {
	t.Parallel()
	want := func() [][]any {
		b := setup(t)
		b.run(b.write(book(12)), false)
		return stored(t, b)
	}()
	if len(want) == 0 {
		t.Fatal("nothing stored")
	}
	variants := map[string]func(*sampledata.Book){
		"1904 date system": func(bk *sampledata.Book) { bk.Date1904 = true },
		"text dates": func(bk *sampledata.Book) {
			for i := range bk.Rows {
				for _, c := range []string{"H", "J", "L", "N", "X"} {
					if v := bk.Rows[i].Get(c); v.Kind == sampledata.Date {
						bk.Rows[i].Set(c, sampledata.Text(v.Date.Format("2/1/2006")))
					}
				}
			}
		},
		"fraction and text times swapped": func(bk *sampledata.Book) {
			for i := range bk.Rows {
				for _, c := range []string{"I", "K", "M", "O"} {
					switch v := bk.Rows[i].Get(c); v.Kind {
					case sampledata.String:
						h, m, _ := strings.Cut(v.Text, ":")
						bk.Rows[i].Set(c, sampledata.Clock(atoi(h), atoi(m)))
					case sampledata.Time:
						mins := int(v.Num*1440 + 0.5)
						bk.Rows[i].Set(c, sampledata.Text(time.Date(2000, 1, 1, mins/60, mins%60, 0, 0, time.UTC).Format("15:04")))
					}
				}
			}
		},
		"trailing blank rows": func(bk *sampledata.Book) { bk.TrailingRows = 300 },
	}
	for name, change := range variants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			bk := book(12)
			change(bk)
			out := b.run(b.write(bk), false)
			if out.Summary.Failed() || out.Summary.Imported != 12 {
				t.Fatalf("%s: %s %v", name, out.Summary.Line(), out.Summary.Problems)
			}
			if got := stored(t, b); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s stored differently:\n got %v\nwant %v", name, got[0], want[0])
			}
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestRenamedColumnIsOneClearError(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(3)
	bk.Header = append([]string(nil), sampledata.Header[:]...)
	bk.Header[7] = "Class start"
	bk.Header[25] = ""
	_, err := pipeline.Import(context.Background(), b.db.Pool, b.write(bk), pipeline.Options{DryRun: true})
	var fe *workbook.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("want a FileError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{`"Classroom start date" is missing`, `column H is headed "Class start"`, `"Sitting" is missing`, "row 1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if len(fe.Problems) != 2 {
		t.Fatalf("want both missing columns listed, got %d", len(fe.Problems))
	}
}

func TestSessionBeforeAnyEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(4)
	g := pick(t, bk, b.ref, sampledata.Blended, 2)
	bk.Rows = append([]sampledata.Row{bk.Rows[g.first+1]}, bk.Rows...)
	out := b.run(b.write(bk), true)
	if got, ok := problemAt(out, 4, "A", "before any event row"); !ok {
		t.Fatalf("no orphan problem at A4:\n%s", got)
	}
	if out.Summary.Rejected != 1 || out.Summary.Imported != 4 {
		t.Fatalf("%s", out.Summary.Line())
	}
}

func TestDuplicateInFileIsSkipped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(5)
	g := groups(bk, b.ref)[1]
	bk.Rows = append(bk.Rows, bk.Rows[g.first:g.first+g.n]...)
	out := b.run(b.write(bk), false)
	if out.Summary.Imported != 5 || out.Summary.Duplicates != 1 || out.Summary.Failed() {
		t.Fatalf("%s", out.Summary.Line())
	}
	dupRow := excelRow(len(bk.Rows) - g.n)
	if st := statusOf(out, dupRow); st != validate.Duplicate {
		t.Fatalf("row %d is %s", dupRow, st)
	}
}

func TestMissingCustomFieldsStopTheImport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.exec(`UPDATE adm.custom_fields SET gone_at = now() WHERE label = 'OCR Moodle Code'`)
	_, err := pipeline.Import(context.Background(), b.db.Pool, b.write(book(2)), pipeline.Options{DryRun: true})
	var cf *validate.ErrCustomFields
	if !errors.As(err, &cf) || !strings.Contains(err.Error(), `Event "OCR Moodle Code"`) {
		t.Fatalf("want missing custom field error, got %v", err)
	}
}

func TestReportNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(3)
	bk.Rows[0].Set("B", sampledata.Text("=HYPERLINK(\"http://evil\")"))
	bk.Rows[0].Set("AG", sampledata.Text("@SUM(1)"))
	src := b.write(bk)
	out := b.run(src, true)
	rep := filepath.Join(b.dir, "report.xlsx")
	if err := report.Write(rep, src, workbook.Limits{}, out.Events); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Report")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(bk.Rows)+1 || rows[0][1] != "Status" {
		t.Fatalf("report has %d rows, header %v", len(rows), rows[0])
	}
	if rows[1][0] != "4" || rows[1][1] != "accepted" && rows[1][1] != "rejected" {
		t.Fatalf("row 1: %v", rows[1][:3])
	}
	if got := rows[1][3+1]; got != "'=HYPERLINK(\"http://evil\")" {
		t.Fatalf("title cell %q not neutralised", got)
	}
	for r := 1; r <= len(bk.Rows); r++ {
		for c := range rows[r] {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if fm, _ := f.GetCellFormula("Report", cell); fm != "" {
				t.Fatalf("formula in %s", cell)
			}
		}
	}
	if got := report.Neutralise("\t=1"); got != "'\t=1" {
		t.Fatalf("Neutralise tab: %q", got)
	}
	for _, s := range []string{"+1", "-1", "@a", "\r", "\x00"} {
		if report.Neutralise(s)[0] != '\'' {
			t.Fatalf("Neutralise(%q) not escaped", s)
		}
	}
}
