package administrate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"admsync/pkg/config/redact"
)

// OperationCheck is the verdict on one of our operations against the live schema.
type OperationCheck struct {
	Name      string   // genqlient operation name, e.g. CreateBlendedEvent
	Kind      string   // query | mutation
	Field     string   // the Administrate field it calls, e.g. event.createBlended
	Supported bool     // the document validates against the tenant's schema
	Problems  []string // validation messages when not supported
}

// FieldCheck is the verdict on one contract item (see contract.go) against the live
// schema.
type FieldCheck struct {
	Path       string   // Type.field, Type.field(arg), Input.field or Enum.value
	Proven     bool     // production-proven
	Present    bool     // the tenant's schema has it
	Operations []string // our operations that use it
}

// DoctorReport is what Doctor found.
type DoctorReport struct {
	APIURL        string
	CredentialsOK bool
	// TokenLifetime is the lifetime of a freshly issued token (expires_in), 0 if unknown.
	TokenLifetime time.Duration
	SchemaTypes   int // number of types the introspected schema declares
	Operations    []OperationCheck
	// Fields holds every field, argument, input field and enum value we send or read,
	// each looked up in the introspected schema. A document can validate while an input
	// field or enum value inside its variables is missing; these checks catch that.
	Fields []FieldCheck
	// MultiField says whether the tenant answers a document of several aliased root
	// fields (the admwriter's batched writes); see doctor_batch.go.
	MultiField MultiFieldCheck
}

// MissingFields returns the contract items the tenant lacks.
func (r DoctorReport) MissingFields() []FieldCheck {
	return slices.DeleteFunc(slices.Clone(r.Fields), func(f FieldCheck) bool { return f.Present })
}

// Unsupported returns the checks that failed.
func (r DoctorReport) Unsupported() []OperationCheck {
	return slices.DeleteFunc(slices.Clone(r.Operations), func(o OperationCheck) bool { return o.Supported })
}

// OK reports whether the credentials work, every operation is supported and every
// field we use is present.
func (r DoctorReport) OK() bool {
	return r.CredentialsOK && len(r.Operations) > 0 && len(r.Unsupported()) == 0 && len(r.MissingFields()) == 0 &&
		(!r.MultiField.Checked || r.MultiField.OK)
}

// String renders the report for a terminal.
func (r DoctorReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Administrate API: %s\n", redact.URL(r.APIURL))
	if r.CredentialsOK {
		fmt.Fprintf(&b, "credentials: ok (token lifetime %s)\n", r.TokenLifetime)
	} else {
		b.WriteString("credentials: FAILED\n")
	}
	if r.SchemaTypes > 0 {
		fmt.Fprintf(&b, "schema: %d types introspected\n", r.SchemaTypes)
	}
	for _, o := range r.Operations {
		mark := "ok  "
		if !o.Supported {
			mark = "MISSING"
		}
		fmt.Fprintf(&b, "  %-7s %-8s %-36s %s\n", mark, o.Kind, o.Name, o.Field)
		for _, p := range o.Problems {
			fmt.Fprintf(&b, "          %s\n", p)
		}
	}
	fmt.Fprintf(&b, "%d of %d operations supported\n", len(r.Operations)-len(r.Unsupported()), len(r.Operations))
	if m := r.MultiField; m.Checked {
		if m.OK {
			fmt.Fprintf(&b, "multi-field documents: ok (%d aliased fields answered in one request)\n", m.Fields)
		} else {
			fmt.Fprintf(&b, "multi-field documents: FAILED: %s\n", m.Problem)
		}
	}
	if len(r.Fields) > 0 {
		unproven := 0
		for _, f := range r.Fields {
			if !f.Proven {
				unproven++
			}
		}
		missing := r.MissingFields()
		fmt.Fprintf(&b, "contract: %d fields, arguments and enum values used, %d not production-proven; %d missing in this tenant\n",
			len(r.Fields), unproven, len(missing))
		for _, f := range missing {
			proof := "production-proven elsewhere"
			if !f.Proven {
				proof = "not production-proven"
			}
			fmt.Fprintf(&b, "  MISSING %-52s %s; used by %s\n", f.Path, proof, strings.Join(f.Operations, ", "))
		}
	}
	return b.String()
}

