package admsim

import (
	"context"
	"fmt"

	"admsync/pkg/admsim/internal/graph"
)

// resolver implements graph.ResolverRoot over the server's state. Each resolver takes
// the state lock for the duration of its own work only.
type resolver struct{ s *Server }

var _ graph.ResolverRoot = (*resolver)(nil)

type (
	queryResolver           struct{ *resolver }
	eventResolver           struct{ *resolver }
	sessionResolver         struct{ *resolver }
	staffResolver           struct{ *resolver }
	contactResolver         struct{ *resolver }
	courseTemplateResolver  struct{ *resolver }
	priceResolver           struct{ *resolver }
	locationResolver        struct{ *resolver }
	venueResolver           struct{ *resolver }
	customFieldValueResolve struct{ *resolver }
)

func (r *resolver) Query() graph.QueryResolver                   { return queryResolver{r} }
func (r *resolver) Event() graph.EventResolver                   { return eventResolver{r} }
func (r *resolver) Session() graph.SessionResolver               { return sessionResolver{r} }
func (r *resolver) Staff() graph.StaffResolver                   { return staffResolver{r} }
func (r *resolver) Contact() graph.ContactResolver               { return contactResolver{r} }
func (r *resolver) CourseTemplate() graph.CourseTemplateResolver { return courseTemplateResolver{r} }
func (r *resolver) Price() graph.PriceResolver                   { return priceResolver{r} }
func (r *resolver) Location() graph.LocationResolver             { return locationResolver{r} }
func (r *resolver) Venue() graph.VenueResolver                   { return venueResolver{r} }
func (r *resolver) CustomFieldValue() graph.CustomFieldValueResolver {
	return customFieldValueResolve{r}
}

func (r *resolver) lock() func() {
	r.s.st.mu.Lock()
	return r.s.st.mu.Unlock
}

func (r *resolver) sizes() (int, int) { return r.s.opts.DefaultPageSize, r.s.opts.MaxPageSize }

// toFilters converts any of the generated <Entity>FieldGraphFilter slices.
func toFilters[F any](in []*F, conv func(*F) filter) []filter {
	out := make([]filter, 0, len(in))
	for _, f := range in {
		if f != nil {
			out = append(out, conv(f))
		}
	}
	return out
}

// ---------------------------------------------------------------- getters per entity

func (st *state) eventGetters() map[string]getter[eventRec] {
	ct := func(e *eventRec) *courseTemplateRec { return st.courseTemplates[e.courseTmplKey] }
	return map[string]getter[eventRec]{
		"id":             {get: func(e *eventRec) []string { return one(GlobalID(prefixEvent, e.key)) }},
		"title":          {get: func(e *eventRec) []string { return one(e.title) }},
		"code":           {get: func(e *eventRec) []string { return one(e.code) }},
		"start":          {get: func(e *eventRec) []string { return one(e.start.String()) }},
		"end":            {get: func(e *eventRec) []string { return one(e.end.String()) }},
		"lifecycleState": {get: func(e *eventRec) []string { return one(e.lifecycleState) }, fold: true},
		"learningMode":   {get: func(e *eventRec) []string { return one(e.learningMode) }, fold: true},
		"courseTemplateCode": {get: func(e *eventRec) []string {
			if c := ct(e); c != nil {
				return one(c.code)
			}
			return nil
		}},
		"courseTemplateTitle": {get: func(e *eventRec) []string {
			if c := ct(e); c != nil {
				return one(c.title)
			}
			return nil
		}},
		"locationId": {get: func(e *eventRec) []string {
			if e.locationKey == 0 {
				return nil
			}
			return one(GlobalID(prefixLocation, e.locationKey))
		}},
		"locationName": {get: func(e *eventRec) []string {
			if l := st.locations[e.locationKey]; l != nil {
				return one(l.name)
			}
			return nil
		}},
		"staffContactId": {get: func(e *eventRec) []string {
			var out []string
			for _, s := range e.staff {
				out = append(out, GlobalID(prefixContact, s.contactKey))
			}
			return out
		}},
		"isActive": {get: func(e *eventRec) []string { return boolStr(e.lifecycleState != "cancelled") }, fold: true},
	}
}

