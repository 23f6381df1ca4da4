package admsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim/internal/graph"
	"admsync/pkg/defaults"

	_ "time/tzdata" // time zones must resolve the same on every machine the simulator runs on
)

// Routes served by Server.
const (
	GraphQLPath = "/graphql"
	TokenPath   = "/oauth/token"
	ControlPath = "/_control"
)

// Options configures a simulator. The zero value is usable: default credentials, a one-
// hour token lifetime, an empty tenant and no faults.
type Options struct {
	ClientID     string        // default "admsim-client"
	ClientSecret string        // default "admsim-secret"
	TokenTTL     time.Duration // default 1h; expires_in is rounded up to whole seconds

	Seed *Seed // initial state; nil starts empty (the binary uses DefaultSeed)

	DefaultPageSize int // page size when a list is asked for without first; default 100
	MaxPageSize     int // larger first values are capped; default 500

	Faults Faults // initial faults; change them later with SetFaults or /_control/faults

	// RandSeed seeds the fault randomness (error ratio, jitter); 0 picks a fixed default
	// so runs are reproducible.
	RandSeed uint64

	Logger *slog.Logger // default: discard

	// WebhookRetryDelays are the waits before each retry of a webhook delivery that got
	// no answer, 429 or a 5xx (default: Administrate's 30s, 1m, 2m).
	WebhookRetryDelays []time.Duration
}

func (o *Options) defaults() {
	if o.ClientID == "" {
		o.ClientID = "admsim-client"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "admsim-secret"
	}
	defaults.Positive(&o.TokenTTL, time.Hour)
	defaults.Positive(&o.DefaultPageSize, 100)
	defaults.Positive(&o.MaxPageSize, 500)
	if o.RandSeed == 0 {
		o.RandSeed = 20260901
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.WebhookRetryDelays == nil {
		o.WebhookRetryDelays = []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}
	}
}

// Server is the simulator: an http.Handler serving GraphQL, OAuth and control routes.
// All methods are safe for concurrent use.
type Server struct {
	opts Options
	st   *state
	log  *slog.Logger
	mux  *http.ServeMux

	exec atomic.Pointer[execHandler] // rebuilt when the set of disabled fields changes

	faultMu  sync.Mutex
	faults   Faults
	rng      *rand.Rand
	window   []time.Time // request times inside the rate-limit window
	dropLeft int
	// batchFailLeft counts the batched requests still to fail part-way.
	batchFailLeft int

	tokens tokenStore
	rec    recorder

	hooksOnce sync.Once
	hooks     *hooks // webhooks.go
}

type execHandler struct {
	h              http.Handler
	disabledFields []string // schema paths removed from the served schema
	disabledOps    []string // operation names refused at request time
}

// New builds a simulator.
func New(opts Options) (*Server, error) {
	opts.defaults()
	s := &Server{opts: opts, st: newState(), log: opts.Logger, rng: rand.New(rand.NewPCG(opts.RandSeed, opts.RandSeed>>1|1))}
	s.tokens.issued = map[string]time.Time{}
	if opts.Seed != nil {
		if err := s.Load(*opts.Seed); err != nil {
			return nil, err
		}
	}
	if err := s.SetFaults(opts.Faults); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc(GraphQLPath, s.withChanges(s.serveGraphQL))
	s.mux.HandleFunc(TokenPath, s.serveToken)
	s.mux.HandleFunc(ControlPath, s.withChanges(s.serveControl))
	s.mux.HandleFunc(ControlPath+"/", s.withChanges(s.serveControl))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Credentials returns the client id and secret the token endpoint accepts.
func (s *Server) Credentials() (clientID, clientSecret string) {
	return s.opts.ClientID, s.opts.ClientSecret
}

// Load adds the records of seed to the current state (ids in the seed are kept).
func (s *Server) Load(seed Seed) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if err := s.st.apply(seed); err != nil {
		return fmt.Errorf("load seed: %w", err)
	}
	s.rebaseline()
	return nil
}

// Reset empties the state (recorded requests and issued tokens are kept).
func (s *Server) Reset() {
	fresh := newState()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	fresh.mu = sync.Mutex{}
	s.st.next, s.st.customFields, s.st.currencies, s.st.priceLevels = fresh.next, fresh.customFields, fresh.currencies, fresh.priceLevels
	s.st.locations, s.st.venues, s.st.contacts, s.st.prices = fresh.locations, fresh.venues, fresh.contacts, fresh.prices
	s.st.courseTemplates, s.st.events, s.st.sessions = fresh.courseTemplates, fresh.events, fresh.sessions
	s.rebaseline()
}

