package administrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
)

// Several writes in one request. GraphQL executes the root fields of a mutation
// document one after another, each with its own result and errors, and Administrate
// counts requests, not fields, against its rate limit. So independent writes (session
// updates, staff additions) go out as aliased root fields of one document:
//
//	mutation WriteBatch($op0_sessionId: ID!, $op0_input: SessionUpdateInput!, $op1_input: SessionStaffInput!) {
//		op0: session { update(sessionId: $op0_sessionId, input: $op0_input) { … } }
//		op1: session { addStaff(input: $op1_input) { … } }
//	}
//
// The document is assembled from genqlient's generated operation documents (the ones
// schema.graphql validates at generate time and doctor validates against the tenant):
// each operation's single root field gets an alias and its variables a per-alias
// prefix; shared fragments are written once. Nothing is hand-written, and
// TestBatchDocumentsValidate validates every shape the builder can produce.

// BatchOpName is the operation name of every batched mutation document;
// readBatchOpName that of a batched query.
const (
	BatchOpName     = "WriteBatch"
	readBatchOpName = "ReadBatch"
)

// BatchOp is one write that may share a request with others. Build it with the
// Batch* constructors below; the zero value is not usable.
type BatchOp struct {
	name  string // the generated operation, e.g. UpdateSession
	query string // its generated document
	vars  any    // its generated variables struct
	// judge reads the op's answer, given as the generated response's JSON (the
	// aliased root field put back under its own name). It returns the op's error
	// and, when part of the op remains to be sent, the op that sends the rest.
	judge func(data []byte) (error, *BatchOp)
}

// Name is the generated operation the op sends (UpdateSession, AddSessionStaff, …).
func (o BatchOp) Name() string { return o.name }

// BatchUpdateSession is session.update as a batchable op.
func BatchUpdateSession(sessionID string, in SessionUpdateInput) BatchOp {
	return BatchOp{name: "UpdateSession", query: UpdateSession_Operation,
		vars: &__UpdateSessionInput{SessionId: sessionID, Input: in},
		judge: func(data []byte) (error, *BatchOp) {
			var r UpdateSessionResponse
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("administrate UpdateSession: decode response: %w", err), nil
			}
			return mutationError("UpdateSession", r.Session.Update.Errors, ""), nil
		}}
}

// BatchAddSessionStaff is session.addStaff as a batchable op. As with
// AddSessionStaff, contacts Administrate reports as already staff count as added and
// the rest are sent again (in a later request).
func BatchAddSessionStaff(sessionID string, contactIDs []string, staffType StaffType) BatchOp {
	todo := slices.Clone(contactIDs)
	return BatchOp{name: "AddSessionStaff", query: AddSessionStaff_Operation,
		vars: &__AddSessionStaffInput{Input: SessionStaffInput{SessionId: sessionID, ContactIds: todo, StaffType: staffType}},
		judge: func(data []byte) (error, *BatchOp) {
			var r AddSessionStaffResponse
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("administrate AddSessionStaff: decode response: %w", err), nil
			}
			perr := mutationError("AddSessionStaff", r.Session.AddStaff.Errors, "")
			if perr == nil || !IsAlreadyStaff(perr) {
				return perr, nil
			}
			left := remainingStaff(todo, perr.(*MutationError))
			if len(left) == 0 || len(left) == len(todo) {
				// All already staff, or the answer named none of them: done rather than loop.
				return nil, nil
			}
			rest := BatchAddSessionStaff(sessionID, left, staffType)
			return nil, &rest
		}}
}

// BatchAddEventStaff is event.addStaff for one contact as a batchable op; "already
// staff" counts as added.
func BatchAddEventStaff(eventID, contactID string, staffType StaffType) BatchOp {
	return BatchOp{name: "AddEventStaff", query: AddEventStaff_Operation,
		vars: &__AddEventStaffInput{Input: EventStaffInput{EventId: eventID, ContactId: contactID, StaffType: staffType}},
		judge: func(data []byte) (error, *BatchOp) {
			var r AddEventStaffResponse
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("administrate AddEventStaff: decode response: %w", err), nil
			}
			perr := mutationError("AddEventStaff", r.Event.AddStaff.Errors, "")
			if IsAlreadyStaff(perr) {
				return nil, nil
			}
			return perr, nil
		}}
}

// BatchUpdateEvent is a correction's event.update (UpdateEvent: only the fields set
// in in are sent) as a batchable op.
func BatchUpdateEvent(eventID string, in EventUpdateInput) BatchOp {
	return BatchOp{name: "UpdateEvent", query: UpdateEvent_Operation,
		vars: &__UpdateEventInput{EventId: eventID, Input: in},
		judge: func(data []byte) (error, *BatchOp) {
			var r UpdateEventResponse
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("administrate UpdateEvent: decode response: %w", err), nil
			}
			return mutationError("UpdateEvent", r.Event.Update.Errors, ""), nil
		}}
}

