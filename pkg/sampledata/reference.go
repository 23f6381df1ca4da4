// Package sampledata makes the project's own event workbooks and the
// reference data they need: a deterministic generator of realistic Import
// sheets (blended, LMS and classroom events, text and fractional times, date
// serials, like the real template), seeding of the tutorial tables and of
// matching Administrate bridges with fake external ids, and derivation of
// reference data from any workbook so a real one can be demonstrated. Tests,
// benchmarks and the demo use it; no customer data is shipped.
package sampledata

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Learning modes, as the importer and the admsync.import_events table name them.
const (
	Blended   = "BLENDED"
	LMS       = "LMS"
	Classroom = "CLASSROOM"
)

// ReferenceData is everything a workbook refers to by name.
type ReferenceData struct {
	CourseTemplates []CourseTemplate `json:"course_templates"`
	Locations       []Location       `json:"locations"`
	Venues          []Venue          `json:"venues"`
	Instructors     []Person         `json:"instructors"`
	Administrators  []Person         `json:"administrators"`
	Products        []Product        `json:"products"`
	CustomFields    []CustomField    `json:"custom_fields"`
}

// CourseTemplate is a tutorial course template and its Administrate twin.
type CourseTemplate struct {
	Code         string   `json:"code"`
	Title        string   `json:"title"`
	LearningMode string   `json:"learning_mode"` // Blended, LMS or Classroom
	Sessions     int      `json:"sessions"`      // 0 for LMS
	Approved     []string `json:"approved"`      // full names of approved instructors
}

// Location is a tutorial location.
type Location struct {
	Name string `json:"name"`
}

// Venue is a tutorial venue inside a location.
type Venue struct {
	Name     string `json:"name"`
	Location string `json:"location"`
}

// Person is an instructor or administrator. A person's full name is
// FirstName + " " + LastName (first names may have several words).
type Person struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// FullName joins the names as the importer compares them.
func (p Person) FullName() string { return strings.TrimSpace(p.FirstName + " " + p.LastName) }

// PersonFromName splits a full name: the last word is the last name.
func PersonFromName(full string) Person {
	f := strings.Fields(full)
	if len(f) == 0 {
		return Person{}
	}
	return Person{FirstName: strings.Join(f[:len(f)-1], " "), LastName: f[len(f)-1]}
}

// Product is a store product an event is sold as.
type Product struct {
	Code      string `json:"code"`
	Subject   string `json:"subject"`
	Sitting   string `json:"sitting"`
	Variation string `json:"variation"`
}

// CustomField is a custom-field definition in Administrate.
type CustomField struct {
	EntityType string `json:"entity_type"` // Event or Session
	Label      string `json:"label"`
	Type       string `json:"type"`
}

// RequiredCustomFields are the definitions the event writer needs.
func RequiredCustomFields() []CustomField {
	return []CustomField{
		{"Event", "Sitting", "text"},
		{"Event", "Finalisation date", "date"},
		{"Event", "URL", "text"},
		{"Event", "Web sale", "boolean"},
		{"Event", "OCR Moodle Code", "text"},
		{"Session", "Day", "text"},
		{"Session", "URL", "text"},
	}
}

// CodeParts splits a course template code the way products are keyed:
// the subject is the code before the first "_" (or after "OC_"), the
// variation is the rest ("CB1_LO_6" → CB1, LO_6; "OC_SA7" → SA7, OC).
func CodeParts(code string) (subject, variation string) {
	code = strings.TrimSpace(code)
	if rest, ok := cutPrefixFold(code, "OC_"); ok {
		return rest, "OC"
	}
	if s, v, ok := strings.Cut(code, "_"); ok {
		return s, v
	}
	return code, ""
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// ExternalID makes a deterministic fake Administrate id in the style of the
// real ones: base64 of "<Type>:<n>".
func ExternalID(typ string, n int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d", typ, n))
}
