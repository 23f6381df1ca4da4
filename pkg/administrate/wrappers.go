package administrate

import (
	"context"
	"fmt"
)

// Typed wrappers the flows call. Reads return every page (or an error and nothing);
// writes turn payload errors into *MutationError. The generated functions remain
// available for anything not wrapped here: call them with c (or c.GraphQL()).

// CustomFieldDefinition is a custom field of an entity type; Key is its definition key.
type CustomFieldDefinition struct {
	Key, Label, Description, Type string
	IsRequired                    bool
	Roles                         []string
}

// PriceLevel is a price level.
type PriceLevel struct{ ID, Name, Description string }

// Location is a location.
type Location struct{ ID, LegacyID, Name, Code string }

// Venue is a venue and the id of its location.
type Venue struct{ ID, LegacyID, Name, Description, LocationID string }

// Contact is a contact (instructor, administrator or other).
type Contact struct {
	ID, LegacyID, FirstName, LastName, Email string
	IsInstructor, IsAdmin                    bool
}

// CustomFieldValue is one custom-field value with its definition key and label.
type CustomFieldValue struct{ DefinitionKey, Label, Value string }

// Price is a course template's public price.
type Price struct {
	ID                       string
	Amount                   Decimal
	PriceLevelID             string
	PriceLevelName           string
	CurrencyID, CurrencyCode string
}

// CourseTemplate is a course template with its approved instructors and public prices
// (all pages of both).
type CourseTemplate struct {
	ID, LegacyID, Code, Title string
	LearningMode              LearningMode
	LifecycleState            CourseTemplateLifecycleState
	CustomFieldValues         []CustomFieldValue
	ApprovedInstructorIDs     []string
	PublicPrices              []Price
}

// Session is an event's session. Start and End are instants (Administrate's
// timeZonedStart/timeZonedEnd, in UTC).
type Session struct {
	ID, LegacyID, Title string
	Start, End          DateTime
}

// Event is an event; Sessions is filled by GetEvent and the create wrappers, in
// Administrate's order (creation order).
type Event struct {
	ID, LegacyID, Code, Title string
	LearningMode              LearningMode
	LifecycleState            EventLifecycleState
	Start, End                LocalDateTime // wall clock in TimeZoneName
	TimeZoneName              string
	LocationID, VenueID       string
	CourseTemplateID          string
	CourseTemplateCode        string
	Sessions                  []Session
}

func eventFrom(f EventFields) Event {
	return Event{ID: f.Id, LegacyID: f.LegacyId, Code: f.Code, Title: f.Title, LearningMode: f.LearningMode,
		LifecycleState: f.LifecycleState, Start: f.Start, End: f.End, TimeZoneName: f.TimeZoneName,
		LocationID: f.Location.Id, VenueID: f.Venue.Id, CourseTemplateID: f.CourseTemplate.Id,
		CourseTemplateCode: f.CourseTemplate.Code}
}

func sessionFrom(f SessionFields) Session {
	return Session{ID: f.Id, LegacyID: f.LegacyId, Title: f.Title, Start: f.TimeZonedStart, End: f.TimeZonedEnd}
}

func contactFrom(f ContactFields) Contact {
	return Contact{ID: f.Id, LegacyID: f.LegacyId, FirstName: f.FirstName, LastName: f.LastName, Email: f.EmailAddress,
		IsInstructor: f.IsInstructor, IsAdmin: f.IsAdmin}
}

func priceFrom(f PriceFields) Price {
	return Price{ID: f.Id, Amount: f.Amount, PriceLevelID: f.PriceLevel.Id, PriceLevelName: f.PriceLevel.Name,
		CurrencyID: f.FinancialUnit.Id, CurrencyCode: f.FinancialUnit.Code}
}

// ---------------------------------------------------------------- reads

// CustomFieldDefinitions returns the custom-field definitions of one entity type.
func (c *Client) CustomFieldDefinitions(ctx context.Context, entityType SupportsCustomField) ([]CustomFieldDefinition, error) {
	resp, err := CustomFieldDefinitions(ctx, c, entityType)
	if err != nil {
		return nil, err
	}
	var out []CustomFieldDefinition
	for _, d := range resp.CustomFieldTemplate.CustomFieldDefinitions {
		out = append(out, CustomFieldDefinition{Key: d.Key, Label: d.Label, Description: d.Description, Type: d.Type,
			IsRequired: d.IsRequired, Roles: d.Roles})
	}
	return out, nil
}

