package syncer_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/services/syncer/internal/syncer"
)

// US2 scenarios 1, 4 and 5 (non-interactive), inactive rows, idempotency.
func TestLocationsLinkReportAndRerun(t *testing.T) {
	b := setup(t)
	london := b.tutorialLocation("  London ", true)
	edinburgh := b.tutorialLocation("Edinburgh", true)
	leeds := b.tutorialLocation("Leeds", false)
	sLondon := b.sim.Location("LONDON")
	sManchester := b.sim.Location("Manchester")
	sLeeds := b.sim.Location("Leeds")

	res := b.mustRunCounts(syncer.StageLocations, syncer.Options{NoPrompt: true}, syncer.Counts{Created: 3})
	// Inactive Leeds stays unlinked.
	b.wantLinks("location", map[string]int64{sLondon: london, sManchester: 0, sLeeds: 0})
	if len(res.UnmatchedTutorial) != 1 || res.UnmatchedTutorial[0].ID != itoa(edinburgh) {
		t.Fatalf("unmatched tutorial = %+v", res.UnmatchedTutorial)
	}
	var leedsNote bool
	for _, u := range res.UnmatchedAdministrate {
		if u.ID == sLeeds && strings.Contains(u.Description, "inactive") && strings.Contains(u.Description, itoa(leeds)) {
			leedsNote = true
		}
	}
	if len(res.UnmatchedAdministrate) != 2 || !leedsNote {
		t.Fatalf("unmatched administrate = %+v", res.UnmatchedAdministrate)
	}
	out := b.out.String()
	for _, want := range []string{
		"1 tutorial location(s) had no match in Administrate:", "Edinburgh (tutorial #" + itoa(edinburgh) + ")",
		"2 Administrate location(s) had no match in tutorial tables:", "Manchester (id: " + sManchester + ")",
		"1 unmatched tutorial location(s) logged (--no-prompt)", "Sync completed: 3 created, 0 updated",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The run and its discrepancies are recorded.
	if n := b.count(`SELECT 1 FROM admsync.sync_runs WHERE id = $1 AND status = 'ok' AND created = 3 AND finished_at IS NOT NULL`, res.RunID); n != 1 {
		t.Fatal("sync_runs row missing or wrong")
	}
	if n := b.count(`SELECT 1 FROM admsync.sync_discrepancies WHERE sync_run_id = $1 AND kind IN ('unmatched_tutorial', 'unmatched_administrate')`, res.RunID); n != 3 {
		t.Fatalf("discrepancies = %d, want 3", n)
	}

	// A rerun with no change writes nothing.
	res = b.mustRunCounts(syncer.StageLocations, syncer.Options{NoPrompt: true}, syncer.Counts{Unchanged: 3})
	if res.RowsApplied != 0 {
		t.Fatalf("rerun applied %d rows", res.RowsApplied)
	}

	// Deactivating London unlinks it on the next run, and says why.
	b.exec(`UPDATE acted.tutorial_locations SET is_active = false WHERE id = $1`, london)
	res = b.mustRunCounts(syncer.StageLocations, syncer.Options{NoPrompt: true}, syncer.Counts{Updated: 1, Unchanged: 2})
	if got := b.link("location", sLondon); got != 0 {
		t.Fatalf("deactivated London still linked to %d", got)
	}
	if !strings.Contains(b.out.String(), "is inactive") {
		t.Fatalf("report does not say London's tutorial row is inactive:\n%s", b.out.String())
	}
}

// Several records with one key on either side are ambiguous and left unlinked.
func TestLocationsAmbiguousBothWays(t *testing.T) {
	b := setup(t)
	b.tutorialLocation("London", true)
	b.tutorialLocation("london ", true) // duplicate tutorial key
	b.tutorialLocation("York", true)
	b.sim.Location("London")
	b.sim.Location("York")
	b.sim.Location("YORK") // duplicate Administrate key

	res := b.mustRun(syncer.StageLocations, syncer.Options{NoPrompt: true})
	if n := b.count(`SELECT 1 FROM adm.locations WHERE tutorial_location_id IS NOT NULL`); n != 0 {
		t.Fatalf("%d ambiguous locations linked", n)
	}
	if len(res.Ambiguous) != 2 {
		t.Fatalf("ambiguous = %+v", res.Ambiguous)
	}
	for _, a := range res.Ambiguous {
		switch a.Key {
		case "london":
			if len(a.Tutorial) != 2 || len(a.Administrate) != 1 {
				t.Errorf("london: %+v", a)
			}
		case "york":
			if len(a.Tutorial) != 1 || len(a.Administrate) != 2 {
				t.Errorf("york: %+v", a)
			}
		default:
			t.Errorf("unexpected key %q", a.Key)
		}
	}
	if len(res.UnmatchedTutorial) != 0 || len(res.UnmatchedAdministrate) != 0 {
		t.Fatalf("ambiguous records reported as unmatched too: %+v %+v", res.UnmatchedTutorial, res.UnmatchedAdministrate)
	}
	if !strings.Contains(b.out.String(), "2 ambiguous location key(s), left unlinked") {
		t.Fatalf("report:\n%s", b.out.String())
	}
	if n := b.count(`SELECT 1 FROM admsync.sync_discrepancies WHERE sync_run_id = $1 AND kind = 'ambiguous'`, res.RunID); n != 2 {
		t.Fatalf("ambiguous discrepancies = %d", n)
	}
}

// Multi-page fetch; records that vanish are marked gone (never deleted)
// unless more than half vanished at once; --force-gone overrides.
func TestLocationsPagingGoneAndGuard(t *testing.T) {
	b := setup(t)
	var ids []string
	for _, n := range []string{"A", "B", "C", "D", "E"} {
		b.tutorialLocation(n, true)
		ids = append(ids, b.sim.Location(n))
	}
	orig := b.sim.Dump()
	res := b.mustRunCounts(syncer.StageLocations, syncer.Options{NoPrompt: true, PageSize: 2}, syncer.Counts{Created: 5})
	if got := b.sim.CallCount("Locations"); got != 3 {
		t.Fatalf("5 locations at 2 a page took %d calls, want 3", got)
	}

	drop := func(keep ...string) {
		b.reseed(func(s *admsim.Seed) {
			var kept []admsim.LocationSeed
			for _, l := range s.Locations {
				for _, k := range keep {
					if l.Name == k {
						kept = append(kept, l)
					}
				}
			}
			s.Locations = kept
		})
	}
	// One of five gone: marked, not deleted.
	drop("A", "B", "C", "D")
	res = b.mustRunCounts(syncer.StageLocations, syncer.Options{NoPrompt: true, PageSize: 2}, syncer.Counts{Unchanged: 4, Gone: 1})
	if n := b.count(`SELECT 1 FROM adm.locations WHERE gone_at IS NOT NULL AND external_id = $1`, ids[4]); n != 1 {
		t.Fatal("E not marked gone")
	}
	if n := b.count(`SELECT 1 FROM adm.locations`); n != 5 {
		t.Fatalf("a gone row was deleted: %d rows", n)
	}

	// Four stored, one returned: a drop of more than half marks nothing gone.
	drop("A")
	res = b.mustRunCounts(syncer.StageLocations, syncer.Options{NoPrompt: true}, syncer.Counts{Unchanged: 1})
	if !strings.Contains(res.GoneBlocked, "more than half") || !strings.Contains(b.out.String(), "nothing marked gone") {
		t.Fatalf("guard not reported: %q\n%s", res.GoneBlocked, b.out.String())
	}
	if n := b.count(`SELECT 1 FROM adm.locations WHERE gone_at IS NULL`); n != 4 {
		t.Fatalf("guard let rows go: %d active", n)
	}
	res = b.mustRunCounts(syncer.StageLocations, syncer.Options{NoPrompt: true, ForceGone: true}, syncer.Counts{Unchanged: 1, Gone: 3})

	// Records that come back are revived (gone_at cleared), counted as updated.
	b.sim.Reset()
	if err := b.sim.Load(orig); err != nil {
		t.Fatal(err)
	}
	res = b.mustRunCounts(syncer.StageLocations, syncer.Options{NoPrompt: true}, syncer.Counts{Unchanged: 1, Updated: 4})
	if n := b.count(`SELECT 1 FROM adm.locations WHERE gone_at IS NULL`); n != 5 {
		t.Fatalf("revived: %d active", n)
	}
}

// A page failing mid-fetch, or Administrate being down, changes nothing.
func TestLocationsFetchFailureChangesNothing(t *testing.T) {
	b := setup(t)
	for _, n := range []string{"A", "B", "C", "D", "E"} {
		b.tutorialLocation(n, true)
		b.sim.Location(n)
	}
	b.mustRun(syncer.StageLocations, syncer.Options{NoPrompt: true})
	// Without the fault below this would rename A and mark E gone.
	b.reseed(func(s *admsim.Seed) { s.Locations[0].Name = "A2"; s.Locations = s.Locations[:4] })

	// Page 1 answers; page 2 is refused (429) and the client may not retry.
	b.clientOpts = func(o *administrate.Options) { o.MaxAttempts = 1 }
	b.sim.SetFaults(admsim.Faults{RateLimit: 1, RateWindow: time.Minute})
	res, err := b.run(syncer.StageLocations, syncer.Options{NoPrompt: true, PageSize: 1, ForceGone: true})
	if err == nil || res.Outcome != syncer.OutcomeFailed {
		t.Fatalf("want failure, got %v / %+v", err, res)
	}
	if !strings.Contains(res.Message, "no local row was changed") {
		t.Fatalf("message = %q", res.Message)
	}
	if got := b.sim.CallCount("Locations"); got != 2 { // the first run's page, then this run's page 1
		t.Fatalf("Locations executed %d times: the failure was not mid-fetch", got)
	}
	if n := b.count(`SELECT 1 FROM adm.locations WHERE gone_at IS NULL AND name IN ('A', 'B', 'C', 'D', 'E')`); n != 5 {
		t.Fatalf("a failed page changed rows: %d unchanged active rows", n)
	}

	// A full outage: same.
	b.sim.SetFaults(admsim.Faults{})
	if err := b.sim.StartOutage(time.Minute); err != nil {
		t.Fatal(err)
	}
	res, err = b.run(syncer.StageLocations, syncer.Options{NoPrompt: true, ForceGone: true})
	if err == nil || res.Outcome != syncer.OutcomeFailed {
		t.Fatalf("outage: %v %+v", err, res)
	}
	if n := b.count(`SELECT 1 FROM adm.locations WHERE gone_at IS NULL`); n != 5 {
		t.Fatalf("outage changed rows: %d active", n)
	}
	if n := b.count(`SELECT 1 FROM admsync.sync_runs WHERE id = $1 AND status = 'failed' AND message IS NOT NULL`, res.RunID); n != 1 {
		t.Fatal("failed run not recorded")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
