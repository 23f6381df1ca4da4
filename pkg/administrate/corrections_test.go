package administrate_test

import (
	"errors"
	"testing"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
)

// A correction reads the event's state, updates the event and removes staff; each
// call can be repeated (the update sets the same values, a removed staff member is no
// longer read back).
func TestEventStateUpdateAndRemoveStaff(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	loc := sim.Location("London")
	venue := sim.Venue("Holborn", loc)
	ada := sim.Instructor("Ada", "Fenwick")
	bram := sim.Instructor("Bram", "Okafor")
	ct := sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CB1_f2f_2", Title: "CB1", SessionCount: 2, ApprovedInstructors: []string{ada, bram}})
	c := newClient(t, sim, nil)
	ctx := ctxT(t)
	ev, err := c.CreateBlendedEvent(ctx, administrate.BlendedEventCreateInput{
		CourseTemplateId: ct, Title: "ELO-CB1-02", EventType: administrate.EventTypePublic, TimeZoneName: "Europe/London",
		LocationId: loc, VenueId: venue, MaxPlaces: 14})
	if err != nil {
		t.Fatal(err)
	}
	second := ev.Sessions[1].ID
	if err := c.AddSessionStaff(ctx, second, []string{ada, bram}, administrate.StaffTypeInstructor); err != nil {
		t.Fatal(err)
	}
	st, err := c.EventState(ctx, ev.EventID)
	if err != nil {
		t.Fatal(err)
	}
	if st.MaxPlaces != 14 || st.LocationID != loc || st.VenueID != venue || len(st.Sessions) != 2 || len(st.Sessions[1].Staff) != 2 {
		t.Fatalf("state = %+v", st)
	}
	for range 2 {
		if err := c.UpdateEvent(ctx, ev.EventID, administrate.EventUpdateInput{MaxPlaces: 20}); err != nil {
			t.Fatal(err)
		}
	}
	var adaStaff string
	for _, s := range st.Sessions[1].Staff {
		if s.ContactID == ada {
			adaStaff = s.ID
		}
	}
	if err := c.RemoveStaff(ctx, adaStaff); err != nil {
		t.Fatal(err)
	}
	st, err = c.EventState(ctx, ev.EventID)
	if err != nil {
		t.Fatal(err)
	}
	if st.MaxPlaces != 20 || len(st.Sessions[1].Staff) != 1 || st.Sessions[1].Staff[0].ContactID != bram {
		t.Fatalf("after the correction: %+v", st)
	}
	// Removing it again is refused: the caller reads the state first and removes only what is there.
	var me *administrate.MutationError
	if err := c.RemoveStaff(ctx, adaStaff); !errors.As(err, &me) {
		t.Fatalf("second removal: err = %v, want a mutation error", err)
	}
	if err := c.UpdateEvent(ctx, ev.EventID, administrate.EventUpdateInput{Title: " "}); !errors.As(err, &me) {
		t.Fatalf("blank title: err = %v", err)
	}
}
