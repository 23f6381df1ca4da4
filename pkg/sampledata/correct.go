package sampledata

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Correction is one field a test corrected in a generated workbook: what a
// re-import should report and Administrate should then show.
type Correction struct {
	Title string // the event's title (its tutorial event code)
	Day   int    // 0 for an event field
	Field string // "Max places", "Day 2 start", "Day 1 instructors"
	Old   string
	New   string
}

// span is one event's rows: Rows[first : first+n].
type span struct{ first, n int }

func (b *Book) events() []span {
	var out []span
	for i := 0; i < len(b.Rows); {
		s := span{first: i, n: 1}
		for i+s.n < len(b.Rows) && b.Rows[i+s.n].Get("A").Kind == Blank {
			s.n++
		}
		out = append(out, s)
		i += s.n
	}
	return out
}

// Correct makes the three corrections an administrator typically makes to
// an imported season, each on a different event: Max places of the first
// multi-day event (+6), the start of Day 2 of the next one (30 minutes
// later), and the Day 1 instructor of the next one whose course template
// approves someone else.
func Correct(b *Book, ref *ReferenceData) ([]Correction, error) {
	out, err := CorrectN(b, ref, 3)
	if err == nil && len(out) < 3 {
		err = errors.New("sampledata: the workbook has too few multi-day events to correct three")
	}
	return out, err
}

// CorrectN is Correct over up to n multi-day events, the three kinds of
// correction in turn.
func CorrectN(b *Book, ref *ReferenceData, n int) ([]Correction, error) {
	byCode := map[string]CourseTemplate{}
	for _, ct := range ref.CourseTemplates {
		byCode[ct.Code] = ct
	}
	var out []Correction
	step := 0
	for _, s := range b.events() {
		if s.n < 2 || step >= n {
			continue
		}
		ev := &b.Rows[s.first]
		title := ev.Get("B").Text
		switch step % 3 {
		case 0:
			old := int(ev.Get("P").Num)
			ev.Set("P", Num(float64(old+6)))
			out = append(out, Correction{Title: title, Field: "Max places", Old: strconv.Itoa(old), New: strconv.Itoa(old + 6)})
		case 1:
			d2 := &b.Rows[s.first+1]
			var h, m int
			if _, err := fmt.Sscanf(d2.Get("I").Text, "%d:%d", &h, &m); err != nil {
				return nil, fmt.Errorf("Day 2 start of %s: %w", title, err)
			}
			m += 30
			h, m = h+m/60, m%60
			now := fmt.Sprintf("%02d:%02d", h, m)
			out = append(out, Correction{Title: title, Day: 2, Field: "Day 2 start", Old: d2.Get("I").Text, New: now})
			d2.Set("I", Text(now))
		case 2:
			ct := byCode[ev.Get("A").Text]
			cur := ev.Get("S").Text
			i := slices.IndexFunc(ct.Approved, func(n string) bool { return n != cur })
			if i < 0 {
				continue
			}
			ev.Set("S", Text(ct.Approved[i]))
			out = append(out, Correction{Title: title, Day: 1, Field: "Day 1 instructors", Old: cur, New: ct.Approved[i]})
		}
		step++
	}
	return out, nil
}

// ChangeDays moves the first multi-day event to another course template of
// the same learning mode with fewer Days, dropping its last session rows
// to match (a change Administrate cannot make in place). It
// returns the event's title.
func ChangeDays(b *Book, ref *ReferenceData) (string, error) {
	byCode := map[string]CourseTemplate{}
	for _, ct := range ref.CourseTemplates {
		byCode[ct.Code] = ct
	}
	for _, s := range b.events() {
		ev := b.Rows[s.first]
		ct := byCode[ev.Get("A").Text]
		if s.n < 2 || ct.Sessions != s.n {
			continue
		}
		for _, other := range ref.CourseTemplates {
			if other.LearningMode != ct.LearningMode || other.Sessions < 2 || other.Sessions >= ct.Sessions || len(other.Approved) == 0 {
				continue
			}
			rows := slices.Clone(b.Rows[s.first : s.first+min(s.n, other.Sessions)])
			for len(rows) < other.Sessions {
				// Another Day a week after the last, with the same times.
				next := rows[len(rows)-1]
				if len(rows) == 1 {
					next = Row{}
					for _, c := range []string{"C", "D", "E", "F", "G", "H", "I", "J", "K", "M", "O", "AF"} {
						next.Set(c, ev.Get(c))
					}
				}
				day := len(rows) + 1
				next.Set("C", Text(fmt.Sprintf("%s-%d", ev.Get("B").Text, day)))
				next.Set("H", DateOf(next.Get("H").Date.AddDate(0, 0, 7)))
				next.Set("J", DateOf(next.Get("J").Date.AddDate(0, 0, 7)))
				next.Set("U", Num(float64(day)))
				rows = append(rows, next)
			}
			rows[0].Set("A", Text(other.Code))
			rows[0].Set("R", Text(other.Approved[0]))
			for i := range rows {
				rows[i].Set("S", Text(other.Approved[0]))
			}
			out := append(slices.Clone(b.Rows[:s.first]), rows...)
			b.Rows = append(out, b.Rows[s.first+s.n:]...)
			return ev.Get("B").Text, nil
		}
	}
	return "", errors.New("sampledata: no multi-day event whose template has a sibling with another number of Days")
}
