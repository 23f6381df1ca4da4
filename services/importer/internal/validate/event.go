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
)

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
