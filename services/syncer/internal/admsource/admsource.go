// Package admsource adapts pkg/administrate's client to the syncer's fetch
// and create interfaces, so the stages never see GraphQL shapes.
package admsource

import (
	"context"
	"sync"

	"admsync/pkg/administrate"
	"admsync/services/syncer/internal/syncer"
)

// Source reads from and creates in Administrate through one client. Each
// read pages as its syncer.Paging says (page size, pages in flight, progress),
// so one client serves every page size.
type Source struct {
	c *administrate.Client

	mu        sync.Mutex
	mutations map[string]bool // "location.create" -> offered; nil until asked
}

var (
	_ syncer.Source  = (*Source)(nil)
	_ syncer.Creator = (*Source)(nil)
)

// New wraps c.
func New(c *administrate.Client) *Source { return &Source{c: c} }

// Client returns the wrapped client.
func (s *Source) Client() *administrate.Client { return s.c }

// paged turns p into the list options of one call.
func paged(p syncer.Paging) []administrate.ListOption {
	opts := []administrate.ListOption{administrate.WithPageSize(p.Size), administrate.WithPageConcurrency(p.Concurrency)}
	if p.OnPage != nil {
		opts = append(opts, administrate.WithPageProgress(p.OnPage))
	}
	return opts
}

// CustomFieldDefinitions implements syncer.CustomFieldSource.
func (s *Source) CustomFieldDefinitions(ctx context.Context, entityType string) ([]syncer.CustomFieldDefinition, error) {
	defs, err := s.c.CustomFieldDefinitions(ctx, administrate.SupportsCustomField(entityType))
	if err != nil {
		return nil, err
	}
	out := make([]syncer.CustomFieldDefinition, 0, len(defs))
	for _, d := range defs {
		out = append(out, syncer.CustomFieldDefinition{Key: d.Key, Label: d.Label, Description: d.Description,
			Type: d.Type, IsRequired: d.IsRequired, Roles: d.Roles})
	}
	return out, nil
}

// PriceLevels implements syncer.PriceLevelSource.
func (s *Source) PriceLevels(ctx context.Context, p syncer.Paging) ([]syncer.PriceLevel, error) {
	ls, err := s.c.ListPriceLevels(ctx, paged(p)...)
	if err != nil {
		return nil, err
	}
	out := make([]syncer.PriceLevel, 0, len(ls))
	for _, l := range ls {
		out = append(out, syncer.PriceLevel{ID: l.ID, Name: l.Name, Description: l.Description})
	}
	return out, nil
}

// Locations implements syncer.LocationSource.
func (s *Source) Locations(ctx context.Context, p syncer.Paging) ([]syncer.Location, error) {
	ls, err := s.c.ListLocations(ctx, paged(p)...)
	if err != nil {
		return nil, err
	}
	out := make([]syncer.Location, 0, len(ls))
	for _, l := range ls {
		out = append(out, syncer.Location{ID: l.ID, LegacyID: l.LegacyID, Name: l.Name, Code: l.Code})
	}
	return out, nil
}

// Venues implements syncer.VenueSource.
func (s *Source) Venues(ctx context.Context, p syncer.Paging) ([]syncer.Venue, error) {
	vs, err := s.c.ListVenues(ctx, paged(p)...)
	if err != nil {
		return nil, err
	}
	out := make([]syncer.Venue, 0, len(vs))
	for _, v := range vs {
		out = append(out, syncer.Venue{ID: v.ID, LegacyID: v.LegacyID, Name: v.Name, Description: v.Description, LocationID: v.LocationID})
	}
	return out, nil
}

func contacts(cs []administrate.Contact) []syncer.Contact {
	out := make([]syncer.Contact, 0, len(cs))
	for _, c := range cs {
		out = append(out, syncer.Contact{ID: c.ID, LegacyID: c.LegacyID, FirstName: c.FirstName, LastName: c.LastName})
	}
	return out
}

// Instructors implements syncer.ContactSource.
func (s *Source) Instructors(ctx context.Context, p syncer.Paging) ([]syncer.Contact, error) {
	cs, err := s.c.ListInstructors(ctx, paged(p)...)
	if err != nil {
		return nil, err
	}
	return contacts(cs), nil
}

// Administrators implements syncer.ContactSource.
func (s *Source) Administrators(ctx context.Context, p syncer.Paging) ([]syncer.Contact, error) {
	cs, err := s.c.ListAdministrators(ctx, paged(p)...)
	if err != nil {
		return nil, err
	}
	return contacts(cs), nil
}

// CourseTemplates implements syncer.CourseTemplateSource.
func (s *Source) CourseTemplates(ctx context.Context, p syncer.Paging) ([]syncer.CourseTemplate, error) {
	cts, err := s.c.ListCourseTemplates(ctx, paged(p)...)
	if err != nil {
		return nil, err
	}
	out := make([]syncer.CourseTemplate, 0, len(cts))
	for _, ct := range cts {
		out = append(out, courseTemplate(ct))
	}
	return out, nil
}