// ListPriceLevels returns every price level (paged; never an unpaged list).
func (c *Client) ListPriceLevels(ctx context.Context) ([]PriceLevel, error) {
	return CollectPages(ctx, c.opts.PageSize, func(ctx context.Context, first, offset int) (Page[PriceLevel], error) {
		resp, err := PriceLevels(ctx, c, first, offset)
		if err != nil {
			return Page[PriceLevel]{}, err
		}
		conn := resp.PriceLevels
		p := Page[PriceLevel]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, PriceLevel{ID: e.Node.Id, Name: e.Node.Name, Description: e.Node.Description})
		}
		return p, nil
	})
}

// ListLocations returns every location matching the filters (all when none).
func (c *Client) ListLocations(ctx context.Context, filters ...LocationFieldGraphFilter) ([]Location, error) {
	return CollectPages(ctx, c.opts.PageSize, func(ctx context.Context, first, offset int) (Page[Location], error) {
		resp, err := Locations(ctx, c, filters, first, offset)
		if err != nil {
			return Page[Location]{}, err
		}
		conn := resp.Locations
		p := Page[Location]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, Location{ID: e.Node.Id, LegacyID: e.Node.LegacyId, Name: e.Node.Name, Code: e.Node.Code})
		}
		return p, nil
	})
}

// ListVenues returns every venue matching the filters, each with its location id.
func (c *Client) ListVenues(ctx context.Context, filters ...VenueFieldGraphFilter) ([]Venue, error) {
	return CollectPages(ctx, c.opts.PageSize, func(ctx context.Context, first, offset int) (Page[Venue], error) {
		resp, err := Venues(ctx, c, filters, first, offset)
		if err != nil {
			return Page[Venue]{}, err
		}
		conn := resp.Venues
		p := Page[Venue]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, Venue{ID: e.Node.Id, LegacyID: e.Node.LegacyId, Name: e.Node.Name,
				Description: e.Node.Description, LocationID: e.Node.Location.Id})
		}
		return p, nil
	})
}

// ListContacts returns every contact matching the filters.
func (c *Client) ListContacts(ctx context.Context, filters ...ContactFieldGraphFilter) ([]Contact, error) {
	return CollectPages(ctx, c.opts.PageSize, func(ctx context.Context, first, offset int) (Page[Contact], error) {
		resp, err := Contacts(ctx, c, filters, first, offset)
		if err != nil {
			return Page[Contact]{}, err
		}
		conn := resp.Contacts
		p := Page[Contact]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, contactFrom(e.Node.ContactFields))
		}
		return p, nil
	})
}

// ListInstructors returns every contact with isInstructor, plus extra filters.
func (c *Client) ListInstructors(ctx context.Context, extra ...ContactFieldGraphFilter) ([]Contact, error) {
	return c.ListContacts(ctx, append([]ContactFieldGraphFilter{
		{Field: ContactFieldIsinstructor, Operation: FilterOperationEq, Value: "true"}}, extra...)...)
}

// ListAdministrators returns every contact with isAdmin, plus extra filters.
func (c *Client) ListAdministrators(ctx context.Context, extra ...ContactFieldGraphFilter) ([]Contact, error) {
	return c.ListContacts(ctx, append([]ContactFieldGraphFilter{
		{Field: ContactFieldIsadmin, Operation: FilterOperationEq, Value: "true"}}, extra...)...)
}

