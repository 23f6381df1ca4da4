package administrate_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
	"admsync/pkg/metricstest"
)

func newClient(t testing.TB, sim *admsimtest.Server, adjust func(*administrate.Options)) *administrate.Client {
	t.Helper()
	o := sim.ClientOptions()
	if adjust != nil {
		adjust(&o)
	}
	c, err := administrate.New(o)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestListLocationsPagesThroughEveryPage(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	for i := 1; i <= 25; i++ {
		sim.Location(fmt.Sprintf("Location %02d", i))
	}
	c := newClient(t, sim, func(o *administrate.Options) { o.PageSize = 10 })

	locs, err := c.ListLocations(ctxT(t))
	if err != nil {
		t.Fatalf("ListLocations: %v", err)
	}
	if len(locs) != 25 {
		t.Fatalf("got %d locations, want 25", len(locs))
	}
	seen := map[string]bool{}
	for _, l := range locs {
		if seen[l.ID] {
			t.Fatalf("location %s returned twice", l.ID)
		}
		seen[l.ID] = true
	}
	if locs[0].Name != "Location 01" || locs[24].Name != "Location 25" {
		t.Errorf("order: first %q last %q", locs[0].Name, locs[24].Name)
	}
	var offsets []any
	for _, r := range sim.Requests() {
		if r.Operation == "Locations" {
			offsets = append(offsets, r.Variables["offset"])
		}
	}
	// offset 0 is omitted (omitempty), then 10 and 20: three pages, no fourth call.
	if len(offsets) != 3 || offsets[0] != nil || fmt.Sprint(offsets[1]) != "10" || fmt.Sprint(offsets[2]) != "20" {
		t.Errorf("page requests offsets = %v, want [<nil> 10 20]", offsets)
	}
}

// One client serves every page size: the size is an argument of the call, and each page
// is reported as it arrives.
func TestPageSizeAndProgressArePerCall(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	for i := range 11 {
		sim.Instructor("Inst", fmt.Sprint(i))
	}
	c := newClient(t, sim, nil) // default page size 100
	ctx := ctxT(t)
	for _, size := range []int{4, 0, 11, 5} {
		var pages [][2]int
		got, err := c.ListInstructors(ctx, administrate.WithPageSize(size),
			administrate.WithPageProgress(func(items, total int) { pages = append(pages, [2]int{items, total}) }))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if len(got) != 11 {
			t.Fatalf("size %d: %d instructors, want 11", size, len(got))
		}
		eff := size
		if eff <= 0 {
			eff = administrate.DefaultPageSize
		}
		var want [][2]int
		for total := 0; total < 11; {
			n := min(eff, 11-total)
			total += n
			want = append(want, [2]int{n, total})
		}
		if fmt.Sprint(pages) != fmt.Sprint(want) {
			t.Errorf("size %d: progress %v, want %v", size, pages, want)
		}
	}
	var firsts []string
	for _, r := range sim.Requests() {
		if r.Operation == "Contacts" {
			firsts = append(firsts, fmt.Sprint(r.Variables["first"]))
		}
	}
	if want := "[4 4 4 100 11 5 5 5]"; fmt.Sprint(firsts) != want {
		t.Errorf("first per request = %v, want %s", firsts, want)
	}
}

func TestPriceLevelsAreAlwaysRequestedPaged(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	for i := range 7 {
		sim.PriceLevel(fmt.Sprintf("Level %d", i))
	}
	c := newClient(t, sim, func(o *administrate.Options) { o.PageSize = 3 })
	pls, err := c.ListPriceLevels(ctxT(t))
	if err != nil {
		t.Fatalf("ListPriceLevels: %v", err)
	}
	if len(pls) != 7 {
		t.Fatalf("got %d price levels, want 7", len(pls))
	}
	for _, r := range sim.Requests() {
		if r.Operation == "PriceLevels" && fmt.Sprint(r.Variables["first"]) != "3" {
			t.Errorf("PriceLevels request without first=3: %v", r.Variables)
		}
	}
	if n := sim.CallCount("PriceLevels"); n != 3 {
		t.Errorf("PriceLevels calls = %d, want 3", n)
	}
}

func TestContactListsAndMalformedFilters(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	london := sim.Location("London")
	sim.Venue("Holborn Training Centre", london)
	sim.Instructor("Ada", "Fenwick")
	bram := sim.Instructor("Bram", "Okafor")
	sim.Administrator("Dev", "Raman")
	sim.Contact(admsim.ContactSeed{FirstName: "Eli", LastName: "Stone"})
	c := newClient(t, sim, nil)
	ctx := ctxT(t)

	instructors, err := c.ListInstructors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(instructors) != 2 || instructors[0].LastName != "Fenwick" || instructors[1].ID != bram {
		t.Errorf("instructors = %+v", instructors)
	}
	admins, err := c.ListAdministrators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(admins) != 1 || admins[0].LastName != "Raman" {
		t.Errorf("administrators = %+v", admins)
	}
	// A malformed filter fails the whole request like production, and is not retried.
	var out map[string]any
	err = c.MakeRequest(ctx, &graphql.Request{OpName: "BadFilter",
		Query: `query BadFilter { contacts(filters: [{field: id, operation: in}]) { edges { node { id } } } }`},
		&graphql.Response{Data: &out})
	var ge *administrate.GraphQLError
	if !errors.As(err, &ge) {
		t.Fatalf("in without values: err = %v, want *GraphQLError", err)
	}
	if administrate.IsTransient(err) {
		t.Errorf("a GraphQL error must not be transient")
	}
}

func locationNames(ls []administrate.Location) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

func TestCourseTemplatesWithNestedPaging(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	sim.Currency("GBP")
	var instructors []string
	for i := range 7 {
		instructors = append(instructors, sim.Instructor("Inst", fmt.Sprint(i)))
	}
	var prices []admsim.PriceSeed
	for i := range 5 {
		prices = append(prices, admsim.PriceSeed{PriceLevel: sim.PriceLevel(fmt.Sprint("L", i)), Amount: fmt.Sprintf("%d.50", 100+i)})
	}
	subject := sim.CustomField("CourseTemplate", "Subject")
	ct := sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CB1_LO_6", Title: "CB1 live", LearningMode: "blended",
		SessionCount: 6, ApprovedInstructors: instructors, Prices: prices,
		CustomFieldValues: []admsim.CustomFieldValueSeed{{Definition: subject, Value: "CB1"}}})
	sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "OC_CB1", Title: "CB1 online", LearningMode: "lms"})
	c := newClient(t, sim, func(o *administrate.Options) { o.PageSize = 3 })

	cts, err := c.ListCourseTemplates(ctxT(t))
	if err != nil {
		t.Fatalf("ListCourseTemplates: %v", err)
	}
	if len(cts) != 2 || cts[0].ID != ct {
		t.Fatalf("templates = %+v", cts)
	}
	got := cts[0]
	if !slices.Equal(got.ApprovedInstructorIDs, instructors) {
		t.Errorf("approved instructors = %v, want all 7 %v", got.ApprovedInstructorIDs, instructors)
	}
	if len(got.PublicPrices) != 5 || got.PublicPrices[4].Amount.String() != "104.50" || got.PublicPrices[0].CurrencyCode != "GBP" {
		t.Errorf("prices = %+v", got.PublicPrices)
	}
	if got.LearningMode != administrate.LearningModeBlended || len(got.CustomFieldValues) != 1 ||
		got.CustomFieldValues[0].DefinitionKey != subject || got.CustomFieldValues[0].Value != "CB1" {
		t.Errorf("template = %+v", got)
	}
	if sim.CallCount("CourseTemplateApprovedInstructors") != 3 || sim.CallCount("CourseTemplatePublicPrices") != 2 {
		t.Errorf("nested paging calls: %v", sim.OperationCounts())
	}
}

