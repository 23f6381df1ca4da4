// Package plan turns one tutorial event, as read from PostgreSQL with its
// bridges, into the Administrate calls that create it: the create mutation,
// one session.update and one session.addStaff per Day, and the event
// administrators. It is pure (no I/O), so every rule about what is sent is
// unit-tested here, and every problem that makes an event impossible to
// write completely (a missing bridge, an unknown custom field, an unknown
// time zone, any of the Limits) is found before the first call, so no event
// is ever left half-created in Administrate.
package plan

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"admsync/pkg/administrate"
)

// Mode is admsync.import_events.learning_mode.
type Mode string

const (
	Blended   Mode = "BLENDED"
	LMS       Mode = "LMS"
	Classroom Mode = "CLASSROOM"
)

// Custom-field labels, as synced into adm.custom_fields from Administrate.
const (
	LabelSitting          = "Sitting"
	LabelFinalisationDate = "Finalisation date"
	LabelURL              = "URL"
	LabelWebSale          = "Web sale"
	LabelOCRMoodleCode    = "OCR Moodle Code"
	LabelDay              = "Day"
)

// Ref is a tutorial reference and its bridge: LocalID 0 means the tutorial
// row has none; ExternalID "" with a LocalID means the bridge is missing.
type Ref struct {
	LocalID    int64
	Name       string
	ExternalID string
}

// Instructor is one session instructor and its Administrate contact id.
type Instructor struct {
	TutorialInstructorID int64
	Name                 string
	ExternalID           string
}

// Session is one acted.tutorial_sessions row (Day = sequence).
type Session struct {
	TutorialSessionID int64
	Day               int
	Title             string
	Start, End        time.Time // instants
	URL               string
	Instructors       []Instructor
}

// Event is everything the writer reads for one tutorial event.
type Event struct {
	TutorialEventID    int64
	Title              string
	CourseTemplateCode string
	// CourseTemplateID is the Administrate id through adm.course_templates
	// ("" when the template has no bridge).
	CourseTemplateID string
	// TemplateCode is the course template's code as Administrate returned it
	// (adm.course_templates.code): the key the reconcile lookup uses, never
	// the workbook's spelling.
	TemplateCode string
	// TemplateProblem says why the workbook's code resolved to no single
	// linked course template ("" when it did).
	TemplateProblem string
	Mode            Mode
	TimeZone        string // IANA
	Location, Venue Ref
	// VenueLocationID is the Administrate location the venue belongs to
	// (adm.venues.location_id): Administrate refuses a venue of another location.
	VenueLocationID string
	// Local wall-clock times in TimeZone (zero = not given).
	ClassroomStart, ClassroomEnd time.Time
	LMSStart, LMSEnd             time.Time
	MaxPlaces                    int // 0 = not given
	Sitting                      string
	WebSale                      bool
	EventURL                     string
	OCRMoodleCode                string
	FinalisationDate             time.Time // zero = not given
	Administrators               []string  // Administrate contact ids
	Sessions                     []Session
	// EventFields and SessionFields map custom-field labels to keys.
	EventFields, SessionFields map[string]string
}

// Options are the tenant constants sent with every create.
type Options struct {
	// TaxTypeID is sent as taxType when set (a tenant-specific global id).
	TaxTypeID string
	// Limits refuse an event before its first Administrate write; zero
	// fields take DefaultLimits.
	Limits Limits
}

// Limits are the bounds an event must respect to be written completely. An
// event past one of them would be created and then fail on a later call,
// leaving a half-written event in Administrate, so Build refuses it first.
type Limits struct {
	// MaxSessions is the most Days one event may have. Administrate creates
	// as many sessions as the course template defines; no template of this
	// catalogue comes near it.
	MaxSessions int
	// MaxSessionStaff bounds the instructors of one session (one addStaff).
	MaxSessionStaff int
	// MaxAdministrators bounds the event administrators (one addStaff each).
	MaxAdministrators int
	// MaxTitle, MaxSessionTitle and MaxURL bound text lengths in characters
	// (the widths of the columns they come from and Administrate's fields);
	// MaxFieldValue bounds any other custom-field value.
	MaxTitle, MaxSessionTitle, MaxURL, MaxFieldValue int
}

// DefaultLimits are used for zero Limits fields.
var DefaultLimits = Limits{
	MaxSessions:       100,
	MaxSessionStaff:   20,
	MaxAdministrators: 10,
	MaxTitle:          255,
	MaxSessionTitle:   255,
	MaxURL:            500,
	MaxFieldValue:     255,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	return Limits{
		MaxSessions:       pick(l.MaxSessions, d.MaxSessions),
		MaxSessionStaff:   pick(l.MaxSessionStaff, d.MaxSessionStaff),
		MaxAdministrators: pick(l.MaxAdministrators, d.MaxAdministrators),
		MaxTitle:          pick(l.MaxTitle, d.MaxTitle),
		MaxSessionTitle:   pick(l.MaxSessionTitle, d.MaxSessionTitle),
		MaxURL:            pick(l.MaxURL, d.MaxURL),
		MaxFieldValue:     pick(l.MaxFieldValue, d.MaxFieldValue),
	}
}

