package admsim

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim/internal/graph"
)

// Mutations follow Administrate's payload convention: a rejected write answers HTTP 200
// with the entity null and errors [{label: <input field>, message, value}]; a successful
// one answers the entity and errors: []. Validation happens before any state changes, so
// a rejected mutation never half-applies.

// AlreadyStaffMessage is Administrate's message for adding a contact that is already
// staff on the event [L]; pkg/administrate.IsAlreadyStaff recognises it.
const AlreadyStaffMessage = "The input Contact already exists as staff on the Event"

type (
	mutationResolver          struct{ *resolver }
	eventMutationsResolver    struct{ *resolver }
	sessionMutationsResolver  struct{ *resolver }
	courseTmplMutationsResolv struct{ *resolver }
	locationMutationsResolver struct{ *resolver }
	venueMutationsResolver    struct{ *resolver }
)

func (r *resolver) Mutation() graph.MutationResolver { return mutationResolver{r} }
func (r *resolver) EventMutations() graph.EventMutationsResolver {
	return eventMutationsResolver{r}
}
func (r *resolver) SessionMutations() graph.SessionMutationsResolver {
	return sessionMutationsResolver{r}
}
func (r *resolver) CourseTemplateMutations() graph.CourseTemplateMutationsResolver {
	return courseTmplMutationsResolv{r}
}
func (r *resolver) LocationMutations() graph.LocationMutationsResolver {
	return locationMutationsResolver{r}
}
func (r *resolver) VenueMutations() graph.VenueMutationsResolver { return venueMutationsResolver{r} }

// The namespace objects carry no data: their fields are resolvers.
func (mutationResolver) Event(context.Context) (*graph.EventMutations, error) {
	return &graph.EventMutations{}, nil
}
func (mutationResolver) Session(context.Context) (*graph.SessionMutations, error) {
	return &graph.SessionMutations{}, nil
}
func (mutationResolver) CourseTemplate(context.Context) (*graph.CourseTemplateMutations, error) {
	return &graph.CourseTemplateMutations{}, nil
}
func (mutationResolver) Location(context.Context) (*graph.LocationMutations, error) {
	return &graph.LocationMutations{}, nil
}
func (mutationResolver) Venue(context.Context) (*graph.VenueMutations, error) {
	return &graph.VenueMutations{}, nil
}

// verrs collects field errors of one mutation.
type verrs []*graph.FieldError

func (v *verrs) add(label, value, format string, args ...any) {
	*v = append(*v, &graph.FieldError{Label: ptr(label), Message: ptr(fmt.Sprintf(format, args...)), Value: ptr(value)})
}

func (v verrs) list() []*graph.FieldError {
	if v == nil {
		return []*graph.FieldError{}
	}
	return v
}

// required returns value without surrounding white space and, when nothing is left,
// records "<what> is required" against label.
func (v *verrs) required(label, value, what string) string {
	t := strings.TrimSpace(value)
	if t == "" {
		v.add(label, value, "%s is required", what)
	}
	return t
}

// exists reports whether any record of m satisfies match; the creates use it to refuse
// a code or name that is already taken.
func exists[T any](m map[int]*T, match func(*T) bool) bool {
	for _, r := range m {
		if match(r) {
			return true
		}
	}
	return false
}

// lookup resolves an optional id input: 0 when absent, an error entry when the id is
// malformed, of another type, or unknown.
func lookup[T any](errs *verrs, label string, id *string, prefix, what string, m map[int]*T) int {
	if id == nil || *id == "" {
		return 0
	}
	k, ok := keyOf(*id, prefix)
	if !ok {
		errs.add(label, *id, "The %s id is not a %s id", label, what)
		return 0
	}
	if m[k] == nil {
		errs.add(label, *id, "%s not found", what)
		return 0
	}
	return k
}

func (st *state) checkZone(errs *verrs, label string, zone string) {
	if zone == "" {
		errs.add(label, zone, "Time zone is required")
		return
	}
	if _, err := loadZone(zone); err != nil {
		errs.add(label, zone, "Unknown time zone %q", zone)
	}
}

func checkWindow(errs *verrs, endLabel string, start, end *administrate.LocalDateTime) {
	if start == nil || end == nil || start.IsZero() || end.IsZero() {
		return
	}
	if !start.Before(*end) {
		errs.add(endLabel, end.String(), "End must be after start (%s)", start.String())
	}
}

