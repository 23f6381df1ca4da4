package validate

import (
	"time"

	"admsync/services/importer/internal/workbook"
)

// Learning modes as stored in admsync.import_events.
const (
	Blended   = "BLENDED"
	LMS       = "LMS"
	Classroom = "CLASSROOM"
)

// Status is the outcome of an event and of each of its rows.
type Status string

// Outcomes.
const (
	Accepted  Status = "accepted"
	Rejected  Status = "rejected"
	Duplicate Status = "duplicate"
	// Changed is an event imported earlier whose rows the workbook corrects:
	// the import updates its tutorial rows and queues tutorial.event.changed.
	Changed Status = "changed"
)

// Change is one field of an earlier import that the workbook corrects,
// reported on the row that carries it.
type Change struct {
	Row   int    `json:"row"`
	Day   int    `json:"day,omitempty"` // the session's Day; 0 for an event field
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Text renders a change as the summary and the report show it.
func (c Change) Text() string {
	return c.Field + ": " + c.Old + " → " + c.New
}

// Missing is an event imported earlier, in a sitting this workbook covers,
// that the workbook no longer has. It is reported, never deleted.
type Missing struct {
	TutorialEventID int64  `json:"tutorial_event_id"`
	ImportRunID     int64  `json:"import_run_id"`
	ExcelRow        int    `json:"excel_row"`
	Title           string `json:"title"`
	Sitting         string `json:"sitting"`
}

// RowResult is one data row's own problems.
type RowResult struct {
	Row      int
	Kind     workbook.Kind
	Problems []workbook.Problem
}

// Session is one validated session; times are instants in the event's zone.
type Session struct {
	Row           int
	Title         string
	Day           int
	Start, End    time.Time
	URL           string
	InstructorIDs []int64 // acted.tutorial_instructors ids
}

// Event is one event group: the event row and its session rows.
type Event struct {
	Row    int // Excel row of the event row (first row of the group)
	Orphan bool

	Code, Title, Mode string
	ZoneName          string
	Zone              *time.Location

	CourseTemplateID, ProductID int64
	LocationID, VenueID         int64 // 0: none

	// Wall-clock times in Zone.
	ClassroomStart, ClassroomEnd, LMSStart, LMSEnd time.Time

	MaxPlaces        int
	HasMaxPlaces     bool
	Sitting, OCR     string
	WebSale          bool
	EventURL         string
	Finalisation     workbook.Date
	AdministratorIDs []string

	Sessions []*Session
	Rows     []RowResult

	Status     Status
	Note       string // why a duplicate was skipped
	NaturalKey string

	// Existing is the tutorial event an earlier import made of this event
	// (same natural key, or same title): 0 for a new event.
	Existing int64
	// Changes are what the workbook corrects in Existing (status Changed).
	Changes []Change
}

// Problems counts the problems of every row of the event.
func (e *Event) Problems() int {
	n := 0
	for _, r := range e.Rows {
		n += len(r.Problems)
	}
	return n
}

// StartDate and EndDate are the dates tutorial_events stores: the LMS window
// when there is one, else the first and last classroom session.
func (e *Event) StartDate() time.Time {
	if !e.LMSStart.IsZero() {
		return dateOnly(e.LMSStart)
	}
	return dateOnly(e.ClassroomStart)
}

// EndDate: see StartDate.
func (e *Event) EndDate() time.Time {
	if !e.LMSEnd.IsZero() {
		return dateOnly(e.LMSEnd)
	}
	end := e.ClassroomEnd
	for _, s := range e.Sessions {
		if s.End.After(end) {
			end = s.End
		}
	}
	return dateOnly(end)
}

func dateOnly(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Wall returns t's wall clock as a zone-less timestamp (UTC-labelled), the
// way admsync.import_events stores local times.
func Wall(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}