// Dump returns the whole state as a Seed with readable ids.
func (s *Server) Dump() Seed {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.dump()
}

// buildExec builds the gqlgen handler serving the schema minus the disabled fields.
func (s *Server) buildExec(disabled []string) (*execHandler, error) {
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: administrate.SchemaSDL})
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	eh := &execHandler{}
	for _, d := range disabled {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		if removeField(schema, d) {
			eh.disabledFields = append(eh.disabledFields, d)
		} else if strings.Contains(d, ".") {
			return nil, fmt.Errorf("disable %q: no such schema field", d)
		} else {
			eh.disabledOps = append(eh.disabledOps, d)
		}
	}
	es := graph.NewExecutableSchema(graph.Config{Resolvers: &resolver{s: s}, Schema: schema})
	srv := handler.New(es)
	srv.AddTransport(transport.POST{})
	srv.Use(extension.Introspection{})
	srv.AroundRootFields(gateRootFields)
	eh.h = srv
	return eh, nil
}

// removeField deletes what path names from the schema: a field "Type.field" (e.g.
// "Event.sessions"), "namespace.field" for a mutation namespace (e.g.
// "event.createBlended"), a root field ("locations", "Mutation.venue"), an argument
// "Type.field(arg)" (e.g. "Event.sessions(first)"), an input field
// ("LMSEventCreateInput.maxPlaces") or an enum value ("ContactField.isAdmin").
func removeField(schema *ast.Schema, path string) bool {
	path, arg, hasArg := strings.Cut(path, "(")
	if hasArg {
		arg = strings.TrimSuffix(arg, ")")
	}
	head, field, nested := strings.Cut(path, ".")
	var def *ast.Definition
	switch {
	case !nested:
		if hasArg {
			return false
		}
		return dropField(schema.Query, head) || dropField(schema.Mutation, head)
	case schema.Types[head] != nil:
		def = schema.Types[head]
	case head == "query":
		def = schema.Query
	case schema.Mutation != nil && schema.Mutation.Fields.ForName(head) != nil:
		def = schema.Types[schema.Mutation.Fields.ForName(head).Type.Name()]
	}
	if def == nil {
		return false
	}
	if hasArg {
		return dropArg(def, field, arg)
	}
	if def.Kind == ast.Enum {
		return dropEnumValue(def, field)
	}
	return dropField(def, field)
}

func dropField(def *ast.Definition, name string) bool {
	if def == nil {
		return false
	}
	for i, f := range def.Fields {
		if f.Name == name {
			def.Fields = append(def.Fields[:i:i], def.Fields[i+1:]...)
			return true
		}
	}
	return false
}

func dropArg(def *ast.Definition, field, arg string) bool {
	f := def.Fields.ForName(field)
	if f == nil {
		return false
	}
	for i, a := range f.Arguments {
		if a.Name == arg {
			f.Arguments = append(f.Arguments[:i:i], f.Arguments[i+1:]...)
			return true
		}
	}
	return false
}