func (st *state) contactGetters() map[string]getter[contactRec] {
	return map[string]getter[contactRec]{
		"id":                  {get: func(c *contactRec) []string { return one(GlobalID(prefixContact, c.key)) }},
		"firstName":           {get: func(c *contactRec) []string { return one(c.firstName) }},
		"lastName":            {get: func(c *contactRec) []string { return one(c.lastName) }},
		"name":                {get: func(c *contactRec) []string { return one(c.firstName + " " + c.lastName) }},
		"emailAddress":        {get: func(c *contactRec) []string { return one(c.email) }},
		"isInstructor":        {get: func(c *contactRec) []string { return boolStr(c.isInstructor) }, fold: true},
		"isAdmin":             {get: func(c *contactRec) []string { return boolStr(c.isAdmin) }, fold: true},
		"isStaff":             {get: func(c *contactRec) []string { return boolStr(c.isInstructor || c.isAdmin) }, fold: true},
		"isStaffOrInstructor": {get: func(c *contactRec) []string { return boolStr(c.isInstructor || c.isAdmin) }, fold: true},
		"approvedCourseIds": {get: func(c *contactRec) []string {
			var out []string
			for _, ct := range ordered(st.courseTemplates) {
				for _, a := range ct.approved {
					if a == c.key {
						out = append(out, GlobalID(prefixCourseTmpl, ct.key))
					}
				}
			}
			return out
		}},
	}
}

var courseTemplateGetters = map[string]getter[courseTemplateRec]{
	"id":             {get: func(c *courseTemplateRec) []string { return one(GlobalID(prefixCourseTmpl, c.key)) }},
	"code":           {get: func(c *courseTemplateRec) []string { return one(c.code) }},
	"title":          {get: func(c *courseTemplateRec) []string { return one(c.title) }},
	"name":           {get: func(c *courseTemplateRec) []string { return one(c.title) }},
	"codeOrTitle":    {get: func(c *courseTemplateRec) []string { return []string{c.code, c.title} }},
	"lifecycleState": {get: func(c *courseTemplateRec) []string { return one(c.lifecycleState) }, fold: true},
}

var locationGetters = map[string]getter[locationRec]{
	"id":   {get: func(l *locationRec) []string { return one(GlobalID(prefixLocation, l.key)) }},
	"name": {get: func(l *locationRec) []string { return one(l.name) }},
	"code": {get: func(l *locationRec) []string { return one(l.code) }},
}

var venueGetters = map[string]getter[venueRec]{
	"id":         {get: func(v *venueRec) []string { return one(GlobalID(prefixVenue, v.key)) }},
	"name":       {get: func(v *venueRec) []string { return one(v.name) }},
	"locationId": {get: func(v *venueRec) []string { return one(GlobalID(prefixLocation, v.locationKey)) }},
}

var priceLevelGetters = map[string]getter[priceLevelRec]{
	"id":   {get: func(p *priceLevelRec) []string { return one(GlobalID(prefixPriceLevel, p.key)) }},
	"name": {get: func(p *priceLevelRec) []string { return one(p.name) }},
}

var currencyGetters = map[string]getter[currencyRec]{
	"id":       {get: func(c *currencyRec) []string { return one(GlobalID(prefixCurrency, c.key)) }},
	"name":     {get: func(c *currencyRec) []string { return one(c.name) }},
	"code":     {get: func(c *currencyRec) []string { return one(c.code) }},
	"isActive": {get: func(c *currencyRec) []string { return boolStr(true) }, fold: true},
}

var sessionGetters = map[string]getter[sessionRec]{
	"id":             {get: func(s *sessionRec) []string { return one(GlobalID(prefixSession, s.key)) }},
	"title":          {get: func(s *sessionRec) []string { return one(s.title) }},
	"start":          {get: func(s *sessionRec) []string { return one(s.start.String()) }},
	"end":            {get: func(s *sessionRec) []string { return one(s.end.String()) }},
	"lifecycleState": {get: func(s *sessionRec) []string { return one(s.lifecycleState) }, fold: true},
	"eventId":        {get: func(s *sessionRec) []string { return one(GlobalID(prefixEvent, s.eventKey)) }},
}

var staffGetters = map[string]getter[staffRec]{
	"id":        {get: func(s *staffRec) []string { return one(GlobalID(prefixStaff, s.key)) }},
	"contactId": {get: func(s *staffRec) []string { return one(GlobalID(prefixContact, s.contactKey)) }},
	"staffType": {get: func(s *staffRec) []string { return one(s.staffType) }, fold: true},
}

// ---------------------------------------------------------------- Query