// BatchRemoveStaff is event.removeStaff for one Staff id (of the event or of one of
// its sessions) as a batchable op.
func BatchRemoveStaff(staffID string) BatchOp {
	return BatchOp{name: "RemoveStaff", query: RemoveStaff_Operation,
		vars: &__RemoveStaffInput{Input: EventRemoveStaffInput{StaffId: staffID}},
		judge: func(data []byte) (error, *BatchOp) {
			var r RemoveStaffResponse
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("administrate RemoveStaff: decode response: %w", err), nil
			}
			return mutationError("RemoveStaff", r.Event.RemoveStaff.Errors, ""), nil
		}}
}

// BatchUpdateEventLifecycle is event.update with the lifecycle fields set in in
// (publish, sold out, web sale: see PublishEvent, SetSoldOut, SetWebSale) as a
// batchable op. Setting a value Administrate already has changes nothing, so the op
// is safe to send again after an unknown outcome.
func BatchUpdateEventLifecycle(eventID string, in EventUpdateInput) BatchOp {
	return BatchOp{name: "UpdateEventLifecycle", query: UpdateEventLifecycle_Operation,
		vars: &__UpdateEventLifecycleInput{EventId: eventID, Input: in},
		judge: func(data []byte) (error, *BatchOp) {
			var r UpdateEventLifecycleResponse
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("administrate UpdateEventLifecycle: decode response: %w", err), nil
			}
			return mutationError("UpdateEventLifecycle", r.Event.Update.Errors, ""), nil
		}}
}

// BatchAddEventPrice is event.addPrices for one price as a batchable op. When the
// op succeeds, *priceID (if priceID is not nil) holds the new price's id, set before
// Batch returns. A price the event already has for the level and financial unit
// answers *MutationError matching IsPriceExists, as AddEventPrice does.
func BatchAddEventPrice(eventID string, p EventPrice, priceID *string) BatchOp {
	return BatchOp{name: "AddEventPrices", query: AddEventPrices_Operation,
		vars: &__AddEventPricesInput{Input: EventAddPricesInput{EventId: eventID, PriceLevelId: p.PriceLevelID,
			FinancialUnitId: p.CurrencyID, Amount: p.Amount}},
		judge: func(data []byte) (error, *BatchOp) {
			var r AddEventPricesResponse
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("administrate AddEventPrices: decode response: %w", err), nil
			}
			if perr := mutationError("AddEventPrices", r.Event.AddPrices.Errors, ""); perr != nil {
				return perr, nil
			}
			if len(r.Event.AddPrices.Prices) == 0 {
				return fmt.Errorf("administrate AddEventPrices: no price and no errors in the answer"), nil
			}
			if priceID != nil {
				*priceID = r.Event.AddPrices.Prices[0].Id
			}
			return nil, nil
		}}
}

// BatchDeleteEvent is event.delete for one event as a batchable op; as with
// DeleteEvent, an event that no longer exists answers ErrNotFound.
func BatchDeleteEvent(eventID string) BatchOp {
	return BatchOp{name: "DeleteEvents", query: DeleteEvents_Operation,
		vars: &__DeleteEventsInput{Input: EventDeleteInput{EventIds: []string{eventID}}},
		judge: func(data []byte) (error, *BatchOp) {
			var r DeleteEventsResponse
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("administrate DeleteEvents: decode response: %w", err), nil
			}
			return deleteError(eventID, mutationError("DeleteEvents", r.Event.Delete.Errors, "")), nil
		}}
}

func remainingStaff(todo []string, me *MutationError) []string {
	var left []string
	for _, id := range todo {
		if !slices.ContainsFunc(me.Errors, func(f FieldError) bool { return f.Value == id }) {
			left = append(left, id)
		}
	}
	return left
}

// batchDoc is one assembled document: its text, its variables and, per op, the
// alias of its root field and the root field's own name.
type batchDoc struct {
	query string
	vars  map[string]json.RawMessage
	alias []string
	root  []string
}

// batchAlias names op i's root field; its variables are prefixed with it and "_".
func batchAlias(i int) string { return "op" + strconv.Itoa(i) }

