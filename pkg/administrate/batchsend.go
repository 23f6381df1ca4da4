package administrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/Khan/genqlient/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// DefaultBatchMax is the default cap on root fields per batched request. A blended
// event of the real season has at most 10 sessions, each an update and a staff
// addition (20 fields), and no administrators: 32 keeps every event of that season
// in one request with headroom for more sessions or a few administrators. Administrate documents no limit on fields or complexity
// (only requests per IP); a tenant that refuses a document for its size is answered
// by splitting it (see Batch), and ADMINISTRATE_BATCH lowers the cap.
const DefaultBatchMax = 32

// BatchResult is what Batch did.
type BatchResult struct {
	// Errors holds one entry per op, nil when the op succeeded. An op whose request
	// failed without an answer (timeout, dropped connection, 5xx, a request-level
	// GraphQL error) has an *OutcomeUnknownError: it may have been applied.
	Errors []error
	// Requests is the number of HTTP requests sent (retries inside one call excluded).
	Requests int
}

// BatchMax returns the cap on fields per request in use.
func (c *Client) BatchMax() int {
	if n := int(c.batchLearned.Load()); n > 0 && n < c.opts.BatchMax {
		return n
	}
	return c.opts.BatchMax
}

// Batch sends ops, in order, as few requests as the cap allows: each request
// carries up to BatchMax ops as aliased root fields of one mutation (see batch.go),
// and a request with a single op is the op's own generated document, exactly as the
// single-op methods send it. Each op's answer is judged on its own. When Administrate
// refuses a document for its size the cap is halved, down to one op, and the client
// keeps the smaller cap.
func (c *Client) Batch(ctx context.Context, ops []BatchOp) BatchResult {
	res := BatchResult{Errors: make([]error, len(ops))}
	type pending struct {
		idx int
		op  BatchOp
	}
	todo := make([]pending, len(ops))
	for i, op := range ops {
		todo[i] = pending{i, op}
	}
	for len(todo) > 0 {
		var next []pending
		for len(todo) > 0 {
			n := min(len(todo), c.BatchMax())
			chunk := todo[:n]
			todo = todo[n:]
			group := make([]BatchOp, n)
			for i, p := range chunk {
				group[i] = p.op
			}
			outs := c.sendBatch(ctx, group, &res.Requests)
			for i, o := range outs {
				res.Errors[chunk[i].idx] = o.err
				if o.rest != nil {
					next = append(next, pending{chunk[i].idx, *o.rest})
				}
			}
		}
		todo = next
	}
	return res
}

type batchOutcome struct {
	err  error
	rest *BatchOp
}

// sendBatch sends ops as one request (splitting it when refused for size).
func (c *Client) sendBatch(ctx context.Context, ops []BatchOp, requests *int) []batchOutcome {
	outs := make([]batchOutcome, len(ops))
	if len(ops) == 1 {
		op := ops[0]
		var data json.RawMessage
		*requests++
		err := c.MakeRequest(ctx, &graphql.Request{OpName: op.name, Query: op.query, Variables: op.vars}, &graphql.Response{Data: &data})
		if err != nil {
			outs[0].err = err
			return outs
		}
		outs[0].err, outs[0].rest = op.judge(data)
		return outs
	}
	bd, err := buildBatch(ops)
	if err != nil {
		for i := range outs {
			outs[i].err = err
		}
		return outs
	}
	data := map[string]json.RawMessage{}
	*requests++
	err = c.MakeRequest(ctx, &graphql.Request{OpName: BatchOpName, Query: bd.query, Variables: bd.vars}, &graphql.Response{Data: &data})
	var ge *GraphQLError
	switch {
	case err == nil:
	case errors.As(err, &ge):
		if len(data) == 0 && sizeRefusal(ge.Errors) {
			// Halve the cap (at most half of this document) and send the ops in
			// chunks of whatever the cap is by the time each goes out, so one
			// refusal is not repeated by the next chunk.
			c.learnBatchMax(len(ops) / 2)
			c.log.Info("administrate refused a batched document for its size; splitting it", "fields", len(ops), "error", err)
			for start := 0; start < len(ops); {
				n := min(c.BatchMax(), len(ops)/2, len(ops)-start)
				copy(outs[start:], c.sendBatch(ctx, ops[start:start+n], requests))
				start += n
			}
			return outs
		}
	default:
		// No answer (or not one we can read): every op may or may not have been
		// applied. OutcomeUnknownError already says so; anything else (a refused
		// token, a 429 the retries did not outlast) was not applied at all.
		for i := range outs {
			outs[i].err = fmt.Errorf("%s in %s: %w", ops[i].name, BatchOpName, err)
		}
		return outs
	}
	for i, op := range ops {
		alias := bd.alias[i]
		raw, ok := data[alias]
		if ok && len(raw) > 0 && string(raw) != "null" {
			// Put the aliased field back under its own name: the generated response
			// type decodes it.
			whole, merr := json.Marshal(map[string]json.RawMessage{bd.root[i]: raw})
			if merr != nil {
				outs[i].err = merr
				continue
			}
			outs[i].err, outs[i].rest = op.judge(whole)
			continue
		}
		if fe := fieldErrors(ge, alias); len(fe) > 0 {
			// The field itself failed (a resolver error on its path): rejected, as the
			// same error on a single-op request would be.
			outs[i].err = &GraphQLError{Operation: op.name, StatusCode: ge.StatusCode, Errors: fe}
			continue
		}
		// Neither an answer nor an error of its own: the request as a whole failed.
		outs[i].err = &OutcomeUnknownError{Operation: op.name, Err: requestError(err, alias)}
	}
	return outs
}