func TestTokenExpiryFetchesANewToken(t *testing.T) {
	t.Parallel()
	// A token that lives 1 s is already inside oauth2's 10 s refresh margin, so the
	// client must fetch a fresh one for every call instead of using a stale one.
	sim := admsimtest.Start(t, admsimtest.WithTokenTTL(time.Second))
	sim.Location("London")
	c := newClient(t, sim, nil)
	for range 3 {
		if _, err := c.ListLocations(ctxT(t)); err != nil {
			t.Fatalf("ListLocations: %v", err)
		}
	}
	if n := sim.TokensIssued(); n != 3 {
		t.Errorf("tokens issued = %d, want 3", n)
	}
	if oc := sim.OutcomeCounts(); oc[admsim.OutcomeUnauthorized] != 0 {
		t.Errorf("outcomes = %v, want no 401", oc)
	}

	// A long-lived token is fetched once and reused.
	sim2 := admsimtest.Start(t)
	c2 := newClient(t, sim2, nil)
	for range 3 {
		if _, err := c2.ListLocations(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if n := sim2.TokensIssued(); n != 1 {
		t.Errorf("tokens issued = %d, want 1", n)
	}
}

func TestUnauthorizedTriggersExactlyOneReauth(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	sim.Location("London")
	reg := prometheus.NewRegistry()
	c := newClient(t, sim, func(o *administrate.Options) { o.Registerer = reg })
	ctx := ctxT(t)
	if _, err := c.ListLocations(ctx); err != nil {
		t.Fatal(err)
	}
	sim.ExpireTokens() // the server forgets the token the client still trusts
	if _, err := c.ListLocations(ctx); err != nil {
		t.Fatalf("after server-side expiry: %v", err)
	}
	if n := sim.TokensIssued(); n != 2 {
		t.Errorf("tokens issued = %d, want 2", n)
	}
	if oc := sim.OutcomeCounts(); oc[admsim.OutcomeUnauthorized] != 1 || oc[admsim.OutcomeOK] != 2 {
		t.Errorf("outcomes = %v, want 1 unauthorized and 2 ok", oc)
	}
	if v := metricstest.Value(t, reg, "admsync_administrate_retries_total", map[string]string{"operation": "Locations", "reason": "unauthorized"}); v != 1 {
		t.Errorf("retries{reason=unauthorized} = %v, want 1", v)
	}
}

func TestPersistentUnauthorizedIsAnAuthErrorAfterOneRetry(t *testing.T) {
	t.Parallel()
	// Tokens that the server considers expired at once: the re-fetched one fails too.
	sim := admsimtest.Start(t, admsimtest.WithTokenTTL(time.Nanosecond))
	c := newClient(t, sim, nil)
	_, err := c.ListLocations(ctxT(t))
	var ae *administrate.AuthError
	if !errors.As(err, &ae) || ae.StatusCode != 401 {
		t.Fatalf("err = %v, want *AuthError 401", err)
	}
	if oc := sim.OutcomeCounts(); oc[admsim.OutcomeUnauthorized] != 2 {
		t.Errorf("outcomes = %v, want exactly 2 unauthorized (one re-auth)", oc)
	}
}

func TestBadCredentialsFailWithoutCallingTheAPI(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	c := newClient(t, sim, func(o *administrate.Options) { o.ClientSecret = "wrong" })
	_, err := c.ListLocations(ctxT(t))
	var ae *administrate.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *AuthError", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error text leaks the secret: %v", err)
	}
	if n := len(sim.Requests()); n != 0 {
		t.Errorf("%d GraphQL requests reached the API", n)
	}
}