// ListCourseTemplates returns every course template matching the filters with all of
// its approved instructors and public prices (nested lists are paged too).
func (c *Client) ListCourseTemplates(ctx context.Context, filters ...CourseTemplateFieldGraphFilter) ([]CourseTemplate, error) {
	size := c.opts.PageSize
	type partial struct {
		ct                    CourseTemplate
		moreInstr, morePrices bool
	}
	parts, err := CollectPages(ctx, size, func(ctx context.Context, first, offset int) (Page[partial], error) {
		resp, err := CourseTemplates(ctx, c, filters, first, offset, size)
		if err != nil {
			return Page[partial]{}, err
		}
		conn := resp.CourseTemplates
		p := Page[partial]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			n := e.Node
			ct := CourseTemplate{ID: n.Id, LegacyID: n.LegacyId, Code: n.Code, Title: n.Title,
				LearningMode: n.EventLearningMode, LifecycleState: n.LifecycleState}
			for _, v := range n.CustomFieldValues {
				ct.CustomFieldValues = append(ct.CustomFieldValues, CustomFieldValue{DefinitionKey: v.DefinitionKey,
					Label: v.Definition.Label, Value: v.Value})
			}
			for _, a := range n.ApprovedInstructors.Edges {
				ct.ApprovedInstructorIDs = append(ct.ApprovedInstructorIDs, a.Node.Id)
			}
			for _, pr := range n.PublicPrices.Edges {
				ct.PublicPrices = append(ct.PublicPrices, priceFrom(pr.Node.PriceFields))
			}
			p.Items = append(p.Items, partial{ct: ct, moreInstr: n.ApprovedInstructors.PageInfo.HasNextPage,
				morePrices: n.PublicPrices.PageInfo.HasNextPage})
		}
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]CourseTemplate, 0, len(parts))
	for _, p := range parts {
		ct := p.ct
		if p.moreInstr {
			if ct.ApprovedInstructorIDs, err = c.approvedInstructors(ctx, ct.ID); err != nil {
				return nil, fmt.Errorf("course template %s approved instructors: %w", ct.Code, err)
			}
		}
		if p.morePrices {
			if ct.PublicPrices, err = c.publicPrices(ctx, ct.ID); err != nil {
				return nil, fmt.Errorf("course template %s public prices: %w", ct.Code, err)
			}
		}
		out = append(out, ct)
	}
	return out, nil
}

func (c *Client) approvedInstructors(ctx context.Context, id string) ([]string, error) {
	return CollectPages(ctx, c.opts.PageSize, func(ctx context.Context, first, offset int) (Page[string], error) {
		resp, err := CourseTemplateApprovedInstructors(ctx, c, id, first, offset)
		if err != nil {
			return Page[string]{}, err
		}
		n, ok := resp.Node.(*CourseTemplateApprovedInstructorsNodeCourseTemplate)
		if !ok {
			return Page[string]{}, fmt.Errorf("%w: course template %s", ErrNotFound, id)
		}
		conn := n.ApprovedInstructors
		p := Page[string]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, e.Node.Id)
		}
		return p, nil
	})
}

func (c *Client) publicPrices(ctx context.Context, id string) ([]Price, error) {
	return CollectPages(ctx, c.opts.PageSize, func(ctx context.Context, first, offset int) (Page[Price], error) {
		resp, err := CourseTemplatePublicPrices(ctx, c, id, first, offset)
		if err != nil {
			return Page[Price]{}, err
		}
		n, ok := resp.Node.(*CourseTemplatePublicPricesNodeCourseTemplate)
		if !ok {
			return Page[Price]{}, fmt.Errorf("%w: course template %s", ErrNotFound, id)
		}
		conn := n.PublicPrices
		p := Page[Price]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, priceFrom(e.Node.PriceFields))
		}
		return p, nil
	})
}

// ListEvents returns every event matching the filters (without sessions).
func (c *Client) ListEvents(ctx context.Context, filters ...EventFieldGraphFilter) ([]Event, error) {
	return CollectPages(ctx, c.opts.PageSize, func(ctx context.Context, first, offset int) (Page[Event], error) {
		resp, err := Events(ctx, c, filters, first, offset)
		if err != nil {
			return Page[Event]{}, err
		}
		conn := resp.Events
		p := Page[Event]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, eventFrom(e.Node.EventFields))
		}
		return p, nil
	})
}

// EventQuery identifies an event by its natural key for reconcile-before-create.
type EventQuery struct {
	Title              string // required, matched exactly
	CourseTemplateID   string // optional; compared on our side (no such filter field exists)
	CourseTemplateCode string // optional; sent as a courseTemplateCode eq filter
}

