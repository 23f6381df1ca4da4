package administrate_test

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
)

func TestDoctorReportsEveryOperationSupported(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t, admsimtest.WithTokenTTL(45*time.Minute))
	rep, err := administrate.Doctor(ctxT(t), sim.ClientOptions())
	if err != nil {
		t.Fatalf("Doctor: %v", err)
	}
	if !rep.CredentialsOK || !rep.OK() {
		t.Fatalf("report not OK:\n%s", rep)
	}
	if rep.TokenLifetime < 44*time.Minute || rep.TokenLifetime > 45*time.Minute {
		t.Errorf("token lifetime = %v, want about 45m", rep.TokenLifetime)
	}
	if want := exportedOperations(t); len(rep.Operations) != want {
		t.Errorf("checked %d operations, want all %d of operations.json", len(rep.Operations), want)
	}
	if len(rep.Fields) != len(administrate.Contract()) || len(rep.MissingFields()) != 0 {
		t.Errorf("field checks: %d of %d contract items, %d missing", len(rep.Fields), len(administrate.Contract()), len(rep.MissingFields()))
	}
	if !strings.Contains(rep.String(), "not production-proven; 0 missing") {
		t.Errorf("report does not summarise the contract:\n%s", rep)
	}
	fields := map[string]string{}
	for _, o := range rep.Operations {
		fields[o.Name] = o.Field
	}
	if fields["CreateBlendedEvent"] != "event.createBlended" || fields["Locations"] != "locations" || fields["UpdateSession"] != "session.update" {
		t.Errorf("fields = %v", fields)
	}
}

func TestDoctorNamesADisabledMutation(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t, admsimtest.WithFaults(admsim.Faults{Disabled: []string{"event.createBlended"}}))
	rep, err := administrate.Doctor(ctxT(t), sim.ClientOptions())
	if err != nil {
		t.Fatalf("Doctor: %v", err)
	}
	bad := rep.Unsupported()
	if len(bad) != 1 || bad[0].Name != "CreateBlendedEvent" || bad[0].Field != "event.createBlended" {
		t.Fatalf("unsupported = %+v, want exactly CreateBlendedEvent", bad)
	}
	if len(bad[0].Problems) == 0 || !strings.Contains(bad[0].Problems[0], "createBlended") {
		t.Errorf("problems = %v", bad[0].Problems)
	}
	if rep.OK() || !strings.Contains(rep.String(), "MISSING") {
		t.Errorf("report:\n%s", rep)
	}

	// A whole inferred namespace missing (as the [I] location mutations may be) and a
	// schema field our reads rely on.
	if err := sim.UpdateFaults(func(f *admsim.Faults) { f.Disabled = []string{"location", "Session.legacyId"} }); err != nil {
		t.Fatal(err)
	}
	rep, err = sim.Client(t).Doctor(ctxT(t))
	if err != nil {
		t.Fatalf("Doctor: %v", err)
	}
	var names []string
	for _, o := range rep.Unsupported() {
		names = append(names, o.Name)
	}
	want := "CreateBlendedEvent CreateClassroomEvent CreateLocation EventWithSessions SyncEvent SyncEvents"
	if strings.Join(names, " ") != want {
		t.Errorf("unsupported = %v, want %s", names, want)
	}
}

func TestDoctorRejectsBadCredentials(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	o := sim.ClientOptions()
	o.ClientID = "someone-else"
	rep, err := administrate.Doctor(ctxT(t), o)
	if err == nil || rep.CredentialsOK {
		t.Fatalf("Doctor with a wrong client id: rep=%+v err=%v", rep, err)
	}
}

// Every item of the contract — each field, argument, input field and enum value we
// send or read — is looked up by doctor: a tenant lacking any one of them is reported
// by name, with every operation using it marked unsupported. Input fields and enum
// values sit inside variables, so validating the documents alone cannot see them.
func TestDoctorReportsEveryMissingContractItem(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	c := sim.Client(t)
	// Every item that is not production-proven, and a seeded sample of the proven ones
	// (all of them take a minute on a busy machine; the seed is logged to replay one).
	seed := uint64(time.Now().UnixNano())
	t.Logf("proven-item sample seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	var items []administrate.ContractItem
	unproven := 0
	for _, item := range administrate.Contract() {
		if !item.Proven {
			unproven++
			items = append(items, item)
		} else if rng.IntN(8) == 0 {
			items = append(items, item)
		}
	}
	for _, item := range items {
		if len(item.Operations) == 0 {
			t.Errorf("%s: no operation uses it", item.Path)
			continue
		}
		if err := sim.UpdateFaults(func(f *admsim.Faults) { f.Disabled = []string{item.Path} }); err != nil {
			t.Fatalf("disable %s: %v", item.Path, err)
		}
		rep, err := c.Doctor(ctxT(t))
		// Removing a field removes its arguments with it; nothing else may be reported.
		missing := rep.MissingFields()
		named := false
		for _, m := range missing {
			named = named || (m.Path == item.Path && m.Proven == item.Proven)
			if m.Path != item.Path && !strings.HasPrefix(m.Path, item.Path+"(") {
				t.Errorf("%s disabled: %s reported missing too", item.Path, m.Path)
			}
		}
		if !named {
			t.Errorf("%s disabled: missing = %+v (err %v)", item.Path, missing, err)
			continue
		}
		if err != nil {
			// Without it the schema is not even valid SDL (an object that no longer
			// implements Node): the field check still named it, which is what counts.
			if !strings.Contains(err.Error(), "does not load") {
				t.Errorf("%s disabled: %v", item.Path, err)
			}
			continue
		}
		var bad []string
		for _, o := range rep.Unsupported() {
			bad = append(bad, o.Name)
		}
		for _, o := range item.Operations {
			if !slices.Contains(bad, o) {
				t.Errorf("%s disabled: operation %s still reported supported (unsupported: %v)", item.Path, o, bad)
			}
		}
		if rep.OK() || !strings.Contains(rep.String(), "MISSING "+item.Path) {
			t.Errorf("%s disabled: report does not name it:\n%s", item.Path, rep)
		}
	}
	if unproven < 30 {
		t.Errorf("only %d items are marked not production-proven; the table looks wrong", unproven)
	}
}

// exportedOperations counts the operations genqlient exported (the file doctor embeds).
func exportedOperations(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("operations.json")
	if err != nil {
		t.Fatal(err)
	}
	var ops struct {
		Operations []json.RawMessage `json:"operations"`
	}
	if err := json.Unmarshal(b, &ops); err != nil {
		t.Fatal(err)
	}
	if len(ops.Operations) < 19 {
		t.Fatalf("operations.json lists %d operations; the flows alone send 19", len(ops.Operations))
	}
	return len(ops.Operations)
}
