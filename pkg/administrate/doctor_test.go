package administrate_test

import (
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
	if len(rep.Operations) != 19 {
		t.Errorf("checked %d operations, want all 19 of operations.json", len(rep.Operations))
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
	want := "CreateBlendedEvent CreateClassroomEvent CreateLocation EventWithSessions"
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
