package admsim

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"admsync/pkg/administrate"
)

// Seed is the JSON shape the simulator loads (--seed FILE, PUT /_control/state, Load) and
// dumps (GET /_control/state, Dump). Ids are optional on load: "Location:3" (readable) or
// the base64 global id; missing ids are assigned in order. References between records use
// the same id forms. Dump writes the readable form, so a dump loads back unchanged.
type Seed struct {
	// CustomFields maps an entity type (a SupportsCustomField value such as "Event") to
	// its custom-field definitions.
	CustomFields    map[string][]CustomFieldSeed `json:"customFields,omitempty"`
	Currencies      []CurrencySeed               `json:"currencies,omitempty"`
	PriceLevels     []PriceLevelSeed             `json:"priceLevels,omitempty"`
	Locations       []LocationSeed               `json:"locations,omitempty"`
	Venues          []VenueSeed                  `json:"venues,omitempty"`
	Contacts        []ContactSeed                `json:"contacts,omitempty"`
	CourseTemplates []CourseTemplateSeed         `json:"courseTemplates,omitempty"`
	Events          []EventSeed                  `json:"events,omitempty"`
}

// CustomFieldSeed is one custom-field definition; its id doubles as the definition key.
type CustomFieldSeed struct {
	ID          string   `json:"id,omitempty"`
	Label       string   `json:"label"`
	Type        string   `json:"type,omitempty"` // e.g. "text", "date", "boolean"
	Description string   `json:"description,omitempty"`
	IsRequired  bool     `json:"isRequired,omitempty"`
	Roles       []string `json:"roles,omitempty"`
}

// CurrencySeed is a currency (used as a price's financial unit).
type CurrencySeed struct {
	ID   string `json:"id,omitempty"`
	Code string `json:"code"`
	Name string `json:"name,omitempty"`
}

// PriceLevelSeed is a price level.
type PriceLevelSeed struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// LocationSeed is a location.
type LocationSeed struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	Code string `json:"code,omitempty"`
}

// VenueSeed is a venue inside a location (Location is a location id).
type VenueSeed struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Location    string `json:"location"`
}

// ContactSeed is a contact; Instructor and Admin set isInstructor and isAdmin.
type ContactSeed struct {
	ID         string `json:"id,omitempty"`
	FirstName  string `json:"firstName"`
	LastName   string `json:"lastName"`
	Email      string `json:"email,omitempty"`
	Instructor bool   `json:"instructor,omitempty"`
	Admin      bool   `json:"admin,omitempty"`
}

// PriceSeed is a public price of a course template.
type PriceSeed struct {
	ID         string `json:"id,omitempty"`
	PriceLevel string `json:"priceLevel"`         // price level id
	Currency   string `json:"currency,omitempty"` // currency id; default: the first currency
	Amount     string `json:"amount"`             // decimal text, e.g. "250.00"
}

// CustomFieldValueSeed is a value of a custom field (Definition is the definition id).
type CustomFieldValueSeed struct {
	Definition string `json:"definition"`
	Value      string `json:"value"`
}

// CourseTemplateSeed is a course template. SessionCount is how many sessions a blended or
// classroom event created from it gets (default 1); ApprovedInstructors are contact ids.
type CourseTemplateSeed struct {
	ID                  string                 `json:"id,omitempty"`
	Code                string                 `json:"code"`
	Title               string                 `json:"title"`
	LearningMode        string                 `json:"learningMode,omitempty"`   // classroom | lms | blended (default blended)
	LifecycleState      string                 `json:"lifecycleState,omitempty"` // default published
	SessionCount        int                    `json:"sessionCount,omitempty"`
	ApprovedInstructors []string               `json:"approvedInstructors,omitempty"`
	Prices              []PriceSeed            `json:"prices,omitempty"`
	CustomFieldValues   []CustomFieldValueSeed `json:"customFieldValues,omitempty"`
}

// StaffSeed is a contact staffing an event or session.
type StaffSeed struct {
	Contact   string `json:"contact"`
	StaffType string `json:"staffType,omitempty"` // instructor | administrator
}

