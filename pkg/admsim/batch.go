package admsim

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"admsync/pkg/administrate"
)

// Batched documents. The admwriter sends several writes as aliased root fields of
// one mutation (pkg/administrate batch.go). The simulator counts requests and
// fields, refuses a document with more root fields than Faults.MaxFields the way a
// server refuses a too complex query (a request-level error, nothing executed), and
// can fail a batched request part-way: apply its first BatchApply fields, then
// answer 500 or drop the connection (Faults.BatchFailures, BatchDrop).

// Field is one root field of a recorded request.
type Field struct {
	Alias string `json:"alias,omitempty"`
	// Path is the field called, e.g. "session.update" or "locations".
	Path string `json:"path"`
	// Operation is our generated operation that calls Path (UpdateSession, …); for
	// a request with one root field, the request's operation name.
	Operation string `json:"operation"`
	// Variables are the request's variables this field uses, with the per-alias
	// prefix removed (set for batched requests only; see Request.Variables).
	Variables map[string]any `json:"variables,omitempty"`
}

// OutcomeTooLarge is a document refused for having more root fields than MaxFields.
const OutcomeTooLarge = "too_large"

// OutcomePartial is a batched request that applied only its first fields and then
// failed with 500 (a BatchFailures fault).
const OutcomePartial = "partial"

// rootFields lists the root fields of the operation op of doc.
func rootFields(op *ast.OperationDefinition, name string, vars map[string]any) []Field {
	if op == nil {
		return nil
	}
	var out []Field
	var fields []*ast.Field
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		fields = append(fields, f)
		path := f.Name
		if op.Operation == ast.Mutation {
			for _, inner := range f.SelectionSet {
				if g, ok := inner.(*ast.Field); ok && g.Name != "__typename" {
					path += "." + g.Name
					break
				}
			}
		}
		out = append(out, Field{Alias: f.Alias, Path: path})
	}
	for i := range out {
		if len(out) == 1 {
			out[i].Operation = name
			continue
		}
		out[i].Operation = administrate.OperationForRootField(string(op.Operation), fields[i])
		if out[i].Operation == "" {
			out[i].Operation = out[i].Path
		}
		if out[i].Alias != "" {
			prefix := out[i].Alias + "_"
			for k, v := range vars {
				if rest, ok := strings.CutPrefix(k, prefix); ok {
					if out[i].Variables == nil {
						out[i].Variables = map[string]any{}
					}
					out[i].Variables[rest] = v
				}
			}
		}
	}
	return out
}

type applyLimitKey struct{}

// withApplyLimit makes the executor run only the first n root fields.
func withApplyLimit(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, applyLimitKey{}, n)
}

// gateRootFields skips the root fields past the request's apply limit: they are
// neither resolved nor applied.
func gateRootFields(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	limit, ok := ctx.Value(applyLimitKey{}).(int)
	if !ok {
		return next(ctx)
	}
	rc := graphql.GetRootFieldContext(ctx)
	oc := graphql.GetOperationContext(ctx)
	if rc == nil || oc == nil || oc.Operation == nil {
		return next(ctx)
	}
	for i, sel := range oc.Operation.SelectionSet {
		if f, ok := sel.(*ast.Field); ok && f.Alias == rc.Field.Alias {
			if i >= limit {
				return graphql.Null
			}
			break
		}
	}
	return next(ctx)
}

// tooManyFields refuses a document over the cap, as a request-level error.
func tooManyFields(w http.ResponseWriter, n, maxFields int) string {
	msg := fmt.Sprintf("query complexity too high: %d root fields, at most %d allowed", n, maxFields)
	writeJSONErrorCode(w, http.StatusBadRequest, msg, "QUERY_TOO_COMPLEX")
	return msg
}

func writeJSONErrorCode(w http.ResponseWriter, status int, msg, code string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"message": msg, "extensions": map[string]string{"code": code}}}})
}

// takeBatchFailure reports whether this batched mutation is to fail part-way.
func (s *Server) takeBatchFailure() (applied int, drop, ok bool) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if s.batchFailLeft <= 0 {
		return 0, false, false
	}
	s.batchFailLeft--
	return s.faults.BatchApply, s.faults.BatchDrop, true
}

// RequestCount counts the recorded requests.
func (s *Server) RequestCount() int { return len(s.Requests()) }

// FieldCount counts the root fields of the recorded requests that reached the
// resolvers: the operations Administrate executed (or, for a partial failure, was
// asked to).
func (s *Server) FieldCount() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Executed() {
			n += max(len(r.Fields), 1)
		}
	}
	return n
}

// BatchedCount counts recorded requests with more than one root field.
func (s *Server) BatchedCount() int {
	n := 0
	for _, r := range s.Requests() {
		if len(r.Fields) > 1 {
			n++
		}
	}
	return n
}