func (c *Client) learnBatchMax(n int) {
	n = max(n, 1)
	for {
		cur := c.batchLearned.Load()
		if (cur > 0 && cur <= int64(n)) || c.batchLearned.CompareAndSwap(cur, int64(n)) {
			return
		}
	}
}

// fieldErrors returns the errors whose path starts at alias.
func fieldErrors(ge *GraphQLError, alias string) gqlerror.List {
	if ge == nil {
		return nil
	}
	var out gqlerror.List
	for _, e := range ge.Errors {
		if len(e.Path) > 0 {
			if k, ok := e.Path[0].(ast.PathName); ok && string(k) == alias {
				out = append(out, e)
			}
		}
	}
	return out
}

func requestError(err error, alias string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("no result for %s in the answer", alias)
}

// sizeRefusal recognises a request-level refusal of a document for its size. The
// wording of a real refusal is not known [I]; these are the usual servers' words
// (complexity, depth, too many fields or aliases) and the simulator's.
func sizeRefusal(errs gqlerror.List) bool {
	for _, e := range errs {
		if len(e.Path) > 0 {
			continue
		}
		m := strings.ToLower(e.Message)
		for _, w := range []string{"complexity", "too complex", "too many", "too large", "exceeds"} {
			if strings.Contains(m, w) {
				return true
			}
		}
		if code, _ := e.Extensions["code"].(string); strings.Contains(strings.ToUpper(code), "COMPLEX") || strings.Contains(strings.ToUpper(code), "TOO_MANY") {
			return true
		}
	}
	return false
}

var operationsByField = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	ops, err := ourOperations()
	if err != nil {
		return out
	}
	for _, op := range ops {
		key := op.kind + " " + op.field
		if _, dup := out[key]; !dup {
			out[key] = op.OperationName
		}
	}
	return out
})

// operationsByShape keys each generated operation by its root path and the shape of
// its root field's selection (selectionShape): UpdateEvent and UpdateEventLifecycle
// both call event.update and differ only in what they select.
var operationsByShape = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	ops, err := ourOperations()
	if err != nil {
		return out
	}
	for _, op := range ops {
		q, err := parser.ParseQuery(&ast.Source{Input: op.Query})
		if err != nil || len(q.Operations) == 0 || len(q.Operations[0].SelectionSet) != 1 {
			continue
		}
		key := op.kind + " " + op.field + " " + selectionShape(q.Operations[0].SelectionSet)
		if _, dup := out[key]; !dup {
			out[key] = op.OperationName
		}
	}
	return out
})

// selectionShape writes a selection without aliases and arguments.
func selectionShape(set ast.SelectionSet) string {
	var b strings.Builder
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			b.WriteString(s.Name)
			if len(s.SelectionSet) > 0 {
				b.WriteString("{" + selectionShape(s.SelectionSet) + "}")
			}
		case *ast.FragmentSpread:
			b.WriteString("..." + s.Name)
		case *ast.InlineFragment:
			b.WriteString("...on " + s.TypeCondition + "{" + selectionShape(s.SelectionSet) + "}")
		}
		b.WriteString(" ")
	}
	return b.String()
}

// OperationForRootField names the generated operation a root field of a batched
// document comes from (kind "mutation" or "query"), telling apart operations that
// call the same field by what they select; "" if none does. The simulator uses it
// to count the operations inside a batched document.
func OperationForRootField(kind string, f *ast.Field) string {
	if f == nil {
		return ""
	}
	path := rootPath(ast.SelectionSet{f}, kind == string(ast.Mutation))
	if op := operationsByShape()[kind+" "+path+" "+selectionShape(ast.SelectionSet{f})]; op != "" {
		return op
	}
	return OperationForField(kind, path)
}

// OperationForField names the generated operation that calls a root path such as
// "session.update" (kind "mutation") or "locations" (kind "query"), "" if none does.
// The simulator uses it to count the operations inside a batched document.
func OperationForField(kind, path string) string { return operationsByField()[kind+" "+path] }