func (q queryResolver) Node(ctx context.Context, id string) (graph.Node, error) {
	defer q.lock()()
	st := q.s.st
	prefix, key, err := DecodeID(id)
	if err != nil {
		return nil, nil // Administrate answers null for ids it cannot resolve
	}
	switch prefix {
	case prefixEvent:
		if e := st.events[key]; e != nil {
			return st.eventModel(e), nil
		}
	case prefixSession:
		if s := st.sessions[key]; s != nil {
			return st.sessionModel(s), nil
		}
	case prefixContact:
		if c := st.contacts[key]; c != nil {
			return contactModel(c), nil
		}
	case prefixCourseTmpl:
		if c := st.courseTemplates[key]; c != nil {
			return st.courseTemplateModel(c), nil
		}
	case prefixLocation:
		if l := st.locations[key]; l != nil {
			return locationModel(l), nil
		}
	case prefixVenue:
		if v := st.venues[key]; v != nil {
			return st.venueModel(v), nil
		}
	case prefixPriceLevel:
		if p := st.priceLevels[key]; p != nil {
			return priceLevelModel(p), nil
		}
	case prefixPrice:
		if p := st.prices[key]; p != nil {
			return st.priceModel(p), nil
		}
	case prefixCurrency:
		if c := st.currencies[key]; c != nil {
			return currencyModel(c), nil
		}
	}
	return nil, nil
}

func (q queryResolver) Events(ctx context.Context, filters []*graph.EventFieldGraphFilter, order *graph.EventFieldGraphOrder, orderBy []*graph.EventFieldGraphOrder, first *int, offset *int, after *string) (*graph.EventConnection, error) {
	defer q.lock()()
	st := q.s.st
	def, maxSize := q.sizes()
	fs := toFilters(filters, func(f *graph.EventFieldGraphFilter) filter {
		return filter{field: string(f.Field), op: f.Operation, value: f.Value, values: f.Values}
	})
	items, p, err := window("Event", ordered(st.events), fs, st.eventGetters(), first, offset, after, def, maxSize)
	if err != nil {
		return nil, err
	}
	conn := &graph.EventConnection{PageInfo: p.info(), Edges: []*graph.EventEdge{}}
	lo, _ := p.bounds()
	for i, e := range items {
		conn.Edges = append(conn.Edges, &graph.EventEdge{Cursor: ptr(cursor(lo + i)), Node: st.eventModel(e)})
	}
	return conn, nil
}

func (q queryResolver) CourseTemplates(ctx context.Context, filters []*graph.CourseTemplateFieldGraphFilter, order *graph.CourseTemplateFieldGraphOrder, first *int, offset *int, after *string) (*graph.CourseTemplateConnection, error) {
	defer q.lock()()
	st := q.s.st
	def, maxSize := q.sizes()
	fs := toFilters(filters, func(f *graph.CourseTemplateFieldGraphFilter) filter {
		return filter{field: string(f.Field), op: f.Operation, value: f.Value, values: f.Values}
	})
	items, p, err := window("CourseTemplate", ordered(st.courseTemplates), fs, courseTemplateGetters, first, offset, after, def, maxSize)
	if err != nil {
		return nil, err
	}
	conn := &graph.CourseTemplateConnection{PageInfo: p.info(), Edges: []*graph.CourseTemplateEdge{}}
	lo, _ := p.bounds()
	for i, c := range items {
		conn.Edges = append(conn.Edges, &graph.CourseTemplateEdge{Cursor: ptr(cursor(lo + i)), Node: st.courseTemplateModel(c)})
	}
	return conn, nil
}

func (q queryResolver) Contacts(ctx context.Context, filters []*graph.ContactFieldGraphFilter, first *int, offset *int, after *string) (*graph.ContactConnection, error) {
	defer q.lock()()
	st := q.s.st
	def, maxSize := q.sizes()
	fs := toFilters(filters, func(f *graph.ContactFieldGraphFilter) filter {
		return filter{field: string(f.Field), op: f.Operation, value: f.Value, values: f.Values}
	})
	items, p, err := window("Contact", ordered(st.contacts), fs, st.contactGetters(), first, offset, after, def, maxSize)
	if err != nil {
		return nil, err
	}
	return contactConnection(items, p), nil
}

