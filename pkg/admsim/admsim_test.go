package admsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

type harness struct {
	t   *testing.T
	sim *Server
	srv *httptest.Server
	tok string
}

func start(t *testing.T, opts Options) *harness {
	t.Helper()
	sim, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	h := &harness{t: t, sim: sim, srv: srv}
	h.tok = h.token(sim.opts.ClientID, sim.opts.ClientSecret, http.StatusOK)["access_token"].(string)
	return h
}

func (h *harness) token(id, secret string, wantStatus int) map[string]any {
	h.t.Helper()
	res, err := http.PostForm(h.srv.URL+TokenPath, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != wantStatus {
		h.t.Fatalf("token status = %d, want %d", res.StatusCode, wantStatus)
	}
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return out
}

// gql posts a document and returns the status and decoded body.
func (h *harness) gql(token, query string, vars map[string]any) (int, http.Header, map[string]any) {
	h.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+GraphQLPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("post: %v", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		h.t.Fatalf("body %q: %v", raw, err)
	}
	return res.StatusCode, res.Header, out
}

func (h *harness) ok(query string, vars map[string]any) map[string]any {
	h.t.Helper()
	status, _, out := h.gql(h.tok, query, vars)
	if status != http.StatusOK || out["errors"] != nil {
		h.t.Fatalf("status %d, body %v", status, out)
	}
	return out["data"].(map[string]any)
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func seeded() Options { s := DefaultSeed(); return Options{Seed: &s} }

func TestGlobalIDsUseAdministratePrefixes(t *testing.T) {
	t.Parallel()
	if got := GlobalID(prefixEvent, 1); got != "Q291cnNlOjE=" {
		t.Errorf("event 1 = %s, want Q291cnNlOjE= (Course:1)", got)
	}
	if got := GlobalID("TaxType", 1); got != "VGF4VHlwZTox" {
		t.Errorf("tax type 1 = %s", got)
	}
	for _, id := range []string{"Q291cnNlOjE=", "Course:1"} {
		if p, k, err := DecodeID(id); err != nil || p != "Course" || k != 1 {
			t.Errorf("DecodeID(%s) = %s %d %v", id, p, k, err)
		}
	}
	if _, ok := keyOf(GlobalID(prefixEvent, 3), prefixSession); ok {
		t.Errorf("an event id was accepted as a session id")
	}
	for _, bad := range []string{"", "!!", "Q291cnNl", "Course:x", "Course:0"} {
		if _, _, err := DecodeID(bad); err == nil {
			t.Errorf("DecodeID(%q) accepted", bad)
		}
	}
}

func TestSeedDumpLoadsBackUnchanged(t *testing.T) {
	t.Parallel()
	h := start(t, seeded())
	// Add an event with sessions and staff through the API, so the dump has all kinds.
	d := h.ok(`mutation M($i: BlendedEventCreateInput!) { event { createBlended(input: $i) { event { id sessions { edges { node { id } } } } errors { message } } } }`,
		map[string]any{"i": map[string]any{"courseTemplateId": "Q291cnNlVGVtcGxhdGU6MQ==", "title": "E", "eventType": "public", "timeZoneName": "Europe/London",
			"customFieldValues": []any{map[string]any{"definitionKey": GlobalID(prefixCustomField, 1), "value": "2026A"}}}})
	ev := dig(d, "event", "createBlended", "event").(map[string]any)
	if n := len(dig(ev, "sessions", "edges").([]any)); n != 6 {
		t.Fatalf("blended event from CB1_LO_6 has %d sessions, want the template's 6", n)
	}
	h.ok(`mutation { event { addStaff(input: {eventId: "`+ev["id"].(string)+`", contactId: "Q29udGFjdDox"}) { errors { message } } } }`, nil)

	dump := h.sim.Dump()
	again, err := New(Options{Seed: &dump})
	if err != nil {
		t.Fatalf("load dump: %v", err)
	}
	if got := again.Dump(); !reflect.DeepEqual(got, dump) {
		a, _ := json.MarshalIndent(dump, "", " ")
		b, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("dump changed on reload:\n%s\n---\n%s", a, b)
	}
	if len(dump.Events) != 1 || len(dump.Events[0].Sessions) != 6 || len(dump.Events[0].Staff) != 1 {
		t.Errorf("dumped events = %+v", dump.Events)
	}
	// New records continue after the loaded keys.
	id, err := again.AddLocation(LocationSeed{Name: "Cardiff"})
	if err != nil || id != GlobalID(prefixLocation, 11) {
		t.Errorf("next location id = %s %v, want Location:11", id, err)
	}
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	h := start(t, Options{TokenTTL: 90 * time.Second})
	tok := h.token("admsim-client", "admsim-secret", http.StatusOK)
	if tok["token_type"] != "Bearer" || tok["expires_in"].(float64) != 90 {
		t.Errorf("token response = %v", tok)
	}
	if got := h.token("admsim-client", "nope", http.StatusUnauthorized); got["error"] != "invalid_client" {
		t.Errorf("bad secret = %v", got)
	}
	h.token("other", "admsim-secret", http.StatusUnauthorized)
	res, err := http.PostForm(h.srv.URL+TokenPath, url.Values{"grant_type": {"password"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("unsupported grant: status %d", res.StatusCode)
	}
}

func TestGraphQLRequiresAValidBearerToken(t *testing.T) {
	t.Parallel()
	h := start(t, Options{})
	for _, tok := range []string{"", "not-a-token"} {
		status, hdr, _ := h.gql(tok, `{ locations { edges { node { id } } } }`, nil)
		if status != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("token %q: status %d", tok, status)
		}
	}
	h.sim.ExpireTokens()
	if status, _, _ := h.gql(h.tok, `{ locations { edges { node { id } } } }`, nil); status != http.StatusUnauthorized {
		t.Errorf("expired token: status %d", status)
	}
	if oc := h.sim.OutcomeCounts(); oc[OutcomeUnauthorized] != 3 {
		t.Errorf("outcomes = %v", oc)
	}
}

func TestDocumentsAreValidatedLikeProduction(t *testing.T) {
	t.Parallel()
	h := start(t, seeded())
	for name, q := range map[string]string{
		"unknown field":        `{ locations { edges { node { id shoeSize } } } }`,
		"bad enum literal":     `{ events(filters: [{field: title, operation: EQUALS, value: "x"}]) { edges { node { id } } } }`,
		"unknown filter field": `{ contacts(filters: [{field: bogus, operation: eq, value: "x"}]) { edges { node { id } } } }`,
		"Python boolean":       `mutation { event { addStaff(input: {eventId: "x", contactId: "y", staffType: False}) { errors { message } } } }`,
	} {
		status, _, out := h.gql(h.tok, q, nil)
		if status != http.StatusBadRequest || out["errors"] == nil {
			t.Errorf("%s: status %d body %v, want 400 with errors", name, status, out)
		}
	}
	// A filter the schema accepts but the values make invalid fails the whole request.
	status, _, out := h.gql(h.tok, `{ contacts(filters: [{field: id, operation: in}]) { edges { node { id } } } }`, nil)
	if out["errors"] == nil || out["data"] != nil {
		t.Errorf("in without values: status %d body %v", status, out)
	}
	if oc := h.sim.OutcomeCounts(); oc[OutcomeGraphQLError] != 5 {
		t.Errorf("outcomes = %v", oc)
	}
}

// The simulator refuses what a live tenant was seen to lack (May 2026), so an operation
// reading it fails here as it would there.
func TestSchemaRefusesWhatTheTenantLacks(t *testing.T) {
	t.Parallel()
	h := start(t, seeded())
	ev := `{ events(first: 1) { edges { node { %s } } } }`
	for name, q := range map[string]string{
		"typed session start": `{ node(id: "U2Vzc2lvbjox") { id ... on Session { timeZonedStart } } }`,
		"typed session end":   `{ node(id: "U2Vzc2lvbjox") { id ... on Session { timeZonedEnd } } }`,
		"session start":       `{ node(id: "U2Vzc2lvbjox") { id ... on Session { start end } } }`,
		"cancelled":           fmt.Sprintf(ev, "cancelled"),
		"soldOut":             fmt.Sprintf(ev, "soldOut"),
		"timezone":            fmt.Sprintf(ev, "timezone"),
		"lmsStartDate":        fmt.Sprintf(ev, "lmsStartDate lmsEndDate"),
		"webSale":             fmt.Sprintf(ev, "webSale"),
		"eventUrl":            fmt.Sprintf(ev, "eventUrl"),
		"virtualClassroom":    fmt.Sprintf(ev, "virtualClassroom"),
		"primaryInstructor":   fmt.Sprintf(ev, "primaryInstructor { id }"),
		"singular event":      `{ event(id: "Q291cnNlOjE=") { id } }`,
	} {
		status, _, out := h.gql(h.tok, q, nil)
		if status != http.StatusBadRequest || out["errors"] == nil {
			t.Errorf("%s: status %d body %v, want 400 with errors", name, status, out)
		}
	}
	// What the tenant has instead answers; cancelledAt is set exactly on cancelled events.
	for _, state := range []string{"published", "cancelled"} {
		if _, err := h.sim.AddEvent(EventSeed{CourseTemplate: "CourseTemplate:1", Title: "ELO-" + state, LifecycleState: state}); err != nil {
			t.Fatal(err)
		}
	}
	d := h.ok(`{ events { edges { node { lifecycleState cancelledAt isSoldOut timeZoneName lmsStart lmsEnd customFieldValues { definitionKey value } } } } }`, nil)
	edges, _ := dig(d, "events", "edges").([]any)
	if len(edges) != 2 {
		t.Fatalf("events = %v", edges)
	}
	for _, e := range edges {
		n := dig(e, "node").(map[string]any)
		if (n["lifecycleState"] == "cancelled") != (n["cancelledAt"] != nil) {
			t.Errorf("event %v: cancelledAt must be set exactly when cancelled", n)
		}
	}
}

func TestPagingAndFilters(t *testing.T) {
	t.Parallel()
	h := start(t, seeded())
	d := h.ok(`{ locations(first: 3, offset: 9) { pageInfo { hasNextPage hasPreviousPage totalRecords } edges { node { name } } } }`, nil)
	if dig(d, "locations", "pageInfo", "totalRecords").(float64) != 10 || dig(d, "locations", "pageInfo", "hasNextPage").(bool) ||
		len(dig(d, "locations", "edges").([]any)) != 1 {
		t.Errorf("last page = %v", d)
	}
	d = h.ok(`{ locations(first: 2) { pageInfo { hasNextPage endCursor } edges { node { name } } } }`, nil)
	cur := dig(d, "locations", "pageInfo", "endCursor").(string)
	d = h.ok(`query($a: String) { locations(first: 1, after: $a) { edges { node { name } } } }`, map[string]any{"a": cur})
	if dig(d, "locations", "edges", 0, "node", "name") != "Online" {
		t.Errorf("after cursor: %v", d)
	}
	d = h.ok(`{ contacts(filters: [{field: isInstructor, operation: eq, value: "TRUE"}, {field: lastName, operation: like, value: "%WRIGHT"}]) { pageInfo { totalRecords } edges { node { lastName } } } }`, nil)
	if dig(d, "contacts", "pageInfo", "totalRecords").(float64) != 1 || dig(d, "contacts", "edges", 0, "node", "lastName") != "Mendes Wright" {
		t.Errorf("instructor filter = %v", d)
	}
	d = h.ok(`{ locations(filters: {field: name, operation: wordlike, value: "live"}) { edges { node { name } } } }`, nil)
	if n := len(dig(d, "locations", "edges").([]any)); n != 1 {
		t.Errorf("wordlike live (single filter object, list coercion) matched %d", n)
	}
	d = h.ok(`{ locations(filters: [{field: code, operation: in, values: ["LON", "EDI", "XXX"]}]) { edges { node { name } } } }`, nil)
	if n := len(dig(d, "locations", "edges").([]any)); n != 2 {
		t.Errorf("in matched %d, want 2", n)
	}
	d = h.ok(`{ venues(filters: [{field: locationId, operation: eq, value: "TG9jYXRpb246Mg=="}]) { edges { node { name location { name } } } } }`, nil)
	if dig(d, "venues", "edges", 0, "node", "location", "name") != "London" {
		t.Errorf("venues by location = %v", d)
	}
	if status, _, out := h.gql(h.tok, `{ locations(first: -1) { edges { node { id } } } }`, nil); out["errors"] == nil {
		t.Errorf("negative first: status %d %v", status, out)
	}
}

func TestLikeAndWordlike(t *testing.T) {
	t.Parallel()
	re, _ := likeRegexp("ELO-CB1-%-26_")
	if !re.MatchString("elo-cb1-01-26A") || re.MatchString("ELO-CB2-01-26A") {
		t.Errorf("like translation wrong")
	}
	if !containsWordsInOrder(wordsOf("CB1 Live Online (6 days)"), wordsOf("live, online")) ||
		containsWordsInOrder(wordsOf("Online live"), wordsOf("live online")) {
		t.Errorf("wordlike order")
	}
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Faults: Faults{RateLimit: 2, RateWindow: 10 * time.Second}})
	q := `{ locations { edges { node { id } } } }`
	h.ok(q, nil)
	h.ok(q, nil)
	status, hdr, _ := h.gql(h.tok, q, nil)
	ra, _ := strconv.Atoi(hdr.Get("Retry-After"))
	if status != http.StatusTooManyRequests || ra < 9 || ra > 10 {
		t.Fatalf("third request: status %d Retry-After %q", status, hdr.Get("Retry-After"))
	}
	if oc := h.sim.OutcomeCounts(); oc[OutcomeRateLimited] != 1 {
		t.Errorf("outcomes = %v", oc)
	}
}

func TestApplyThenDropClosesTheConnectionAfterTheWrite(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Faults: Faults{DropAfterApply: 1}})
	loc, _ := h.sim.AddLocation(LocationSeed{Name: "Leeds"})
	body := `{"query":"mutation CreateVenue { venue { create(input: {name: \"Park\", locationId: \"` + loc + `\"}) { venue { id } errors { message } } } }"}`
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+GraphQLPath, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+h.tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		res.Body.Close()
		t.Fatalf("got HTTP %d, want a dropped connection", res.StatusCode)
	}
	if h.sim.VenueCount() != 1 {
		t.Errorf("the mutation was not applied before the drop")
	}
	reqs := h.sim.Requests()
	if len(reqs) != 1 || reqs[0].Outcome != OutcomeDropped || reqs[0].Operation != "CreateVenue" || !reqs[0].Executed() {
		t.Errorf("recorded = %+v", reqs)
	}
	// Only the next N mutations are dropped.
	h.ok(`mutation { venue { create(input: {name: "Other", locationId: "`+loc+`"}) { errors { message } } } }`, nil)
}