// TemplateSessions is the session count a course template code names in
// this catalogue's convention (CB1_LO_6: six sessions), or 0 when the code
// names none. The importer applies the same rule.
func TemplateSessions(code string) int {
	i := strings.LastIndex(code, "_")
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(code[i+1:])
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// SessionCall is the work for one Day.
type SessionCall struct {
	TutorialSessionID int64
	Day               int
	Update            administrate.SessionUpdateInput
	// InstructorIDs go to one session.addStaff (none: no call).
	InstructorIDs []string
}

// Plan is the ordered work for one event.
type Plan struct {
	TutorialEventID int64
	Mode            Mode
	// Natural key used to reconcile before creating: the title we send and
	// the course template's code as Administrate holds it.
	Title, CourseTemplateCode string
	// Exactly one of these is set, per Mode.
	Blended   *administrate.BlendedEventCreateInput
	LMS       *administrate.LMSEventCreateInput
	Classroom *administrate.ClassroomEventCreateInput
	// Sessions in Day order (empty for LMS events: they have no sessions).
	Sessions       []SessionCall
	Administrators []string
}

// Invalid lists why an event cannot be written. It is permanent: retrying
// will not help until the data or the bridges are fixed.
type Invalid struct {
	TutorialEventID int64
	Problems        []string
}

func (e *Invalid) Error() string {
	return fmt.Sprintf("tutorial event %d cannot be written: %s", e.TutorialEventID, strings.Join(e.Problems, "; "))
}

// Build checks e and returns its plan, or *Invalid with every problem found.
func Build(e Event, opt Options) (*Plan, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	lim := opt.Limits.withDefaults()
	if strings.TrimSpace(e.Title) == "" {
		bad("the event has no title")
	}
	if n := utf8.RuneCountInString(e.Title); n > lim.MaxTitle {
		bad("the event title has %d characters; the most Administrate takes is %d", n, lim.MaxTitle)
	}
	loc, err := time.LoadLocation(e.TimeZone)
	if e.TimeZone == "" || err != nil {
		bad("time zone %q is not a known IANA zone", e.TimeZone)
		loc = time.UTC
	}
	switch {
	case e.TemplateProblem != "":
		bad("%s", e.TemplateProblem)
	case e.CourseTemplateID == "":
		bad("course template %q is not linked to an Administrate course template (run the syncer's course-templates stage)", e.CourseTemplateCode)
	case e.TemplateCode == "":
		bad("course template %q has no Administrate code in adm.course_templates, so a lost create could not be found again (give the template a code in Administrate and run the syncer's course-templates stage)", e.CourseTemplateCode)
	}
	if e.Venue.ExternalID != "" && e.Location.ExternalID != "" && e.VenueLocationID != "" && e.VenueLocationID != e.Location.ExternalID {
		bad("venue %q belongs to Administrate location %s, not to the event's location %q (%s)", e.Venue.Name, e.VenueLocationID, e.Location.Name, e.Location.ExternalID)
	}
	if e.MaxPlaces < 0 {
		bad("max places %d is negative", e.MaxPlaces)
	}
	if n := len(e.Administrators); n > lim.MaxAdministrators {
		bad("the event has %d administrators; at most %d are allowed", n, lim.MaxAdministrators)
	}
	if e.Location.LocalID != 0 && e.Location.ExternalID == "" {
		bad("location %q is not linked to an Administrate location", e.Location.Name)
	}
	if e.Venue.LocalID != 0 && e.Venue.ExternalID == "" {
		bad("venue %q is not linked to an Administrate venue", e.Venue.Name)
	}

	eventCF := fieldSet{entity: "Event", keys: e.EventFields, bad: bad, lim: lim}
	eventCF.add(LabelSitting, e.Sitting)
	eventCF.add(LabelWebSale, strconv.FormatBool(e.WebSale))

	p := &Plan{
		TutorialEventID:    e.TutorialEventID,
		Mode:               e.Mode,
		Title:              e.Title,
		CourseTemplateCode: e.TemplateCode,
		Administrators:     append([]string(nil), e.Administrators...),
	}
	switch e.Mode {
	case Blended, Classroom:
		if !e.FinalisationDate.IsZero() {
			eventCF.add(LabelFinalisationDate, e.FinalisationDate.Format("2006-01-02"))
		}
		if e.EventURL != "" {
			eventCF.add(LabelURL, e.EventURL)
		}
		if e.ClassroomStart.IsZero() || e.ClassroomEnd.IsZero() {
			bad("a %s event needs classroom start and end", strings.ToLower(string(e.Mode)))
		}
		if e.Mode == Blended && (e.LMSStart.IsZero() || e.LMSEnd.IsZero()) {
			bad("a blended event needs LMS start and end")
		}
		window(bad, "classroom", e.ClassroomStart, e.ClassroomEnd)
		if e.Mode == Blended {
			window(bad, "LMS", e.LMSStart, e.LMSEnd)
		}
		p.Sessions = sessionCalls(e, loc, lim, bad)
		if n := len(e.Sessions); n > lim.MaxSessions {
			bad("the event has %d sessions; at most %d are allowed", n, lim.MaxSessions)
		}
		days := 0
		for _, s := range e.Sessions {
			days = max(days, s.Day)
		}
		if want := TemplateSessions(e.TemplateCode); want > 0 && days > want {
			bad("the event has Day %d but course template %s has %d sessions, so Administrate would create too few", days, e.TemplateCode, want)
		}
	case LMS:
		if e.OCRMoodleCode != "" {
			eventCF.add(LabelOCRMoodleCode, e.OCRMoodleCode)
		}
		if e.LMSStart.IsZero() || e.LMSEnd.IsZero() {
			bad("an LMS event needs LMS start and end")
		}
		window(bad, "LMS", e.LMSStart, e.LMSEnd)
	default:
		bad("learning mode %q is not BLENDED, LMS or CLASSROOM", e.Mode)
	}

	if len(problems) > 0 {
		return nil, &Invalid{TutorialEventID: e.TutorialEventID, Problems: problems}
	}

	cfs := eventCF.values
	switch e.Mode {
	case Blended:
		p.Blended = &administrate.BlendedEventCreateInput{
			CourseTemplateId:       e.CourseTemplateID,
			Title:                  e.Title,
			EventType:              administrate.EventTypePublic,
			TimeZoneName:           e.TimeZone,
			LocationId:             e.Location.ExternalID,
			VenueId:                e.Venue.ExternalID,
			TaxType:                opt.TaxTypeID,
			MaxPlaces:              e.MaxPlaces,
			ClassroomStartDateTime: administrate.LocalDateTimeOf(e.ClassroomStart),
			ClassroomEndDateTime:   administrate.LocalDateTimeOf(e.ClassroomEnd),
			LmsStartDateTime:       administrate.LocalDateTimeOf(e.LMSStart),
			LmsEndDateTime:         administrate.LocalDateTimeOf(e.LMSEnd),
			CustomFieldValues:      cfs,
		}
	case Classroom:
		p.Classroom = &administrate.ClassroomEventCreateInput{
			CourseTemplateId:       e.CourseTemplateID,
			Title:                  e.Title,
			EventType:              administrate.EventTypePublic,
			TimeZoneName:           e.TimeZone,
			LocationId:             e.Location.ExternalID,
			VenueId:                e.Venue.ExternalID,
			MaxPlaces:              e.MaxPlaces,
			ClassroomStartDateTime: administrate.LocalDateTimeOf(e.ClassroomStart),
			ClassroomEndDateTime:   administrate.LocalDateTimeOf(e.ClassroomEnd),
			CustomFieldValues:      cfs,
		}
	case LMS:
		p.LMS = &administrate.LMSEventCreateInput{
			CourseTemplateId:  e.CourseTemplateID,
			Title:             e.Title,
			EventType:         administrate.EventTypePublic,
			TimeZoneName:      e.TimeZone,
			LocationId:        e.Location.ExternalID,
			TaxType:           opt.TaxTypeID,
			MaxPlaces:         e.MaxPlaces,
			LmsStartDateTime:  administrate.LocalDateTimeOf(e.LMSStart),
			LmsEndDateTime:    administrate.LocalDateTimeOf(e.LMSEnd),
			CustomFieldValues: cfs,
		}
	}
	return p, nil
}

// window refuses an end that is not after its start, as Administrate does.
func window(bad func(string, ...any), what string, start, end time.Time) {
	if !start.IsZero() && !end.IsZero() && !end.After(start) {
		bad("the %s end %s is not after its start %s", what, end.Format("2006-01-02 15:04"), start.Format("2006-01-02 15:04"))
	}
}

func sessionCalls(e Event, loc *time.Location, lim Limits, bad func(string, ...any)) []SessionCall {
	sessions := append([]Session(nil), e.Sessions...)
	sort.SliceStable(sessions, func(i, j int) bool { return sessions[i].Day < sessions[j].Day })
	if len(sessions) == 0 {
		bad("the event has no sessions (the event row is session 1)")
	}
	calls := make([]SessionCall, 0, len(sessions))
	seen := map[int]bool{}
	for _, s := range sessions {
		if s.Day < 1 {
			bad("session %q has Day %d; Days start at 1", s.Title, s.Day)
			continue
		}
		if seen[s.Day] {
			bad("Day %d appears twice", s.Day)
			continue
		}
		seen[s.Day] = true
		if strings.TrimSpace(s.Title) == "" {
			bad("the session of Day %d has no title", s.Day)
		}
		if n := utf8.RuneCountInString(s.Title); n > lim.MaxSessionTitle {
			bad("the session title of Day %d has %d characters; the most Administrate takes is %d", s.Day, n, lim.MaxSessionTitle)
		}
		if !s.End.After(s.Start) {
			bad("the session of Day %d ends (%s) before it starts (%s)", s.Day, s.End.In(loc).Format("2006-01-02 15:04"), s.Start.In(loc).Format("2006-01-02 15:04"))
		}
		cf := fieldSet{entity: "Session", keys: e.SessionFields, bad: bad, lim: lim}
		// Day is a String custom field: send its text.
		cf.add(LabelDay, strconv.Itoa(s.Day))
		if s.URL != "" {
			cf.add(LabelURL, s.URL)
		}
		var ids []string
		for _, in := range s.Instructors {
			if in.ExternalID == "" {
				bad("instructor %q (Day %d) is not linked to an Administrate contact", in.Name, s.Day)
				continue
			}
			// Two tutorial instructors linked to one contact are one staff member.
			if !slices.Contains(ids, in.ExternalID) {
				ids = append(ids, in.ExternalID)
			}
		}
		if len(ids) > lim.MaxSessionStaff {
			bad("the session of Day %d has %d instructors; at most %d are allowed", s.Day, len(ids), lim.MaxSessionStaff)
		}
		calls = append(calls, SessionCall{
			TutorialSessionID: s.TutorialSessionID,
			Day:               s.Day,
			Update: administrate.SessionUpdateInput{
				Title:             s.Title,
				LocationId:        e.Location.ExternalID,
				VenueId:           e.Venue.ExternalID,
				TimeZoneName:      e.TimeZone,
				Start:             administrate.LocalDateTimeOf(s.Start.In(loc)),
				End:               administrate.LocalDateTimeOf(s.End.In(loc)),
				CustomFieldValues: cf.values,
			},
			InstructorIDs: ids,
		})
	}
	return calls
}

type fieldSet struct {
	entity string
	keys   map[string]string
	bad    func(string, ...any)
	lim    Limits
	values []administrate.CustomFieldValueInput
}

func (f *fieldSet) add(label, value string) {
	limit := f.lim.MaxFieldValue
	if label == LabelURL {
		limit = f.lim.MaxURL
	}
	if n := utf8.RuneCountInString(value); n > limit {
		f.bad("%s custom field %q has %d characters; the most Administrate takes is %d", f.entity, label, n, limit)
	}
	key, ok := f.keys[label]
	if !ok || key == "" {
		f.bad("%s custom field %q is not in adm.custom_fields (run the syncer's custom-fields stage)", f.entity, label)
		return
	}
	f.values = append(f.values, administrate.CustomFieldValueInput{DefinitionKey: key, Value: value})
}

// Create returns the create mutation's name, for logs and errors.
func (p *Plan) Create() string {
	switch {
	case p.Blended != nil:
		return "event.createBlended"
	case p.Classroom != nil:
		return "event.createClassroom"
	default:
		return "event.createLMS"
	}
}

// ErrTooFewSessions is wrapped by Assign's error.
var ErrTooFewSessions = errors.New("too few Administrate sessions")

// Assign maps each Day to its Administrate session: Day d is the d-th
// session in the order Administrate returned them (the event row is Day 1).
// Fewer Administrate sessions than Days is permanent: the course template
// defines how many sessions Administrate creates.
func (p *Plan) Assign(admSessionIDs []string) (map[int]string, error) {
	need := 0
	for _, s := range p.Sessions {
		if s.Day > need {
			need = s.Day
		}
	}
	if len(admSessionIDs) < need {
		return nil, fmt.Errorf("%w: Administrate has %d session(s) for %q but the import has %d day(s); the course template's session count must match the workbook",
			ErrTooFewSessions, len(admSessionIDs), p.Title, need)
	}
	m := make(map[int]string, len(p.Sessions))
	for _, s := range p.Sessions {
		m[s.Day] = admSessionIDs[s.Day-1]
	}
	return m, nil
}

// MaxCalls is the most Administrate calls a first attempt of this plan
// makes: one create, then per Day one update and (with instructors) one
// addStaff, then one addStaff per administrator.
func (p *Plan) MaxCalls() int {
	n := 1 + len(p.Administrators)
	for _, s := range p.Sessions {
		n++
		if len(s.InstructorIDs) > 0 {
			n++
		}
	}
	return n
}