func courseTemplate(ct administrate.CourseTemplate) syncer.CourseTemplate {
	o := syncer.CourseTemplate{ID: ct.ID, LegacyID: ct.LegacyID, Code: ct.Code, Title: ct.Title,
		EventLearningMode: string(ct.LearningMode), ApprovedInstructorIDs: ct.ApprovedInstructorIDs}
	for _, v := range ct.CustomFieldValues {
		val := v.Value
		o.CustomFields = append(o.CustomFields, syncer.CustomFieldValue{DefinitionKey: v.DefinitionKey, Value: &val})
	}
	for _, pr := range ct.PublicPrices {
		o.Prices = append(o.Prices, syncer.Price{ID: pr.ID, Amount: pr.Amount.String(), PriceLevelID: pr.PriceLevelID,
			PriceLevelName: pr.PriceLevelName, Currency: pr.CurrencyCode})
	}
	return o
}

// CreateLocation implements syncer.Creator.
func (s *Source) CreateLocation(ctx context.Context, name, code string) (syncer.Location, error) {
	l, err := s.c.CreateLocation(ctx, administrate.LocationCreateInput{Name: name, Code: code})
	if err != nil {
		return syncer.Location{}, err
	}
	return syncer.Location{ID: l.ID, LegacyID: l.LegacyID, Name: l.Name, Code: l.Code}, nil
}

// CreateVenue implements syncer.Creator.
func (s *Source) CreateVenue(ctx context.Context, name, description, locationID string) (syncer.Venue, error) {
	v, err := s.c.CreateVenue(ctx, administrate.VenueCreateInput{Name: name, Description: description, LocationId: locationID})
	if err != nil {
		return syncer.Venue{}, err
	}
	return syncer.Venue{ID: v.ID, LegacyID: v.LegacyID, Name: v.Name, Description: v.Description, LocationID: v.LocationID}, nil
}

// CreateCourseTemplate implements syncer.Creator.
func (s *Source) CreateCourseTemplate(ctx context.Context, code, title string) (syncer.CourseTemplate, error) {
	ct, err := s.c.CreateCourseTemplate(ctx, administrate.CourseTemplateCreateInput{Code: code, Title: title})
	if err != nil {
		return syncer.CourseTemplate{}, err
	}
	return courseTemplate(ct), nil
}

// CreateContact implements syncer.Creator.
func (s *Source) CreateContact(ctx context.Context, first, last string) (syncer.Contact, bool, error) {
	c, instructor, err := s.c.CreateContact(ctx, administrate.NewContact{FirstName: first, LastName: last})
	if err != nil {
		return syncer.Contact{}, false, err
	}
	return syncer.Contact{ID: c.ID, LegacyID: c.LegacyID, FirstName: c.FirstName, LastName: c.LastName}, instructor, nil
}

// ContactsNamed implements syncer.Creator.
func (s *Source) ContactsNamed(ctx context.Context, first, last string) ([]syncer.Contact, error) {
	found, err := s.c.FindContactsByName(ctx, first, last)
	if err != nil {
		return nil, err
	}
	out := make([]syncer.Contact, 0, len(found))
	for _, c := range found {
		out = append(out, syncer.Contact{ID: c.ID, LegacyID: c.LegacyID, FirstName: c.FirstName, LastName: c.LastName})
	}
	return out, nil
}

// Supports implements syncer.Creator: it runs the client's Doctor once and
// answers from its verdict on the operation calling op ("location.create").
func (s *Source) Supports(ctx context.Context, op string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mutations == nil {
		rep, err := s.c.Doctor(ctx)
		if err != nil {
			return false, err
		}
		m := map[string]bool{}
		for _, o := range rep.Operations {
			m[o.Field] = m[o.Field] || o.Supported
		}
		s.mutations = m
	}
	return s.mutations[op], nil
}

var _ syncer.EventSource = (*Source)(nil)

// SyncedEvents implements syncer.EventSource.
func (s *Source) SyncedEvents(ctx context.Context, sitting string, p syncer.Paging) ([]syncer.AdmEvent, error) {
	return s.c.ListSyncedEvents(ctx, sitting, paged(p)...)
}

// SyncedEvent implements syncer.EventSource.
func (s *Source) SyncedEvent(ctx context.Context, id string) (syncer.AdmEvent, error) {
	return s.c.SyncedEventByID(ctx, id)
}

// EventOfSession implements syncer.EventSource.
func (s *Source) EventOfSession(ctx context.Context, sessionID string) (string, error) {
	return s.c.EventOfSession(ctx, sessionID)
}