func dropEnumValue(def *ast.Definition, value string) bool {
	for i, v := range def.EnumValues {
		if v.Name == value {
			def.EnumValues = append(def.EnumValues[:i:i], def.EnumValues[i+1:]...)
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- GraphQL route

type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	var req gqlRequest
	_ = json.Unmarshal(body, &req) // gqlgen reports malformed bodies itself
	op, kind, opDef := operationOf(req)
	entry := Request{Time: start, Operation: op, Kind: kind, Variables: req.Variables, Fields: rootFields(opDef, op, req.Variables)}
	finish := func(status int, outcome string, errs ...string) {
		entry.Status, entry.Outcome, entry.Errors, entry.Duration = status, outcome, errs, time.Since(start)
		s.rec.add(entry)
		s.log.Debug("admsim request", "operation", op, "status", status, "outcome", outcome, "duration", entry.Duration)
	}

	f := s.Faults()
	if err := s.sleepLatency(r.Context(), f); err != nil {
		finish(0, OutcomeCanceled)
		return
	}
	if !f.OutageUntil.IsZero() && time.Now().Before(f.OutageUntil) {
		writeJSONError(w, http.StatusServiceUnavailable, "simulated outage")
		finish(http.StatusServiceUnavailable, OutcomeOutage)
		return
	}
	if wait, limited := s.rateLimited(f); limited {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		writeJSONError(w, http.StatusTooManyRequests, "rate limit exceeded")
		finish(http.StatusTooManyRequests, OutcomeRateLimited)
		return
	}
	if !s.tokens.valid(bearer(r), time.Now()) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSONError(w, http.StatusUnauthorized, "invalid or expired access token")
		finish(http.StatusUnauthorized, OutcomeUnauthorized)
		return
	}
	if s.serverError(f) {
		writeJSONError(w, f.ErrorStatus, "simulated server error")
		finish(f.ErrorStatus, OutcomeServerError)
		return
	}
	eh := s.exec.Load()
	for _, d := range eh.disabledOps {
		if d == op {
			writeJSONError(w, http.StatusBadRequest, "operation "+op+" is not available")
			finish(http.StatusBadRequest, OutcomeDisabled, "operation disabled")
			return
		}
	}

	if f.MaxFields > 0 && len(entry.Fields) > f.MaxFields {
		msg := tooManyFields(w, len(entry.Fields), f.MaxFields)
		finish(http.StatusBadRequest, OutcomeTooLarge, msg)
		return
	}
	ctx := r.Context()
	partial, partialDrop := false, false
	if kind == "mutation" && len(entry.Fields) > 1 {
		var applied int
		if applied, partialDrop, partial = s.takeBatchFailure(); partial {
			ctx = withApplyLimit(ctx, applied)
		}
	}

	// Execute into a buffer: the outcome is recorded before anything reaches the wire,
	// and "apply then drop" needs the mutation applied but the answer withheld.
	rr := httptest.NewRecorder()
	inner := r.Clone(ctx)
	inner.Body = io.NopCloser(bytes.NewReader(body))
	inner.ContentLength = int64(len(body))
	eh.h.ServeHTTP(rr, inner)
	status := rr.Code
	if status == http.StatusUnprocessableEntity {
		status = http.StatusBadRequest // Administrate answers invalid documents with 400 [I]
	}
	outcome, errs := classify(rr.Body.Bytes())

	if partial {
		if partialDrop {
			finish(status, OutcomeDropped, errs...)
			dropConnection(w)
			return
		}
		writeJSONError(w, http.StatusInternalServerError, "simulated failure part-way through a batched request")
		finish(http.StatusInternalServerError, OutcomePartial, errs...)
		return
	}
	if kind == "mutation" && s.takeDrop(entry.Operations()) {
		finish(status, OutcomeDropped, errs...)
		dropConnection(w)
		return
	}
	for k, v := range rr.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(rr.Body.Bytes())
	finish(status, outcome, errs...)
}

// operationOf names the operation of a request: operationName, else the first named
// operation in the document; kind is "query" or "mutation" ("" if unparsable).
func operationOf(req gqlRequest) (name, kind string, op *ast.OperationDefinition) {
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil {
		return req.OperationName, "", nil
	}
	for _, o := range doc.Operations {
		if req.OperationName == "" || o.Name == req.OperationName {
			name = o.Name
			if name == "" {
				name = req.OperationName
			}
			return name, string(o.Operation), o
		}
	}
	return req.OperationName, "", nil
}

// classify reads a GraphQL response body for the recorder.
func classify(body []byte) (string, []string) {
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return OutcomeGraphQLError, []string{"unparsable response"}
	}
	if len(resp.Errors) > 0 {
		msgs := make([]string, 0, len(resp.Errors))
		for _, e := range resp.Errors {
			msgs = append(msgs, e.Message)
		}
		return OutcomeGraphQLError, msgs
	}
	if msgs := payloadErrors(resp.Data); len(msgs) > 0 {
		return OutcomeMutationError, msgs
	}
	return OutcomeOK, nil
}

// payloadErrors finds non-empty mutation payload "errors" lists anywhere in data.
func payloadErrors(data json.RawMessage) []string {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(x any) {
		m, ok := x.(map[string]any)
		if !ok {
			return
		}
		for k, child := range m {
			if list, ok := child.([]any); ok && k == "errors" {
				for _, e := range list {
					if em, ok := e.(map[string]any); ok {
						out = append(out, fmt.Sprintf("%v: %v", em["label"], em["message"]))
					}
				}
				continue
			}
			walk(child)
		}
	}
	walk(v)
	return out
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"message": msg}}})
}

// dropConnection closes the client connection without an HTTP response, the way a
// crashed proxy or a reset would.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func now() time.Time { return time.Now() }