// SessionSeed is a session of a seeded event. Start and End are LocalDateTime text.
type SessionSeed struct {
	ID                string                 `json:"id,omitempty"`
	Title             string                 `json:"title"`
	LifecycleState    string                 `json:"lifecycleState,omitempty"`
	Start             string                 `json:"start,omitempty"`
	End               string                 `json:"end,omitempty"`
	Location          string                 `json:"location,omitempty"`
	Venue             string                 `json:"venue,omitempty"`
	CustomFieldValues []CustomFieldValueSeed `json:"customFieldValues,omitempty"`
	Staff             []StaffSeed            `json:"staff,omitempty"`
}

// EventSeed is an existing event (e.g. to test reconcile-before-create).
type EventSeed struct {
	ID                string                 `json:"id,omitempty"`
	CourseTemplate    string                 `json:"courseTemplate,omitempty"`
	Title             string                 `json:"title"`
	Code              string                 `json:"code,omitempty"`
	LearningMode      string                 `json:"learningMode,omitempty"`
	LifecycleState    string                 `json:"lifecycleState,omitempty"`
	TimeZoneName      string                 `json:"timeZoneName,omitempty"`
	Start             string                 `json:"start,omitempty"`
	End               string                 `json:"end,omitempty"`
	LmsStart          string                 `json:"lmsStart,omitempty"`
	LmsEnd            string                 `json:"lmsEnd,omitempty"`
	Location          string                 `json:"location,omitempty"`
	Venue             string                 `json:"venue,omitempty"`
	MaxPlaces         int                    `json:"maxPlaces,omitempty"`
	CustomFieldValues []CustomFieldValueSeed `json:"customFieldValues,omitempty"`
	Staff             []StaffSeed            `json:"staff,omitempty"`
	Sessions          []SessionSeed          `json:"sessions,omitempty"`
}

//go:embed seed.json
var defaultSeedJSON []byte

// DefaultSeed returns the demo tenant the admsim binary starts with when no --seed is
// given: the custom fields, locations, venues, instructors and course templates the
// import template refers to.
func DefaultSeed() Seed {
	var s Seed
	if err := json.Unmarshal(defaultSeedJSON, &s); err != nil {
		panic(fmt.Sprintf("admsim: embedded seed.json is invalid: %v", err))
	}
	return s
}

// LoadSeedFile reads a Seed from a JSON file.
func LoadSeedFile(path string) (Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, fmt.Errorf("read seed: %w", err)
	}
	var s Seed
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Seed{}, fmt.Errorf("parse seed %s: %w", path, err)
	}
	return s, nil
}

// ref resolves an id in either form to a key of the given prefix; "" is 0 (no reference).
func ref(prefix, id string) (int, error) {
	if id == "" {
		return 0, nil
	}
	k, ok := keyOf(id, prefix)
	if !ok {
		return 0, fmt.Errorf("%q is not a %s id", id, prefix)
	}
	return k, nil
}

// explicitKey parses an optional explicit id of a seed record.
func explicitKey(prefix, id string) (int, error) {
	if id == "" {
		return 0, nil
	}
	return ref(prefix, id)
}

func parseLocal(field, v string) (administrate.LocalDateTime, error) {
	l, err := administrate.ParseLocalDateTime(v)
	if err != nil {
		return l, fmt.Errorf("%s: %w", field, err)
	}
	return l, nil
}

// apply adds every record of seed to st; caller holds st.mu. Records are added in
// dependency order so references can point at records of the same seed.
func (st *state) apply(seed Seed) error {
	types := make([]string, 0, len(seed.CustomFields))
	for t := range seed.CustomFields {
		types = append(types, t)
	}
	sortStrings(types)
	for _, t := range types {
		for _, cf := range seed.CustomFields[t] {
			if _, err := st.addCustomField(t, cf); err != nil {
				return err
			}
		}
	}
	for _, c := range seed.Currencies {
		if _, err := st.addCurrency(c); err != nil {
			return err
		}
	}
	for _, p := range seed.PriceLevels {
		if _, err := st.addPriceLevel(p); err != nil {
			return err
		}
	}
	for _, l := range seed.Locations {
		if _, err := st.addLocation(l); err != nil {
			return err
		}
	}
	for _, v := range seed.Venues {
		if _, err := st.addVenue(v); err != nil {
			return err
		}
	}
	for _, c := range seed.Contacts {
		if _, err := st.addContact(c); err != nil {
			return err
		}
	}
	for _, ct := range seed.CourseTemplates {
		if _, err := st.addCourseTemplate(ct); err != nil {
			return err
		}
	}
	for _, e := range seed.Events {
		if _, err := st.addEvent(e); err != nil {
			return err
		}
	}
	return nil
}