func (st *state) checkCustomFields(errs *verrs, entityType string, in []*graph.CustomFieldValueInput) []cfValue {
	var out []cfValue
	for _, v := range in {
		if v == nil {
			continue
		}
		k, ok := keyOf(v.DefinitionKey, prefixCustomField)
		if !ok || st.customFields[k] == nil || st.customFields[k].entityType != entityType {
			errs.add("customFieldValues", v.DefinitionKey, "Unknown %s custom field definition", entityType)
			continue
		}
		out = append(out, cfValue{defKey: k, value: deref(v.Value)})
	}
	return out
}

// checkTemplateAndTitle checks what every event create requires: a known course
// template (its key is returned) and a title that is not blank.
func (st *state) checkTemplateAndTitle(errs *verrs, courseTemplateID, title *string) int {
	if courseTemplateID == nil || *courseTemplateID == "" {
		errs.add("courseTemplateId", "", "Course template is required")
	}
	ctKey := lookup(errs, "courseTemplateId", courseTemplateID, prefixCourseTmpl, "CourseTemplate", st.courseTemplates)
	if strings.TrimSpace(deref(title)) == "" {
		errs.add("title", "", "Title is required")
	}
	return ctKey
}

// checkPlace resolves the optional location and venue ids of a create or an update
// (0 for each one absent) and checks that the venue belongs to the location: the one
// given, or else currentLocation, the location the event or session has (0 on create).
func (st *state) checkPlace(errs *verrs, locationID, venueID *string, currentLocation int) (locKey, venKey int) {
	locKey = lookup(errs, "locationId", locationID, prefixLocation, "Location", st.locations)
	venKey = lookup(errs, "venueId", venueID, prefixVenue, "Venue", st.venues)
	effLoc := currentLocation
	if locKey != 0 {
		effLoc = locKey
	}
	if venKey != 0 && effLoc != 0 && st.venues[venKey].locationKey != effLoc {
		errs.add("venueId", deref(venueID), "Venue does not belong to the location")
	}
	return locKey, venKey
}

// staffType is the staff type asked for, Instructor when none is.
func staffType(t *graph.StaffType) string {
	if t == nil || *t == "" {
		return string(graph.StaffTypeInstructor)
	}
	return string(*t)
}

func (st *state) checkTax(errs *verrs, ids ...*string) {
	for _, id := range ids {
		if id == nil || *id == "" {
			continue
		}
		if p, _, err := DecodeID(*id); err != nil || p != "TaxType" {
			errs.add("taxType", *id, "Tax type not found")
		}
	}
}

// newEvent is the common part of the three create mutations; caller holds mu and has
// validated the input.
type newEventSpec struct {
	ctKey, locationKey, venueKey int
	title, code, mode, zone      string
	lifecycle                    string
	classStart, classEnd         administrate.LocalDateTime
	lmsStart, lmsEnd             administrate.LocalDateTime
	maxPlaces, minPlaces         int
	customFields                 []cfValue
	sessions                     int
}

func (st *state) createEvent(spec newEventSpec) *eventRec {
	e := &eventRec{
		key: st.newKey(prefixEvent), courseTmplKey: spec.ctKey, title: spec.title, code: spec.code,
		learningMode: spec.mode, lifecycleState: spec.lifecycle, timeZone: spec.zone,
		lmsStart: spec.lmsStart, lmsEnd: spec.lmsEnd, locationKey: spec.locationKey, venueKey: spec.venueKey,
		maxPlaces: spec.maxPlaces, minPlaces: spec.minPlaces, customFields: spec.customFields, createdAt: now(),
	}
	if e.lifecycleState == "" {
		e.lifecycleState = "draft" // new events are drafts [C]
	}
	e.start, e.end = spec.classStart, spec.classEnd
	if !spec.lmsStart.IsZero() && (e.start.IsZero() || spec.lmsStart.Before(e.start)) {
		e.start = spec.lmsStart
	}
	if !spec.lmsEnd.IsZero() && (e.end.IsZero() || e.end.Before(spec.lmsEnd)) {
		e.end = spec.lmsEnd
	}
	st.events[e.key] = e
	// Sessions come from the course template; their times start as the classroom window
	// and the writer sets each one with session.update [I].
	for i := 1; i <= spec.sessions; i++ {
		s := &sessionRec{key: st.newKey(prefixSession), eventKey: e.key, title: fmt.Sprintf("Session %d", i),
			lifecycleState: "draft", start: spec.classStart, end: spec.classEnd,
			locationKey: spec.locationKey, venueKey: spec.venueKey}
		st.sessions[s.key] = s
		e.sessions = append(e.sessions, s.key)
	}
	return e
}