// FindEvents returns the events with exactly this title (and course template, when
// given). Callers decide what to do with 0, 1 or several matches.
func (c *Client) FindEvents(ctx context.Context, q EventQuery) ([]Event, error) {
	if q.Title == "" {
		return nil, fmt.Errorf("administrate FindEvents: title is required")
	}
	filters := []EventFieldGraphFilter{{Field: EventFieldTitle, Operation: FilterOperationEq, Value: q.Title}}
	if q.CourseTemplateCode != "" {
		filters = append(filters, EventFieldGraphFilter{Field: EventFieldCoursetemplatecode, Operation: FilterOperationEq, Value: q.CourseTemplateCode})
	}
	all, err := c.ListEvents(ctx, filters...)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, e := range all {
		// The server's eq may be case-insensitive; the natural key is exact.
		if e.Title != q.Title || (q.CourseTemplateID != "" && e.CourseTemplateID != q.CourseTemplateID) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// GetEvent reads one event with all of its sessions (ids, titles, start/end) in order.
// It returns ErrNotFound when the id resolves to nothing or to something else.
func (c *Client) GetEvent(ctx context.Context, id string) (Event, error) {
	var ev Event
	found := false
	sessions, err := CollectPages(ctx, c.opts.PageSize, func(ctx context.Context, first, offset int) (Page[Session], error) {
		resp, err := EventWithSessions(ctx, c, id, first, offset)
		if err != nil {
			return Page[Session]{}, err
		}
		n, ok := resp.Node.(*EventWithSessionsNodeEvent)
		if !ok {
			return Page[Session]{}, fmt.Errorf("%w: event %s", ErrNotFound, id)
		}
		if !found {
			ev, found = eventFrom(n.EventFields), true
		}
		conn := n.Sessions
		p := Page[Session]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, sessionFrom(e.Node.SessionFields))
		}
		return p, nil
	})
	if err != nil {
		return Event{}, err
	}
	ev.Sessions = sessions
	return ev, nil
}

// ---------------------------------------------------------------- writes

// createdEvent finishes a create: payload errors become *MutationError (keeping the id
// if Administrate created the event anyway), and sessions beyond the first page are
// read back so the caller always has all of them.
func (c *Client) createdEvent(ctx context.Context, op string, f EventFields, sessions []Session, more bool, errs error) (Event, error) {
	ev := eventFrom(f)
	ev.Sessions = sessions
	if errs != nil {
		return ev, errs
	}
	if ev.ID == "" {
		return ev, fmt.Errorf("administrate %s: no event and no errors in the answer", op)
	}
	if more {
		full, err := c.GetEvent(ctx, ev.ID)
		if err != nil {
			// The event exists: return its id with the error so the caller stores it.
			return ev, fmt.Errorf("administrate %s: created %s but reading its sessions failed: %w", op, ev.ID, err)
		}
		return full, nil
	}
	return ev, nil
}

// CreateBlendedEvent calls event.createBlended. The answer includes the sessions the
// course template gives the event. On *MutationError with EntityID set, the event
// exists: keep the returned Event's ID.
func (c *Client) CreateBlendedEvent(ctx context.Context, in BlendedEventCreateInput) (Event, error) {
	resp, err := CreateBlendedEvent(ctx, c, in, c.opts.PageSize)
	if err != nil {
		return Event{}, err
	}
	r := resp.Event.CreateBlended
	var sessions []Session
	for _, e := range r.Event.Sessions.Edges {
		sessions = append(sessions, sessionFrom(e.Node.SessionFields))
	}
	return c.createdEvent(ctx, "CreateBlendedEvent", r.Event.EventFields, sessions, r.Event.Sessions.PageInfo.HasNextPage,
		mutationError("CreateBlendedEvent", r.Errors, r.Event.Id))
}

// CreateClassroomEvent calls event.createClassroom.
func (c *Client) CreateClassroomEvent(ctx context.Context, in ClassroomEventCreateInput) (Event, error) {
	resp, err := CreateClassroomEvent(ctx, c, in, c.opts.PageSize)
	if err != nil {
		return Event{}, err
	}
	r := resp.Event.CreateClassroom
	var sessions []Session
	for _, e := range r.Event.Sessions.Edges {
		sessions = append(sessions, sessionFrom(e.Node.SessionFields))
	}
	return c.createdEvent(ctx, "CreateClassroomEvent", r.Event.EventFields, sessions, r.Event.Sessions.PageInfo.HasNextPage,
		mutationError("CreateClassroomEvent", r.Errors, r.Event.Id))
}