func (st *state) addCustomField(entityType string, cf CustomFieldSeed) (string, error) {
	if !validEntityType(entityType) {
		return "", fmt.Errorf("custom field %q: unknown entity type %q", cf.Label, entityType)
	}
	k, err := explicitKey(prefixCustomField, cf.ID)
	if err != nil {
		return "", fmt.Errorf("custom field %q: %w", cf.Label, err)
	}
	k = st.claimKey(prefixCustomField, k)
	typ := cf.Type
	if typ == "" {
		typ = "text"
	}
	st.customFields[k] = &customFieldRec{key: k, entityType: entityType, label: cf.Label, fieldType: typ,
		description: cf.Description, isRequired: cf.IsRequired, roles: append([]string(nil), cf.Roles...)}
	return GlobalID(prefixCustomField, k), nil
}

func (st *state) addCurrency(c CurrencySeed) (string, error) {
	k, err := explicitKey(prefixCurrency, c.ID)
	if err != nil {
		return "", fmt.Errorf("currency %q: %w", c.Code, err)
	}
	k = st.claimKey(prefixCurrency, k)
	st.currencies[k] = &currencyRec{key: k, code: c.Code, name: c.Name}
	return GlobalID(prefixCurrency, k), nil
}

func (st *state) addPriceLevel(p PriceLevelSeed) (string, error) {
	k, err := explicitKey(prefixPriceLevel, p.ID)
	if err != nil {
		return "", fmt.Errorf("price level %q: %w", p.Name, err)
	}
	k = st.claimKey(prefixPriceLevel, k)
	st.priceLevels[k] = &priceLevelRec{key: k, name: p.Name, description: p.Description}
	return GlobalID(prefixPriceLevel, k), nil
}

func (st *state) addLocation(l LocationSeed) (string, error) {
	k, err := explicitKey(prefixLocation, l.ID)
	if err != nil {
		return "", fmt.Errorf("location %q: %w", l.Name, err)
	}
	k = st.claimKey(prefixLocation, k)
	st.locations[k] = &locationRec{key: k, name: l.Name, code: l.Code}
	return GlobalID(prefixLocation, k), nil
}

func (st *state) addVenue(v VenueSeed) (string, error) {
	k, err := explicitKey(prefixVenue, v.ID)
	if err != nil {
		return "", fmt.Errorf("venue %q: %w", v.Name, err)
	}
	lk, err := ref(prefixLocation, v.Location)
	if err != nil || st.locations[lk] == nil {
		return "", fmt.Errorf("venue %q: unknown location %q", v.Name, v.Location)
	}
	k = st.claimKey(prefixVenue, k)
	st.venues[k] = &venueRec{key: k, name: v.Name, description: v.Description, locationKey: lk}
	return GlobalID(prefixVenue, k), nil
}

func (st *state) addContact(c ContactSeed) (string, error) {
	k, err := explicitKey(prefixContact, c.ID)
	if err != nil {
		return "", fmt.Errorf("contact %q: %w", c.FirstName+" "+c.LastName, err)
	}
	k = st.claimKey(prefixContact, k)
	st.contacts[k] = &contactRec{key: k, firstName: c.FirstName, lastName: c.LastName, email: c.Email,
		isInstructor: c.Instructor, isAdmin: c.Admin}
	return GlobalID(prefixContact, k), nil
}

func (st *state) cfValues(entityType string, in []CustomFieldValueSeed) ([]cfValue, error) {
	out := make([]cfValue, 0, len(in))
	for _, v := range in {
		dk, err := ref(prefixCustomField, v.Definition)
		if err != nil || st.customFields[dk] == nil || st.customFields[dk].entityType != entityType {
			return nil, fmt.Errorf("unknown %s custom field %q", entityType, v.Definition)
		}
		out = append(out, cfValue{defKey: dk, value: v.Value})
	}
	return out, nil
}

