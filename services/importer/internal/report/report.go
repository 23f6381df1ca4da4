// Package report writes the report workbook: every data row of the input
// again, in template column order, followed by its status and messages.
// Cell text that a spreadsheet could take for a formula is neutralised.
package report

import (
	"fmt"
	"os"
	"strings"

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
func Write(out, src string, lim workbook.Limits, events []*validate.Event) (err error) {
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
			// Everything is written as a string cell: the report shows what
			// was read, and a string cell is never a formula.
			vals[3+i] = Neutralise(c)
		}
		if err := sw.SetRow(fmt.Sprintf("A%d", line), vals); err != nil {
			return err
		}
		line++
	}
	if err := sw.Flush(); err != nil {
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

func dirOf(p string) string {
	if i := strings.LastIndexAny(p, "/\\"); i >= 0 {
		return p[:i+1]
	}
	return "."
}