// CreateLMSEvent calls event.createLMS (LMS events have no sessions).
func (c *Client) CreateLMSEvent(ctx context.Context, in LMSEventCreateInput) (Event, error) {
	resp, err := CreateLMSEvent(ctx, c, in)
	if err != nil {
		return Event{}, err
	}
	r := resp.Event.CreateLMS
	return c.createdEvent(ctx, "CreateLMSEvent", r.Event.EventFields, nil, false,
		mutationError("CreateLMSEvent", r.Errors, r.Event.Id))
}

// AddEventStaff calls event.addStaff. A contact already on the event yields a
// *MutationError for which IsAlreadyStaff is true.
func (c *Client) AddEventStaff(ctx context.Context, in EventStaffInput) error {
	resp, err := AddEventStaff(ctx, c, in)
	if err != nil {
		return err
	}
	return mutationError("AddEventStaff", resp.Event.AddStaff.Errors, "")
}

// UpdateSession calls session.update and returns the session as stored.
func (c *Client) UpdateSession(ctx context.Context, sessionID string, in SessionUpdateInput) (Session, error) {
	resp, err := UpdateSession(ctx, c, sessionID, in)
	if err != nil {
		return Session{}, err
	}
	r := resp.Session.Update
	if err := mutationError("UpdateSession", r.Errors, ""); err != nil {
		return Session{}, err
	}
	return sessionFrom(r.Session.SessionFields), nil
}

// AddSessionStaff calls session.addStaff (IsAlreadyStaff recognises duplicates).
func (c *Client) AddSessionStaff(ctx context.Context, in SessionStaffInput) error {
	resp, err := AddSessionStaff(ctx, c, in)
	if err != nil {
		return err
	}
	return mutationError("AddSessionStaff", resp.Session.AddStaff.Errors, "")
}

// CreateContact calls contact.create.
func (c *Client) CreateContact(ctx context.Context, in ContactCreateInput) (Contact, error) {
	resp, err := CreateContact(ctx, c, in)
	if err != nil {
		return Contact{}, err
	}
	r := resp.Contact.Create
	if err := mutationError("CreateContact", r.Errors, r.Contact.Id); err != nil {
		return contactFrom(r.Contact.ContactFields), err
	}
	return contactFrom(r.Contact.ContactFields), nil
}

// CreateLocation calls location.create, an inferred mutation: run Doctor first.
func (c *Client) CreateLocation(ctx context.Context, in LocationCreateInput) (Location, error) {
	resp, err := CreateLocation(ctx, c, in)
	if err != nil {
		return Location{}, err
	}
	r := resp.Location.Create
	l := Location{ID: r.Location.Id, LegacyID: r.Location.LegacyId, Name: r.Location.Name, Code: r.Location.Code}
	return l, mutationError("CreateLocation", r.Errors, r.Location.Id)
}

// CreateVenue calls venue.create, an inferred mutation: run Doctor first.
func (c *Client) CreateVenue(ctx context.Context, in VenueCreateInput) (Venue, error) {
	resp, err := CreateVenue(ctx, c, in)
	if err != nil {
		return Venue{}, err
	}
	r := resp.Venue.Create
	v := Venue{ID: r.Venue.Id, LegacyID: r.Venue.LegacyId, Name: r.Venue.Name, Description: r.Venue.Description,
		LocationID: r.Venue.Location.Id}
	return v, mutationError("CreateVenue", r.Errors, r.Venue.Id)
}

// CreateCourseTemplate calls courseTemplate.create, an inferred mutation: run Doctor first.
func (c *Client) CreateCourseTemplate(ctx context.Context, in CourseTemplateCreateInput) (CourseTemplate, error) {
	resp, err := CreateCourseTemplate(ctx, c, in)
	if err != nil {
		return CourseTemplate{}, err
	}
	r := resp.CourseTemplate.Create
	ct := CourseTemplate{ID: r.CourseTemplate.Id, LegacyID: r.CourseTemplate.LegacyId, Code: r.CourseTemplate.Code,
		Title: r.CourseTemplate.Title, LearningMode: r.CourseTemplate.EventLearningMode}
	return ct, mutationError("CreateCourseTemplate", r.Errors, r.CourseTemplate.Id)
}
