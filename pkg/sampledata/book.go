package sampledata

import (
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/xuri/excelize/v2"
)

// Header is row 1 of the template: 34 named columns A–AI, AH unnamed.
var Header = [NumColumns]string{
	"Course template code", "Event title", "Session title", "Learning mode", "Location", "Venue", "Time Zone",
	"Classroom start date", "Classroom start time", "Classroom end date", "Classroom end time",
	"LMS start date", "LMS start time", "LMS end date", "LMS end time",
	"Max places", "Access Duration", "Instructor", "Session instructor", "Event administrator", "Day",
	"Event url", "Session url", "Finalisation date", "Web sale", "Sitting", "OCR moodle code",
	"Recordings", "Recording pin", "Tutors", "Sage code", "Cancelled", "Extra information", "", "Registration Deadline Date",
}

// NumColumns is the template's width (A..AI).
const NumColumns = 35

// exampleRow and hintRow are rows 2 and 3 of the template.
var exampleRow = map[string]string{
	"A": "e.g. CB1_LO_6", "E": "e.g. London", "F": "e.g. Central venue", "H": "e.g. 13/01/2026", "J": "e.g. 13/01/2026",
	"L": "e.g. 13/01/2026", "N": "e.g. 13/01/2026", "R": "e.g. Jane Smith", "X": "e.g. 13/01/2026", "Y": "e.g. Y",
	"AF": "e.g. Y", "AI": "e.g. 13/01/2026",
}
var hintRow = map[string]string{
	"D": "blended/classroom/lms", "E": "free-text", "F": "free-text", "H": "DD/MM/YYYY", "I": "HH:mm", "J": "DD/MM/YYYY",
	"K": "HH:mm", "L": "DD/MM/YYYY", "M": "HH:mm", "N": "DD/MM/YYYY", "O": "HH:mm", "P": "Integer", "Q": "free-text",
	"R": "free-text", "S": "free-text", "U": "Number", "V": "free-text", "X": "DD/MM/YYYY", "Y": "Y/N", "Z": "free-text",
	"AB": "free-text", "AC": "free-text", "AD": "free-text", "AE": "free-text", "AF": "Y/N", "AG": "free-text", "AI": "DD/MM/YYYY",
}

// Kind is how a value is stored in its cell.
type Kind uint8

// Cell kinds.
const (
	Blank  Kind = iota
	String      // a text cell
	Number      // a plain number (General format)
	Date        // a date serial with a date format
	Time        // a day fraction with a time format
)

// Value is one cell.
type Value struct {
	Kind Kind
	Text string
	Num  float64   // Number and Time (fraction of a day)
	Date time.Time // Date: the serial is computed at write time in the book's date system
}

// Text is a text cell.
func Text(s string) Value { return Value{Kind: String, Text: s} }

// Num is a plain number cell.
func Num(f float64) Value { return Value{Kind: Number, Num: f} }

// DateOf is a date-formatted serial cell for the day of t.
func DateOf(t time.Time) Value {
	return Value{Kind: Date, Date: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}

// Clock is a time-formatted day-fraction cell.
func Clock(h, m int) Value { return Value{Kind: Time, Num: float64(h*60+m) / 1440} }

// Row is one sheet row in template column order.
type Row [NumColumns]Value

// Set stores v in the column with the given letter ("A".."AI").
func (r *Row) Set(col string, v Value) {
	r[colIndex(col)] = v
}

// Get returns the value in the column with the given letter.
func (r *Row) Get(col string) Value { return r[colIndex(col)] }

func colIndex(col string) int {
	n, err := excelize.ColumnNameToNumber(col)
	if err != nil || n < 1 || n > NumColumns {
		panic(fmt.Sprintf("sampledata: no template column %q", col))
	}
	return n - 1
}

// Book is a workbook to write: the header, the two hint rows, then Rows
// from Excel row 4.
type Book struct {
	Sheet        string // default "Import"
	Date1904     bool
	Header       []string // default the template header
	NoHintRows   bool     // data starts at row 2
	Rows         []Row
	TrailingRows int // styled but empty rows after the data, as Excel leaves them
}

// WriteFile writes the book to path.
func (b *Book) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := b.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Write writes the book as .xlsx.
func (b *Book) Write(w io.Writer) error {
	i := 0
	return writeBook(w, b, func() (*Row, bool) {
		if i >= len(b.Rows) {
			return nil, false
		}
		i++
		return &b.Rows[i-1], true
	})
}

// serial converts a day to an Excel serial in the chosen date system.
func serial(t time.Time, date1904 bool) float64 {
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	if date1904 {
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return math.Round(t.Sub(base).Hours() / 24)
}

func writeBook(w io.Writer, b *Book, next func() (*Row, bool)) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	sheet := b.Sheet
	if sheet == "" {
		sheet = "Import"
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	if b.Date1904 {
		t := true
		if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &t}); err != nil {
			return err
		}
	}
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		return err
	}
	timeStyle, err := f.NewStyle(&excelize.Style{NumFmt: 20})
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	header := b.Header
	if header == nil {
		header = Header[:]
	}
	vals := make([]any, len(header))
	for i, h := range header {
		vals[i] = h
	}
	if err := sw.SetRow("A1", vals); err != nil {
		return err
	}
	r := 2
	if !b.NoHintRows {
		for _, m := range []map[string]string{exampleRow, hintRow} {
			row := make([]any, NumColumns)
			for col, v := range m {
				row[colIndex(col)] = v
			}
			if err := sw.SetRow(fmt.Sprintf("A%d", r), row); err != nil {
				return err
			}
			r++
		}
	}
	cells := make([]any, NumColumns)
	for {
		row, ok := next()
		if !ok {
			break
		}
		last := -1
		for i, v := range row {
			switch v.Kind {
			case Blank:
				cells[i] = nil
				continue
			case String:
				cells[i] = v.Text
			case Number:
				cells[i] = v.Num
			case Date:
				cells[i] = excelize.Cell{StyleID: dateStyle, Value: serial(v.Date, b.Date1904)}
			case Time:
				cells[i] = excelize.Cell{StyleID: timeStyle, Value: v.Num}
			}
			last = i
		}
		if err := sw.SetRow(fmt.Sprintf("A%d", r), cells[:last+1]); err != nil {
			return err
		}
		r++
	}
	for i := 0; i < b.TrailingRows; i++ {
		// Excel keeps formatting on rows a user cleared: empty styled cells.
		if err := sw.SetRow(fmt.Sprintf("A%d", r), []any{excelize.Cell{StyleID: dateStyle}, nil, excelize.Cell{StyleID: timeStyle}}); err != nil {
			return err
		}
		r++
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}
