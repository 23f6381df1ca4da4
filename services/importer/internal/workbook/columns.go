// Package workbook reads the "Import" sheet of the event/session workbook:
// it refuses hostile files, reads every part strictly and streams the
// sheet's rows with its own XML scanner, checks the header row against the
// template's 34 columns, and turns cells into typed values (dates in the
// 1900 and 1904 systems or as text, times as text or day fractions) with
// problems that name the Excel row, column letter, header and value.
package workbook

// Col identifies a template column independently of where it sits in a
// given file; the reader maps file positions to Cols by header name.
type Col int

// The template's columns, in template order (A..AI).
const (
	ColCode Col = iota
	ColEventTitle
	ColSessionTitle
	ColLearningMode
	ColLocation
	ColVenue
	ColTimeZone
	ColClassroomStartDate
	ColClassroomStartTime
	ColClassroomEndDate
	ColClassroomEndTime
	ColLMSStartDate
	ColLMSStartTime
	ColLMSEndDate
	ColLMSEndTime
	ColMaxPlaces
	ColAccessDuration
	ColInstructor
	ColSessionInstructor
	ColAdministrator
	ColDay
	ColEventURL
	ColSessionURL
	ColFinalisationDate
	ColWebSale
	ColSitting
	ColOCRMoodleCode
	ColRecordings
	ColRecordingPin
	ColTutors
	ColSageCode
	ColCancelled
	ColExtraInformation
	ColUnnamed
	ColRegistrationDeadline
	NumCols
)

// Column describes one template column.
type Column struct {
	Letter   string // where the template puts it
	Header   string // header text in row 1 (matched with match.Key)
	Required bool   // the file is refused when it is missing
	Imported bool   // the importer reads it (others are carried into the report only)
}

// Columns is the template, in order. The 26 required headers are A–P and
// R–AA; Q and AB–AI are accepted when missing.
var Columns = [NumCols]Column{
	ColCode:                 {"A", "Course template code", true, true},
	ColEventTitle:           {"B", "Event title", true, true},
	ColSessionTitle:         {"C", "Session title", true, true},
	ColLearningMode:         {"D", "Learning mode", true, true},
	ColLocation:             {"E", "Location", true, true},
	ColVenue:                {"F", "Venue", true, true},
	ColTimeZone:             {"G", "Time Zone", true, true},
	ColClassroomStartDate:   {"H", "Classroom start date", true, true},
	ColClassroomStartTime:   {"I", "Classroom start time", true, true},
	ColClassroomEndDate:     {"J", "Classroom end date", true, true},
	ColClassroomEndTime:     {"K", "Classroom end time", true, true},
	ColLMSStartDate:         {"L", "LMS start date", true, true},
	ColLMSStartTime:         {"M", "LMS start time", true, true},
	ColLMSEndDate:           {"N", "LMS end date", true, true},
	ColLMSEndTime:           {"O", "LMS end time", true, true},
	ColMaxPlaces:            {"P", "Max places", true, true},
	ColAccessDuration:       {"Q", "Access Duration", false, false},
	ColInstructor:           {"R", "Instructor", true, true},
	ColSessionInstructor:    {"S", "Session instructor", true, true},
	ColAdministrator:        {"T", "Event administrator", true, true},
	ColDay:                  {"U", "Day", true, true},
	ColEventURL:             {"V", "Event url", true, true},
	ColSessionURL:           {"W", "Session url", true, true},
	ColFinalisationDate:     {"X", "Finalisation date", true, true},
	ColWebSale:              {"Y", "Web sale", true, true},
	ColSitting:              {"Z", "Sitting", true, true},
	ColOCRMoodleCode:        {"AA", "OCR moodle code", true, true},
	ColRecordings:           {"AB", "Recordings", false, false},
	ColRecordingPin:         {"AC", "Recording pin", false, false},
	ColTutors:               {"AD", "Tutors", false, false},
	ColSageCode:             {"AE", "Sage code", false, false},
	ColCancelled:            {"AF", "Cancelled", false, false},
	ColExtraInformation:     {"AG", "Extra information", false, false},
	ColUnnamed:              {"AH", "", false, false},
	ColRegistrationDeadline: {"AI", "Registration Deadline Date", false, false},
}

// Headers returns the template's row-1 texts in order (AH is blank).
func Headers() []string {
	out := make([]string, NumCols)
	for i, c := range Columns {
		out[i] = c.Header
	}
	return out
}

// SheetName is the sheet the importer reads.
const SheetName = "Import"