func TestRateLimitedRequestsHonourRetryAfter(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t, admsimtest.WithFaults(admsim.Faults{RateLimit: 2, RateWindow: time.Second}))
	sim.Location("London")
	sim.Instructor("Ada", "Fenwick")
	ct := sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "X_1", Title: "X", SessionCount: 1})
	reg := prometheus.NewRegistry()
	c := newClient(t, sim, func(o *administrate.Options) { o.Registerer = reg })
	ctx := ctxT(t)

	for range 3 {
		if _, err := c.ListLocations(ctx); err != nil {
			t.Fatalf("ListLocations: %v", err)
		}
	}
	// A mutation refused with 429 was not applied, so it is retried and applied once.
	if _, err := c.CreateBlendedEvent(ctx, administrate.BlendedEventCreateInput{CourseTemplateId: ct, Title: "E1",
		EventType: administrate.EventTypePublic, TimeZoneName: "Europe/London"}); err != nil {
		t.Fatalf("CreateBlendedEvent: %v", err)
	}
	if n := len(sim.Events()); n != 1 {
		t.Errorf("events = %d, want 1", n)
	}
	oc := sim.OutcomeCounts()
	if oc[admsim.OutcomeRateLimited] == 0 {
		t.Fatalf("outcomes = %v: the limit never triggered", oc)
	}
	if oc[admsim.OutcomeOK] != 4 {
		t.Errorf("outcomes = %v, want 4 ok", oc)
	}
	if v := metricstest.Value(t, reg, "admsync_administrate_retries_total", map[string]string{"reason": "rate_limited"}); v < 1 {
		t.Errorf("retries{reason=rate_limited} = %v", v)
	}
	// Retry-After is whole seconds; honouring it means having waited a good part of one.
	if v := metricstest.Value(t, reg, "admsync_administrate_ratelimit_wait_seconds_total", nil); v < 0.5 {
		t.Errorf("rate-limit wait = %vs, want the Retry-After honoured", v)
	}
	// No request was sent while the Retry-After pause was running.
	var last429 time.Time
	for _, r := range sim.Requests() {
		if r.Outcome == admsim.OutcomeRateLimited {
			last429 = r.Time
		} else if !last429.IsZero() && r.Time.Sub(last429) < 500*time.Millisecond {
			t.Errorf("request %d sent %v after a 429", r.Seq, r.Time.Sub(last429))
		}
	}
}

