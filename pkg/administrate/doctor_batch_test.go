package administrate_test

import (
	"strings"
	"testing"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
)

// Doctor sends one document of two aliased reads: a tenant that answers both passes,
// one that refuses multi-field documents fails the report with the way out.
func TestDoctorChecksMultiFieldDocuments(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	rep, err := administrate.Doctor(ctxT(t), sim.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.MultiField.Checked || !rep.MultiField.OK || !rep.OK() || !strings.Contains(rep.String(), "multi-field documents: ok") {
		t.Fatalf("multi-field check %+v:\n%s", rep.MultiField, rep)
	}
	var batched int
	for _, r := range sim.Requests() {
		if len(r.Fields) == 2 && r.Kind == "query" {
			batched++
		}
	}
	if batched != 1 {
		t.Errorf("%d two-field reads sent, want 1", batched)
	}

	strict := admsimtest.Start(t, admsimtest.WithFaults(admsim.Faults{MaxFields: 1}))
	rep, err = administrate.Doctor(ctxT(t), strict.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.MultiField.OK || rep.OK() || !strings.Contains(rep.String(), "ADMINISTRATE_BATCH=1") {
		t.Fatalf("a tenant refusing multi-field documents passed: %+v\n%s", rep.MultiField, rep)
	}
}