func (st *state) addCourseTemplate(ct CourseTemplateSeed) (string, error) {
	k, err := explicitKey(prefixCourseTmpl, ct.ID)
	if err != nil {
		return "", fmt.Errorf("course template %q: %w", ct.Code, err)
	}
	mode := ct.LearningMode
	if mode == "" {
		mode = "blended"
	}
	if !oneOf(mode, "classroom", "lms", "blended") {
		return "", fmt.Errorf("course template %q: learning mode %q is not classroom, lms or blended", ct.Code, mode)
	}
	life := ct.LifecycleState
	if life == "" {
		life = "published"
	}
	rec := &courseTemplateRec{code: ct.Code, title: ct.Title, learningMode: mode, lifecycleState: life, sessionCount: ct.SessionCount}
	for _, a := range ct.ApprovedInstructors {
		ck, err := ref(prefixContact, a)
		if err != nil || st.contacts[ck] == nil {
			return "", fmt.Errorf("course template %q: unknown approved instructor %q", ct.Code, a)
		}
		rec.approved = append(rec.approved, ck)
	}
	if rec.customFields, err = st.cfValues("CourseTemplate", ct.CustomFieldValues); err != nil {
		return "", fmt.Errorf("course template %q: %w", ct.Code, err)
	}
	for _, p := range ct.Prices {
		pk, err := st.addPrice(p)
		if err != nil {
			return "", fmt.Errorf("course template %q: %w", ct.Code, err)
		}
		rec.prices = append(rec.prices, pk)
	}
	rec.key = st.claimKey(prefixCourseTmpl, k)
	st.courseTemplates[rec.key] = rec
	return GlobalID(prefixCourseTmpl, rec.key), nil
}

func (st *state) addPrice(p PriceSeed) (int, error) {
	k, err := explicitKey(prefixPrice, p.ID)
	if err != nil {
		return 0, err
	}
	plk, err := ref(prefixPriceLevel, p.PriceLevel)
	if err != nil || st.priceLevels[plk] == nil {
		return 0, fmt.Errorf("price: unknown price level %q", p.PriceLevel)
	}
	var ck int
	if p.Currency != "" {
		ck, err = ref(prefixCurrency, p.Currency)
		if err != nil || st.currencies[ck] == nil {
			return 0, fmt.Errorf("price: unknown currency %q", p.Currency)
		}
	} else if keys := sortedKeys(st.currencies); len(keys) > 0 {
		ck = keys[0]
	}
	amt, err := administrate.ParseDecimal(p.Amount)
	if err != nil || amt.IsZero() {
		return 0, fmt.Errorf("price: invalid amount %q", p.Amount)
	}
	k = st.claimKey(prefixPrice, k)
	st.prices[k] = &priceRec{key: k, priceLevelKey: plk, currencyKey: ck, amount: amt}
	return k, nil
}

func (st *state) staff(in []StaffSeed) ([]staffRec, error) {
	out := make([]staffRec, 0, len(in))
	for _, s := range in {
		ck, err := ref(prefixContact, s.Contact)
		if err != nil || st.contacts[ck] == nil {
			return nil, fmt.Errorf("unknown staff contact %q", s.Contact)
		}
		typ := s.StaffType
		if typ == "" {
			typ = "instructor"
		}
		out = append(out, staffRec{key: st.newKey(prefixStaff), contactKey: ck, staffType: typ})
	}
	return out, nil
}

