package report_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"admsync/pkg/sampledata"
	"admsync/services/importer/internal/report"
	"admsync/services/importer/internal/workbook"
)

// TestReportWritesDatesAndTimes: date and time cells of the source come out
// as dates and times with formats (both date systems), not as serials and
// day fractions; a huge text cell is clipped.
func TestReportWritesDatesAndTimes(t *testing.T) {
	t.Parallel()
	for _, d1904 := range []bool{false, true} {
		dir := t.TempDir()
		b, _ := sampledata.Generate(sampledata.Options{Events: 4, Seed: 9, Date1904: d1904})
		b.Rows[0].Set("I", sampledata.Num(2.0/3)) // a time cell, 16:00
		b.Rows[0].Set("C", sampledata.Text(strings.Repeat("x", 20000)))
		src := filepath.Join(dir, "in.xlsx")
		if err := b.WriteFile(src); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out.xlsx")
		if err := report.Write(out, src, workbook.Limits{}, nil); err != nil {
			t.Fatal(err)
		}
		// What the importer read for row 4's dates, as the template shows them.
		r, err := workbook.Open(src, workbook.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, c := range []workbook.Col{workbook.ColClassroomStartDate, workbook.ColLMSStartDate} {
			d, err := workbook.ParseDate(rec.Cells[c], d1904)
			if err != nil {
				t.Fatal(err)
			}
			want[workbook.Columns[c].Letter] = d.String()
		}
		want["I"] = "16:00"
		r.Close()

		f, err := excelize.OpenFile(out)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows("Report")
		if err != nil {
			t.Fatal(err)
		}
		hdr := rows[0]
		for letter, w := range want {
			col := -1
			for i, h := range hdr {
				if h == workbook.Columns[colOf(letter)].Header {
					col = i
				}
			}
			if got := rows[1][col]; got != w {
				t.Errorf("1904=%v: column %s shows %q, want %q", d1904, letter, got, w)
			}
		}
		for _, v := range rows[1] {
			if len(v) > 2100 {
				t.Errorf("a report cell keeps %d characters", len(v))
			}
		}
		f.Close()
	}
}

func colOf(letter string) workbook.Col {
	for i, c := range workbook.Columns {
		if c.Letter == letter {
			return workbook.Col(i)
		}
	}
	return -1
}
