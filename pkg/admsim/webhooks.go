package admsim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"admsync/pkg/admsim/internal/graph"
)

// Webhooks, as Administrate runs them: registrations made through the webhooks
// mutations; whenever an event or session changes (through the API or the control
// endpoint) every active webhook of the matching type runs its stored query with
// $objectid and POSTs {metadata, payload, configuration} to its URL. A status of 429
// or 500 and above, or no answer, is retried after each of Options.WebhookRetryDelays
// (Administrate: about 30 s, 1 min, 2 min); any other status is final.

const prefixWebhook = "OutboundHook" // [C]

// WebhookTypes are the automatic webhook types the simulator fires, by key
// (its id is base64 "WebhookType:<key>").
var WebhookTypes = []struct{ Key, Name string }{
	{"event_created", "Event Created"},
	{"event_updated", "Event Updated"},
	{"event_published", "Event Published"},
	{"event_cancelled", "Event Cancelled"},
	{"event_deleted", "Event Deleted"},
	{"session_created", "Session Created"},
	{"session_updated", "Session Updated"},
	{"session_deleted", "Session Deleted"},
}

// WebhookTypeID is the global id of a webhook type key such as "event_updated".
func WebhookTypeID(key string) string {
	return base64.StdEncoding.EncodeToString([]byte("WebhookType:" + key))
}

func webhookTypeKey(id string) (string, bool) {
	raw := id
	if !strings.HasPrefix(id, "WebhookType:") {
		b, err := base64.StdEncoding.DecodeString(id)
		if err != nil {
			return "", false
		}
		raw = string(b)
	}
	k, ok := strings.CutPrefix(raw, "WebhookType:")
	if !ok {
		return "", false
	}
	for _, t := range WebhookTypes {
		if t.Key == k {
			return k, true
		}
	}
	return "", false
}

type webhookRec struct {
	key            int
	name, typeKey  string
	query, url     string
	config         string
	lifecycleState string
	emails         []string
}

// Delivery is one attempt to deliver a webhook, for tests and the control endpoint.
type Delivery struct {
	WebhookID   string    `json:"webhookId"`
	Type        string    `json:"type"`
	ObjectID    string    `json:"objectId"`
	TriggeredAt time.Time `json:"triggeredAt"`
	Attempt     int       `json:"attempt"` // 1 = first delivery
	Status      int       `json:"status"`  // 0: no answer
	Error       string    `json:"error,omitempty"`
	Body        []byte    `json:"-"`
}

type hooks struct {
	mu     sync.Mutex
	recs   map[int]*webhookRec
	next   int
	primed bool
	events map[int]string // fingerprint of each event (without updatedAt)
	sess   map[int]string
	log    []Delivery
	wg     sync.WaitGroup
	stop   chan struct{}
	once   sync.Once
	delays []time.Duration // nil: Options.WebhookRetryDelays
	// unsettled counts deliveries not yet answered 200 nor given up on: an
	// attempt in flight is in no log entry until it returns.
	unsettled atomic.Int64
}

// SetWebhookRetryDelays changes the waits before each retry of a delivery (a
// chaos run shortens Administrate's minutes to seconds).
func (s *Server) SetWebhookRetryDelays(d []time.Duration) {
	h := s.hookState()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.delays = append([]time.Duration{}, d...)
}

// hookState returns the server's webhook state, made on first use.
func (s *Server) hookState() *hooks {
	s.hooksOnce.Do(func() {
		s.hooks = &hooks{recs: map[int]*webhookRec{}, stop: make(chan struct{})}
	})
	return s.hooks
}

// Close stops pending webhook retries and waits for deliveries in flight.
func (s *Server) Close() {
	h := s.hookState()
	h.once.Do(func() { close(h.stop) })
	h.wg.Wait()
}

// WebhookDeliveries returns every delivery attempt so far, oldest first.
func (s *Server) WebhookDeliveries() []Delivery {
	h := s.hookState()
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Delivery(nil), h.log...)
}

// WebhooksUnsettled returns how many deliveries are still being attempted:
// in flight, or waiting for their next retry. Zero means every delivery so
// far was answered 200 or ran out of retries.
func (s *Server) WebhooksUnsettled() int {
	return int(s.hookState().unsettled.Load())
}