// buildBatch assembles ops into one mutation document.
func buildBatch(ops []BatchOp) (*batchDoc, error) {
	out := &ast.OperationDefinition{Operation: ast.Mutation, Name: BatchOpName}
	if len(ops) > 0 && strings.HasPrefix(strings.TrimSpace(ops[0].query), "query") {
		// Reads can be combined the same way (doctor checks the tenant accepts it).
		out.Operation, out.Name = ast.Query, readBatchOpName
	}
	doc := &ast.QueryDocument{Operations: ast.OperationList{out}}
	fragments := map[string]string{} // name → formatted text, to refuse two different ones
	bd := &batchDoc{vars: map[string]json.RawMessage{}}
	for i, op := range ops {
		alias := batchAlias(i)
		src, err := parser.ParseQuery(&ast.Source{Name: op.name, Input: op.query})
		if err != nil {
			return nil, fmt.Errorf("batch: parse %s: %w", op.name, err)
		}
		if len(src.Operations) != 1 || src.Operations[0].Operation != out.Operation {
			return nil, fmt.Errorf("batch: %s is not a single %s", op.name, out.Operation)
		}
		def := src.Operations[0]
		if len(def.SelectionSet) != 1 {
			return nil, fmt.Errorf("batch: %s has %d root fields, want 1", op.name, len(def.SelectionSet))
		}
		field, ok := def.SelectionSet[0].(*ast.Field)
		if !ok {
			return nil, fmt.Errorf("batch: %s: the root selection is not a field", op.name)
		}
		bd.root = append(bd.root, field.Name)
		bd.alias = append(bd.alias, alias)
		field.Alias = alias

		rename := map[string]string{}
		for _, v := range def.VariableDefinitions {
			rename[v.Variable] = alias + "_" + v.Variable
			v.Variable = rename[v.Variable]
			out.VariableDefinitions = append(out.VariableDefinitions, v)
		}
		if err := renameVars(def.SelectionSet, rename); err != nil {
			return nil, fmt.Errorf("batch: %s: %w", op.name, err)
		}
		out.SelectionSet = append(out.SelectionSet, field)

		for _, f := range src.Fragments {
			if err := renameVars(f.SelectionSet, nil); err != nil {
				return nil, fmt.Errorf("batch: %s: fragment %s: %w", op.name, f.Name, err)
			}
			text := formatFragment(f)
			if prev, seen := fragments[f.Name]; seen {
				if prev != text {
					return nil, fmt.Errorf("batch: fragment %s differs between operations", f.Name)
				}
				continue
			}
			fragments[f.Name] = text
			doc.Fragments = append(doc.Fragments, f)
		}

		raw, err := json.Marshal(op.vars)
		if err != nil {
			return nil, fmt.Errorf("batch: %s: encode variables: %w", op.name, err)
		}
		var vars map[string]json.RawMessage
		if err := json.Unmarshal(raw, &vars); err != nil {
			return nil, fmt.Errorf("batch: %s: variables are not an object: %w", op.name, err)
		}
		for k, v := range vars {
			n, ok := rename[k]
			if !ok {
				return nil, fmt.Errorf("batch: %s: variable %s is not declared by the document", op.name, k)
			}
			bd.vars[n] = v
		}
	}
	var buf bytes.Buffer
	formatter.NewFormatter(&buf).FormatQueryDocument(doc)
	bd.query = buf.String()
	return bd, nil
}

// renameVars renames the variables used in set's arguments; with a nil map any
// variable is an error (fragments are shared between aliases, so they must not use
// one).
func renameVars(set ast.SelectionSet, rename map[string]string) error {
	var value func(v *ast.Value) error
	value = func(v *ast.Value) error {
		if v == nil {
			return nil
		}
		if v.Kind == ast.Variable {
			n, ok := rename[v.Raw]
			if !ok {
				return fmt.Errorf("variable $%s cannot be renamed here", v.Raw)
			}
			v.Raw = n
		}
		for _, c := range v.Children {
			if err := value(c.Value); err != nil {
				return err
			}
		}
		return nil
	}
	args := func(as ast.ArgumentList, ds ast.DirectiveList) error {
		for _, a := range as {
			if err := value(a.Value); err != nil {
				return err
			}
		}
		for _, d := range ds {
			for _, a := range d.Arguments {
				if err := value(a.Value); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if err := args(s.Arguments, s.Directives); err != nil {
				return err
			}
			if err := renameVars(s.SelectionSet, rename); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := args(nil, s.Directives); err != nil {
				return err
			}
			if err := renameVars(s.SelectionSet, rename); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if err := args(nil, s.Directives); err != nil {
				return err
			}
		}
	}
	return nil
}

func formatFragment(f *ast.FragmentDefinition) string {
	var buf bytes.Buffer
	formatter.NewFormatter(&buf).FormatQueryDocument(&ast.QueryDocument{Fragments: ast.FragmentDefinitionList{f}})
	return buf.String()
}