// DropOperations narrows the drops to the named operations: other mutations are
// answered and use up none of them.
func TestApplyThenDropOnlyTheNamedOperations(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Faults: Faults{DropAfterApply: 1, DropOperations: []string{"CreateVenue"}}})
	loc, _ := h.sim.AddLocation(LocationSeed{Name: "Leeds"})
	h.ok(`mutation CreateLocation { location { create(input: {name: "York"}) { errors { message } } } }`, nil)
	body := `{"query":"mutation CreateVenue { venue { create(input: {name: \"Park\", locationId: \"` + loc + `\"}) { venue { id } errors { message } } } }"}`
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+GraphQLPath, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+h.tok)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("CreateVenue got HTTP %d, want a dropped connection", res.StatusCode)
	}
	reqs := h.sim.Requests()
	if len(reqs) != 2 || reqs[0].Outcome != OutcomeOK || reqs[1].Outcome != OutcomeDropped || h.sim.VenueCount() != 1 {
		t.Errorf("recorded = %+v, venues %d", reqs, h.sim.VenueCount())
	}
}

func TestControlEndpoint(t *testing.T) {
	t.Parallel()
	h := start(t, seeded())
	post := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, raw
	}
	if st, raw := post(http.MethodPost, "/_control/faults", `{"errorRatio": 1, "disabled": ["event.createBlended", "locations"]}`); st != http.StatusOK {
		t.Fatalf("set faults: %d %s", st, raw)
	}
	if f := h.sim.Faults(); f.ErrorRatio != 1 || len(f.Disabled) != 2 || f.Latency != 0 {
		t.Errorf("faults = %+v", f)
	}
	if st, _, _ := h.gql(h.tok, `{ venues { edges { node { id } } } }`, nil); st != http.StatusServiceUnavailable {
		t.Errorf("with error ratio 1: status %d", st)
	}
	// Only the keys sent change.
	if st, raw := post(http.MethodPost, "/_control/faults", `{"errorRatio": 0}`); st != http.StatusOK {
		t.Fatalf("patch: %d %s", st, raw)
	}
	if f := h.sim.Faults(); f.ErrorRatio != 0 || len(f.Disabled) != 2 {
		t.Errorf("after patch faults = %+v", f)
	}
	d := h.ok(`{ __type(name: "EventMutations") { fields { name } } q: __type(name: "Query") { fields { name } } }`, nil)
	for _, part := range []string{"__type", "q"} {
		for _, f := range dig(d, part, "fields").([]any) {
			if n := f.(map[string]any)["name"]; n == "createBlended" || n == "locations" {
				t.Errorf("disabled field %v still introspectable", n)
			}
		}
	}
	if st, _, _ := h.gql(h.tok, `{ locations { edges { node { id } } } }`, nil); st != http.StatusBadRequest {
		t.Errorf("disabled root field: status %d", st)
	}
	if st, raw := post(http.MethodPost, "/_control/faults", `{"disabled": ["event.noSuchThing"]}`); st != http.StatusBadRequest {
		t.Errorf("unknown field path: %d %s", st, raw)
	}
	if st, raw := post(http.MethodPost, "/_control/faults", `{"outageFor": "1h"}`); st != http.StatusOK {
		t.Fatalf("outage: %d %s", st, raw)
	}
	if st, _, _ := h.gql(h.tok, `{ venues { edges { node { id } } } }`, nil); st != http.StatusServiceUnavailable {
		t.Errorf("during outage: status %d", st)
	}
	post(http.MethodPost, "/_control/faults", `{"outageFor": "0s"}`)

	st, raw := post(http.MethodGet, "/_control/requests?operation=", "")
	var reqs []Request
	if err := json.Unmarshal(raw, &reqs); err != nil || st != http.StatusOK || len(reqs) != 4 {
		t.Errorf("requests: %d %d %v", st, len(reqs), err)
	}
	if st, _ := post(http.MethodDelete, "/_control/requests", ""); st != http.StatusNoContent || len(h.sim.Requests()) != 0 {
		t.Errorf("reset requests: %d", st)
	}
	if st, _ := post(http.MethodPost, "/_control/tokens/expire", ""); st != http.StatusNoContent {
		t.Errorf("expire: %d", st)
	}
	if st, _, _ := h.gql(h.tok, `{ venues { edges { node { id } } } }`, nil); st != http.StatusUnauthorized {
		t.Errorf("after expire: %d", st)
	}
	if st, raw := post(http.MethodPut, "/_control/state", `{"locations": [{"name": "Only"}]}`); st != http.StatusNoContent {
		t.Fatalf("replace state: %d %s", st, raw)
	}
	if h.sim.LocationCount() != 1 || h.sim.CourseTemplateCount() != 0 {
		t.Errorf("state not replaced")
	}
	if st, raw := post(http.MethodGet, "/_control/state", ""); st != http.StatusOK || !strings.Contains(string(raw), `"Location:1"`) {
		t.Errorf("dump: %d %s", st, raw)
	}
	if st, _ := post(http.MethodPut, "/_control/state", `{"venues": [{"name": "x", "location": "Location:99"}]}`); st != http.StatusBadRequest {
		t.Errorf("bad seed accepted: %d", st)
	}
}

func TestLatencyAndErrorRatioAreSeeded(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Faults: Faults{ErrorRatio: 0.5, ErrorStatus: 502}})
	fails := 0
	for range 40 {
		if st, _, _ := h.gql(h.tok, `{ locations { edges { node { id } } } }`, nil); st == http.StatusBadGateway {
			fails++
		}
	}
	if fails == 0 || fails == 40 {
		t.Errorf("error ratio 0.5 failed %d of 40", fails)
	}
	if err := h.sim.SetFaults(Faults{ErrorRatio: 2}); err == nil {
		t.Errorf("error ratio 2 accepted")
	}
}