// WebhookSecret returns the secret in a registered webhook's configuration ("" if none).
func (s *Server) WebhookSecret(name string) string {
	h := s.hookState()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range h.recs {
		if w.name == name {
			var c struct {
				Secret string `json:"secret"`
			}
			_ = json.Unmarshal([]byte(w.config), &c)
			return c.Secret
		}
	}
	return ""
}

func webhookModel(w *webhookRec) *graph.Webhook {
	m := &graph.Webhook{ID: GlobalID(prefixWebhook, w.key), Name: ptr(w.name), URL: ptr(w.url), Query: ptr(w.query),
		LifecycleState: ptr(graph.WebhookLifecycleState(w.lifecycleState))}
	for _, t := range WebhookTypes {
		if t.Key == w.typeKey {
			m.WebhookType = &graph.WebhookType{ID: WebhookTypeID(t.Key), Name: ptr(t.Name)}
		}
	}
	return m
}

var webhookGetters = map[string]getter[webhookRec]{
	"id":   {get: func(w *webhookRec) []string { return one(GlobalID(prefixWebhook, w.key)) }},
	"name": {get: func(w *webhookRec) []string { return one(w.name) }},
}

type webhookTypeRec struct{ key, name string }

var webhookTypeGetters = map[string]getter[webhookTypeRec]{
	"id":      {get: func(t *webhookTypeRec) []string { return one(WebhookTypeID(t.key)) }},
	"name":    {get: func(t *webhookTypeRec) []string { return one(t.name) }},
	"trigger": {get: func(t *webhookTypeRec) []string { return one("automatic") }},
}

func (q queryResolver) Webhooks(ctx context.Context, filters []*graph.WebhookFieldGraphFilter, first *int, offset *int, after *string) (*graph.WebhookConnection, error) {
	h := q.s.hookState()
	h.mu.Lock()
	defer h.mu.Unlock()
	recs := make([]*webhookRec, 0, len(h.recs))
	for _, k := range sortedKeys(h.recs) {
		recs = append(recs, h.recs[k])
	}
	fs := toFilters(filters, func(f *graph.WebhookFieldGraphFilter) filter {
		return filter{field: string(f.Field), op: f.Operation, value: f.Value, values: f.Values}
	})
	def, maxSize := q.sizes()
	items, p, err := window("Webhook", recs, fs, webhookGetters, first, offset, after, def, maxSize)
	if err != nil {
		return nil, err
	}
	conn := &graph.WebhookConnection{PageInfo: p.info(), Edges: []*graph.WebhookEdge{}}
	lo, _ := p.bounds()
	for i, w := range items {
		conn.Edges = append(conn.Edges, &graph.WebhookEdge{Cursor: ptr(cursor(lo + i)), Node: webhookModel(w)})
	}
	return conn, nil
}

func (q queryResolver) WebhookTypes(ctx context.Context, filters []*graph.WebhookTypeFieldGraphFilter, first *int, offset *int, after *string) (*graph.WebhookTypeConnection, error) {
	recs := make([]*webhookTypeRec, 0, len(WebhookTypes))
	for _, t := range WebhookTypes {
		recs = append(recs, &webhookTypeRec{key: t.Key, name: t.Name})
	}
	fs := toFilters(filters, func(f *graph.WebhookTypeFieldGraphFilter) filter {
		return filter{field: string(f.Field), op: f.Operation, value: f.Value, values: f.Values}
	})
	def, maxSize := q.sizes()
	items, p, err := window("WebhookType", recs, fs, webhookTypeGetters, first, offset, after, def, maxSize)
	if err != nil {
		return nil, err
	}
	conn := &graph.WebhookTypeConnection{PageInfo: p.info(), Edges: []*graph.WebhookTypeEdge{}}
	lo, _ := p.bounds()
	for i, t := range items {
		conn.Edges = append(conn.Edges, &graph.WebhookTypeEdge{Cursor: ptr(cursor(lo + i)),
			Node: &graph.WebhookType{ID: WebhookTypeID(t.key), Name: ptr(t.name)}})
	}
	return conn, nil
}