func sessionsFor(ct *courseTemplateRec) int {
	if ct == nil || ct.sessionCount < 1 {
		return 1
	}
	return ct.sessionCount
}

// create is the frame of the three event creates: under the lock it checks
// the course template and the title, lets check validate the rest of the input
// and describe the event (ctKey is the course template's key, 0 when it is not
// known), and creates the event only when nothing was wrong. The spec's course
// template and title are filled in here.
func (m eventMutationsResolver) create(courseTemplateID, title *string, check func(st *state, errs *verrs, ctKey int) newEventSpec) (*graph.EventMutateResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	ctKey := st.checkTemplateAndTitle(&errs, courseTemplateID, title)
	spec := check(st, &errs, ctKey)
	if len(errs) > 0 {
		return &graph.EventMutateResponse{Errors: errs.list()}, nil
	}
	spec.ctKey, spec.title = ctKey, deref(title)
	e := st.createEvent(spec)
	return &graph.EventMutateResponse{Event: st.eventModel(e), Errors: errs.list()}, nil
}

func (m eventMutationsResolver) CreateBlended(ctx context.Context, obj *graph.EventMutations, in graph.BlendedEventCreateInput) (*graph.EventMutateResponse, error) {
	return m.create(in.CourseTemplateID, in.Title, func(st *state, errs *verrs, ctKey int) newEventSpec {
		st.checkZone(errs, "timeZoneName", in.TimeZoneName)
		locKey, venKey := st.checkPlace(errs, in.LocationID, in.VenueID, 0)
		st.checkTax(errs, in.TaxType)
		checkWindow(errs, "classroomEndDateTime", in.ClassroomStartDateTime, in.ClassroomEndDateTime)
		checkWindow(errs, "lmsEndDateTime", in.LmsStartDateTime, in.LmsEndDateTime)
		if deref(in.MaxPlaces) < 0 {
			errs.add("maxPlaces", itoa(*in.MaxPlaces), "Max places must not be negative")
		}
		cfs := st.checkCustomFields(errs, "Event", in.CustomFieldValues)
		return newEventSpec{locationKey: locKey, venueKey: venKey, mode: "blended", zone: in.TimeZoneName,
			classStart: derefLocal(in.ClassroomStartDateTime), classEnd: derefLocal(in.ClassroomEndDateTime),
			lmsStart: derefLocal(in.LmsStartDateTime), lmsEnd: derefLocal(in.LmsEndDateTime),
			maxPlaces: deref(in.MaxPlaces), customFields: cfs,
			sessions: sessionsFor(st.courseTemplates[ctKey])}
	})
}

func (m eventMutationsResolver) CreateLms(ctx context.Context, obj *graph.EventMutations, in graph.LMSEventCreateInput) (*graph.EventMutateResponse, error) {
	return m.create(in.CourseTemplateID, in.Title, func(st *state, errs *verrs, _ int) newEventSpec {
		zone := deref(in.TimeZoneName)
		if zone == "" {
			zone = "Europe/London"
		}
		st.checkZone(errs, "timeZoneName", zone)
		// The previous client found locationId effectively required for LMS events [L].
		if in.LocationID == nil || *in.LocationID == "" {
			errs.add("locationId", "", "Location is required")
		}
		locKey := lookup(errs, "locationId", in.LocationID, prefixLocation, "Location", st.locations)
		st.checkTax(errs, in.TaxType)
		start, end := derefLocal(in.LmsStartDateTime), derefLocal(in.LmsEndDateTime)
		checkWindow(errs, "lmsEndDateTime", &start, &end)
		cfs := st.checkCustomFields(errs, "Event", in.CustomFieldValues)
		return newEventSpec{locationKey: locKey, mode: "lms", zone: zone, lmsStart: start, lmsEnd: end,
			maxPlaces: deref(in.MaxPlaces), customFields: cfs}
	})
}

