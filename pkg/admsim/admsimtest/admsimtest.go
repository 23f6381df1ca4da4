// Package admsimtest starts the Administrate simulator for Go tests of other packages.
//
//	sim := admsimtest.Start(t)                     // empty tenant, no faults
//	sim := admsimtest.Start(t, admsimtest.WithDefaultSeed())
//
//	loc := sim.Location("London")                  // seeding helpers return global ids
//	ven := sim.Venue("Holborn", loc)
//	ada := sim.Instructor("Ada", "Fenwick")
//	adm := sim.Administrator("Dev", "Raman")
//	pl := sim.PriceLevel("Normal")
//	day := sim.CustomField("Session", "Day")
//	ct := sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CB1_LO_6", Title: "CB1", LearningMode: "blended",
//		SessionCount: 6, ApprovedInstructors: []string{ada},
//		Prices: []admsim.PriceSeed{{PriceLevel: pl, Amount: "650.00"}}})
//
//	client := sim.Client(t)                        // *administrate.Client wired to the simulator
//	// ... exercise the code under test with sim.ClientOptions() or client ...
//
//	sim.Events()                                   // []admsim.EventView, oldest first
//	sim.Sessions(eventID)                          // []admsim.SessionView in creation order
//	sim.Requests()                                 // every GraphQL request: operation, variables, outcome
//	sim.CallCount("CreateBlendedEvent")            // requests of that operation that reached Administrate
//	sim.SetFaults(admsim.Faults{RateLimit: 20})    // or UpdateFaults / StartOutage / ExpireTokens
//
// The simulator listens on 127.0.0.1 through httptest and is closed by t.Cleanup.
// Operation names are the genqlient ones (see pkg/administrate/operations/*.graphql).
package admsimtest

import (
	"net/http/httptest"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
)

// Server is a running simulator plus what a test needs to reach it.
type Server struct {
	*admsim.Server
	HTTP         *httptest.Server
	URL          string // base URL, e.g. http://127.0.0.1:41234
	APIURL       string // URL + /graphql
	TokenURL     string // URL + /oauth/token
	ClientID     string
	ClientSecret string

	t testing.TB
}

// Option adjusts the simulator's Options before it starts.
type Option func(*admsim.Options)

// WithSeed starts from seed.
func WithSeed(seed admsim.Seed) Option { return func(o *admsim.Options) { o.Seed = &seed } }

// WithDefaultSeed starts from the demo tenant (admsim.DefaultSeed).
func WithDefaultSeed() Option {
	return func(o *admsim.Options) { s := admsim.DefaultSeed(); o.Seed = &s }
}

// WithFaults starts with faults switched on.
func WithFaults(f admsim.Faults) Option { return func(o *admsim.Options) { o.Faults = f } }

// WithTokenTTL sets the access-token lifetime.
func WithTokenTTL(d time.Duration) Option { return func(o *admsim.Options) { o.TokenTTL = d } }

// WithPageSizes sets the default and maximum page sizes.
func WithPageSizes(def, maxSize int) Option {
	return func(o *admsim.Options) { o.DefaultPageSize, o.MaxPageSize = def, maxSize }
}

// WithOptions applies any other change to the Options.
func WithOptions(fn func(*admsim.Options)) Option { return Option(fn) }

// Start runs a simulator on loopback for the duration of the test.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o admsim.Options
	for _, fn := range opts {
		fn(&o)
	}
	sim, err := admsim.New(o)
	if err != nil {
		t.Fatalf("admsimtest: start simulator: %v", err)
	}
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	t.Cleanup(sim.Close) // webhook retries in flight (runs before hs.Close)
	id, secret := sim.Credentials()
	return &Server{Server: sim, HTTP: hs, URL: hs.URL, APIURL: hs.URL + admsim.GraphQLPath,
		TokenURL: hs.URL + admsim.TokenPath, ClientID: id, ClientSecret: secret, t: t}
}

// ClientOptions returns client options pointing at the simulator, tuned for tests: a
// generous rate budget, short backoff and a 5 s attempt timeout. Adjust as needed.
func (s *Server) ClientOptions() administrate.Options {
	return administrate.Options{
		APIURL: s.APIURL, TokenURL: s.TokenURL, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		RateLimit: 1000, RateBurst: 50, Timeout: 5 * time.Second, MaxAttempts: 4,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
	}
}

// Client returns an *administrate.Client built from ClientOptions.
func (s *Server) Client(t testing.TB) *administrate.Client {
	t.Helper()
	c, err := administrate.New(s.ClientOptions())
	if err != nil {
		t.Fatalf("admsimtest: client: %v", err)
	}
	return c
}

func (s *Server) must(id string, err error) string {
	s.t.Helper()
	if err != nil {
		s.t.Fatalf("admsimtest: seed: %v", err)
	}
	return id
}

// Location adds a location and returns its id.
func (s *Server) Location(name string) string {
	return s.must(s.AddLocation(admsim.LocationSeed{Name: name}))
}

// Venue adds a venue under a location id and returns its id.
func (s *Server) Venue(name, locationID string) string {
	return s.must(s.AddVenue(admsim.VenueSeed{Name: name, Location: locationID}))
}

// Instructor adds a contact with isInstructor and returns its id.
func (s *Server) Instructor(first, last string) string {
	return s.must(s.AddContact(admsim.ContactSeed{FirstName: first, LastName: last, Instructor: true}))
}

// Administrator adds a contact with isAdmin and returns its id.
func (s *Server) Administrator(first, last string) string {
	return s.must(s.AddContact(admsim.ContactSeed{FirstName: first, LastName: last, Admin: true}))
}

// Contact adds any contact and returns its id.
func (s *Server) Contact(c admsim.ContactSeed) string { return s.must(s.AddContact(c)) }

// PriceLevel adds a price level and returns its id.
func (s *Server) PriceLevel(name string) string {
	return s.must(s.AddPriceLevel(admsim.PriceLevelSeed{Name: name}))
}

// Currency adds a currency and returns its id.
func (s *Server) Currency(code string) string {
	return s.must(s.AddCurrency(admsim.CurrencySeed{Code: code}))
}

// CustomField adds a custom-field definition for an entity type ("Event", "Session",
// "CourseTemplate", ...) and returns its key.
func (s *Server) CustomField(entityType, label string) string {
	return s.must(s.AddCustomField(entityType, admsim.CustomFieldSeed{Label: label}))
}

// CourseTemplate adds a course template and returns its id.
func (s *Server) CourseTemplate(ct admsim.CourseTemplateSeed) string {
	return s.must(s.AddCourseTemplate(ct))
}

// SeedEvent adds an existing event (with sessions and staff) and returns its id.
// (Event(id), from admsim.Server, reads one back.)
func (s *Server) SeedEvent(e admsim.EventSeed) string { return s.must(s.AddEvent(e)) }

// SetFaults replaces the faults, failing the test on invalid values.
func (s *Server) SetFaults(f admsim.Faults) {
	s.t.Helper()
	if err := s.Server.SetFaults(f); err != nil {
		s.t.Fatalf("admsimtest: faults: %v", err)
	}
}
