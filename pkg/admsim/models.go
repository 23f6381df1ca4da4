package admsim

import (
	"strconv"
	"sync"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim/internal/graph"
)

// Converters from storage records to gqlgen models. Callers hold st.mu. Relationship
// fields are left nil: their resolvers look the related record up on demand, which keeps
// the object graph acyclic.

var zoneCache sync.Map // name -> *time.Location

func loadZone(name string) (*time.Location, error) {
	if z, ok := zoneCache.Load(name); ok {
		return z.(*time.Location), nil
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zoneCache.Store(name, z)
	return z, nil
}

// zoned converts a wall clock read in zone to an instant, or nil when unset.
func zoned(l administrate.LocalDateTime, zone string) *administrate.DateTime {
	if l.IsZero() {
		return nil
	}
	loc, err := loadZone(zone)
	if err != nil {
		loc = time.UTC
	}
	d := administrate.NewDateTime(l.In(loc).UTC())
	return &d
}

func (st *state) cfModels(in []cfValue) []*graph.CustomFieldValue {
	out := make([]*graph.CustomFieldValue, 0, len(in))
	for _, v := range in {
		out = append(out, &graph.CustomFieldValue{DefinitionKey: ptr(GlobalID(prefixCustomField, v.defKey)), Value: ptr(v.value)})
	}
	return out
}

func cfDefModel(cf *customFieldRec) *graph.CustomFieldDefinition {
	roles := make([]*string, 0, len(cf.roles))
	for _, r := range cf.roles {
		roles = append(roles, ptr(r))
	}
	return &graph.CustomFieldDefinition{Key: GlobalID(prefixCustomField, cf.key), Label: ptr(cf.label),
		Description: ptr(cf.description), Type: ptr(cf.fieldType), IsRequired: ptr(cf.isRequired), Roles: roles}
}

// cancelledAt is how the tenant says an event is cancelled (there is no `cancelled`
// field): non-null once cancelled. The simulator keeps no cancellation time, so it
// answers the event's creation time, or now for a seeded event that has none.
func cancelledAt(e *eventRec) *administrate.DateTime {
	if e.lifecycleState != "cancelled" {
		return nil
	}
	at := e.cancelledAt
	if at.IsZero() {
		at = e.createdAt
	}
	if at.IsZero() {
		at = time.Now().UTC().Truncate(time.Second)
	}
	return ptr(administrate.NewDateTime(at))
}

func (st *state) eventModel(e *eventRec) *graph.Event {
	return &graph.Event{
		ID:                GlobalID(prefixEvent, e.key),
		LegacyID:          ptr(itoa(e.key)),
		Title:             strPtr(e.title),
		LifecycleState:    ptr(graph.EventLifecycleState(e.lifecycleState)),
		LearningMode:      ptr(graph.LearningMode(e.learningMode)),
		TimeZoneName:      strPtr(e.timeZone),
		LmsStart:          zoned(e.lmsStart, e.timeZone),
		LmsEnd:            zoned(e.lmsEnd, e.timeZone),
		UpdatedAt:         ptr(administrate.NewDateTime(eventUpdatedAt(e))),
		CancelledAt:       cancelledAt(e),
		IsSoldOut:         ptr(e.isSoldOut),
		RemainingPlaces:   ptr(remainingPlaces(e)),
		MaxPlaces:         ptr(e.maxPlaces),
		MinPlaces:         ptr(e.minPlaces),
		CustomFieldValues: st.cfModels(e.customFields),
		Location:          st.locationByKey(e.locationKey),
		Venue:             st.venueByKey(e.venueKey),
		CourseTemplate:    st.courseTemplateByKey(e.courseTmplKey),
	}
}

func (st *state) sessionModel(s *sessionRec) *graph.Session {
	return &graph.Session{
		ID:                GlobalID(prefixSession, s.key),
		LegacyID:          ptr(itoa(s.key)),
		Title:             strPtr(s.title),
		CustomFieldValues: st.cfModels(s.customFields),
		Location:          st.locationByKey(s.locationKey),
		Venue:             st.venueByKey(s.venueKey),
	}
}

func (st *state) sessionZone(s *sessionRec) string {
	if s.timeZone != "" {
		return s.timeZone
	}
	if e := st.events[s.eventKey]; e != nil && e.timeZone != "" {
		return e.timeZone
	}
	return "Europe/London"
}

func contactModel(c *contactRec) *graph.Contact {
	name := c.firstName + " " + c.lastName
	return &graph.Contact{
		ID:           GlobalID(prefixContact, c.key),
		LegacyID:     ptr(itoa(c.key)),
		FirstName:    ptr(c.firstName),
		LastName:     ptr(c.lastName),
		EmailAddress: strPtr(c.email),
		PersonalName: &graph.PersonalName{FirstName: ptr(c.firstName), LastName: ptr(c.lastName), Name: ptr(name)},
		IsInstructor: ptr(c.isInstructor),
		IsStaff:      ptr(c.isInstructor || c.isAdmin),
		IsAdmin:      ptr(c.isAdmin),
	}
}

func (st *state) courseTemplateModel(ct *courseTemplateRec) *graph.CourseTemplate {
	return &graph.CourseTemplate{
		ID:                GlobalID(prefixCourseTmpl, ct.key),
		LegacyID:          ptr(itoa(ct.key)),
		Code:              ptr(ct.code),
		Title:             ptr(ct.title),
		ShortCode:         ptr(ct.code),
		EventLearningMode: ptr(graph.LearningMode(ct.learningMode)),
		LifecycleState:    ptr(graph.CourseTemplateLifecycleState(ct.lifecycleState)),
		CustomFieldValues: st.cfModels(ct.customFields),
	}
}

func locationModel(l *locationRec) *graph.Location {
	return &graph.Location{ID: GlobalID(prefixLocation, l.key), LegacyID: ptr(itoa(l.key)), Name: ptr(l.name), Code: strPtr(l.code)}
}

func (st *state) venueModel(v *venueRec) *graph.Venue {
	return &graph.Venue{ID: GlobalID(prefixVenue, v.key), LegacyID: ptr(itoa(v.key)), Name: ptr(v.name),
		Description: strPtr(v.description), Location: st.locationByKey(v.locationKey)}
}

func priceLevelModel(p *priceLevelRec) *graph.PriceLevel {
	return &graph.PriceLevel{ID: GlobalID(prefixPriceLevel, p.key), Name: ptr(p.name), Description: strPtr(p.description)}
}

func currencyModel(c *currencyRec) *graph.Currency {
	return &graph.Currency{ID: GlobalID(prefixCurrency, c.key), Name: strPtr(c.name), Code: ptr(c.code), IsActive: ptr(true)}
}

func (st *state) priceModel(p *priceRec) *graph.Price {
	m := &graph.Price{ID: GlobalID(prefixPrice, p.key), Amount: ptr(p.amount)}
	if pl := st.priceLevels[p.priceLevelKey]; pl != nil {
		m.PriceLevel = priceLevelModel(pl)
	}
	if c := st.currencies[p.currencyKey]; c != nil {
		m.FinancialUnit = currencyModel(c)
	}
	return m
}

func (st *state) staffModel(s staffRec) *graph.Staff {
	m := &graph.Staff{ID: GlobalID(prefixStaff, s.key), StaffType: ptr(graph.StaffType(s.staffType)), IsPrimary: ptr(false)}
	if c := st.contacts[s.contactKey]; c != nil {
		m.Contact = contactModel(c)
	}
	return m
}

func (st *state) locationByKey(k int) *graph.Location {
	if l := st.locations[k]; l != nil {
		return locationModel(l)
	}
	return nil
}

func (st *state) venueByKey(k int) *graph.Venue {
	if v := st.venues[k]; v != nil {
		return st.venueModel(v)
	}
	return nil
}

func (st *state) courseTemplateByKey(k int) *graph.CourseTemplate {
	if ct := st.courseTemplates[k]; ct != nil {
		return st.courseTemplateModel(ct)
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
