package administrate

import (
	"context"
	"fmt"
	"strings"
)

// The typed layer every service calls: reads return every page (or an error and
// nothing); writes turn payload errors into *MutationError. The generated functions are
// not meant to be called from outside this package, so the fields, arguments and enum
// values we send stay the ones contract.go lists and doctor checks.

// ListOption configures one paged read.
type ListOption func(*listConfig)

type listConfig struct {
	pageSize    int
	concurrency int
	onPage      func(items, total int)
}

// WithPageSize sets the page size (the `first` argument) of one call; 0 or less keeps
// the client's default (Options.PageSize).
func WithPageSize(n int) ListOption { return func(c *listConfig) { c.pageSize = n } }

// WithPageConcurrency keeps up to n pages of one call in flight once the first
// page has told the total (the rate budget still spaces the requests); 0 or 1
// fetches them one after another.
func WithPageConcurrency(n int) ListOption { return func(c *listConfig) { c.concurrency = n } }

// WithPageProgress calls fn after each page with the page's item count and the
// running total, e.g. for "Fetched N" progress lines.
func WithPageProgress(fn func(items, total int)) ListOption {
	return func(c *listConfig) { c.onPage = fn }
}

func (c *Client) listConfig(opts []ListOption) listConfig {
	cfg := listConfig{pageSize: c.opts.PageSize}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.pageSize <= 0 {
		cfg.pageSize = c.opts.PageSize
	}
	return cfg
}

// collect pages through fetch with cfg's page size and concurrency, reporting
// each page to cfg.onPage (serialised).
func collect[T any](ctx context.Context, cfg listConfig, fetch PageFetcher[T]) ([]T, error) {
	o := PageOptions{Size: cfg.pageSize, Concurrency: cfg.concurrency}
	if cfg.onPage != nil {
		o.OnPage = func(n, soFar, _ int) { cfg.onPage(n, soFar) }
	}
	return CollectPagesWith(ctx, o, fetch)
}

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

// Contact is an instructor or administrator.
type Contact struct{ ID, LegacyID, FirstName, LastName string }

// CustomFieldValue is one custom-field value with its definition key.
type CustomFieldValue struct{ DefinitionKey, Value string }

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
	CustomFieldValues         []CustomFieldValue
	ApprovedInstructorIDs     []string
	PublicPrices              []Price
}

// SessionRef is a session as Administrate identifies it. Administrate exposes no
// typed session start or end to read back.
type SessionRef struct{ ID, LegacyID string }

// Event is an event as reconcile sees it. Sessions is filled by EventByID, in
// Administrate's order (creation order).
type Event struct {
	ID, LegacyID, Title string
	LifecycleState      EventLifecycleState
	CourseTemplateID    string
	CourseTemplateCode  string
	Sessions            []SessionRef
}

func eventFrom(f EventFields) Event {
	return Event{ID: f.Id, LegacyID: f.LegacyId, Title: f.Title, LifecycleState: f.LifecycleState,
		CourseTemplateID: f.CourseTemplate.Id, CourseTemplateCode: f.CourseTemplate.Code}
}

func contactFrom(f ContactFields) Contact {
	return Contact{ID: f.Id, LegacyID: f.LegacyId, FirstName: f.FirstName, LastName: f.LastName}
}

