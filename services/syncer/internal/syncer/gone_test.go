package syncer_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"admsync/pkg/admsim"
	"admsync/pkg/service"
	"admsync/services/syncer/internal/syncer"
)

// A location Administrate stops returning is named, with the local events
// and sessions still using it; the tutorial location it was linked to is then
// offered for creation only with a note that its record is gone.
func TestGoneRecordIsNamedWithItsEvents(t *testing.T) {
	b := setup(t)
	var london int64
	for _, n := range []string{"London", "Leeds", "York", "Bath"} {
		id := b.tutorialLocation(n, true)
		if n == "London" {
			london = id
		}
		b.sim.Location(n)
	}
	product := b.id(`INSERT INTO acted.products (product_code, subject_code, sitting, variation_code) VALUES ('CB1/26', 'CB1', '26', 'LO') RETURNING id`)
	for i := range 7 {
		ev := b.id(`INSERT INTO acted.tutorial_events (code, location_id, start_date, end_date, product_id)
			VALUES ($1, $2, '2026-03-01', '2026-03-02', $3) RETURNING id`, fmt.Sprintf("CB1-LON-%02d", i), london, product)
		b.exec(`INSERT INTO acted.tutorial_sessions (tutorial_event_id, title, location_id, start_date, end_date, sequence)
			VALUES ($1, 'Day 1', $2, '2026-03-01 09:00Z', '2026-03-01 17:00Z', 1)`, ev, london)
	}
	b.mustRun(syncer.StageLocations, syncer.Options{NoPrompt: true})

	b.reseed(func(s *admsim.Seed) {
		var kept []admsim.LocationSeed
		for _, l := range s.Locations {
			if l.Name != "London" {
				kept = append(kept, l)
			}
		}
		s.Locations = kept
	})
	for _, plan := range []bool{true, false} {
		res := b.mustRunCounts(syncer.StageLocations, syncer.Options{NoPrompt: true, Plan: plan}, syncer.Counts{Unchanged: 3, Gone: 1})
		if len(res.Gone) != 1 || !strings.Contains(res.Gone[0].Description, `"London"`) ||
			!strings.Contains(res.Gone[0].UsedBy, "7 tutorial event(s) (CB1-LON-00, CB1-LON-01, CB1-LON-02, CB1-LON-03, CB1-LON-04, and 2 more) and 7 session(s)") {
			t.Fatalf("plan=%v: gone = %+v", plan, res.Gone)
		}
		out := b.out.String()
		for _, want := range []string{"London", "CB1-LON-00", "no longer returned by Administrate"} {
			if !strings.Contains(out, want) {
				t.Errorf("plan=%v: report lacks %q:\n%s", plan, want, out)
			}
		}
	}

	// London is now an unmatched tutorial location: offered for creation,
	// but the question says its Administrate record is gone.
	b.out.Reset()
	res, err := b.runner(syncer.Options{}, "n\n").RunStage(b.ctx, syncer.StageLocations, syncer.Options{})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, b.out.String())
	}
	out := b.out.String()
	q := strings.Index(out, "[y/N]")
	if q < 0 {
		t.Fatalf("no question asked:\n%s", out)
	}
	if before := out[:q]; !strings.Contains(before, "1 of them were linked to a record Administrate no longer returns") ||
		!strings.Contains(before, "London (tutorial #") || !strings.Contains(before, "(gone)") {
		t.Errorf("the question offers to re-create London without saying its record is gone:\n%s", out)
	}
	if len(res.UnmatchedTutorial) != 1 || !strings.Contains(res.UnmatchedTutorial[0].Description, "no longer returns (gone)") {
		t.Errorf("unmatched tutorial = %+v", res.UnmatchedTutorial)
	}
}

// Two currencies on one price level: both prices are skipped (the bridge
// holds one per template and level), never silently: ⚠, a count, the reason
// with the amounts, exit 3 — and the report's labels are tidy.
func TestPricesInTwoCurrenciesAreSkippedLoudly(t *testing.T) {
	b := setup(t)
	gbp, eur := b.sim.Currency("GBP"), b.sim.Currency("EUR")
	b.sim.CustomField("Event", "Sitting")
	normal := b.sim.PriceLevel("Normal")
	b.sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CP1", Title: "Pricing",
		Prices: []admsim.PriceSeed{{PriceLevel: normal, Currency: gbp, Amount: "100.00"}, {PriceLevel: normal, Currency: eur, Amount: "120.00"}}})
	b.tutorialCourseTemplate("  cp1 ", "Pricing", true)
	b.sim.Location("London") // so that run all gets past venues
	b.tutorialLocation("London", true)
	for _, st := range []string{syncer.StageCustomFields, syncer.StagePriceLevels, syncer.StageCourseTemplates} {
		b.mustRun(st, syncer.Options{NoPrompt: true})
	}
	res := b.mustRunSkipping(syncer.StageCourseTemplatePrices, syncer.Options{NoPrompt: true})
	wantCounts(t, res, syncer.Counts{Skipped: 2})
	out := b.out.String()
	for _, want := range []string{"Fetched 2 prices of 1 course templates", "⚠ 2 course template price level(s) skipped",
		"cp1 - Normal has 2 prices: EUR 120.00", "GBP 100.00", "Sync completed with 2 skipped record(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "  cp1") || strings.Contains(out, "cp1  -") || strings.Contains(out, "Fetched 2 course template price levels") {
		t.Errorf("padded label or prices counted as price levels:\n%s", out)
	}
	// run all: the stage shows ⚠, not ✓, and the run exits 3.
	b.out.Reset()
	_, err := b.runner(syncer.Options{NoPrompt: true}, "").RunAll(b.ctx, syncer.Options{NoPrompt: true})
	var skipped *syncer.SkippedError
	if !errors.As(err, &skipped) || service.ExitCode(err) != 3 {
		t.Fatalf("run all: err %v, want completed with skips (exit 3)\n%s", err, b.out.String())
	}
	out = b.out.String()
	if !strings.Contains(out, "⚠ course template price levels: completed with 2 skipped") || strings.Contains(out, "✓ course template price levels") {
		t.Errorf("run all hides the skips:\n%s", out)
	}
}