func (r *resolver) WebhookMutations() graph.WebhookMutationsResolver {
	return webhookMutationsResolver{r}
}

type webhookMutationsResolver struct{ *resolver }

func (mutationResolver) Webhooks(context.Context) (*graph.WebhookMutations, error) {
	return &graph.WebhookMutations{}, nil
}

func checkWebhookConfig(errs *verrs, cfg *string) {
	if cfg == nil || *cfg == "" {
		return
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(*cfg), &v); err != nil {
		errs.add("config", *cfg, "%s", err.Error())
	}
}

func (m webhookMutationsResolver) Create(ctx context.Context, obj *graph.WebhookMutations, in graph.WebhookCreateInput) (*graph.WebhookMutateResponse, error) {
	var errs verrs
	typeKey, ok := webhookTypeKey(in.WebhookTypeID)
	if !ok {
		errs.add("webhookTypeId", in.WebhookTypeID, "Unknown webhook type")
	}
	if strings.TrimSpace(in.Name) == "" {
		errs.add("name", in.Name, "Name must not be empty")
	}
	if !strings.HasPrefix(in.URL, "http://") && !strings.HasPrefix(in.URL, "https://") {
		errs.add("url", in.URL, "Enter a valid URL")
	}
	if !strings.Contains(in.Query, "$objectid") {
		errs.add("query", in.Query, "The query must take $objectid")
	}
	checkWebhookConfig(&errs, in.Config)
	if len(errs) > 0 {
		return &graph.WebhookMutateResponse{Errors: errs.list()}, nil
	}
	s := m.s
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	h := s.hookState()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	w := &webhookRec{key: h.next, name: in.Name, typeKey: typeKey, query: in.Query, url: in.URL,
		config: deref(in.Config), lifecycleState: "active"}
	for _, e := range in.NotificationEmails {
		w.emails = append(w.emails, deref(e))
	}
	h.recs[w.key] = w
	if !h.primed {
		h.prime(s.st)
	}
	return &graph.WebhookMutateResponse{Webhook: webhookModel(w), Errors: errs.list()}, nil
}

func (m webhookMutationsResolver) Update(ctx context.Context, obj *graph.WebhookMutations, in graph.WebhookUpdateInput) (*graph.WebhookMutateResponse, error) {
	var errs verrs
	h := m.s.hookState()
	h.mu.Lock()
	defer h.mu.Unlock()
	k, ok := keyOf(in.WebhookID, prefixWebhook)
	w := h.recs[k]
	if !ok || w == nil {
		errs.add("webhookId", in.WebhookID, "Webhook not found")
		return &graph.WebhookMutateResponse{Errors: errs.list()}, nil
	}
	checkWebhookConfig(&errs, in.Config)
	if in.Query != nil && !strings.Contains(*in.Query, "$objectid") {
		errs.add("query", *in.Query, "The query must take $objectid")
	}
	if len(errs) > 0 {
		return &graph.WebhookMutateResponse{Errors: errs.list()}, nil
	}
	if in.Name != nil {
		w.name = *in.Name
	}
	if in.Query != nil {
		w.query = *in.Query
	}
	if in.URL != nil {
		w.url = *in.URL
	}
	if in.Config != nil {
		w.config = *in.Config
	}
	if in.LifecycleState != nil {
		w.lifecycleState = string(*in.LifecycleState)
	}
	if in.NotificationEmails != nil {
		w.emails = w.emails[:0]
		for _, e := range in.NotificationEmails {
			w.emails = append(w.emails, deref(e))
		}
	}
	return &graph.WebhookMutateResponse{Webhook: webhookModel(w), Errors: errs.list()}, nil
}

// ---------------------------------------------------------------- change detection

// fingerprints of the records whose changes fire webhooks; updatedAt is left out,
// because detecting a change sets it.
func eventPrint(e *eventRec) string {
	c := *e
	c.updatedAt = time.Time{}
	return fmt.Sprintf("%+v", c)
}

func sessionPrint(s *sessionRec) string { return fmt.Sprintf("%+v", *s) }