func (st *state) addEvent(e EventSeed) (string, error) {
	k, err := explicitKey(prefixEvent, e.ID)
	if err != nil {
		return "", fmt.Errorf("event %q: %w", e.Title, err)
	}
	rec := &eventRec{title: e.Title, code: e.Code, learningMode: e.LearningMode, lifecycleState: e.LifecycleState,
		timeZone: e.TimeZoneName, maxPlaces: e.MaxPlaces}
	if rec.learningMode == "" {
		rec.learningMode = "blended"
	}
	if rec.lifecycleState == "" {
		rec.lifecycleState = "draft"
	}
	if rec.timeZone == "" {
		rec.timeZone = "Europe/London"
	}
	if rec.courseTmplKey, err = ref(prefixCourseTmpl, e.CourseTemplate); err != nil || (rec.courseTmplKey != 0 && st.courseTemplates[rec.courseTmplKey] == nil) {
		return "", fmt.Errorf("event %q: unknown course template %q", e.Title, e.CourseTemplate)
	}
	if rec.locationKey, err = ref(prefixLocation, e.Location); err != nil || (rec.locationKey != 0 && st.locations[rec.locationKey] == nil) {
		return "", fmt.Errorf("event %q: unknown location %q", e.Title, e.Location)
	}
	if rec.venueKey, err = ref(prefixVenue, e.Venue); err != nil || (rec.venueKey != 0 && st.venues[rec.venueKey] == nil) {
		return "", fmt.Errorf("event %q: unknown venue %q", e.Title, e.Venue)
	}
	for _, f := range []struct {
		name string
		v    string
		dst  *administrate.LocalDateTime
	}{{"start", e.Start, &rec.start}, {"end", e.End, &rec.end}, {"lmsStart", e.LmsStart, &rec.lmsStart}, {"lmsEnd", e.LmsEnd, &rec.lmsEnd}} {
		if *f.dst, err = parseLocal(f.name, f.v); err != nil {
			return "", fmt.Errorf("event %q: %w", e.Title, err)
		}
	}
	if rec.customFields, err = st.cfValues("Event", e.CustomFieldValues); err != nil {
		return "", fmt.Errorf("event %q: %w", e.Title, err)
	}
	if rec.staff, err = st.staff(e.Staff); err != nil {
		return "", fmt.Errorf("event %q: %w", e.Title, err)
	}
	rec.key = st.claimKey(prefixEvent, k)
	st.events[rec.key] = rec
	for _, ss := range e.Sessions {
		if err := st.addSession(rec, ss); err != nil {
			delete(st.events, rec.key)
			return "", fmt.Errorf("event %q: %w", e.Title, err)
		}
	}
	return GlobalID(prefixEvent, rec.key), nil
}

func (st *state) addSession(ev *eventRec, s SessionSeed) error {
	k, err := explicitKey(prefixSession, s.ID)
	if err != nil {
		return fmt.Errorf("session %q: %w", s.Title, err)
	}
	rec := &sessionRec{eventKey: ev.key, title: s.Title, lifecycleState: s.LifecycleState,
		locationKey: ev.locationKey, venueKey: ev.venueKey}
	if rec.lifecycleState == "" {
		rec.lifecycleState = "draft"
	}
	if s.Location != "" {
		if rec.locationKey, err = ref(prefixLocation, s.Location); err != nil || st.locations[rec.locationKey] == nil {
			return fmt.Errorf("session %q: unknown location %q", s.Title, s.Location)
		}
	}
	if s.Venue != "" {
		if rec.venueKey, err = ref(prefixVenue, s.Venue); err != nil || st.venues[rec.venueKey] == nil {
			return fmt.Errorf("session %q: unknown venue %q", s.Title, s.Venue)
		}
	}
	if rec.start, err = parseLocal("start", s.Start); err != nil {
		return fmt.Errorf("session %q: %w", s.Title, err)
	}
	if rec.end, err = parseLocal("end", s.End); err != nil {
		return fmt.Errorf("session %q: %w", s.Title, err)
	}
	if rec.customFields, err = st.cfValues("Session", s.CustomFieldValues); err != nil {
		return fmt.Errorf("session %q: %w", s.Title, err)
	}
	if rec.staff, err = st.staff(s.Staff); err != nil {
		return fmt.Errorf("session %q: %w", s.Title, err)
	}
	rec.key = st.claimKey(prefixSession, k)
	st.sessions[rec.key] = rec
	ev.sessions = append(ev.sessions, rec.key)
	return nil
}

