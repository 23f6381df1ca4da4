package pipeline_test

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	"admsync/pkg/database/dbtest"
	"admsync/pkg/sampledata"
	"admsync/services/importer/internal/pipeline"
	"admsync/services/importer/internal/validate"
)

// bundle is one test's database, seeded with the generator's reference
// data, and a scratch directory.
type bundle struct {
	t   *testing.T
	db  *dbtest.DB
	ref *sampledata.ReferenceData
	dir string
}

const seed = 1

func setup(t *testing.T) *bundle {
	t.Helper()
	db := dbtest.New(t)
	ref := sampledata.Reference(sampledata.Options{Seed: seed})
	ctx := context.Background()
	if _, err := sampledata.Seed(ctx, db.Pool, ref); err != nil {
		t.Fatal(err)
	}
	return &bundle{t: t, db: db, ref: ref, dir: t.TempDir()}
}

// book returns a small generated workbook (same reference data as setup).
func book(events int) *sampledata.Book {
	b, _ := sampledata.Generate(sampledata.Options{Events: events, Seed: seed})
	return b
}

func (b *bundle) write(bk *sampledata.Book) string {
	b.t.Helper()
	f, err := os.CreateTemp(b.dir, "wb-*.xlsx")
	if err != nil {
		b.t.Fatal(err)
	}
	f.Close()
	p := f.Name()
	if err := bk.WriteFile(p); err != nil {
		b.t.Fatal(err)
	}
	return p
}

func (b *bundle) run(path string, dry bool) *pipeline.Outcome {
	b.t.Helper()
	out, err := pipeline.Import(context.Background(), b.db.Pool, path, pipeline.Options{DryRun: dry})
	if err != nil {
		b.t.Fatalf("import: %v", err)
	}
	return out
}

// runWritesNothing imports path (a dry run if dry) and fails the test,
// naming what, if the import changed the number of rows of a table.
func (b *bundle) runWritesNothing(what, path string, dry bool) *pipeline.Outcome {
	b.t.Helper()
	before := b.counts()
	out := b.run(path, dry)
	if after := b.counts(); !reflect.DeepEqual(before, after) {
		b.t.Fatalf("%s wrote:\nbefore %v\nafter  %v", what, before, after)
	}
	return out
}

func (b *bundle) exec(sql string, args ...any) {
	b.t.Helper()
	if _, err := b.db.Pool.Exec(context.Background(), sql, args...); err != nil {
		b.t.Fatal(err)
	}
}

// counts returns the row count of every table an import may touch.
func (b *bundle) counts() map[string]int {
	b.t.Helper()
	out := map[string]int{}
	for _, tbl := range []string{"acted.tutorial_events", "acted.tutorial_sessions", "acted.tutorial_session_instructors",
		"admsync.import_runs", "admsync.import_rows", "admsync.import_events", "admsync.outbox",
		"acted.tutorial_locations", "acted.tutorial_venues", "acted.tutorial_course_templates", "acted.tutorial_instructors",
		"public.auth_user", "acted.staff", "acted.products", "adm.events", "adm.sessions", "adm.locations", "adm.venues",
		"adm.instructors", "adm.course_templates", "adm.course_template_instructors", "adm.custom_fields", "adm.administrators"} {
		var n int
		if err := b.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+tbl).Scan(&n); err != nil {
			b.t.Fatal(err)
		}
		out[tbl] = n
	}
	return out
}

// group is one event's rows in a Book.
type group struct {
	first, n int // index into Rows and number of rows
	ct       sampledata.CourseTemplate
}

// excelRow of Rows[i] (header and two hint rows come first).
func excelRow(i int) int { return i + 4 }

func groups(bk *sampledata.Book, ref *sampledata.ReferenceData) []group {
	byCode := map[string]sampledata.CourseTemplate{}
	for _, ct := range ref.CourseTemplates {
		byCode[ct.Code] = ct
	}
	var gs []group
	for i := 0; i < len(bk.Rows); {
		g := group{first: i, n: 1, ct: byCode[bk.Rows[i].Get("A").Text]}
		for i+g.n < len(bk.Rows) && bk.Rows[i+g.n].Get("A").Kind == sampledata.Blank {
			g.n++
		}
		gs = append(gs, g)
		i += g.n
	}
	return gs
}

// pick finds the first event with the given mode and at least n rows.
func pick(t *testing.T, bk *sampledata.Book, ref *sampledata.ReferenceData, mode string, n int) group {
	t.Helper()
	for _, g := range groups(bk, ref) {
		if g.ct.LearningMode == mode && g.n >= n {
			return g
		}
	}
	t.Fatalf("no %s event with %d rows in the sample", mode, n)
	return group{}
}

// problemAt finds a problem at the row and column, whose message contains want.
func problemAt(out *pipeline.Outcome, row int, col, want string) (string, bool) {
	var seen []string
	for _, e := range out.Events {
		for _, r := range e.Rows {
			for _, p := range r.Problems {
				seen = append(seen, p.Cell()+": "+p.Text())
				if p.Row == row && p.Column == col && strings.Contains(p.Text(), want) {
					return p.Text(), true
				}
			}
		}
	}
	return strings.Join(seen, "\n"), false
}

func statusOf(out *pipeline.Outcome, row int) validate.Status {
	for _, e := range out.Events {
		if e.Row == row {
			return e.Status
		}
	}
	return ""
}
