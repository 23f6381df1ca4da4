package syncer_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"admsync/pkg/admsim"
	"admsync/services/syncer/internal/syncer"
)

// seedCatalogue gives both sides a generated catalogue for every stage: some
// records on both sides, some on one side only, a venue whose Administrate
// location has no tutorial match, templates with prices on several levels.
func seedCatalogue(b *bundle, rng *rand.Rand) {
	b.sim.Currency("GBP")
	b.sim.CustomField("Event", "Sitting")
	for i := range 1 + rng.IntN(4) {
		b.sim.CustomField("Session", fmt.Sprintf("Field %d", i))
	}
	var levels []string
	for i := range 1 + rng.IntN(3) {
		levels = append(levels, b.sim.PriceLevel(fmt.Sprintf("Level %d", i)))
	}
	for i := range 1 + rng.IntN(6) {
		name := fmt.Sprintf("Town %d", i)
		loc := b.sim.Location(name)
		var tut int64
		if rng.IntN(4) > 0 {
			tut = b.tutorialLocation(name, true)
		}
		for j := range rng.IntN(4) {
			room := fmt.Sprintf("Room %d-%d", i, j)
			b.sim.Venue(room, loc)
			if tut != 0 && rng.IntN(3) > 0 {
				b.tutorialVenue(room, tut)
			}
		}
	}
	b.tutorialLocation("Tutorial-only town", true)
	var instructors []string
	for i := range 1 + rng.IntN(5) {
		first, last := "Ada", fmt.Sprintf("Number%d", i)
		instructors = append(instructors, b.sim.Instructor(first, last))
		if rng.IntN(3) > 0 {
			b.tutorialInstructor(first, last, true)
		}
	}
	for i := range 1 + rng.IntN(8) {
		code := fmt.Sprintf("CT%d", i)
		ct := admsim.CourseTemplateSeed{Code: code, Title: "Course " + code,
			ApprovedInstructors: []string{instructors[rng.IntN(len(instructors))]}}
		for _, l := range levels {
			if rng.IntN(3) > 0 {
				ct.Prices = append(ct.Prices, admsim.PriceSeed{PriceLevel: l, Amount: fmt.Sprintf("%d.50", 100+rng.IntN(900))})
			}
		}
		b.sim.CourseTemplate(ct)
		if rng.IntN(4) > 0 {
			b.tutorialCourseTemplate(code, "Course "+code, true)
		}
	}
}

// A plan of all stages on a new installation plans every stage — the later
// ones against what the earlier would write, nothing being written — speaks
// of what it would do, and predicts exactly what the real run then does.
func TestPlanAllCarriesPlannedRowsForward(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			b := setup(t)
			seedCatalogue(b, rand.New(rand.NewPCG(seed, 11)))
			opts := syncer.Options{NoPrompt: true, Plan: true}
			plan, err := b.runner(opts, "").RunAll(b.ctx, opts)
			if err != nil {
				t.Fatalf("plan all: %v\n%s", err, b.out.String())
			}
			out := b.out.String()
			if plan.Succeeded != len(syncer.Order) || strings.Contains(out, "prerequisite not met") {
				t.Fatalf("plan stopped: %d of %d stages\n%s", plan.Succeeded, len(syncer.Order), out)
			}
			for _, table := range []string{"adm.custom_fields", "adm.pricelevels", "adm.locations", "adm.venues", "adm.instructors",
				"adm.course_templates", "adm.course_template_price_levels", "adm.course_template_instructors"} {
				if n := b.count(`SELECT 1 FROM ` + table); n != 0 {
					t.Errorf("the plan wrote %d rows into %s", n, table)
				}
			}
			for _, want := range []string{"nothing is written", "would create", "Plan complete: nothing was written"} {
				if !strings.Contains(out, want) {
					t.Errorf("plan output lacks %q:\n%s", want, out)
				}
			}
			for _, bad := range []string{" created,", "=== Sync complete ==="} {
				if strings.Contains(out, bad) {
					t.Errorf("plan output says %q though nothing was written:\n%s", bad, out)
				}
			}

			b.out.Reset()
			run := syncer.Options{NoPrompt: true}
			real, err := b.runner(run, "").RunAll(b.ctx, run)
			if err != nil {
				t.Fatalf("run all: %v\n%s", err, b.out.String())
			}
			for i, st := range real.Stages {
				p := plan.Stages[i]
				if p.Counts != st.Counts || len(p.Skipped) != len(st.Skipped) ||
					len(p.UnmatchedTutorial) != len(st.UnmatchedTutorial) || len(p.UnmatchedAdministrate) != len(st.UnmatchedAdministrate) {
					t.Errorf("%s: planned %+v (unmatched %d/%d), the run did %+v (unmatched %d/%d)", st.Stage,
						p.Counts, len(p.UnmatchedTutorial), len(p.UnmatchedAdministrate),
						st.Counts, len(st.UnmatchedTutorial), len(st.UnmatchedAdministrate))
				}
			}
		})
	}
}