func TestOutageEndsInATypedTransientError(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	if err := sim.StartOutage(time.Hour); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, sim, func(o *administrate.Options) { o.MaxAttempts = 3 })
	_, err := c.ListLocations(ctxT(t))
	var he *administrate.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 503 || !administrate.IsTransient(err) {
		t.Fatalf("err = %v, want transient *HTTPError 503", err)
	}
	if n := sim.OutcomeCounts()[admsim.OutcomeOutage]; n != 3 {
		t.Errorf("attempts during outage = %d, want 3", n)
	}

	// A caller's deadline shorter than the retry schedule still yields the typed error.
	slow := newClient(t, sim, func(o *administrate.Options) {
		o.MaxAttempts, o.BackoffBase, o.BackoffMax = 10, time.Second, time.Second
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = slow.ListLocations(ctx)
	if !errors.As(err, &he) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want *HTTPError and context.DeadlineExceeded", err)
	}

	// A mutation answered 5xx may have been applied: outcome unknown, not retried.
	calls := len(sim.Requests())
	_, err = c.CreateLocation(ctxT(t), administrate.LocationCreateInput{Name: "Leeds"})
	if !errors.Is(err, administrate.ErrOutcomeUnknown) {
		t.Fatalf("mutation during outage: err = %v, want outcome unknown", err)
	}
	if n := len(sim.Requests()) - calls; n != 1 {
		t.Errorf("mutation attempts = %d, want 1", n)
	}
}

func TestMutationErrorsAreTyped(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	loc := sim.Location("London")
	other := sim.Location("Leeds")
	venue := sim.Venue("Holborn", loc)
	ada := sim.Instructor("Ada", "Fenwick")
	ct := sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CB1_f2f_2", Title: "CB1", SessionCount: 2, ApprovedInstructors: []string{ada}})
	c := newClient(t, sim, nil)
	ctx := ctxT(t)

	_, err := c.CreateBlendedEvent(ctx, administrate.BlendedEventCreateInput{
		CourseTemplateId: ct, Title: "ELO-CB1-01", EventType: administrate.EventTypePublic, TimeZoneName: "Europe/London",
		LocationId: other, VenueId: venue,
		ClassroomStartDateTime: administrate.NewLocalDateTime(2026, 3, 2, 17, 0, 0),
		ClassroomEndDateTime:   administrate.NewLocalDateTime(2026, 3, 2, 9, 30, 0),
	})
	var me *administrate.MutationError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want *MutationError", err)
	}
	fields := map[string]bool{}
	for _, f := range me.Errors {
		fields[f.Field] = true
	}
	if !fields["venueId"] || !fields["classroomEndDateTime"] || me.EntityID != "" {
		t.Errorf("mutation errors = %+v", me.Errors)
	}
	if n := len(sim.Events()); n != 0 {
		t.Fatalf("a rejected create left %d events", n)
	}

	ev, err := c.CreateBlendedEvent(ctx, administrate.BlendedEventCreateInput{
		CourseTemplateId: ct, Title: "ELO-CB1-01", EventType: administrate.EventTypePublic, TimeZoneName: "Europe/London",
		LocationId: loc, VenueId: venue})
	if err != nil {
		t.Fatal(err)
	}
	// Adding staff twice is safe: Administrate's "already exists as staff" counts as added.
	for range 2 {
		if err := c.AddEventStaff(ctx, ev.EventID, ada, administrate.StaffTypeAdministrator); err != nil {
			t.Fatalf("addStaff: %v", err)
		}
	}
	if administrate.IsAlreadyStaff(errors.New("already exists as staff")) {
		t.Errorf("IsAlreadyStaff must only accept mutation errors")
	}
	bram := sim.Instructor("Bram", "Okafor")
	first := ev.Sessions[0].ID
	if err := c.AddSessionStaff(ctx, first, []string{ada}, administrate.StaffTypeInstructor); err != nil {
		t.Fatal(err)
	}
	// One contact already there, one new: the new one is added, the call succeeds.
	if err := c.AddSessionStaff(ctx, first, []string{ada, bram}, administrate.StaffTypeInstructor); err != nil {
		t.Errorf("session staff with one already there: err = %v", err)
	}
	if views := sim.Sessions(ev.EventID); len(views[0].Staff) != 2 {
		t.Errorf("session staff = %+v, want Ada and Bram once each", views[0].Staff)
	}

	// An event id where a session id belongs is rejected, not applied to the event.
	err = c.UpdateSession(ctx, ev.EventID, administrate.SessionUpdateInput{Title: "x"})
	if !errors.As(err, &me) || me.Errors[0].Field != "sessionId" {
		t.Fatalf("update with an event id: err = %v", err)
	}
	err = c.UpdateSession(ctx, ev.Sessions[0].ID, administrate.SessionUpdateInput{
		Start: administrate.NewLocalDateTime(2026, 3, 2, 17, 0, 0), End: administrate.NewLocalDateTime(2026, 3, 2, 9, 0, 0)})
	if !errors.As(err, &me) || me.Errors[0].Field != "end" {
		t.Fatalf("end before start: err = %v", err)
	}
	err = c.AddEventStaff(ctx, ev.EventID, "Q29udGFjdDo5OTk=", administrate.StaffTypeAdministrator)
	if !errors.As(err, &me) || me.Errors[0].Field != "contactId" || administrate.IsAlreadyStaff(err) {
		t.Fatalf("unknown contact: err = %v", err)
	}
}

