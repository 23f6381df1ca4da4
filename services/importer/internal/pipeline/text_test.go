package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"admsync/pkg/messaging"
	"admsync/pkg/sampledata"
	"admsync/services/importer/internal/pipeline"
	"admsync/services/importer/internal/workbook"
)

// longText is n characters of mixed one- and two-byte letters (varchar
// limits count characters, not bytes).
func longText(rng *rand.Rand, prefix string, n int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := len([]rune(prefix)); i < n; i++ {
		if rng.IntN(4) == 0 {
			b.WriteRune('é')
		} else {
			b.WriteByte(byte('a' + rng.IntN(26)))
		}
	}
	return b.String()
}

// TestTextLongerThanItsColumn puts text one character over its database
// column's length into seeded events (event title, session title, event
// and session URLs, OCR code), and text exactly at the limit into others:
// the long ones are rejected with row, column and limit, everything else
// is imported, and nothing reaches PostgreSQL's "value too long".
func TestTextLongerThanItsColumn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(40)
	rng := rand.New(rand.NewPCG(16, 3))
	gs := groups(bk, b.ref)
	rng.Shuffle(len(gs), func(i, j int) { gs[i], gs[j] = gs[j], gs[i] })
	type long struct {
		row int
		col string
		max int
	}
	var bad []long
	var atLimit int
	next := 0
	take := func(mode string, n int) group {
		for ; next < len(gs); next++ {
			if g := gs[next]; g.ct.LearningMode == mode && g.n >= n {
				next++
				return g
			}
		}
		t.Fatalf("no %s event left", mode)
		return group{}
	}
	cases := []struct {
		mode string
		col  string
		max  int
		text func(n int) string
		row  func(g group) int
	}{
		{sampledata.Blended, "B", 100, func(n int) string { return longText(rng, "ELO-", n) }, func(g group) int { return g.first }},
		{sampledata.Blended, "C", 255, func(n int) string { return longText(rng, "S-", n) }, func(g group) int { return g.first + 1 }},
		{sampledata.Blended, "V", 500, func(n int) string { return longText(rng, "https://example.com/", n) }, func(g group) int { return g.first }},
		{sampledata.Blended, "W", 500, func(n int) string { return longText(rng, "https://example.com/", n) }, func(g group) int { return g.first + 1 }},
		{sampledata.LMS, "AA", 100, func(n int) string { return longText(rng, "M", n) }, func(g group) int { return g.first }},
	}
	for _, c := range cases {
		g := take(c.mode, 2-btoi(c.mode == sampledata.LMS))
		i := c.row(g)
		bk.Rows[i].Set(c.col, sampledata.Text(c.text(c.max+1)))
		bad = append(bad, long{excelRow(i), c.col, c.max})
		g = take(c.mode, 2-btoi(c.mode == sampledata.LMS))
		bk.Rows[c.row(g)].Set(c.col, sampledata.Text(c.text(c.max)))
		atLimit++
	}
	out, err := pipeline.Import(context.Background(), b.db.Pool, b.write(bk), pipeline.Options{})
	if err != nil {
		t.Fatalf("import failed as a whole: %v", err)
	}
	for _, l := range bad {
		if got, ok := problemAt(out, l.row, l.col, fmt.Sprintf("at most %d fit", l.max)); !ok {
			t.Errorf("%s%d: no length problem:\n%s", l.col, l.row, got)
		}
	}
	s := out.Summary
	if s.Rejected != len(bad) || s.Imported != len(gs)-len(bad) {
		t.Fatalf("%s (want %d rejected, the %d at their limit imported)", s.Line(), len(bad), atLimit)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestLimitsComeFromTheSchema shortens a column in the database: the
// importer follows it without any change of its own.
func TestLimitsComeFromTheSchema(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.exec(`ALTER TABLE acted.tutorial_sessions ALTER COLUMN title TYPE varchar(40)`)
	bk := book(6)
	g := pick(t, bk, b.ref, sampledata.Blended, 2)
	bk.Rows[g.first+1].Set("C", sampledata.Text(strings.Repeat("x", 41)))
	out := b.run(b.write(bk), true)
	if got, ok := problemAt(out, excelRow(g.first+1), "C", "at most 40 fit (acted.tutorial_sessions.title)"); !ok {
		t.Fatalf("no limit from the schema:\n%s", got)
	}
}

// TestConstraintErrorsArePermanent: a database rule validation does not
// know about refuses the write; the error is marked permanent so that
// importer serve answers at once instead of retrying three times.
func TestConstraintErrorsArePermanent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.exec(`ALTER TABLE acted.tutorial_events ADD CONSTRAINT few_places CHECK (remain_space < 2)`)
	_, err := pipeline.Import(context.Background(), b.db.Pool, b.write(book(3)), pipeline.Options{})
	if err == nil || !messaging.IsPermanent(err) || !strings.Contains(err.Error(), "23514") {
		t.Fatalf("want a permanent check violation, got %v", err)
	}
}

// TestDuplicateHeaderIsRefused: two columns headed "Event title" name both
// letters instead of silently using the first.
func TestDuplicateHeaderIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(2)
	bk.Header = append(append([]string(nil), sampledata.Header[:]...), " event TITLE ")
	_, err := pipeline.Import(context.Background(), b.db.Pool, b.write(bk), pipeline.Options{DryRun: true})
	var fe *workbook.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("accepted: %v", err)
	}
	last := len(bk.Header)
	if !strings.Contains(err.Error(), fmt.Sprintf("columns B and %s are both headed", letterOf(last))) {
		t.Fatalf("message does not name both columns: %s", err)
	}
}

func letterOf(n int) string {
	s := ""
	for ; n > 0; n = (n - 1) / 26 {
		s = string(rune('A'+(n-1)%26)) + s
	}
	return s
}

// TestFormulaTextIsRefused: text sent to Administrate that starts like a
// formula is refused with row and column, whatever the leading character;
// numbers and dates (which are parsed, not sent as text) are not affected.
func TestFormulaTextIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(30)
	gs := groups(bk, b.ref)
	type hit struct {
		row int
		col string
	}
	var hits []hit
	starts := []string{"=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "  =x"}
	i := 0
	for _, g := range gs {
		if i >= len(starts) || g.ct.LearningMode == sampledata.LMS || g.n < 2 {
			continue
		}
		col, row := []string{"B", "C", "Z", "AA"}[i%4], g.first
		if col == "C" {
			row = g.first + 1
		}
		bk.Rows[row].Set(col, sampledata.Text(starts[i]))
		hits = append(hits, hit{excelRow(row), col})
		i++
	}
	if i < len(starts) {
		t.Fatalf("only %d events to mutate", i)
	}
	out := b.run(b.write(bk), true)
	for _, h := range hits {
		if got, ok := problemAt(out, h.row, h.col, "as a formula"); !ok {
			t.Errorf("%s%d accepted:\n%s", h.col, h.row, got)
		}
	}
	if out.Summary.Rejected != len(hits) {
		t.Fatalf("%s", out.Summary.Line())
	}
}