// prime takes the current state as the baseline; callers hold st.mu and h.mu.
func (h *hooks) prime(st *state) {
	h.events, h.sess = map[int]string{}, map[int]string{}
	for k, e := range st.events {
		h.events[k] = eventPrint(e)
	}
	for k, s := range st.sessions {
		h.sess[k] = sessionPrint(s)
	}
	h.primed = true
}

type firing struct {
	typeKey, objectID string
	at                time.Time
}

// detectChanges compares the state with the last baseline, stamps changed events'
// updatedAt and fires the matching webhooks. It runs after every GraphQL request
// and control call; with no webhook registered it does nothing.
func (s *Server) detectChanges() {
	h := s.hookState()
	st := s.st
	st.mu.Lock()
	h.mu.Lock()
	if !h.primed || len(h.recs) == 0 {
		h.mu.Unlock()
		st.mu.Unlock()
		return
	}
	at := time.Now().UTC()
	var fire []firing
	for _, k := range sortedKeys(st.events) {
		e := st.events[k]
		fp := eventPrint(e)
		old, seen := h.events[k]
		if seen && old == fp {
			continue
		}
		h.events[k] = fp
		e.updatedAt = at
		typ := "event_updated"
		switch {
		case !seen:
			typ = "event_created"
		case e.lifecycleState == "cancelled" && !strings.Contains(old, "lifecycleState:cancelled"):
			typ = "event_cancelled"
		case e.lifecycleState == "published" && !strings.Contains(old, "lifecycleState:published"):
			typ = "event_published"
		}
		fire = append(fire, firing{typ, GlobalID(prefixEvent, k), at})
	}
	for k := range h.events {
		if st.events[k] == nil {
			delete(h.events, k)
			fire = append(fire, firing{"event_deleted", GlobalID(prefixEvent, k), at})
		}
	}
	for _, k := range sortedKeys(st.sessions) {
		ss := st.sessions[k]
		fp := sessionPrint(ss)
		old, seen := h.sess[k]
		if seen && old == fp {
			continue
		}
		h.sess[k] = fp
		if e := st.events[ss.eventKey]; e != nil {
			e.updatedAt = at // a session change is a change of its event
			h.events[ss.eventKey] = eventPrint(e)
		}
		typ := "session_updated"
		if !seen {
			typ = "session_created"
		}
		fire = append(fire, firing{typ, GlobalID(prefixSession, k), at})
	}
	for k := range h.sess {
		if st.sessions[k] == nil {
			delete(h.sess, k)
			fire = append(fire, firing{"session_deleted", GlobalID(prefixSession, k), at})
		}
	}
	var targets []webhookRec
	for _, k := range sortedKeys(h.recs) {
		if w := h.recs[k]; w.lifecycleState == "active" {
			targets = append(targets, *w)
		}
	}
	h.mu.Unlock()
	st.mu.Unlock()
	for _, f := range fire {
		for _, w := range targets {
			if w.typeKey == f.typeKey {
				s.deliver(w, f)
			}
		}
	}
}

// withChanges runs next, then fires the webhooks its changes call for.
func (s *Server) withChanges(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		next(w, r)
		if r.Method != http.MethodGet {
			s.detectChanges()
		}
	}
}