func TestApplyThenDropIsOutcomeUnknownAndReconcilable(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t, admsimtest.WithFaults(admsim.Faults{DropAfterApply: 1}))
	loc := sim.Location("London")
	ct := sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CB1_LO_3", Title: "CB1", SessionCount: 3})
	c := newClient(t, sim, nil)
	ctx := ctxT(t)
	in := administrate.BlendedEventCreateInput{CourseTemplateId: ct, Title: "ELO-CB1-07-26A", EventType: administrate.EventTypePublic,
		TimeZoneName: "Europe/London", LocationId: loc}

	_, err := c.CreateBlendedEvent(ctx, in)
	var ou *administrate.OutcomeUnknownError
	if !errors.As(err, &ou) || !errors.Is(err, administrate.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want *OutcomeUnknownError", err)
	}
	if n := sim.CallCount("CreateBlendedEvent"); n != 1 {
		t.Fatalf("CreateBlendedEvent reached Administrate %d times, want exactly 1 (never blindly retried)", n)
	}
	events := sim.Events()
	if len(events) != 1 || len(events[0].SessionIDs) != 3 {
		t.Fatalf("simulator events = %+v, want the applied event with 3 sessions", events)
	}
	found, err := c.FindEvents(ctx, administrate.EventQuery{Title: in.Title, CourseTemplateID: ct})
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if len(found) != 1 || found[0].ID != events[0].ID {
		t.Fatalf("reconcile found %+v, want %s", found, events[0].ID)
	}
	full, err := c.EventByID(ctx, found[0].ID)
	if err != nil || len(full.Sessions) != 3 || full.CourseTemplateID != ct || full.Title != in.Title {
		t.Fatalf("EventByID: %+v %v", full, err)
	}
}

func TestMutationTimeoutIsOutcomeUnknownButQueriesRetry(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t, admsimtest.WithFaults(admsim.Faults{Latency: 2 * time.Second}))
	reg := prometheus.NewRegistry()
	c := newClient(t, sim, func(o *administrate.Options) {
		o.Timeout, o.MaxAttempts, o.Registerer = 150*time.Millisecond, 2, reg
	})
	ctx := ctxT(t)
	_, err := c.CreateLocation(ctx, administrate.LocationCreateInput{Name: "Leeds"})
	var te *administrate.TransportError
	if !errors.Is(err, administrate.ErrOutcomeUnknown) || !errors.As(err, &te) || !te.Timeout || !te.Sent {
		t.Fatalf("mutation timeout: err = %v, want outcome unknown wrapping a sent timeout", err)
	}
	_, err = c.ListLocations(ctx)
	if !errors.As(err, &te) || !te.Timeout || !administrate.IsTransient(err) || errors.Is(err, administrate.ErrOutcomeUnknown) {
		t.Fatalf("query timeout: err = %v, want transient timeout", err)
	}
	if v := metricstest.Value(t, reg, "admsync_administrate_requests_total", map[string]string{"operation": "Locations", "status": "timeout"}); v != 2 {
		t.Errorf("query attempts that timed out = %v, want 2", v)
	}
	if v := metricstest.Value(t, reg, "admsync_administrate_retries_total", map[string]string{"operation": "CreateLocation"}); v != 0 {
		t.Errorf("the mutation was retried %v times", v)
	}
}