// Doctor builds a client from opts and runs (*Client).Doctor.
func Doctor(ctx context.Context, opts Options) (DoctorReport, error) {
	c, err := New(opts)
	if err != nil {
		return DoctorReport{APIURL: opts.APIURL}, err
	}
	return c.Doctor(ctx)
}

// Doctor checks the configured tenant: it fetches a token (credentials and lifetime),
// introspects the live schema, and validates every operation this package sends
// (operations.json, exported by genqlient) against it. The error is non-nil only when a
// step could not run; unsupported operations are reported, not returned as an error.
func (c *Client) Doctor(ctx context.Context) (DoctorReport, error) {
	rep := DoctorReport{APIURL: c.opts.APIURL}
	tok, err := c.tokens.fresh(ctx)
	if err != nil {
		return rep, fmt.Errorf("doctor: credentials: %w", err)
	}
	rep.CredentialsOK = true
	if !tok.Expiry.IsZero() {
		rep.TokenLifetime = time.Until(tok.Expiry).Round(time.Second)
	}

	var data introspection
	resp := &graphql.Response{Data: &data}
	if err := c.MakeRequest(ctx, &graphql.Request{OpName: "DoctorIntrospection", Query: introspectionQuery}, resp); err != nil {
		return rep, fmt.Errorf("doctor: introspection: %w", err)
	}
	rep.SchemaTypes = len(data.Schema.Types)

	// The field checks come first: they need only the introspection result, so a
	// tenant whose schema our SDL rendering cannot load still gets them.
	if _, err := usedItems(); err != nil {
		return rep, fmt.Errorf("doctor: %w", err)
	}
	missingBy := map[string][]string{}
	for _, item := range Contract() {
		fc := FieldCheck{Path: item.Path, Proven: item.Proven, Present: data.Schema.has(item.Path), Operations: item.Operations}
		if !fc.Present {
			for _, o := range fc.Operations {
				missingBy[o] = append(missingBy[o], item.Path)
			}
		}
		rep.Fields = append(rep.Fields, fc)
	}
	live, gerr := gqlparser.LoadSchema(&ast.Source{Name: "introspected.graphql", Input: data.Schema.sdl()})
	if gerr != nil {
		return rep, fmt.Errorf("doctor: the introspected schema does not load: %w", gerr)
	}
	ops, err := ourOperations()
	if err != nil {
		return rep, err
	}
	// An operation is unsupported when its document fails validation or when anything
	// it may send (an input field, an enum value) is missing.
	for _, op := range ops {
		check := OperationCheck{Name: op.OperationName, Kind: op.kind, Field: op.field, Supported: true}
		if _, errs := gqlparser.LoadQuery(live, op.Query); len(errs) > 0 {
			check.Supported = false
			for _, e := range errs {
				check.Problems = append(check.Problems, e.Message)
			}
		}
		for _, p := range missingBy[op.OperationName] {
			check.Supported = false
			check.Problems = append(check.Problems, "the tenant has no "+p)
		}
		rep.Operations = append(rep.Operations, check)
	}
	rep.MultiField = c.checkMultiField(ctx)
	c.log.Info("administrate doctor", "multi_field", rep.MultiField.OK, "operations", len(rep.Operations), "unsupported", len(rep.Unsupported()),
		"missing_fields", len(rep.MissingFields()), "token_lifetime", rep.TokenLifetime)
	return rep, nil
}

type exportedOp struct {
	OperationName string `json:"operationName"`
	Query         string `json:"query"`
	kind, field   string
}

// ourOperations reads the embedded genqlient export and names the root field of each.
func ourOperations() ([]exportedOp, error) {
	var doc struct {
		Operations []exportedOp `json:"operations"`
	}
	if err := json.Unmarshal(operationsJSON, &doc); err != nil {
		return nil, fmt.Errorf("doctor: embedded operations.json: %w", err)
	}
	for i := range doc.Operations {
		op := &doc.Operations[i]
		q, err := parser.ParseQuery(&ast.Source{Input: op.Query})
		if err != nil || len(q.Operations) == 0 {
			return nil, fmt.Errorf("doctor: operation %s does not parse: %v", op.OperationName, err)
		}
		o := q.Operations[0]
		op.kind = string(o.Operation)
		op.field = rootPath(o.SelectionSet, o.Operation == ast.Mutation)
	}
	sort.Slice(doc.Operations, func(i, j int) bool { return doc.Operations[i].OperationName < doc.Operations[j].OperationName })
	return doc.Operations, nil
}

