package admsim

import (
	"admsync/pkg/administrate"
)

// Seeding helpers: each adds one record and returns its global id (base64, as the API
// returns it). References in the arguments take global ids in either form.

// AddCustomField adds a custom-field definition for an entity type ("Event", "Session", ...).
func (s *Server) AddCustomField(entityType string, f CustomFieldSeed) (string, error) {
	return withState(s, func(st *state) (string, error) { return st.addCustomField(entityType, f) })
}

// AddCurrency adds a currency.
func (s *Server) AddCurrency(c CurrencySeed) (string, error) {
	return withState(s, func(st *state) (string, error) { return st.addCurrency(c) })
}

// AddPriceLevel adds a price level.
func (s *Server) AddPriceLevel(p PriceLevelSeed) (string, error) {
	return withState(s, func(st *state) (string, error) { return st.addPriceLevel(p) })
}

// AddLocation adds a location.
func (s *Server) AddLocation(l LocationSeed) (string, error) {
	return withState(s, func(st *state) (string, error) { return st.addLocation(l) })
}

// AddVenue adds a venue under v.Location.
func (s *Server) AddVenue(v VenueSeed) (string, error) {
	return withState(s, func(st *state) (string, error) { return st.addVenue(v) })
}

// AddContact adds a contact (set Instructor or Admin for instructors and administrators).
func (s *Server) AddContact(c ContactSeed) (string, error) {
	return withState(s, func(st *state) (string, error) { return st.addContact(c) })
}

// AddCourseTemplate adds a course template with its prices and approved instructors.
func (s *Server) AddCourseTemplate(ct CourseTemplateSeed) (string, error) {
	return withState(s, func(st *state) (string, error) { return st.addCourseTemplate(ct) })
}

// AddEvent adds an existing event with its sessions and staff.
func (s *Server) AddEvent(e EventSeed) (string, error) {
	return withState(s, func(st *state) (string, error) { return st.addEvent(e) })
}

func withState[T any](s *Server, fn func(*state) (T, error)) (T, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return fn(s.st)
}

// StaffView is a contact staffing an event or session.
type StaffView struct {
	ContactID string
	StaffType string
}

// EventView is an event as stored by the simulator, for test assertions.
type EventView struct {
	ID               string
	Title            string
	Code             string
	LearningMode     string
	LifecycleState   string
	CourseTemplateID string // "" if none
	LocationID       string
	VenueID          string
	TimeZoneName     string
	Start, End       administrate.LocalDateTime
	LmsStart, LmsEnd administrate.LocalDateTime
	MaxPlaces        int
	CustomFields     map[string]string // definition id -> value
	Staff            []StaffView
	SessionIDs       []string // creation order
	IsSoldOut        bool
	Prices           []PriceView // the event's own prices, in the order added
}

// PriceView is a price of an event.
type PriceView struct {
	ID, PriceLevelID, CurrencyID string
	Amount                       string
}

// SessionView is a session as stored by the simulator.
type SessionView struct {
	ID             string
	EventID        string
	Title          string
	LifecycleState string
	Start, End     administrate.LocalDateTime
	TimeZoneName   string
	LocationID     string
	VenueID        string
	CustomFields   map[string]string // definition id -> value
	Staff          []StaffView
}

func gid(prefix string, key int) string {
	if key == 0 {
		return ""
	}
	return GlobalID(prefix, key)
}

func cfMap(in []cfValue) map[string]string {
	out := make(map[string]string, len(in))
	for _, v := range in {
		out[GlobalID(prefixCustomField, v.defKey)] = v.value
	}
	return out
}

func staffViews(in []staffRec) []StaffView {
	out := make([]StaffView, 0, len(in))
	for _, s := range in {
		out = append(out, StaffView{ContactID: GlobalID(prefixContact, s.contactKey), StaffType: s.staffType})
	}
	return out
}

func (st *state) eventView(e *eventRec) EventView {
	v := EventView{ID: GlobalID(prefixEvent, e.key), Title: e.title, Code: e.code, LearningMode: e.learningMode,
		LifecycleState: e.lifecycleState, CourseTemplateID: gid(prefixCourseTmpl, e.courseTmplKey),
		LocationID: gid(prefixLocation, e.locationKey), VenueID: gid(prefixVenue, e.venueKey), TimeZoneName: e.timeZone,
		Start: e.start, End: e.end, LmsStart: e.lmsStart, LmsEnd: e.lmsEnd, MaxPlaces: e.maxPlaces,
		CustomFields: cfMap(e.customFields), Staff: staffViews(e.staff)}
	for _, k := range e.sessions {
		v.SessionIDs = append(v.SessionIDs, GlobalID(prefixSession, k))
	}
	v.IsSoldOut = e.isSoldOut
	for _, k := range e.prices {
		if p := st.prices[k]; p != nil {
			v.Prices = append(v.Prices, PriceView{ID: GlobalID(prefixPrice, p.key), PriceLevelID: GlobalID(prefixPriceLevel, p.priceLevelKey),
				CurrencyID: GlobalID(prefixCurrency, p.currencyKey), Amount: p.amount.String()})
		}
	}
	return v
}

// Events returns every event, oldest first.
func (s *Server) Events() []EventView {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	var out []EventView
	for _, e := range ordered(s.st.events) {
		out = append(out, s.st.eventView(e))
	}
	return out
}

// Event returns one event by global id.
func (s *Server) Event(id string) (EventView, bool) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	k, ok := keyOf(id, prefixEvent)
	if !ok || s.st.events[k] == nil {
		return EventView{}, false
	}
	return s.st.eventView(s.st.events[k]), true
}

// Sessions returns the sessions of an event in creation order (nil for an unknown event).
func (s *Server) Sessions(eventID string) []SessionView {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	k, ok := keyOf(eventID, prefixEvent)
	if !ok || s.st.events[k] == nil {
		return nil
	}
	var out []SessionView
	for _, sk := range s.st.events[k].sessions {
		ss := s.st.sessions[sk]
		out = append(out, SessionView{ID: GlobalID(prefixSession, ss.key), EventID: eventID, Title: ss.title,
			LifecycleState: ss.lifecycleState, Start: ss.start, End: ss.end, TimeZoneName: s.st.sessionZone(ss),
			LocationID: gid(prefixLocation, ss.locationKey), VenueID: gid(prefixVenue, ss.venueKey),
			CustomFields: cfMap(ss.customFields), Staff: staffViews(ss.staff)})
	}
	return out
}

// ContactCount, LocationCount, VenueCount and CourseTemplateCount size the reference data.
func (s *Server) ContactCount() int { return count(s, func(st *state) int { return len(st.contacts) }) }

// LocationCount is the number of locations.
func (s *Server) LocationCount() int {
	return count(s, func(st *state) int { return len(st.locations) })
}

// VenueCount is the number of venues.
func (s *Server) VenueCount() int { return count(s, func(st *state) int { return len(st.venues) }) }

// CourseTemplateCount is the number of course templates.
func (s *Server) CourseTemplateCount() int {
	return count(s, func(st *state) int { return len(st.courseTemplates) })
}

func count(s *Server, fn func(*state) int) int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return fn(s.st)
}