// dump renders the state as a Seed with readable ids; caller holds st.mu.
func (st *state) dump() Seed {
	var s Seed
	for _, cf := range ordered(st.customFields) {
		if s.CustomFields == nil {
			s.CustomFields = map[string][]CustomFieldSeed{}
		}
		s.CustomFields[cf.entityType] = append(s.CustomFields[cf.entityType], CustomFieldSeed{
			ID: readableID(prefixCustomField, cf.key), Label: cf.label, Type: cf.fieldType,
			Description: cf.description, IsRequired: cf.isRequired, Roles: cf.roles})
	}
	for _, c := range ordered(st.currencies) {
		s.Currencies = append(s.Currencies, CurrencySeed{ID: readableID(prefixCurrency, c.key), Code: c.code, Name: c.name})
	}
	for _, p := range ordered(st.priceLevels) {
		s.PriceLevels = append(s.PriceLevels, PriceLevelSeed{ID: readableID(prefixPriceLevel, p.key), Name: p.name, Description: p.description})
	}
	for _, l := range ordered(st.locations) {
		s.Locations = append(s.Locations, LocationSeed{ID: readableID(prefixLocation, l.key), Name: l.name, Code: l.code})
	}
	for _, v := range ordered(st.venues) {
		s.Venues = append(s.Venues, VenueSeed{ID: readableID(prefixVenue, v.key), Name: v.name, Description: v.description,
			Location: readableID(prefixLocation, v.locationKey)})
	}
	for _, c := range ordered(st.contacts) {
		s.Contacts = append(s.Contacts, ContactSeed{ID: readableID(prefixContact, c.key), FirstName: c.firstName, LastName: c.lastName,
			Email: c.email, Instructor: c.isInstructor, Admin: c.isAdmin})
	}
	for _, ct := range ordered(st.courseTemplates) {
		cs := CourseTemplateSeed{ID: readableID(prefixCourseTmpl, ct.key), Code: ct.code, Title: ct.title,
			LearningMode: ct.learningMode, LifecycleState: ct.lifecycleState, SessionCount: ct.sessionCount,
			CustomFieldValues: dumpCF(ct.customFields)}
		for _, a := range ct.approved {
			cs.ApprovedInstructors = append(cs.ApprovedInstructors, readableID(prefixContact, a))
		}
		for _, pk := range ct.prices {
			p := st.prices[pk]
			ps := PriceSeed{ID: readableID(prefixPrice, p.key), PriceLevel: readableID(prefixPriceLevel, p.priceLevelKey), Amount: p.amount.String()}
			if p.currencyKey != 0 {
				ps.Currency = readableID(prefixCurrency, p.currencyKey)
			}
			cs.Prices = append(cs.Prices, ps)
		}
		s.CourseTemplates = append(s.CourseTemplates, cs)
	}
	for _, e := range ordered(st.events) {
		es := EventSeed{ID: readableID(prefixEvent, e.key), Title: e.title, Code: e.code, LearningMode: e.learningMode,
			LifecycleState: e.lifecycleState, TimeZoneName: e.timeZone, Start: e.start.String(), End: e.end.String(),
			LmsStart: e.lmsStart.String(), LmsEnd: e.lmsEnd.String(), MaxPlaces: e.maxPlaces,
			CourseTemplate: optRef(prefixCourseTmpl, e.courseTmplKey), Location: optRef(prefixLocation, e.locationKey),
			Venue: optRef(prefixVenue, e.venueKey), CustomFieldValues: dumpCF(e.customFields), Staff: dumpStaff(e.staff)}
		for _, sk := range e.sessions {
			ss := st.sessions[sk]
			es.Sessions = append(es.Sessions, SessionSeed{ID: readableID(prefixSession, ss.key), Title: ss.title,
				LifecycleState: ss.lifecycleState, Start: ss.start.String(), End: ss.end.String(),
				Location: optRef(prefixLocation, ss.locationKey), Venue: optRef(prefixVenue, ss.venueKey),
				CustomFieldValues: dumpCF(ss.customFields), Staff: dumpStaff(ss.staff)})
		}
		s.Events = append(s.Events, es)
	}
	return s
}

func optRef(prefix string, key int) string {
	if key == 0 {
		return ""
	}
	return readableID(prefix, key)
}

func dumpCF(in []cfValue) []CustomFieldValueSeed {
	var out []CustomFieldValueSeed
	for _, v := range in {
		out = append(out, CustomFieldValueSeed{Definition: readableID(prefixCustomField, v.defKey), Value: v.value})
	}
	return out
}

func dumpStaff(in []staffRec) []StaffSeed {
	var out []StaffSeed
	for _, s := range in {
		out = append(out, StaffSeed{Contact: readableID(prefixContact, s.contactKey), StaffType: s.staffType})
	}
	return out
}

func oneOf(v string, options ...string) bool {
	for _, o := range options {
		if v == o {
			return true
		}
	}
	return false
}
