package workbook

import (
	"strings"
	"unicode/utf8"
)

// Kind classifies a data row.
type Kind uint8

// Row kinds: a row with a course template code starts an event; any other
// non-blank row is a session of the event above it.
const (
	KindBlank Kind = iota
	KindEvent
	KindSession
)

// Record is one sheet row as read: its Excel row number and its raw cell
// values in template column order (whatever the file's column order is).
type Record struct {
	Row   int
	Cells [NumCols]string
}

// Layout is what the header row says about a file: the letter each template
// column has in it, and the date system of the workbook.
type Layout struct {
	Letters  [NumCols]string
	Present  [NumCols]bool
	Date1904 bool
}

// TemplateLayout is the layout of a file that follows the template exactly.
func TemplateLayout(date1904 bool) *Layout {
	l := &Layout{Date1904: date1904}
	for i, c := range Columns {
		l.Letters[i] = c.Letter
		l.Present[i] = true
	}
	return l
}

// DateTime is a date cell and a time cell read together.
type DateTime struct {
	Date    Date
	Clock   Clock
	HasDate bool
	HasTime bool
}

// Set reports whether either half was filled in.
func (d DateTime) Set() bool { return d.HasDate || d.HasTime }

// Row is a parsed data row. Text fields are trimmed. Cells that failed to
// parse are reported as problems and left unset.
type Row struct {
	Row  int
	Kind Kind

	Code, EventTitle, SessionTitle, LearningMode string
	Location, Venue, TimeZone                    string
	Instructor, SessionInstructor, Administrator string
	EventURL, SessionURL, WebSale, Sitting, OCR  string

	ClassroomStart, ClassroomEnd DateTime
	LMSStart, LMSEnd             DateTime
	Finalisation                 Date

	MaxPlaces, Day       int
	HasMaxPlaces, HasDay bool
}

// sessionText and eventText are the text columns Parse keeps as they are
// (trimmed): on every row, and on event rows only.
var (
	sessionText = []Col{ColSessionTitle, ColTimeZone, ColSessionInstructor, ColSessionURL, ColLocation, ColVenue, ColLearningMode}
	eventText   = []Col{ColEventTitle, ColInstructor, ColAdministrator, ColEventURL, ColWebSale, ColSitting, ColOCRMoodleCode}
)

// Text returns the field of r that holds column c's text, or nil for a
// column parsed into something else (dates, times, numbers).
func (r *Row) Text(c Col) *string {
	switch c {
	case ColCode:
		return &r.Code
	case ColEventTitle:
		return &r.EventTitle
	case ColSessionTitle:
		return &r.SessionTitle
	case ColLearningMode:
		return &r.LearningMode
	case ColLocation:
		return &r.Location
	case ColVenue:
		return &r.Venue
	case ColTimeZone:
		return &r.TimeZone
	case ColInstructor:
		return &r.Instructor
	case ColSessionInstructor:
		return &r.SessionInstructor
	case ColAdministrator:
		return &r.Administrator
	case ColEventURL:
		return &r.EventURL
	case ColSessionURL:
		return &r.SessionURL
	case ColWebSale:
		return &r.WebSale
	case ColSitting:
		return &r.Sitting
	case ColOCRMoodleCode:
		return &r.OCR
	}
	return nil
}

// Problem builds a problem located at col of row r.
func (l *Layout) Problem(r int, col Col, value, msg, hint string) Problem {
	return Problem{Row: r, Column: l.Letters[col], Header: Columns[col].Header, Value: clipValue(value), Msg: msg, Hint: hint}
}

// maxProblemValue bounds the cell text a problem keeps: enough to
// recognise the cell, never the whole of a huge one.
const maxProblemValue = 200

