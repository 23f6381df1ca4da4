package administrate

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// Every field, argument and input field an operation uses is classified in contract
// (proven or not, and so checked by doctor); every classified item is still used; and
// every enum value listed exists in schema.graphql and is sent by some operation.
func TestContractCoversEveryOperation(t *testing.T) {
	used, err := usedItems()
	if err != nil {
		t.Fatal(err)
	}
	if len(used) < 100 {
		t.Fatalf("only %d items found in the operations: the walker is broken", len(used))
	}
	for item, ops := range used {
		if _, ok := contract[item]; !ok {
			t.Errorf("%s (used by %s) is not in contract: say whether it is production-proven", item, strings.Join(ops, ", "))
		}
	}
	schema := ourSchema()
	if schema == nil {
		t.Fatal("schema.graphql does not load")
	}
	for item := range contract {
		if len(used[item]) > 0 {
			continue
		}
		typ, value, _ := strings.Cut(item, ".")
		def := schema.Types[typ]
		if def == nil || def.Kind != ast.Enum {
			t.Errorf("%s is in contract but no operation uses it: remove it", item)
			continue
		}
		if def.EnumValues.ForName(value) == nil {
			t.Errorf("enum value %s is not declared in schema.graphql", item)
		}
		if len(enumUsers(item, used)) == 0 {
			t.Errorf("enum value %s: no operation sends a %s", item, typ)
		}
	}
}

// The facts a live tenant contradicted stay out of what we send and read.
func TestOperationsAvoidWhatTheTenantLacks(t *testing.T) {
	used, err := usedItems()
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"Session.timeZonedStart", "Session.timeZonedEnd", "Session.start", "Session.end",
		"Event.cancelled", "Event.soldOut", "Event.timezone", "Event.lmsStartDate", "Event.lmsEndDate", "Event.webSale",
		"Event.eventUrl", "Event.virtualClassroom", "Event.primaryInstructor", "Query.event"} {
		if ops := used[gone]; len(ops) > 0 {
			t.Errorf("%s is used by %v, but the live tenant has no such field", gone, ops)
		}
		typ, field, _ := strings.Cut(gone, ".")
		if def := ourSchema().Types[typ]; def != nil && def.Fields.ForName(field) != nil {
			t.Errorf("schema.graphql declares %s, which the live tenant lacks", gone)
		}
	}
}