func priceFrom(f PriceFields) Price {
	return Price{ID: f.Id, Amount: f.Amount, PriceLevelID: f.PriceLevel.Id, PriceLevelName: f.PriceLevel.Name,
		CurrencyID: f.FinancialUnit.Id, CurrencyCode: f.FinancialUnit.Code}
}

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
func (c *Client) ListPriceLevels(ctx context.Context, opts ...ListOption) ([]PriceLevel, error) {
	return collect(ctx, c.listConfig(opts), func(ctx context.Context, first, offset int) (Page[PriceLevel], error) {
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

// ListLocations returns every location.
func (c *Client) ListLocations(ctx context.Context, opts ...ListOption) ([]Location, error) {
	return collect(ctx, c.listConfig(opts), func(ctx context.Context, first, offset int) (Page[Location], error) {
		resp, err := Locations(ctx, c, first, offset)
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

// ListVenues returns every venue, each with its location id.
func (c *Client) ListVenues(ctx context.Context, opts ...ListOption) ([]Venue, error) {
	return collect(ctx, c.listConfig(opts), func(ctx context.Context, first, offset int) (Page[Venue], error) {
		resp, err := Venues(ctx, c, first, offset)
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

func (c *Client) listContacts(ctx context.Context, flag ContactField, opts []ListOption) ([]Contact, error) {
	return c.contacts(ctx, []ContactFieldGraphFilter{{Field: flag, Operation: FilterOperationEq, Value: "true"}}, opts)
}

// contacts reads every page of the contacts that match filters.
func (c *Client) contacts(ctx context.Context, filters []ContactFieldGraphFilter, opts []ListOption) ([]Contact, error) {
	return collect(ctx, c.listConfig(opts), func(ctx context.Context, first, offset int) (Page[Contact], error) {
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

// ListInstructors returns every contact with isInstructor.
func (c *Client) ListInstructors(ctx context.Context, opts ...ListOption) ([]Contact, error) {
	return c.listContacts(ctx, ContactFieldIsinstructor, opts)
}

// ListAdministrators returns every contact with isAdmin.
func (c *Client) ListAdministrators(ctx context.Context, opts ...ListOption) ([]Contact, error) {
	return c.listContacts(ctx, ContactFieldIsadmin, opts)
}

// ListCourseTemplates returns every course template with all of its approved
// instructors and public prices (nested lists are paged with the same page size).
func (c *Client) ListCourseTemplates(ctx context.Context, opts ...ListOption) ([]CourseTemplate, error) {
	cfg := c.listConfig(opts)
	type partial struct {
		ct                    CourseTemplate
		moreInstr, morePrices bool
	}
	parts, err := collect(ctx, cfg, func(ctx context.Context, first, offset int) (Page[partial], error) {
		resp, err := CourseTemplates(ctx, c, first, offset, cfg.pageSize)
		if err != nil {
			return Page[partial]{}, err
		}
		conn := resp.CourseTemplates
		p := Page[partial]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			n := e.Node
			ct := CourseTemplate{ID: n.Id, LegacyID: n.LegacyId, Code: n.Code, Title: n.Title, LearningMode: n.EventLearningMode}
			for _, v := range n.CustomFieldValues {
				ct.CustomFieldValues = append(ct.CustomFieldValues, CustomFieldValue{DefinitionKey: v.DefinitionKey, Value: v.Value})
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
	nested := listConfig{pageSize: cfg.pageSize}
	out := make([]CourseTemplate, 0, len(parts))
	for _, p := range parts {
		ct := p.ct
		if p.moreInstr {
			if ct.ApprovedInstructorIDs, err = c.approvedInstructors(ctx, nested, ct.ID); err != nil {
				return nil, fmt.Errorf("course template %s approved instructors: %w", ct.Code, err)
			}
		}
		if p.morePrices {
			if ct.PublicPrices, err = c.publicPrices(ctx, nested, ct.ID); err != nil {
				return nil, fmt.Errorf("course template %s public prices: %w", ct.Code, err)
			}
		}
		out = append(out, ct)
	}
	return out, nil
}

func (c *Client) approvedInstructors(ctx context.Context, cfg listConfig, id string) ([]string, error) {
	return collect(ctx, cfg, func(ctx context.Context, first, offset int) (Page[string], error) {
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

func (c *Client) publicPrices(ctx context.Context, cfg listConfig, id string) ([]Price, error) {
	return collect(ctx, cfg, func(ctx context.Context, first, offset int) (Page[Price], error) {
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

// EventQuery identifies one of our events for reconcile-before-create. Every key must
// come from Administrate itself or from what the bridges store (ids, canonical codes),
// never from workbook text.
type EventQuery struct {
	Title              string // required; sent as title eq and compared exactly
	CourseTemplateID   string // optional; compared with the id Administrate returns
	CourseTemplateCode string // optional; compared (case-insensitively) with the code Administrate returns
}

// FindEvents returns the events with exactly this title (and course template, when
// given). Callers decide what to do with 0, 1 or several matches.
func (c *Client) FindEvents(ctx context.Context, q EventQuery, opts ...ListOption) ([]Event, error) {
	if q.Title == "" {
		return nil, fmt.Errorf("administrate FindEvents: title is required")
	}
	filters := []EventFieldGraphFilter{{Field: EventFieldTitle, Operation: FilterOperationEq, Value: q.Title}}
	all, err := collect(ctx, c.listConfig(opts), func(ctx context.Context, first, offset int) (Page[Event], error) {
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
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, e := range all {
		// The server's eq may be case-insensitive; the natural key is exact.
		if e.Title != q.Title || (q.CourseTemplateID != "" && e.CourseTemplateID != q.CourseTemplateID) ||
			(q.CourseTemplateCode != "" && !strings.EqualFold(e.CourseTemplateCode, q.CourseTemplateCode)) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// EventByID reads one event through node(id:) with all of its session ids, in
// Administrate's order. It returns ErrNotFound when the id resolves to nothing or to
// something that is not an event.
func (c *Client) EventByID(ctx context.Context, id string, opts ...ListOption) (Event, error) {
	var ev Event
	found := false
	sessions, err := collect(ctx, c.listConfig(opts), func(ctx context.Context, first, offset int) (Page[SessionRef], error) {
		resp, err := EventWithSessions(ctx, c, id, first, offset)
		if err != nil {
			return Page[SessionRef]{}, err
		}
		n, ok := resp.Node.(*EventWithSessionsNodeEvent)
		if !ok || n == nil {
			return Page[SessionRef]{}, fmt.Errorf("%w: event %s", ErrNotFound, id)
		}
		if !found {
			ev, found = eventFrom(n.EventFields), true
		}
		conn := n.Sessions
		p := Page[SessionRef]{HasNextPage: conn.PageInfo.HasNextPage, TotalRecords: conn.PageInfo.TotalRecords}
		for _, e := range conn.Edges {
			p.Items = append(p.Items, SessionRef{ID: e.Node.Id, LegacyID: e.Node.LegacyId})
		}
		return p, nil
	})
	if err != nil {
		return Event{}, err
	}
	ev.Sessions = sessions
	return ev, nil
}

// Probe makes the cheapest read there is (one event, no filter): it proves that
// Administrate answers and accepts our credentials.
func (c *Client) Probe(ctx context.Context) error {
	_, err := Events(ctx, c, nil, 1, 0)
	return err
}