func contactConnection(items []*contactRec, p page) *graph.ContactConnection {
	conn := &graph.ContactConnection{PageInfo: p.info(), Edges: []*graph.ContactEdge{}}
	lo, _ := p.bounds()
	for i, c := range items {
		conn.Edges = append(conn.Edges, &graph.ContactEdge{Cursor: ptr(cursor(lo + i)), Node: contactModel(c)})
	}
	return conn
}

func (q queryResolver) Locations(ctx context.Context, filters []*graph.LocationFieldGraphFilter, first *int, offset *int, after *string) (*graph.LocationConnection, error) {
	defer q.lock()()
	st := q.s.st
	def, maxSize := q.sizes()
	fs := toFilters(filters, func(f *graph.LocationFieldGraphFilter) filter {
		return filter{field: string(f.Field), op: f.Operation, value: f.Value, values: f.Values}
	})
	items, p, err := window("Location", ordered(st.locations), fs, locationGetters, first, offset, after, def, maxSize)
	if err != nil {
		return nil, err
	}
	conn := &graph.LocationConnection{PageInfo: p.info(), Edges: []*graph.LocationEdge{}}
	lo, _ := p.bounds()
	for i, l := range items {
		conn.Edges = append(conn.Edges, &graph.LocationEdge{Cursor: ptr(cursor(lo + i)), Node: locationModel(l)})
	}
	return conn, nil
}

func (q queryResolver) Venues(ctx context.Context, filters []*graph.VenueFieldGraphFilter, first *int, offset *int, after *string) (*graph.VenueConnection, error) {
	defer q.lock()()
	st := q.s.st
	def, maxSize := q.sizes()
	fs := toFilters(filters, func(f *graph.VenueFieldGraphFilter) filter {
		return filter{field: string(f.Field), op: f.Operation, value: f.Value, values: f.Values}
	})
	items, p, err := window("Venue", ordered(st.venues), fs, venueGetters, first, offset, after, def, maxSize)
	if err != nil {
		return nil, err
	}
	conn := &graph.VenueConnection{PageInfo: p.info(), Edges: []*graph.VenueEdge{}}
	lo, _ := p.bounds()
	for i, v := range items {
		conn.Edges = append(conn.Edges, &graph.VenueEdge{Cursor: ptr(cursor(lo + i)), Node: st.venueModel(v)})
	}
	return conn, nil
}

func (q queryResolver) PriceLevels(ctx context.Context, filters []*graph.PriceLevelFieldGraphFilter, first *int, offset *int, after *string) (*graph.PriceLevelConnection, error) {
	defer q.lock()()
	st := q.s.st
	def, maxSize := q.sizes()
	fs := toFilters(filters, func(f *graph.PriceLevelFieldGraphFilter) filter {
		return filter{field: string(f.Field), op: f.Operation, value: f.Value, values: f.Values}
	})
	items, p, err := window("PriceLevel", ordered(st.priceLevels), fs, priceLevelGetters, first, offset, after, def, maxSize)
	if err != nil {
		return nil, err
	}
	conn := &graph.PriceLevelConnection{PageInfo: p.info(), Edges: []*graph.PriceLevelEdge{}}
	lo, _ := p.bounds()
	for i, pl := range items {
		conn.Edges = append(conn.Edges, &graph.PriceLevelEdge{Cursor: ptr(cursor(lo + i)), Node: priceLevelModel(pl)})
	}
	return conn, nil
}

func (q queryResolver) Currencies(ctx context.Context, filters []*graph.CurrencyFieldGraphFilter, first *int, offset *int, after *string) (*graph.CurrencyConnection, error) {
	defer q.lock()()
	st := q.s.st
	def, maxSize := q.sizes()
	fs := toFilters(filters, func(f *graph.CurrencyFieldGraphFilter) filter {
		return filter{field: string(f.Field), op: f.Operation, value: f.Value, values: f.Values}
	})
	items, p, err := window("Currency", ordered(st.currencies), fs, currencyGetters, first, offset, after, def, maxSize)
	if err != nil {
		return nil, err
	}
	conn := &graph.CurrencyConnection{PageInfo: p.info(), Edges: []*graph.CurrencyEdge{}}
	lo, _ := p.bounds()
	for i, c := range items {
		conn.Edges = append(conn.Edges, &graph.CurrencyEdge{Cursor: ptr(cursor(lo + i)), Node: currencyModel(c)})
	}
	return conn, nil
}