// deliver runs the webhook's query for the object (as the tenant, outside faults and
// request counting) and sends it, with retries, in the background.
func (s *Server) deliver(w webhookRec, f firing) {
	body, _ := json.Marshal(map[string]any{"query": w.query, "variables": map[string]string{"objectid": f.objectID}})
	rr := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, GraphQLPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	s.exec.Load().h.ServeHTTP(rr, req)
	var res struct {
		Data json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(rr.Body.Bytes(), &res)
	payload := res.Data
	if len(payload) == 0 {
		payload = json.RawMessage(`{"node":null}`)
	}
	var cfg any = map[string]any{}
	if w.config != "" {
		_ = json.Unmarshal([]byte(w.config), &cfg)
	}
	h := s.hookState()
	h.wg.Add(1)
	h.unsettled.Add(1)
	go func() {
		defer h.wg.Done()
		defer h.unsettled.Add(-1)
		h.mu.Lock()
		delays := h.delays
		h.mu.Unlock()
		if delays == nil {
			delays = s.opts.WebhookRetryDelays
		}
		for attempt := 1; ; attempt++ {
			env := map[string]any{
				"metadata": map[string]any{
					"webhook_id": GlobalID(prefixWebhook, w.key), "triggered_at": f.at.Format(time.RFC3339Nano),
					"sent_at": time.Now().UTC().Format(time.RFC3339Nano), "is_retry": attempt > 1,
					"instance": "admsim", "context": "graphql", "user": map[string]string{"email": "admsim@example.invalid"},
				},
				"payload":       payload,
				"configuration": cfg,
			}
			b, _ := json.Marshal(env)
			d := Delivery{WebhookID: GlobalID(prefixWebhook, w.key), Type: f.typeKey, ObjectID: f.objectID,
				TriggeredAt: f.at, Attempt: attempt, Body: b}
			d.Status, d.Error = s.post(w.url, b)
			h.mu.Lock()
			h.log = append(h.log, d)
			h.mu.Unlock()
			retry := d.Status == 0 || d.Status == http.StatusTooManyRequests || d.Status >= 500
			if !retry || attempt > len(delays) {
				if retry || d.Status >= 300 {
					s.log.Warn("admsim webhook not delivered", "webhook", w.name, "object", f.objectID, "status", d.Status, "error", d.Error)
				}
				return
			}
			select {
			case <-time.After(delays[attempt-1]):
			case <-h.stop:
				return
			}
		}
	}()
}

func (s *Server) post(url string, body []byte) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Administrate-Webhooks/1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, ""
}

// ---------------------------------------------------------------- control: changes made "in Administrate"

// eventChange is what POST /_control/events/<id> may change, as an administrator
// would in Administrate's UI.
type eventChange struct {
	LifecycleState *string `json:"lifecycleState,omitempty"` // draft, published, cancelled
	IsSoldOut      *bool   `json:"isSoldOut,omitempty"`
	MaxPlaces      *int    `json:"maxPlaces,omitempty"`
	LocationID     *string `json:"locationId,omitempty"`
	VenueID        *string `json:"venueId,omitempty"`
	// CustomFields sets values by definition id (e.g. the Web sale field's).
	CustomFields map[string]string `json:"customFields,omitempty"`
}

// sessionChange is what POST /_control/sessions/<id> may change.
type sessionChange struct {
	Title      *string `json:"title,omitempty"`
	LocationID *string `json:"locationId,omitempty"`
	VenueID    *string `json:"venueId,omitempty"`
	// Instructors replaces the session's instructor staff (contact ids).
	Instructors *[]string `json:"instructors,omitempty"`
}

func (s *Server) changeEvent(id string, c eventChange) error {
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	k, ok := keyOf(id, prefixEvent)
	e := st.events[k]
	if !ok || e == nil {
		return fmt.Errorf("no event %s", id)
	}
	if c.LifecycleState != nil {
		switch *c.LifecycleState {
		case "draft", "published", "cancelled":
		default:
			return fmt.Errorf("lifecycleState %q: want draft, published or cancelled", *c.LifecycleState)
		}
		e.lifecycleState = *c.LifecycleState
		if e.lifecycleState == "cancelled" && e.cancelledAt.IsZero() {
			e.cancelledAt = time.Now().UTC().Truncate(time.Second)
		}
	}
	if c.IsSoldOut != nil {
		e.isSoldOut = *c.IsSoldOut
	}
	if c.MaxPlaces != nil {
		e.maxPlaces = *c.MaxPlaces
	}
	if c.LocationID != nil {
		lk, ok := keyOf(*c.LocationID, prefixLocation)
		if !ok || st.locations[lk] == nil {
			return fmt.Errorf("no location %s", *c.LocationID)
		}
		e.locationKey = lk
	}
	if c.VenueID != nil {
		vk, ok := keyOf(*c.VenueID, prefixVenue)
		if !ok || st.venues[vk] == nil {
			return fmt.Errorf("no venue %s", *c.VenueID)
		}
		e.venueKey = vk
	}
	keys := make([]string, 0, len(c.CustomFields))
	for k := range c.CustomFields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, def := range keys {
		dk, ok := keyOf(def, prefixCustomField)
		if !ok || st.customFields[dk] == nil {
			return fmt.Errorf("no custom field definition %s", def)
		}
		e.customFields = mergeCF(e.customFields, []cfValue{{defKey: dk, value: c.CustomFields[def]}})
	}
	return nil
}