func TestMutationIsRetriedWhenTheRequestWasNeverSent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	_ = ln.Close() // nothing listens there any more: connection refused
	sim := admsimtest.Start(t)
	c := newClient(t, sim, func(o *administrate.Options) { o.APIURL = dead + "/graphql"; o.MaxAttempts = 3 })
	_, err = c.CreateLocation(ctxT(t), administrate.LocationCreateInput{Name: "Leeds"})
	var te *administrate.TransportError
	if !errors.As(err, &te) || te.Sent || errors.Is(err, administrate.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want an unsent transport error (safe to retry), not outcome unknown", err)
	}
	if !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("err = %v, want 3 attempts", err)
	}
}

func TestInvalidDocumentIsAPermanentGraphQLError(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	c := newClient(t, sim, nil)
	// "ADMIN" is not a StaffType literal: production rejects the whole document.
	err := c.AddEventStaff(ctxT(t), "Q291cnNlOjE=", "Q29udGFjdDox", "ADMIN")
	var ge *administrate.GraphQLError
	if !errors.As(err, &ge) || administrate.IsTransient(err) || !strings.Contains(err.Error(), "ADMIN") {
		t.Fatalf("err = %v, want a permanent *GraphQLError naming the bad literal", err)
	}
	// An unknown field in a raw document fails validation with HTTP 400.
	var out map[string]any
	err = c.MakeRequest(ctxT(t), &graphql.Request{OpName: "Bad", Query: "query Bad { locations { edges { node { id shoeSize } } } }"},
		&graphql.Response{Data: &out})
	if !errors.As(err, &ge) || ge.StatusCode != 400 {
		t.Fatalf("unknown field: err = %v, want *GraphQLError with HTTP 400", err)
	}
	if n := len(sim.Requests()); n != 2 {
		t.Errorf("requests = %d, want 2 (neither retried)", n)
	}

}