func (q queryResolver) CustomFieldTemplate(ctx context.Context, typeArg graph.SupportsCustomField) (*graph.CustomFieldTemplate, error) {
	defer q.lock()()
	out := &graph.CustomFieldTemplate{CustomFieldDefinitions: []*graph.CustomFieldDefinition{}}
	for _, cf := range ordered(q.s.st.customFields) {
		if cf.entityType == string(typeArg) {
			out.CustomFieldDefinitions = append(out.CustomFieldDefinitions, cfDefModel(cf))
		}
	}
	return out, nil
}

// ---------------------------------------------------------------- relationships

func (r eventResolver) Location(ctx context.Context, obj *graph.Event) (*graph.Location, error) {
	return obj.Location, nil
}

func (r eventResolver) Venue(ctx context.Context, obj *graph.Event) (*graph.Venue, error) {
	return obj.Venue, nil
}

func (r eventResolver) CourseTemplate(ctx context.Context, obj *graph.Event) (*graph.CourseTemplate, error) {
	return obj.CourseTemplate, nil
}

func (r eventResolver) Staff(ctx context.Context, obj *graph.Event, filters []*graph.StaffFieldGraphFilter, first *int, offset *int, after *string) (*graph.StaffConnection, error) {
	defer r.lock()()
	st := r.s.st
	e := st.events[mustKey(obj.ID, prefixEvent)]
	if e == nil {
		return nil, fmt.Errorf("event %s vanished", obj.ID)
	}
	return st.staffConnection(e.staff, filters, first, offset, after, r)
}

// staffConnection is one page of an event's or a session's staff.
func (st *state) staffConnection(staff []staffRec, filters []*graph.StaffFieldGraphFilter, first, offset *int, after *string, r eventOrSession) (*graph.StaffConnection, error) {
	fs := toFilters(filters, func(f *graph.StaffFieldGraphFilter) filter {
		return filter{field: string(f.Field), op: f.Operation, value: f.Value, values: f.Values}
	})
	recs := make([]*staffRec, len(staff))
	for i := range staff {
		recs[i] = &staff[i]
	}
	def, maxSize := r.sizes()
	items, p, err := window("Staff", recs, fs, staffGetters, first, offset, after, def, maxSize)
	if err != nil {
		return nil, err
	}
	conn := &graph.StaffConnection{PageInfo: p.info(), Edges: []*graph.StaffEdge{}}
	lo, _ := p.bounds()
	for i, s := range items {
		conn.Edges = append(conn.Edges, &graph.StaffEdge{Cursor: ptr(cursor(lo + i)), Node: st.staffModel(*s)})
	}
	return conn, nil
}

type eventOrSession interface{ sizes() (int, int) }

func (r eventResolver) Sessions(ctx context.Context, obj *graph.Event, filters []*graph.SessionFieldGraphFilter, order *graph.SessionFieldGraphOrder, first *int, offset *int, after *string) (*graph.SessionConnection, error) {
	defer r.lock()()
	st := r.s.st
	e := st.events[mustKey(obj.ID, prefixEvent)]
	if e == nil {
		return nil, fmt.Errorf("event %s vanished", obj.ID)
	}
	recs := make([]*sessionRec, 0, len(e.sessions))
	for _, k := range e.sessions {
		recs = append(recs, st.sessions[k])
	}
	if order != nil {
		sortSessions(recs, order)
	}
	fs := toFilters(filters, func(f *graph.SessionFieldGraphFilter) filter {
		return filter{field: string(f.Field), op: f.Operation, value: f.Value, values: f.Values}
	})
	def, maxSize := r.sizes()
	items, p, err := window("Session", recs, fs, sessionGetters, first, offset, after, def, maxSize)
	if err != nil {
		return nil, err
	}
	conn := &graph.SessionConnection{PageInfo: p.info(), Edges: []*graph.SessionEdge{}}
	lo, _ := p.bounds()
	for i, s := range items {
		conn.Edges = append(conn.Edges, &graph.SessionEdge{Cursor: ptr(cursor(lo + i)), Node: st.sessionModel(s)})
	}
	return conn, nil
}

func (r sessionResolver) Event(ctx context.Context, obj *graph.Session) (*graph.Event, error) {
	defer r.lock()()
	st := r.s.st
	s := st.sessions[mustKey(obj.ID, prefixSession)]
	if s == nil {
		return nil, nil
	}
	if e := st.events[s.eventKey]; e != nil {
		return st.eventModel(e), nil
	}
	return nil, nil
}

func (r sessionResolver) Location(ctx context.Context, obj *graph.Session) (*graph.Location, error) {
	return obj.Location, nil
}

