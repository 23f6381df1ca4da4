package workbook

import (
	"strings"
	"testing"
)

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"45986", "45986.5", "13/01/2026", "1-2-2026", "2026-01-13", "31/02/2026", "0", "-1", "2958466", "NaN", "1e308", "//", "12/12"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, date1904 bool) {
		d, err := ParseDate(raw, date1904)
		if err != nil {
			return
		}
		if d.IsZero() {
			if strings.TrimSpace(raw) != "" {
				t.Fatalf("%q: no error and no date", raw)
			}
			return
		}
		if d.Year < minYear || d.Year > maxYear {
			t.Fatalf("%q gave out-of-range %v", raw, d)
		}
		// What we print parses back to the same day.
		back, err := ParseDate(d.String(), date1904)
		if err != nil || back != d {
			t.Fatalf("%q → %v → %q → %v, %v", raw, d, d.String(), back, err)
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"09:30", "9:05", "0.6666666666666666", "0", "0.99999999", "1", "24:00", "09:30:00", "-0.1", "x:y", "Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, ok, err := ParseTime(raw)
		if err != nil {
			return
		}
		if !ok {
			if strings.TrimSpace(raw) != "" {
				t.Fatalf("%q: no error and no time", raw)
			}
			return
		}
		if c < 0 || c >= 24*60 {
			t.Fatalf("%q gave %d minutes", raw, c)
		}
		if back, ok, err := ParseTime(c.String()); err != nil || !ok || back != c {
			t.Fatalf("%q → %v does not round-trip", raw, c)
		}
	})
}

// FuzzParseRow feeds arbitrary cells (separated by "|") to the row parser:
// it must never panic, and every problem must name a cell of its row.
func FuzzParseRow(f *testing.F) {
	f.Add("CB1_LO_6|ELO-CB1-01-26A|ELO-CB1-01-26A-1|Blended|London|TBC|Europe - London|45986|09:30|45986|17:00|45952|0.666|46122|0|12", false)
	f.Add("|||||||13/13/2024|25:61|x|0.5|||||1.5|||||two", true)
	f.Add("OC_SA7|ELO-SA7-OC-26A||Self Paced (LMS)|Online||Europe - London|||||45901|0|46142|0", false)
	f.Fuzz(func(t *testing.T, cells string, date1904 bool) {
		var rec Record
		rec.Row = 7
		for i, c := range strings.Split(cells, "|") {
			if i >= int(NumCols) {
				break
			}
			rec.Cells[i] = c
		}
		lay := TemplateLayout(date1904)
		row, probs := lay.Parse(&rec)
		for _, p := range probs {
			if p.Row != 7 || p.Column == "" || p.Msg == "" {
				t.Fatalf("problem without a location: %+v", p)
			}
		}
		if row.Kind == KindEvent && strings.TrimSpace(rec.Cells[ColCode]) == "" {
			t.Fatal("event row without a code")
		}
	})
}