func TestBlendedEventWriteFlow(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	loc := sim.Location("Live online")
	venue := sim.Venue("Live online", loc)
	ada := sim.Instructor("Ada", "Fenwick")
	admin := sim.Administrator("Dev", "Raman")
	sitting := sim.CustomField("Event", "Sitting")
	day := sim.CustomField("Session", "Day")
	url := sim.CustomField("Session", "URL")
	ct := sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CB1_LO_4", Title: "CB1", SessionCount: 4, ApprovedInstructors: []string{ada}})
	c := newClient(t, sim, func(o *administrate.Options) { o.PageSize = 3 }) // sessions span two pages
	ctx := ctxT(t)

	ev, err := c.CreateBlendedEvent(ctx, administrate.BlendedEventCreateInput{
		CourseTemplateId: ct, Title: "ELO-CB1-01-26A", EventType: administrate.EventTypePublic, TimeZoneName: "Europe/London",
		LocationId: loc, VenueId: venue, TaxType: "VGF4VHlwZTox", MaxPlaces: 14,
		ClassroomStartDateTime: administrate.NewLocalDateTime(2026, 3, 2, 9, 30, 0),
		ClassroomEndDateTime:   administrate.NewLocalDateTime(2026, 3, 5, 17, 0, 0),
		LmsStartDateTime:       administrate.NewLocalDateTime(2025, 9, 1, 16, 0, 0),
		LmsEndDateTime:         administrate.NewLocalDateTime(2026, 4, 10, 0, 0, 0),
		CustomFieldValues:      []administrate.CustomFieldValueInput{{DefinitionKey: sitting, Value: "2026A"}},
	})
	if err != nil {
		t.Fatalf("CreateBlendedEvent: %v", err)
	}
	// Four sessions, the page size three: the create's answer holds the first page.
	if len(ev.Sessions) != 3 || ev.Complete || ev.LegacyID == "" || ev.Sessions[0].LegacyID == "" {
		t.Fatalf("created event = %+v", ev)
	}
	full, err := c.EventByID(ctx, ev.EventID)
	if err != nil {
		t.Fatalf("EventByID: %v", err)
	}
	if len(full.Sessions) != 4 || full.Sessions[0] != ev.Sessions[0] || full.Sessions[2] != ev.Sessions[2] ||
		full.CourseTemplateID != ct || full.LifecycleState != administrate.EventLifecycleStateDraft {
		t.Fatalf("event read back = %+v (sessions in creation order)", full)
	}
	if err := c.AddEventStaff(ctx, full.ID, admin, administrate.StaffTypeAdministrator); err != nil {
		t.Fatal(err)
	}
	for i, s := range full.Sessions {
		d := 2 + i
		err := c.UpdateSession(ctx, s.ID, administrate.SessionUpdateInput{
			Title: fmt.Sprintf("ELO-CB1-01-26A-%d", i+1), LocationId: loc, VenueId: venue, TimeZoneName: "Europe/London",
			Start: administrate.NewLocalDateTime(2026, 3, d, 9, 30, 0), End: administrate.NewLocalDateTime(2026, 3, d, 17, 0, 0),
			CustomFieldValues: []administrate.CustomFieldValueInput{{DefinitionKey: day, Value: fmt.Sprint(i + 1)}, {DefinitionKey: url, Value: ""}},
		})
		if err != nil {
			t.Fatalf("UpdateSession %d: %v", i, err)
		}
		if err := c.AddSessionStaff(ctx, s.ID, []string{ada}, administrate.StaffTypeInstructor); err != nil {
			t.Fatal(err)
		}
	}

	views := sim.Sessions(full.ID)
	if len(views) != 4 || views[3].CustomFields[day] != "4" || len(views[3].Staff) != 1 || views[3].Staff[0].ContactID != ada {
		t.Errorf("simulator sessions = %+v", views)
	}
	for i, v := range views {
		// Session times are written, never read back through the API: check the simulator.
		if want := administrate.NewLocalDateTime(2026, 3, 2+i, 9, 30, 0); v.Title != fmt.Sprintf("ELO-CB1-01-26A-%d", i+1) || !v.Start.Equal(want) {
			t.Errorf("session %d = %+v, want its title and start %v", i, v, want)
		}
	}
	evView, _ := sim.Event(full.ID)
	if evView.CustomFields[sitting] != "2026A" || evView.MaxPlaces != 14 || len(evView.Staff) != 1 {
		t.Errorf("simulator event = %+v", evView)
	}
	if _, err := c.EventByID(ctx, ct); !errors.Is(err, administrate.ErrNotFound) {
		t.Errorf("EventByID(course template id): err = %v, want ErrNotFound", err)
	}
}

func TestReferenceCreatesAndLMS(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	c := newClient(t, sim, nil)
	ctx := ctxT(t)
	loc, err := c.CreateLocation(ctx, administrate.LocationCreateInput{Name: "Leeds", Code: "LEE"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.CreateVenue(ctx, administrate.VenueCreateInput{Name: "Park Square", LocationId: loc.ID})
	if err != nil || v.LocationID != loc.ID {
		t.Fatalf("CreateVenue: %+v %v", v, err)
	}
	ct, err := c.CreateCourseTemplate(ctx, administrate.CourseTemplateCreateInput{Code: "OC_CM1", Title: "CM1 online"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateCourseTemplate(ctx, administrate.CourseTemplateCreateInput{Code: "oc_cm1", Title: "dup"}); err == nil {
		t.Errorf("duplicate course template code accepted")
	}
	ev, err := c.CreateLMSEvent(ctx, administrate.LMSEventCreateInput{CourseTemplateId: ct.ID, Title: "ELO-CM1-OC-26A",
		EventType: administrate.EventTypePublic, TimeZoneName: "Europe/London", LocationId: loc.ID,
		LmsStartDateTime: administrate.NewLocalDateTime(2025, 9, 1, 16, 0, 0), LmsEndDateTime: administrate.NewLocalDateTime(2026, 4, 30, 0, 0, 0)})
	if err != nil || ev.EventID == "" || !ev.Complete || len(ev.Sessions) != 0 {
		t.Fatalf("CreateLMSEvent: %+v %v", ev, err)
	}
}