// rootPath names the called field: "locations", or "event.createBlended" for a field
// inside a mutation namespace.
func rootPath(sel ast.SelectionSet, namespaced bool) string {
	for _, s := range sel {
		f, ok := s.(*ast.Field)
		if !ok {
			continue
		}
		if namespaced {
			for _, inner := range f.SelectionSet {
				if g, ok := inner.(*ast.Field); ok && g.Name != "__typename" {
					return f.Name + "." + g.Name
				}
			}
		}
		return f.Name
	}
	return ""
}

// enumUsers names the operations that may send an enum value: those whose variables
// reach an input field of that enum's type, or (for an argument) take it directly.
func enumUsers(path string, used map[string][]string) []string {
	enum, _, _ := strings.Cut(path, ".")
	schema := ourSchema()
	var out []string
	seen := map[string]bool{}
	for item, ops := range used {
		if strings.HasSuffix(item, ")") || schema == nil {
			continue
		}
		typ, field, _ := strings.Cut(item, ".")
		def := schema.Types[typ]
		if def == nil || def.Kind != ast.InputObject {
			continue
		}
		if f := def.Fields.ForName(field); f != nil && f.Type.Name() == enum {
			for _, o := range ops {
				if !seen[o] {
					seen[o] = true
					out = append(out, o)
				}
			}
		}
	}
	if schema != nil {
		// Enum-typed arguments, e.g. customFieldTemplate(type:).
		for item, ops := range used {
			typ, rest, ok := strings.Cut(item, ".")
			if !ok || !strings.HasSuffix(rest, ")") {
				continue
			}
			field, arg, _ := strings.Cut(strings.TrimSuffix(rest, ")"), "(")
			def := schema.Types[typ]
			if def == nil || def.Fields.ForName(field) == nil {
				continue
			}
			if a := def.Fields.ForName(field).Arguments.ForName(arg); a != nil && a.Type.Name() == enum {
				for _, o := range ops {
					if !seen[o] {
						seen[o] = true
						out = append(out, o)
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// has reports whether the introspected schema has what path names: a field or input
// field ("Type.field"), an argument ("Type.field(arg)") or an enum value ("Enum.value").
func (s introSchema) has(path string) bool {
	path, arg, hasArg := strings.Cut(path, "(")
	arg = strings.TrimSuffix(arg, ")")
	typ, name, ok := strings.Cut(path, ".")
	if !ok {
		return false
	}
	for _, t := range s.Types {
		if t.Name != typ {
			continue
		}
		for _, f := range t.Fields {
			if f.Name != name {
				continue
			}
			if !hasArg {
				return true
			}
			for _, a := range f.Args {
				if a.Name == arg {
					return true
				}
			}
			return false
		}
		if hasArg {
			return false
		}
		for _, f := range t.InputFields {
			if f.Name == name {
				return true
			}
		}
		for _, v := range t.EnumValues {
			if v.Name == name {
				return true
			}
		}
		return false
	}
	return false
}

// ---------------------------------------------------------------- introspection → SDL

const introspectionQuery = `query DoctorIntrospection {
  __schema {
    queryType { name }
    mutationType { name }
    types {
      kind name
      fields(includeDeprecated: true) { name args { name defaultValue type { ...T } } type { ...T } }
      inputFields { name defaultValue type { ...T } }
      interfaces { name }
      enumValues(includeDeprecated: true) { name }
      possibleTypes { name }
    }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }`

type introspection struct {
	Schema introSchema `json:"__schema"`
}

type introSchema struct {
	QueryType    *struct{ Name string } `json:"queryType"`
	MutationType *struct{ Name string } `json:"mutationType"`
	Types        []introType            `json:"types"`
}

type introType struct {
	Kind          string                  `json:"kind"`
	Name          string                  `json:"name"`
	Fields        []introField            `json:"fields"`
	InputFields   []introInput            `json:"inputFields"`
	Interfaces    []struct{ Name string } `json:"interfaces"`
	EnumValues    []struct{ Name string } `json:"enumValues"`
	PossibleTypes []struct{ Name string } `json:"possibleTypes"`
}

type introField struct {
	Name string       `json:"name"`
	Args []introInput `json:"args"`
	Type introRef     `json:"type"`
}

type introInput struct {
	Name         string   `json:"name"`
	DefaultValue *string  `json:"defaultValue"`
	Type         introRef `json:"type"`
}

type introRef struct {
	Kind   string    `json:"kind"`
	Name   string    `json:"name"`
	OfType *introRef `json:"ofType"`
}

func (r introRef) String() string {
	switch r.Kind {
	case "NON_NULL":
		if r.OfType != nil {
			return r.OfType.String() + "!"
		}
	case "LIST":
		if r.OfType != nil {
			return "[" + r.OfType.String() + "]"
		}
	}
	return r.Name
}

var builtinScalars = map[string]bool{"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true}

// sdl renders the introspection result as SDL that gqlparser can load, so operation
// documents are validated by the same rules a server applies.
func (s introSchema) sdl() string {
	var b strings.Builder
	b.WriteString("schema {")
	if s.QueryType != nil {
		fmt.Fprintf(&b, " query: %s", s.QueryType.Name)
	}
	if s.MutationType != nil {
		fmt.Fprintf(&b, " mutation: %s", s.MutationType.Name)
	}
	b.WriteString(" }\n")
	for _, t := range s.Types {
		if strings.HasPrefix(t.Name, "__") || builtinScalars[t.Name] {
			continue
		}
		switch t.Kind {
		case "SCALAR":
			fmt.Fprintf(&b, "scalar %s\n", t.Name)
		case "OBJECT", "INTERFACE":
			kw := "type"
			if t.Kind == "INTERFACE" {
				kw = "interface"
			}
			fmt.Fprintf(&b, "%s %s", kw, t.Name)
			if len(t.Interfaces) > 0 {
				names := make([]string, 0, len(t.Interfaces))
				for _, i := range t.Interfaces {
					names = append(names, i.Name)
				}
				fmt.Fprintf(&b, " implements %s", strings.Join(names, " & "))
			}
			b.WriteString(" {\n")
			if len(t.Fields) == 0 {
				// A namespace emptied by the tenant still has to be valid SDL.
				b.WriteString("  _doctorEmpty: Boolean\n")
			}
			for _, f := range t.Fields {
				fmt.Fprintf(&b, "  %s%s: %s\n", f.Name, args(f.Args), f.Type)
			}
			b.WriteString("}\n")
		case "UNION":
			names := make([]string, 0, len(t.PossibleTypes))
			for _, p := range t.PossibleTypes {
				names = append(names, p.Name)
			}
			fmt.Fprintf(&b, "union %s = %s\n", t.Name, strings.Join(names, " | "))
		case "ENUM":
			fmt.Fprintf(&b, "enum %s {", t.Name)
			for _, v := range t.EnumValues {
				fmt.Fprintf(&b, " %s", v.Name)
			}
			b.WriteString(" }\n")
		case "INPUT_OBJECT":
			fmt.Fprintf(&b, "input %s {\n", t.Name)
			for _, f := range t.InputFields {
				fmt.Fprintf(&b, "  %s: %s%s\n", f.Name, f.Type, defaultOf(f.DefaultValue))
			}
			b.WriteString("}\n")
		}
	}
	return b.String()
}

func args(in []introInput) string {
	if len(in) == 0 {
		return ""
	}
	parts := make([]string, 0, len(in))
	for _, a := range in {
		parts = append(parts, fmt.Sprintf("%s: %s%s", a.Name, a.Type, defaultOf(a.DefaultValue)))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func defaultOf(v *string) string {
	if v == nil {
		return ""
	}
	return " = " + *v
}
