package admsim

import (
	"sync"
	"time"
)

// Outcomes recorded for a GraphQL request.
const (
	OutcomeOK            = "ok"             // answered 200 without errors
	OutcomeGraphQLError  = "graphql_error"  // the document failed validation or execution
	OutcomeMutationError = "mutation_error" // a payload carried errors { label message value }
	OutcomeUnauthorized  = "unauthorized"   // 401: missing, unknown or expired bearer token
	OutcomeRateLimited   = "rate_limited"   // 429
	OutcomeServerError   = "server_error"   // injected 5xx (not executed)
	OutcomeOutage        = "outage"         // 503 during an outage window (not executed)
	OutcomeDropped       = "dropped"        // executed, then the connection was closed
	OutcomeDisabled      = "disabled"       // the operation name is disabled
	OutcomeCanceled      = "canceled"       // the client went away during injected latency
)

// Request is one recorded GraphQL request.
type Request struct {
	Seq       int            `json:"seq"`
	Time      time.Time      `json:"time"`
	Operation string         `json:"operation"`
	Kind      string         `json:"kind"` // query | mutation
	Variables map[string]any `json:"variables,omitempty"`
	Status    int            `json:"status"`
	Outcome   string         `json:"outcome"`
	Errors    []string       `json:"errors,omitempty"`
	Duration  time.Duration  `json:"duration"`
	// Fields are the root fields of the document: one for our single-op requests,
	// several for a batched one (Operation is then administrate.BatchOpName).
	Fields []Field `json:"fields,omitempty"`
}

// Executed reports whether the request reached the resolvers (its effects, if a
// mutation, are in the state).
func (r Request) Executed() bool {
	switch r.Outcome {
	case OutcomeOK, OutcomeGraphQLError, OutcomeMutationError, OutcomeDropped, OutcomePartial:
		return true
	}
	return false
}

type recorder struct {
	mu   sync.Mutex
	seq  int
	reqs []Request
}

func (r *recorder) add(req Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	req.Seq = r.seq
	r.reqs = append(r.reqs, req)
}

// Requests returns every recorded GraphQL request, oldest first.
func (s *Server) Requests() []Request {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return append([]Request(nil), s.rec.reqs...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.reqs = nil
}

// CallCount counts the calls of an operation ("" counts every request) that reached
// the resolvers, i.e. what Administrate would have processed; an operation inside a
// batched request counts once per root field that calls it.
func (s *Server) CallCount(operation string) int {
	n := 0
	for _, r := range s.Requests() {
		if !r.Executed() {
			continue
		}
		if operation == "" {
			n++
			continue
		}
		for _, op := range r.Operations() {
			if op == operation {
				n++
			}
		}
	}
	return n
}

// Operations names the operations of a request: its root fields' (a batched request
// names each field's), or its operation name.
func (r Request) Operations() []string {
	if len(r.Fields) < 2 {
		return []string{r.Operation}
	}
	out := make([]string, len(r.Fields))
	for i, f := range r.Fields {
		out[i] = f.Operation
	}
	return out
}

// OutcomeCounts counts recorded requests by outcome.
func (s *Server) OutcomeCounts() map[string]int {
	out := map[string]int{}
	for _, r := range s.Requests() {
		out[r.Outcome]++
	}
	return out
}

// OperationCounts counts recorded calls by operation name (all outcomes); a batched
// request counts each of its fields' operations.
func (s *Server) OperationCounts() map[string]int {
	out := map[string]int{}
	for _, r := range s.Requests() {
		for _, op := range r.Operations() {
			out[op]++
		}
	}
	return out
}
