package syncer_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"admsync/pkg/admsim"
	"admsync/services/syncer/internal/syncer"
)

// US2 scenario 2: a venue links by name within its parent location; a venue
// whose location is not synced is skipped with the reason; the prerequisite
// is checked before Administrate is called.
func TestVenuesMatchWithinLocation(t *testing.T) {
	b := setup(t)
	london, leeds := b.tutorialLocation("London", true), b.tutorialLocation("Leeds", true)
	roomLondon := b.tutorialVenue("Conference Room A", london)
	roomLeeds := b.tutorialVenue("Conference Room A", leeds)
	lonely := b.tutorialVenue("Annex", leeds)
	sLondon, sLeeds := b.sim.Location("London"), b.sim.Location("Leeds")
	vLondon := b.sim.Venue("conference  room a", sLondon)
	vLeeds := b.sim.Venue("CONFERENCE ROOM A", sLeeds)
	vOther := b.sim.Venue("Basement", sLeeds)

	// No locations synced yet: refused before any call to Administrate.
	res, err := b.run(syncer.StageVenues, syncer.Options{NoPrompt: true})
	var pe *syncer.PrerequisiteError
	if !errors.As(err, &pe) && !strings.Contains(res.Message, "prerequisite not met") {
		t.Fatalf("want a prerequisite failure, got %v", err)
	}
	if res.Outcome != syncer.OutcomeFailed || b.sim.CallCount("Venues") != 0 {
		t.Fatalf("outcome %s, %d venue calls", res.Outcome, b.sim.CallCount("Venues"))
	}
	if !strings.Contains(b.out.String(), "run `syncer run locations` first") {
		t.Fatalf("message does not say what to run:\n%s", b.out.String())
	}

	b.mustRun(syncer.StageLocations, syncer.Options{NoPrompt: true})
	// A location created after the locations sync: its venue cannot be placed.
	sNew := b.sim.Location("Newcastle")
	vNew := b.sim.Venue("Hall", sNew)

	res = b.mustRunSkipping(syncer.StageVenues, syncer.Options{NoPrompt: true})
	wantCounts(t, res, syncer.Counts{Created: 3, Skipped: 1})
	b.wantLinks("venue", map[string]int64{vLondon: roomLondon, vLeeds: roomLeeds})
	if got := b.str(`SELECT location_id FROM adm.venues WHERE external_id = $1`, vLeeds); got != sLeeds {
		t.Errorf("location_id = %s", got)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].ID != vNew || !strings.Contains(res.Skipped[0].Description, "not in adm.locations") {
		t.Fatalf("skipped = %+v", res.Skipped)
	}
	if len(res.UnmatchedTutorial) != 1 || res.UnmatchedTutorial[0].ID != itoa(lonely) {
		t.Fatalf("unmatched tutorial = %+v", res.UnmatchedTutorial)
	}
	if len(res.UnmatchedAdministrate) != 1 || res.UnmatchedAdministrate[0].ID != vOther {
		t.Fatalf("unmatched administrate = %+v", res.UnmatchedAdministrate)
	}
	// Rerun: nothing to write; the skipped venue is not taken for gone.
	res = b.mustRunSkipping(syncer.StageVenues, syncer.Options{NoPrompt: true})
	wantCounts(t, res, syncer.Counts{Unchanged: 3, Skipped: 1})
	if res.RowsApplied != 0 {
		t.Fatalf("rerun applied %d rows", res.RowsApplied)
	}
}