func (r sessionResolver) Venue(ctx context.Context, obj *graph.Session) (*graph.Venue, error) {
	return obj.Venue, nil
}

func (r staffResolver) Contact(ctx context.Context, obj *graph.Staff) (*graph.Contact, error) {
	return obj.Contact, nil
}

func (r contactResolver) Account(ctx context.Context, obj *graph.Contact) (*graph.Account, error) {
	return obj.Account, nil
}

func (r courseTemplateResolver) LearningCategories(ctx context.Context, obj *graph.CourseTemplate, first *int, offset *int) (*graph.LearningCategoryConnection, error) {
	def, maxSize := r.sizes()
	p, err := paginate(0, first, offset, nil, def, maxSize)
	if err != nil {
		return nil, err
	}
	return &graph.LearningCategoryConnection{PageInfo: p.info(), Edges: []*graph.LearningCategoryEdge{}}, nil
}

func (r courseTemplateResolver) ApprovedInstructors(ctx context.Context, obj *graph.CourseTemplate, first *int, offset *int) (*graph.ContactConnection, error) {
	defer r.lock()()
	st := r.s.st
	ct := st.courseTemplates[mustKey(obj.ID, prefixCourseTmpl)]
	if ct == nil {
		return nil, fmt.Errorf("course template %s vanished", obj.ID)
	}
	recs := make([]*contactRec, 0, len(ct.approved))
	for _, k := range ct.approved {
		if c := st.contacts[k]; c != nil {
			recs = append(recs, c)
		}
	}
	def, maxSize := r.sizes()
	items, p, err := window("Contact", recs, nil, map[string]getter[contactRec]{}, first, offset, nil, def, maxSize)
	if err != nil {
		return nil, err
	}
	return contactConnection(items, p), nil
}

func (r courseTemplateResolver) PublicPrices(ctx context.Context, obj *graph.CourseTemplate, first *int, offset *int) (*graph.PriceConnection, error) {
	defer r.lock()()
	st := r.s.st
	ct := st.courseTemplates[mustKey(obj.ID, prefixCourseTmpl)]
	if ct == nil {
		return nil, fmt.Errorf("course template %s vanished", obj.ID)
	}
	recs := make([]*priceRec, 0, len(ct.prices))
	for _, k := range ct.prices {
		if p := st.prices[k]; p != nil {
			recs = append(recs, p)
		}
	}
	def, maxSize := r.sizes()
	items, p, err := window("Price", recs, nil, map[string]getter[priceRec]{}, first, offset, nil, def, maxSize)
	if err != nil {
		return nil, err
	}
	conn := &graph.PriceConnection{PageInfo: p.info(), Edges: []*graph.PriceEdge{}}
	lo, _ := p.bounds()
	for i, pr := range items {
		conn.Edges = append(conn.Edges, &graph.PriceEdge{Cursor: ptr(cursor(lo + i)), Node: st.priceModel(pr)})
	}
	return conn, nil
}

func (r priceResolver) PriceLevel(ctx context.Context, obj *graph.Price) (*graph.PriceLevel, error) {
	return obj.PriceLevel, nil
}

func (r priceResolver) FinancialUnit(ctx context.Context, obj *graph.Price) (*graph.Currency, error) {
	return obj.FinancialUnit, nil
}

func (r priceResolver) Region(ctx context.Context, obj *graph.Price) (*graph.Region, error) {
	return obj.Region, nil
}

func (r locationResolver) Region(ctx context.Context, obj *graph.Location) (*graph.Region, error) {
	return obj.Region, nil
}

func (r venueResolver) Location(ctx context.Context, obj *graph.Venue) (*graph.Location, error) {
	return obj.Location, nil
}

func (r customFieldValueResolve) Definition(ctx context.Context, obj *graph.CustomFieldValue) (*graph.CustomFieldDefinition, error) {
	if obj.DefinitionKey == nil {
		return nil, nil
	}
	defer r.lock()()
	k, ok := keyOf(*obj.DefinitionKey, prefixCustomField)
	if !ok || r.s.st.customFields[k] == nil {
		return nil, nil
	}
	return cfDefModel(r.s.st.customFields[k]), nil
}

// mustKey decodes an id the simulator itself issued; 0 if it is not of that type.
func mustKey(id, prefix string) int {
	k, _ := keyOf(id, prefix)
	return k
}
