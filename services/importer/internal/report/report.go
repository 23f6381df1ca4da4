// Package report writes the report workbook: every data row of the input
// again, in template column order, followed by its status and messages.
// Cell text that a spreadsheet could take for a formula is neutralised.
package report

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"admsync/services/importer/internal/load"
	"admsync/services/importer/internal/validate"
	"admsync/services/importer/internal/workbook"
)

// Neutralise prefixes text that starts with = + - @ tab, CR or NUL with an
// apostrophe, so neither Excel nor a CSV export evaluates it (OWASP's
// formula-injection rule).
func Neutralise(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', 0:
		return "'" + s
	}
	return s
}

type rowInfo struct {
	status string
	msgs   []string
}

// Write re-reads the source workbook (streaming; nothing of it was kept in
// memory) and writes out with each data row's outcome.
func Write(out, src string, lim workbook.Limits, events []*validate.Event) error {
	return WriteWithMissing(out, src, lim, events, nil)
}

// WriteWithMissing is Write with a second sheet, "Missing", listing the
// events imported earlier in the file's sittings that the file no longer
// has (when there are any). A corrected row's status is "changed" and its
// messages list each field, old → new.
func WriteWithMissing(out, src string, lim workbook.Limits, events []*validate.Event, missing []validate.Missing) (err error) {
	info := map[int]rowInfo{}
	for _, e := range events {
		for _, r := range e.Rows {
			info[r.Row] = rowInfo{status: string(e.Status), msgs: load.RowMessages(e, r)}
		}
	}
	r, err := workbook.Open(src, lim)
	if err != nil {
		return err
	}
	defer r.Close()

	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	const sheet = "Report"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	// Date and time cells are written as what they are, with formats, so
	// the report shows 13/01/2026 and 16:00 rather than 45986 and 0.6666.
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("dd/mm/yyyy")})
	if err != nil {
		return err
	}
	timeStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("hh:mm")})
	if err != nil {
		return err
	}
	header := []any{excelize.Cell{StyleID: bold, Value: "Excel row"}, excelize.Cell{StyleID: bold, Value: "Status"}, excelize.Cell{StyleID: bold, Value: "Messages"}}
	for _, h := range workbook.Headers() {
		header = append(header, excelize.Cell{StyleID: bold, Value: h})
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	line := 2
	vals := make([]any, 3+workbook.NumCols)
	for {
		rec, err := r.Next()
		if err != nil {
			return err
		}
		if rec == nil {
			break
		}
		in := info[rec.Row]
		vals[0] = rec.Row
		vals[1] = in.status
		vals[2] = Neutralise(strings.Join(in.msgs, "\n"))
		for i, c := range rec.Cells {
			vals[3+i] = cellValue(workbook.Col(i), c, r.Date1904(), dateStyle, timeStyle)
		}
		if err := sw.SetRow(fmt.Sprintf("A%d", line), vals); err != nil {
			return err
		}
		line++
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	if err := writeMissing(f, bold, missing); err != nil {
		return err
	}
	// Write beside the target and rename, so a failed run never leaves a
	// half-written report behind.
	tmp, err := os.CreateTemp(dirOf(out), ".report-*.xlsx")
	if err != nil {
		return fmt.Errorf("write report %s: %w", out, err)
	}
	_, werr := f.WriteTo(tmp)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write report %s: %w", out, werr)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write report %s: %w", out, err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func writeMissing(f *excelize.File, bold int, missing []validate.Missing) error {
	if len(missing) == 0 {
		return nil
	}
	const sheet = "Missing"
	if _, err := f.NewSheet(sheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	header := []any{}
	for _, h := range []string{"Tutorial event", "Title", "Sitting", "Import run", "Excel row then", "Status"} {
		header = append(header, excelize.Cell{StyleID: bold, Value: h})
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	for i, m := range missing {
		row := []any{m.TutorialEventID, Neutralise(m.Title), Neutralise(m.Sitting), m.ImportRunID, m.ExcelRow,
			"not in this file: left as it is, nothing is deleted"}
		if err := sw.SetRow(fmt.Sprintf("A%d", i+2), row); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// maxReportText bounds the text of one report cell: the report is for
// reading, and a hostile file's huge cells must not make it huge.
const maxReportText = 2000

// dateCols and timeCols hold dates and times of day in the template.
var (
	dateCols = map[workbook.Col]bool{workbook.ColClassroomStartDate: true, workbook.ColClassroomEndDate: true, workbook.ColLMSStartDate: true,
		workbook.ColLMSEndDate: true, workbook.ColFinalisationDate: true, workbook.ColRegistrationDeadline: true}
	timeCols = map[workbook.Col]bool{workbook.ColClassroomStartTime: true, workbook.ColClassroomEndTime: true, workbook.ColLMSStartTime: true, workbook.ColLMSEndTime: true}
)

// serial1904 is the gap between the 1904 and 1900 date systems, in days:
// the report is a 1900-system workbook whatever its source used.
const serial1904 = 1462

// cellValue is what the report writes for a source cell: a date or time
// serial with its format when the cell holds one, else text (a string
// cell is never a formula, and formula-like text is neutralised).
func cellValue(col workbook.Col, raw string, date1904 bool, dateStyle, timeStyle int) any {
	s := strings.TrimSpace(raw)
	if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		switch {
		case dateCols[col]:
			if _, err := workbook.ParseDate(s, date1904); err == nil {
				if date1904 {
					v += serial1904
				}
				return excelize.Cell{StyleID: dateStyle, Value: v}
			}
		case timeCols[col]:
			if _, ok, err := workbook.ParseTime(s); err == nil && ok {
				return excelize.Cell{StyleID: timeStyle, Value: v}
			}
		}
	}
	if len(raw) > maxReportText {
		cut := maxReportText
		for cut > 0 && !utf8.RuneStart(raw[cut]) {
			cut--
		}
		raw = raw[:cut] + fmt.Sprintf("… (%d more bytes)", len(raw)-cut)
	}
	return Neutralise(raw)
}

func dirOf(p string) string {
	if i := strings.LastIndexAny(p, "/\\"); i >= 0 {
		return p[:i+1]
	}
	return "."
}
