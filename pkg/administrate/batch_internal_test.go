package administrate

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	gqlast "github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
)

// batchSamples has one op of every kind the builder accepts, keyed by constructor.
// TestBatchSamplesCoverEveryConstructor keeps it complete.
var batchSamples = map[string]func(i int) BatchOp{
	"BatchUpdateSession": func(i int) BatchOp {
		return BatchUpdateSession(fmt.Sprintf("U2Vzc2lvbjo%d", i), SessionUpdateInput{
			Title: fmt.Sprintf("Day %d", i), Start: NewLocalDateTime(2026, 9, 1, 9, 0, 0), End: NewLocalDateTime(2026, 9, 1, 17, 0, 0),
			TimeZoneName: "Europe/London",
		})
	},
	"BatchAddSessionStaff": func(i int) BatchOp {
		return BatchAddSessionStaff(fmt.Sprintf("U2Vzc2lvbjo%d", i), []string{"UGVyc29uOjE=", "UGVyc29uOjI="}, StaffTypeInstructor)
	},
	"BatchAddEventStaff": func(i int) BatchOp {
		return BatchAddEventStaff("Q291cnNlOjE=", fmt.Sprintf("UGVyc29uOj%d", i), StaffTypeAdministrator)
	},
	"BatchUpdateEventLifecycle": func(i int) BatchOp {
		// The kinds of lifecycle update in turn: publish, sold out, web sale.
		st, soldOut := EventLifecycleStatePublished, i%2 == 0
		ins := []EventUpdateInput{{LifecycleState: &st}, {IsSoldOut: &soldOut},
			{CustomFieldValues: []CustomFieldValueInput{{DefinitionKey: "Q3VzdG9tRmllbGQ6MQ==", Value: WebSaleValue(soldOut)}}}}
		return BatchUpdateEventLifecycle(fmt.Sprintf("Q291cnNlOj%d", i), ins[i%len(ins)])
	},
	"BatchAddEventPrice": func(i int) BatchOp {
		return BatchAddEventPrice(fmt.Sprintf("Q291cnNlOj%d", i/2), EventPrice{PriceLevelID: fmt.Sprintf("UHJpY2VMZXZlbDo%d", i%2),
			CurrencyID: "Q3VycmVuY3k6MQ==", Amount: MustDecimal("250.00")}, nil)
	},
	"BatchUpdateEvent": func(i int) BatchOp {
		// A correction's fields in turn: title and places, location and venue, a custom field.
		ins := []EventUpdateInput{{Title: fmt.Sprintf("CB1 26A London %d", i), MaxPlaces: 20 + i},
			{LocationId: "TG9jYXRpb246MQ==", VenueId: "VmVudWU6MQ=="},
			{CustomFieldValues: []CustomFieldValueInput{{DefinitionKey: "Q3VzdG9tRmllbGQ6Mg==", Value: "2026A"}}}}
		return BatchUpdateEvent(fmt.Sprintf("Q291cnNlOj%d", i), ins[i%len(ins)])
	},
	"BatchRemoveStaff": func(i int) BatchOp {
		return BatchRemoveStaff(fmt.Sprintf("U3RhZmY6%d", i))
	},
	"BatchDeleteEvent": func(i int) BatchOp {
		return BatchDeleteEvent(fmt.Sprintf("Q291cnNlOj%d", i))
	},
}

func TestBatchSamplesCoverEveryConstructor(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "batch.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Batch") || !fn.Name.IsExported() {
			continue
		}
		if _, ok := batchSamples[fn.Name.Name]; !ok {
			t.Errorf("%s builds batchable ops but batchSamples has no sample of it, so no document shape with it is validated", fn.Name.Name)
		}
	}
}

// TestBatchDocumentsValidate validates, against schema.graphql, every document shape
// the builder produces up to DefaultBatchMax fields: each kind alone at every length,
// every mix of kinds at every length (the kinds in turn, from each starting kind) and
// every ordered sequence of up to three ops. A document's validity depends only on
// which kinds meet (shared fragments, variable names, field merging), and each pair
// and triple of kinds in each order is among these. Its variables are validated too.
func TestBatchDocumentsValidate(t *testing.T) {
	schema, err := gqlparser.LoadSchema(&gqlast.Source{Name: "schema.graphql", Input: SchemaSDL})
	if err != nil {
		t.Fatal(err)
	}
	kinds := make([]string, 0, len(batchSamples))
	for k := range batchSamples {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)

	var shapes [][]string
	for n := 1; n <= DefaultBatchMax; n++ {
		for start := range kinds {
			same, mixed := make([]string, n), make([]string, n)
			for i := range n {
				same[i] = kinds[start]
				mixed[i] = kinds[(start+i)%len(kinds)]
			}
			shapes = append(shapes, same, mixed)
		}
	}
	var seqs func(prefix []string, left int)
	seqs = func(prefix []string, left int) {
		if len(prefix) > 0 {
			shapes = append(shapes, slices.Clone(prefix))
		}
		if left == 0 {
			return
		}
		for _, k := range kinds {
			seqs(append(prefix, k), left-1)
		}
	}
	seqs(nil, 3)

	for _, shape := range shapes {
		ops := make([]BatchOp, len(shape))
		for i, k := range shape {
			ops[i] = batchSamples[k](i)
		}
		bd, err := buildBatch(ops)
		if err != nil {
			t.Fatalf("%v: build: %v", shape, err)
		}
		doc, errs := gqlparser.LoadQuery(schema, bd.query)
		if len(errs) > 0 {
			t.Fatalf("%v: document does not validate: %v\n%s", shape, errs, bd.query)
		}
		if len(doc.Operations) != 1 || len(doc.Operations[0].SelectionSet) != len(ops) {
			t.Fatalf("%v: want one operation with %d root fields:\n%s", shape, len(ops), bd.query)
		}
		raw, _ := json.Marshal(bd.vars)
		var vars map[string]any
		_ = json.Unmarshal(raw, &vars)
		if _, err := validator.VariableValues(schema, doc.Operations[0], vars); err != nil {
			t.Fatalf("%v: variables do not validate: %v", shape, err)
		}
		for i, sel := range doc.Operations[0].SelectionSet {
			f := sel.(*gqlast.Field)
			if f.Alias != bd.alias[i] || f.Name != bd.root[i] {
				t.Fatalf("%v: field %d is %s: %s, want %s: %s", shape, i, f.Alias, f.Name, bd.alias[i], bd.root[i])
			}
		}
	}
	t.Logf("%d document shapes validated", len(shapes))
}

// TestBatchKeepsEachOperationsSelection checks that a batched field selects exactly
// what the generated operation selects, so the generated response types decode it.
func TestBatchKeepsEachOperationsSelection(t *testing.T) {
	op := batchSamples["BatchUpdateSession"](0)
	bd, err := buildBatch([]BatchOp{op, batchSamples["BatchAddSessionStaff"](1)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"op0: session", "update(sessionId: $op0_sessionId, input: $op0_input)", "op1: session", "addStaff(input: $op1_input)"} {
		if !strings.Contains(bd.query, want) {
			t.Errorf("document lacks %q:\n%s", want, bd.query)
		}
	}
	if strings.Count(bd.query, "fragment FieldErrorFields") != 1 {
		t.Errorf("the shared fragment should appear once:\n%s", bd.query)
	}
	var in map[string]any
	if err := json.Unmarshal(bd.vars["op0_input"], &in); err != nil || in["title"] != "Day 0" {
		t.Errorf("op0_input = %s (%v), want the first op's input", bd.vars["op0_input"], err)
	}
}