func clipValue(s string) string {
	if len(s) <= maxProblemValue {
		return s
	}
	cut := maxProblemValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// formulaStart reports text a spreadsheet or a CSV export of Administrate
// would take for a formula: = + - @ first, or a tab or carriage return
// (OWASP's CSV-injection rule). Leading spaces do not hide it.
func formulaStart(raw string) bool {
	s := strings.TrimLeft(raw, " ")
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// sentAsText are the columns whose text reaches Administrate as it is
// (titles, URLs, custom-field values); names matched to reference data
// are sent as ids and dates and numbers are parsed.
var sentAsText = []Col{ColEventTitle, ColSessionTitle, ColEventURL, ColSessionURL, ColSitting, ColOCRMoodleCode}

// IsBlank reports whether every imported column of rec is blank; such rows
// are skipped wherever they are (trailing styled rows above all).
func IsBlank(rec *Record) bool {
	for i, c := range Columns {
		if c.Imported && strings.TrimSpace(rec.Cells[i]) != "" {
			return false
		}
	}
	return true
}

// Parse turns a record into a typed row. It never panics, whatever the
// cells hold; every cell it cannot read becomes a problem naming the cell.
// Columns a row kind does not use (LMS columns on session rows, event fields
// on session rows) are not parsed, so leftovers there are not errors.
func (l *Layout) Parse(rec *Record) (Row, []Problem) {
	var probs []Problem
	t := func(c Col) string { return strings.TrimSpace(rec.Cells[c]) }
	row := Row{Row: rec.Row}
	if IsBlank(rec) {
		return row, nil
	}
	row.Code = t(ColCode)
	row.Kind = KindSession
	if row.Code != "" {
		row.Kind = KindEvent
	}
	event := row.Kind == KindEvent
	for _, c := range sentAsText {
		if !event && c != ColSessionTitle && c != ColSessionURL {
			continue // event columns are not read on session rows
		}
		if formulaStart(rec.Cells[c]) {
			probs = append(probs, l.Problem(rec.Row, c, rec.Cells[c], "starts with = + - @, a tab or a carriage return, which spreadsheets and CSV exports of Administrate would run as a formula", "remove the leading character (or write the text differently)"))
		}
	}
	for _, c := range sessionText {
		*row.Text(c) = t(c)
	}

	dateTime := func(dc, tc Col) DateTime {
		var dt DateTime
		if v := t(dc); v != "" {
			d, err := ParseDate(v, l.Date1904)
			if err != nil {
				probs = append(probs, l.Problem(rec.Row, dc, v, err.Error(), ""))
			} else {
				dt.Date, dt.HasDate = d, true
			}
		}
		if v := t(tc); v != "" {
			c, ok, err := ParseTime(v)
			if err != nil {
				probs = append(probs, l.Problem(rec.Row, tc, v, err.Error(), ""))
			} else {
				dt.Clock, dt.HasTime = c, ok
			}
		}
		return dt
	}
	integer := func(c Col) (int, bool) {
		v := t(c)
		n, ok, err := ParseInt(v)
		if err != nil {
			probs = append(probs, l.Problem(rec.Row, c, v, err.Error(), "enter a whole number"))
		}
		return n, ok
	}

	row.ClassroomStart = dateTime(ColClassroomStartDate, ColClassroomStartTime)
	row.ClassroomEnd = dateTime(ColClassroomEndDate, ColClassroomEndTime)
	row.Day, row.HasDay = integer(ColDay)
	if !event {
		return row, probs
	}
	for _, c := range eventText {
		*row.Text(c) = t(c)
	}
	row.LMSStart = dateTime(ColLMSStartDate, ColLMSStartTime)
	row.LMSEnd = dateTime(ColLMSEndDate, ColLMSEndTime)
	row.MaxPlaces, row.HasMaxPlaces = integer(ColMaxPlaces)
	if v := t(ColFinalisationDate); v != "" {
		d, err := ParseDate(v, l.Date1904)
		if err != nil {
			probs = append(probs, l.Problem(rec.Row, ColFinalisationDate, v, err.Error(), ""))
		} else {
			row.Finalisation = d
		}
	}
	return row, probs
}