func (s *Server) changeSession(id string, c sessionChange) error {
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	k, ok := keyOf(id, prefixSession)
	ss := st.sessions[k]
	if !ok || ss == nil {
		return fmt.Errorf("no session %s", id)
	}
	if c.Title != nil {
		ss.title = *c.Title
	}
	if c.LocationID != nil {
		lk, ok := keyOf(*c.LocationID, prefixLocation)
		if !ok || st.locations[lk] == nil {
			return fmt.Errorf("no location %s", *c.LocationID)
		}
		ss.locationKey = lk
	}
	if c.VenueID != nil {
		vk, ok := keyOf(*c.VenueID, prefixVenue)
		if !ok || st.venues[vk] == nil {
			return fmt.Errorf("no venue %s", *c.VenueID)
		}
		ss.venueKey = vk
	}
	if c.Instructors != nil {
		kept := ss.staff[:0:0]
		for _, sr := range ss.staff {
			if sr.staffType != "instructor" {
				kept = append(kept, sr)
			}
		}
		for _, cid := range *c.Instructors {
			ck, ok := keyOf(cid, prefixContact)
			if !ok || st.contacts[ck] == nil {
				return fmt.Errorf("no contact %s", cid)
			}
			kept = append(kept, staffRec{key: st.newKey(prefixStaff), contactKey: ck, staffType: "instructor"})
		}
		ss.staff = kept
	}
	return nil
}

// ChangeEvent changes an event as an administrator would in Administrate (fields of
// eventChange as JSON) and fires the webhooks that change calls for.
func (s *Server) ChangeEvent(id string, change []byte) error {
	var c eventChange
	dec := json.NewDecoder(bytes.NewReader(change))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return fmt.Errorf("event change: %w", err)
	}
	if err := s.changeEvent(id, c); err != nil {
		return err
	}
	s.detectChanges()
	return nil
}

// ChangeSession changes a session (fields of sessionChange as JSON) and fires the
// webhooks that change calls for.
func (s *Server) ChangeSession(id string, change []byte) error {
	var c sessionChange
	dec := json.NewDecoder(bytes.NewReader(change))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return fmt.Errorf("session change: %w", err)
	}
	if err := s.changeSession(id, c); err != nil {
		return err
	}
	s.detectChanges()
	return nil
}

// serveChangeControl serves POST /_control/events/<id> and /_control/sessions/<id>;
// ok is false for other routes.
func (s *Server) serveChangeControl(w http.ResponseWriter, r *http.Request, route string) bool {
	kind, id, found := strings.Cut(route, "/")
	if !found || r.Method != http.MethodPost || (kind != "events" && kind != "sessions") {
		if route == "webhooks/deliveries" && r.Method == http.MethodGet {
			ds := s.WebhookDeliveries()
			if ds == nil {
				ds = []Delivery{}
			}
			writeJSON(w, http.StatusOK, ds)
			return true
		}
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		if kind == "events" {
			err = s.ChangeEvent(id, body)
		} else {
			err = s.ChangeSession(id, body)
		}
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return true
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// rebaseline takes a loaded or reset state as the new baseline, so a seed fires no
// webhooks; the caller holds st.mu.
func (s *Server) rebaseline() {
	h := s.hookState()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.primed {
		h.prime(s.st)
	}
}

func eventUpdatedAt(e *eventRec) time.Time {
	if e.updatedAt.After(e.createdAt) {
		return e.updatedAt
	}
	return e.createdAt
}

// remainingPlaces: the simulator books no learners, so every place is free until the
// event is sold out.
func remainingPlaces(e *eventRec) int {
	if e.isSoldOut {
		return 0
	}
	return e.maxPlaces
}