func (m eventMutationsResolver) CreateClassroom(ctx context.Context, obj *graph.EventMutations, in graph.ClassroomEventCreateInput) (*graph.EventMutateResponse, error) {
	return m.create(in.CourseTemplateID, in.Title, func(st *state, errs *verrs, ctKey int) newEventSpec {
		st.checkZone(errs, "timeZoneName", in.TimeZoneName)
		locKey, venKey := st.checkPlace(errs, in.LocationID, in.VenueID, 0)
		start, end := derefLocal(in.ClassroomStartDateTime), derefLocal(in.ClassroomEndDateTime)
		checkWindow(errs, "classroomEndDateTime", &start, &end)
		cfs := st.checkCustomFields(errs, "Event", in.CustomFieldValues)
		return newEventSpec{locationKey: locKey, venueKey: venKey, mode: "classroom", zone: in.TimeZoneName,
			classStart: start, classEnd: end, maxPlaces: deref(in.MaxPlaces), customFields: cfs,
			sessions: sessionsFor(st.courseTemplates[ctKey])}
	})
}

func (m eventMutationsResolver) AddStaff(ctx context.Context, obj *graph.EventMutations, in graph.EventStaffInput) (*graph.EventMutateResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	evKey := lookup(&errs, "eventId", &in.EventID, prefixEvent, "Event", st.events)
	cKey := lookup(&errs, "contactId", &in.ContactID, prefixContact, "Contact", st.contacts)
	if len(errs) > 0 {
		return &graph.EventMutateResponse{Errors: errs.list()}, nil
	}
	e := st.events[evKey]
	for _, s := range e.staff {
		if s.contactKey == cKey {
			errs.add("contactId", in.ContactID, AlreadyStaffMessage)
			return &graph.EventMutateResponse{Errors: errs.list()}, nil
		}
	}
	typ := staffType(in.StaffType)
	e.staff = append(e.staff, staffRec{key: st.newKey(prefixStaff), contactKey: cKey, staffType: typ})
	return &graph.EventMutateResponse{Event: st.eventModel(e), Errors: errs.list()}, nil
}

func (m sessionMutationsResolver) Update(ctx context.Context, obj *graph.SessionMutations, sessionID string, in graph.SessionUpdateInput) (*graph.SessionMutateResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	// A foreign id (an event's, a contact's) is rejected, never treated as a session.
	sKey := lookup(&errs, "sessionId", &sessionID, prefixSession, "Session", st.sessions)
	if len(errs) > 0 {
		return &graph.SessionMutateResponse{Errors: errs.list()}, nil
	}
	s := st.sessions[sKey]
	locKey, venKey := st.checkPlace(&errs, in.LocationID, in.VenueID, s.locationKey)
	if in.TimeZoneName != nil {
		st.checkZone(&errs, "timeZoneName", *in.TimeZoneName)
	}
	start, end := s.start, s.end
	if in.Start != nil && !in.Start.IsZero() {
		start = *in.Start
	}
	if in.End != nil && !in.End.IsZero() {
		end = *in.End
	}
	checkWindow(&errs, "end", &start, &end)
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		errs.add("title", "", "Title must not be empty")
	}
	cfs := st.checkCustomFields(&errs, "Session", in.CustomFieldValues)
	if len(errs) > 0 {
		return &graph.SessionMutateResponse{Errors: errs.list()}, nil
	}
	if in.Title != nil {
		s.title = *in.Title
	}
	if locKey != 0 {
		s.locationKey = locKey
	}
	if in.VenueID != nil {
		s.venueKey = venKey // an explicit null or "" clears the venue (TBC)
	}
	if in.TimeZoneName != nil {
		s.timeZone = *in.TimeZoneName
	}
	s.start, s.end = start, end
	s.customFields = mergeCF(s.customFields, cfs)
	return &graph.SessionMutateResponse{Session: st.sessionModel(s), Errors: errs.list()}, nil
}

// mergeCF replaces values of the same definition and appends new ones.
func mergeCF(have, set []cfValue) []cfValue {
	out := append([]cfValue(nil), have...)
	for _, v := range set {
		replaced := false
		for i := range out {
			if out[i].defKey == v.defKey {
				out[i].value, replaced = v.value, true
			}
		}
		if !replaced {
			out = append(out, v)
		}
	}
	return out
}

