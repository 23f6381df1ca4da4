package administrate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/Khan/genqlient/graphql"
)

// MultiFieldCheck is doctor's verdict on batched documents: whether the tenant
// answers a document of several aliased root fields, each on its own. The admwriter
// sends its session writes that way (ADMINISTRATE_BATCH).
type MultiFieldCheck struct {
	Checked bool
	OK      bool
	Fields  int
	Problem string
}

// batchReadLocations is a one-item page of locations as a batchable op: a harmless
// read to try a multi-field document with.
func batchReadLocations() BatchOp {
	return BatchOp{name: "Locations", query: Locations_Operation, vars: &__LocationsInput{First: 1},
		judge: func(data []byte) (error, *BatchOp) {
			var r LocationsResponse
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("administrate Locations: decode response: %w", err), nil
			}
			return nil, nil
		}}
}

// checkMultiField sends one document with two aliased reads and checks both answers.
func (c *Client) checkMultiField(ctx context.Context) MultiFieldCheck {
	ops := []BatchOp{batchReadLocations(), batchReadLocations()}
	chk := MultiFieldCheck{Checked: true, Fields: len(ops)}
	fail := func(format string, a ...any) MultiFieldCheck {
		chk.Problem = fmt.Sprintf(format, a...) + "; set ADMINISTRATE_BATCH=1 to send one write per request"
		return chk
	}
	bd, err := buildBatch(ops)
	if err != nil {
		return fail("%v", err)
	}
	data := map[string]json.RawMessage{}
	if err := c.MakeRequest(ctx, &graphql.Request{OpName: readBatchOpName, Query: bd.query, Variables: bd.vars}, &graphql.Response{Data: &data}); err != nil {
		return fail("a document with %d aliased fields was refused: %v", len(ops), err)
	}
	var missing []string
	for i, alias := range bd.alias {
		raw := data[alias]
		if len(raw) == 0 || string(raw) == "null" {
			missing = append(missing, alias)
			continue
		}
		whole, _ := json.Marshal(map[string]json.RawMessage{bd.root[i]: raw})
		if err, _ := ops[i].judge(whole); err != nil {
			return fail("field %s: %v", alias, err)
		}
	}
	if len(missing) > 0 {
		return fail("no answer for the aliased fields %s", strings.Join(missing, ", "))
	}
	chk.OK = true
	return chk
}