// US2 scenario 3: instructors match on the staff user's first and last name;
// administrators are mirrored without matching.
func TestInstructorsAndAdministrators(t *testing.T) {
	b := setup(t)
	jane := b.tutorialInstructor("Jane", "Smith", true)
	b.tutorialInstructor("Old", "Timer", false)
	noStaff := b.id(`INSERT INTO acted.tutorial_instructors (is_active) VALUES (true) RETURNING id`)
	sJane := b.sim.Instructor(" jane", "SMITH ")
	sOld := b.sim.Instructor("Old", "Timer")
	b.sim.Instructor("Bob", "Jones")
	admin := b.sim.Administrator("Dev", "Raman")

	res := b.mustRunCounts(syncer.StageInstructors, syncer.Options{NoPrompt: true}, syncer.Counts{Created: 3})
	b.wantLinks("instructor", map[string]int64{sJane: jane, sOld: 0}) // Old Timer is inactive
	if len(res.UnmatchedAdministrate) != 2 {
		t.Fatalf("unmatched administrate = %+v", res.UnmatchedAdministrate)
	}
	if len(res.UnmatchedTutorial) != 1 || res.UnmatchedTutorial[0].ID != itoa(noStaff) ||
		!strings.Contains(res.UnmatchedTutorial[0].Description, "no staff record") {
		t.Fatalf("unmatched tutorial = %+v", res.UnmatchedTutorial)
	}
	if got := b.str(`SELECT first_name || ' ' || last_name FROM adm.administrators WHERE external_id = $1`, admin); got != "Dev Raman" {
		t.Fatalf("administrator = %q", got)
	}
	if len(res.Mirrors) != 1 || res.Mirrors[0].Counts.Created != 1 {
		t.Fatalf("mirrors = %+v", res.Mirrors)
	}
	// No "always updated" instructors on a rerun.
	res = b.mustRunCounts(syncer.StageInstructors, syncer.Options{NoPrompt: true}, syncer.Counts{Unchanged: 3})
	if res.RowsApplied != 0 {
		t.Fatalf("rerun applied %d rows", res.RowsApplied)
	}
}

// US2 scenario 6: price levels and custom fields mirror Administrate; custom
// fields are keyed by (entity type, key) and one failing entity type leaves
// its rows alone while the others are applied.
func TestPriceLevelsAndCustomFields(t *testing.T) {
	b := setup(t)
	normal := b.sim.PriceLevel("Normal")
	b.sim.PriceLevel("Retaker")
	sitting := b.sim.CustomField("Event", "Sitting")
	b.sim.CustomField("Session", "Day")
	token := b.sim.CustomField("TokenIssue", "Batch")

	res := b.mustRunCounts(syncer.StagePriceLevels, syncer.Options{NoPrompt: true}, syncer.Counts{Created: 2})
	if got := b.str(`SELECT name FROM adm.pricelevels WHERE external_id = $1`, normal); got != "Normal" {
		t.Fatalf("price level = %q", got)
	}
	res = b.mustRunCounts(syncer.StageCustomFields, syncer.Options{NoPrompt: true}, syncer.Counts{Created: 3})
	if got := b.str(`SELECT label FROM adm.custom_fields WHERE entity_type = 'Event' AND external_id = $1`, sitting); got != "Sitting" {
		t.Fatalf("custom field = %q", got)
	}
	if got := b.sim.CallCount("CustomFieldDefinitions"); got != len(syncer.EntityTypes) {
		t.Fatalf("%d custom-field calls, want one per entity type (%d)", got, len(syncer.EntityTypes))
	}

	// TokenIssue now fails; Event's definition is renamed and Session's removed.
	b.reseed(func(s *admsim.Seed) {
		s.CustomFields["Event"][0].Label = "Sitting code"
		delete(s.CustomFields, "Session")
	})
	b.transport = func(rt http.RoundTripper) http.RoundTripper {
		return failTransport{base: rt, match: `"entityType":"TokenIssue"`}
	}
	res, err := b.run(syncer.StageCustomFields, syncer.Options{NoPrompt: true})
	if err == nil || res.Outcome != syncer.OutcomePartial {
		t.Fatalf("want a partial outcome, got %v / %s", err, res.Outcome)
	}
	wantCounts(t, res, syncer.Counts{Updated: 1, Errors: 1})
	if got := b.str(`SELECT label FROM adm.custom_fields WHERE external_id = $1`, sitting); got != "Sitting code" {
		t.Fatalf("Event field not updated: %q", got)
	}
	if n := b.count(`SELECT 1 FROM adm.custom_fields WHERE gone_at IS NULL`); n != 3 {
		t.Fatalf("a failed entity type let rows go: %d active", n)
	}
	if n := b.count(`SELECT 1 FROM adm.custom_fields WHERE external_id = $1 AND entity_type = 'TokenIssue'`, token); n != 1 {
		t.Fatal("the failing type's row was touched")
	}
	if !strings.Contains(res.GoneBlocked, "TokenIssue") || !strings.Contains(res.Errors[0], "TokenIssue") {
		t.Fatalf("the run does not say why: %q %v", res.GoneBlocked, res.Errors)
	}

	// Every type answers again: now Session's definition is marked gone.
	b.transport = nil
	res = b.mustRunCounts(syncer.StageCustomFields, syncer.Options{NoPrompt: true}, syncer.Counts{Unchanged: 2, Gone: 1})
}