func (m sessionMutationsResolver) AddStaff(ctx context.Context, obj *graph.SessionMutations, in graph.SessionStaffInput) (*graph.SessionMutateResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	sKey := lookup(&errs, "sessionId", &in.SessionID, prefixSession, "Session", st.sessions)
	if len(in.ContactIds) == 0 {
		errs.add("contactIds", "", "At least one contact is required")
	}
	var keys []int
	for _, id := range in.ContactIds {
		if k := lookup(&errs, "contactIds", &id, prefixContact, "Contact", st.contacts); k != 0 {
			keys = append(keys, k)
		}
	}
	if len(errs) > 0 {
		return &graph.SessionMutateResponse{Errors: errs.list()}, nil
	}
	s := st.sessions[sKey]
	for i, k := range keys {
		for _, have := range s.staff {
			if have.contactKey == k {
				errs.add("contactIds", in.ContactIds[i], "The input Contact already exists as staff on the Session")
			}
		}
	}
	if len(errs) > 0 {
		return &graph.SessionMutateResponse{Errors: errs.list()}, nil
	}
	typ := staffType(in.StaffType)
	for _, k := range keys {
		s.staff = append(s.staff, staffRec{key: st.newKey(prefixStaff), contactKey: k, staffType: typ})
	}
	return &graph.SessionMutateResponse{Session: st.sessionModel(s), Errors: errs.list()}, nil
}

func (m courseTmplMutationsResolv) Create(ctx context.Context, obj *graph.CourseTemplateMutations, in graph.CourseTemplateCreateInput) (*graph.CourseTemplateMutateResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	code := errs.required("code", in.Code, "Code")
	errs.required("title", in.Title, "Title")
	if exists(st.courseTemplates, func(ct *courseTemplateRec) bool { return strings.EqualFold(ct.code, code) }) {
		errs.add("code", in.Code, "A course template with this code already exists")
	}
	if len(errs) > 0 {
		return &graph.CourseTemplateMutateResponse{Errors: errs.list()}, nil
	}
	ct := &courseTemplateRec{key: st.newKey(prefixCourseTmpl), code: code, title: in.Title, learningMode: "blended",
		lifecycleState: "draft", sessionCount: 1}
	st.courseTemplates[ct.key] = ct
	return &graph.CourseTemplateMutateResponse{CourseTemplate: st.courseTemplateModel(ct), Errors: errs.list()}, nil
}

func (m locationMutationsResolver) Create(ctx context.Context, obj *graph.LocationMutations, in graph.LocationCreateInput) (*graph.LocationMutateResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	name := errs.required("name", in.Name, "Name")
	if exists(st.locations, func(l *locationRec) bool { return strings.EqualFold(l.name, name) }) {
		errs.add("name", in.Name, "A location with this name already exists")
	}
	if len(errs) > 0 {
		return &graph.LocationMutateResponse{Errors: errs.list()}, nil
	}
	l := &locationRec{key: st.newKey(prefixLocation), name: name, code: deref(in.Code)}
	st.locations[l.key] = l
	return &graph.LocationMutateResponse{Location: locationModel(l), Errors: errs.list()}, nil
}

func (m venueMutationsResolver) Create(ctx context.Context, obj *graph.VenueMutations, in graph.VenueCreateInput) (*graph.VenueMutateResponse, error) {
	defer m.lock()()
	st := m.s.st
	var errs verrs
	name := errs.required("name", in.Name, "Name")
	locKey := lookup(&errs, "locationId", &in.LocationID, prefixLocation, "Location", st.locations)
	if locKey != 0 && exists(st.venues, func(v *venueRec) bool { return v.locationKey == locKey && strings.EqualFold(v.name, name) }) {
		errs.add("name", in.Name, "A venue with this name already exists in the location")
	}
	if len(errs) > 0 {
		return &graph.VenueMutateResponse{Errors: errs.list()}, nil
	}
	v := &venueRec{key: st.newKey(prefixVenue), name: name, description: deref(in.Description), locationKey: locKey}
	st.venues[v.key] = v
	return &graph.VenueMutateResponse{Venue: st.venueModel(v), Errors: errs.list()}, nil
}

func derefLocal(p *administrate.LocalDateTime) administrate.LocalDateTime {
	if p == nil {
		return administrate.LocalDateTime{}
	}
	return *p
}

func sortSessions(recs []*sessionRec, order *graph.SessionFieldGraphOrder) {
	less := func(a, b *sessionRec) bool {
		switch order.Field {
		case graph.SessionFieldTitle:
			return a.title < b.title
		case graph.SessionFieldStart:
			return a.start.Before(b.start)
		case graph.SessionFieldEnd:
			return a.end.Before(b.end)
		default:
			return a.key < b.key
		}
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if order.Direction == graph.OrderDirectionDesc {
			return less(recs[j], recs[i])
		}
		return less(recs[i], recs[j])
	})
}
