package chaos

import (
	"admsync/pkg/sampledata"
)

// eventGroup is one event's rows: the event row (also its first session)
// and one row per further session.
type eventGroup []sampledata.Row

func (g eventGroup) code() string { return g[0].Get("A").Text }

// lms reports an LMS event, which has no sessions.
func (g eventGroup) lms() bool { return g[0].Get("D").Text == "Self Paced (LMS)" }

// groups splits a generated workbook into its events. The generator numbers
// titles across the whole book, so parts of one book never clash with each
// other as duplicates would across two generated books.
func groups(b *sampledata.Book) []eventGroup {
	var out []eventGroup
	for _, row := range b.Rows {
		if row.Get("A").Text != "" || len(out) == 0 {
			out = append(out, eventGroup{row})
			continue
		}
		out[len(out)-1] = append(out[len(out)-1], row)
	}
	return out
}

// split cuts a workbook into n workbooks of consecutive events.
func split(b *sampledata.Book, n int) []*sampledata.Book {
	gs := groups(b)
	if n > len(gs) {
		n = len(gs)
	}
	out := make([]*sampledata.Book, 0, n)
	for i := range n {
		lo, hi := i*len(gs)/n, (i+1)*len(gs)/n
		part := &sampledata.Book{Date1904: b.Date1904}
		for _, g := range gs[lo:hi] {
			part.Rows = append(part.Rows, g...)
		}
		out = append(out, part)
	}
	return out
}

// fileCounts is what importing a workbook must write.
type fileCounts struct{ Events, Sessions int }

func countsOf(b *sampledata.Book) fileCounts {
	var c fileCounts
	for _, g := range groups(b) {
		c.Events++
		if !g.lms() {
			c.Sessions += len(g)
		}
	}
	return c
}
