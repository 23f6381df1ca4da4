package syncer_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"admsync/pkg/admsim"
	"admsync/services/syncer/internal/syncer"
)

// seedAll gives both sides a small consistent catalogue for every stage.
func seedAll(b *bundle) {
	b.sim.Currency("GBP")
	b.sim.CustomField("Event", "Sitting")
	b.sim.CustomField("Session", "Day")
	pl := b.sim.PriceLevel("Normal")
	loc := b.sim.Location("London")
	b.sim.Venue("Holborn", loc)
	ada := b.sim.Instructor("Ada", "Fenwick")
	b.sim.Administrator("Dev", "Raman")
	b.sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CB1", Title: "Business Finance", ApprovedInstructors: []string{ada},
		Prices: []admsim.PriceSeed{{PriceLevel: pl, Amount: "650.00"}}})
	l := b.tutorialLocation("London", true)
	b.tutorialVenue("Holborn", l)
	b.tutorialInstructor("Ada", "Fenwick", true)
	b.tutorialCourseTemplate("CB1", "Business Finance", true)
}

// All stages in order, totals, a rerun that writes nothing, and the
// course-templates fetch reused by the price stage.
func TestRunAll(t *testing.T) {
	b := setup(t)
	seedAll(b)
	all, err := b.runner(syncer.Options{NoPrompt: true}, "").RunAll(b.ctx, syncer.Options{NoPrompt: true})
	if err != nil {
		t.Fatalf("run all: %v\n%s", err, b.out.String())
	}
	var order []string
	for _, s := range all.Stages {
		order = append(order, s.Stage)
	}
	if strings.Join(order, ",") != strings.Join(syncer.Order, ",") {
		t.Fatalf("order = %v", order)
	}
	// 2 custom fields, 1 price level, 1 location, 1 venue, 1 instructor, 1 template, 1 price.
	if all.Totals.Created != 8 || all.Succeeded != 7 || all.Failed != 0 {
		t.Fatalf("totals %+v, %d ok, %d failed", all.Totals, all.Succeeded, all.Failed)
	}
	if got := b.sim.CallCount("CourseTemplates"); got != 1 {
		t.Fatalf("course templates fetched %d times in one run all", got)
	}
	out := b.out.String()
	for _, want := range []string{"[1/7] custom fields", "[7/7] course template price levels", "✓ venues:",
		"=== Sync complete ===", "Stages: 7 succeeded, 0 failed, 0 not run, out of 7"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := b.count(`SELECT 1 FROM admsync.sync_runs WHERE stage = 'all' AND status = 'ok' AND created = 8`); n != 1 {
		t.Fatal("the run of all is not recorded")
	}
	b.out.Reset()
	all, err = b.runner(syncer.Options{NoPrompt: true}, "").RunAll(b.ctx, syncer.Options{NoPrompt: true})
	if err != nil || all.RowsApplied != 0 || all.Totals.Created+all.Totals.Updated != 0 {
		t.Fatalf("rerun: %v, %d rows, %+v", err, all.RowsApplied, all.Totals)
	}
}

// sync all stops at the first failure; --skip-errors carries on.
func TestRunAllStopsUnlessSkipErrors(t *testing.T) {
	b := setup(t)
	seedAll(b)
	// No Event custom field: course-templates (6th) fails its prerequisite.
	b.reseed(func(s *admsim.Seed) { delete(s.CustomFields, "Event") })

	all, err := b.runner(syncer.Options{NoPrompt: true}, "").RunAll(b.ctx, syncer.Options{NoPrompt: true})
	var ae *syncer.AllError
	if !errors.As(err, &ae) || len(ae.Failed) != 1 || ae.Failed[0] != syncer.StageCourseTemplates {
		t.Fatalf("err = %v", err)
	}
	if len(all.Stages) != 6 || len(all.NotRun) != 1 || all.NotRun[0] != syncer.StageCourseTemplatePrices {
		t.Fatalf("stages run %d, not run %v", len(all.Stages), all.NotRun)
	}
	if !strings.Contains(b.out.String(), "✗ course templates: FAILED - prerequisite not met") ||
		!strings.Contains(b.out.String(), "use --skip-errors") {
		t.Fatalf("output:\n%s", b.out.String())
	}

	b.out.Reset()
	all, err = b.runner(syncer.Options{}, "").RunAll(b.ctx, syncer.Options{NoPrompt: true, SkipErrors: true})
	if err == nil || len(all.Stages) != 7 || len(all.NotRun) != 0 {
		t.Fatalf("--skip-errors: err %v, %d stages, not run %v", err, len(all.Stages), all.NotRun)
	}
	// The price stage ran too and failed on its own prerequisite.
	if all.Failed != 2 || all.Stages[6].Outcome != syncer.OutcomeFailed {
		t.Fatalf("failed = %d, last = %+v", all.Failed, all.Stages[6])
	}
	if !strings.Contains(b.out.String(), "Stages: 5 succeeded, 2 failed, 0 not run, out of 7") {
		t.Fatalf("output:\n%s", b.out.String())
	}
}

// Two runs of one stage at once: the second waits for the first's lock, then
// finds nothing to do. Neither fails, nothing is written twice.
func TestConcurrentRunsOfOneStage(t *testing.T) {
	b := setup(t)
	for _, n := range []string{"A", "B", "C", "D", "E", "F", "G", "H"} {
		b.tutorialLocation(n, true)
		b.sim.Location(n)
	}
	var wg sync.WaitGroup
	results := make([]*syncer.StageResult, 4)
	errs := make([]error, 4)
	for i := range results {
		r := b.runner(syncer.Options{NoPrompt: true, PageSize: 3}, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = r.RunStage(b.ctx, syncer.StageLocations, syncer.Options{NoPrompt: true, PageSize: 3})
		}()
	}
	wg.Wait()
	created := 0
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		created += res.Counts.Created
		if res.Counts.Created != 0 && res.Counts.Created != 8 {
			t.Fatalf("runs interleaved: %+v", res.Counts)
		}
	}
	if created != 8 || b.count(`SELECT 1 FROM adm.locations`) != 8 {
		t.Fatalf("created %d in total, %d rows", created, b.count(`SELECT 1 FROM adm.locations`))
	}
}

// --plan shows the diff and writes no bridge row.
func TestPlanWritesNothing(t *testing.T) {
	b := setup(t)
	b.tutorialLocation("London", true)
	sLondon := b.sim.Location("London")
	res := b.mustRunCounts(syncer.StageLocations, syncer.Options{Plan: true}, syncer.Counts{Created: 1})
	if !res.PlanOnly || res.RowsApplied != 0 || b.count(`SELECT 1 FROM adm.locations`) != 0 {
		t.Fatalf("plan wrote rows: %+v", res)
	}
	if len(res.Changes) != 1 || res.Changes[0].Action != "create" || res.Changes[0].ID != sLondon {
		t.Fatalf("changes = %+v", res.Changes)
	}
	out := b.out.String()
	if !strings.Contains(out, "Would create adm.locations: "+sLondon+" (London)") || !strings.Contains(out, "Plan for locations (nothing written): would create 1") {
		t.Fatalf("output:\n%s", out)
	}
	if strings.Contains(out, "not a terminal") {
		t.Fatal("--plan never prompts, so it need not say so")
	}
	if n := b.count(`SELECT 1 FROM admsync.sync_runs WHERE plan_only AND status = 'ok'`); n != 1 {
		t.Fatal("plan run not recorded")
	}
}

// Unmatched tutorial records are collected during the stage, and
// at the end one question offers to create them; created records are linked
// in the same run.
func TestPromptCreatesAndLinks(t *testing.T) {
	b := setup(t)
	b.tutorialLocation("London", true)
	edinburgh := b.tutorialLocation("Edinburgh", true)
	b.sim.Location("London")
	before := b.sim.LocationCount()

	res, err := b.runner(syncer.Options{}, "y\n").RunStage(b.ctx, syncer.StageLocations, syncer.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, b.out.String())
	}
	if b.sim.LocationCount() != before+1 || b.sim.CallCount("CreateLocation") != 1 {
		t.Fatalf("Edinburgh not created in Administrate (%d calls)", b.sim.CallCount("CreateLocation"))
	}
	if len(res.CreatedInAdministrate) != 1 || res.Counts.Created != 2 {
		t.Fatalf("result: %+v / %+v", res.CreatedInAdministrate, res.Counts)
	}
	if got := b.link("location", res.CreatedInAdministrate[0].ID); got != edinburgh {
		t.Fatalf("created location linked to %d", got)
	}
	out := b.out.String()
	if !strings.Contains(out, "1 tutorial location(s) have no match in Administrate.\nCreate them in Administrate now? [y/N]") ||
		!strings.Contains(out, "Created in Administrate and linked") {
		t.Fatalf("output:\n%s", out)
	}
	// Next run: everything matches.
	res = b.mustRunCounts(syncer.StageLocations, syncer.Options{NoPrompt: true}, syncer.Counts{Unchanged: 2})

	// US1 scenario 2: SA1 exists only in the tutorial tables; answering y
	// creates it through courseTemplate.create and links it.
	sa1 := b.tutorialCourseTemplate("SA1", "Health and Care", true)
	b.sim.CustomField("Event", "Sitting")
	b.mustRun(syncer.StageCustomFields, syncer.Options{NoPrompt: true})
	b.out.Reset()
	res, err = b.runner(syncer.Options{}, "y\n").RunStage(b.ctx, syncer.StageCourseTemplates, syncer.Options{})
	if err != nil || len(res.CreatedInAdministrate) != 1 || b.sim.CallCount("CreateCourseTemplate") != 1 {
		t.Fatalf("SA1: %v %+v\n%s", err, res.CreatedInAdministrate, b.out.String())
	}
	if got := b.link("course_template", res.CreatedInAdministrate[0].ID); got != sa1 {
		t.Fatalf("SA1 linked to %d", got)
	}
	res = b.mustRun(syncer.StageCourseTemplates, syncer.Options{NoPrompt: true})
	if res.Counts.Created != 0 || len(res.UnmatchedTutorial) != 0 {
		t.Fatalf("after creation: %+v, unmatched %+v", res.Counts, res.UnmatchedTutorial)
	}
}

func TestPromptDeclinedOrUnsupported(t *testing.T) {
	b := setup(t)
	b.tutorialLocation("Edinburgh", true)
	b.tutorialCourseTemplate("SA1", "Health", true)
	b.tutorialInstructor("Jane", "Smith", true)
	b.sim.Location("London")
	b.sim.CustomField("Event", "Sitting")
	b.mustRun(syncer.StageCustomFields, syncer.Options{NoPrompt: true})

	// Anything but y/yes declines; end of input declines.
	for _, answer := range []string{"n\n", "\n", "maybe\n"} {
		b.out.Reset()
		if _, err := b.runner(syncer.Options{}, answer).RunStage(b.ctx, syncer.StageLocations, syncer.Options{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.out.String(), "Skipped.") || b.sim.CallCount("CreateLocation") != 0 {
			t.Fatalf("answer %q:\n%s", answer, b.out.String())
		}
	}

	// Not a terminal: behaves as --no-prompt and says so.
	b.out.Reset()
	b.mustRun(syncer.StageLocations, syncer.Options{})
	if out := b.out.String(); !strings.Contains(out, "not a terminal: behaving as --no-prompt") || strings.Contains(out, "[y/N]") {
		t.Fatalf("output:\n%s", out)
	}

	// Administrate lacks courseTemplate.create (doctor would say): instructions per record.
	b.sim.SetFaults(admsim.Faults{Disabled: []string{"courseTemplate.create"}})
	b.out.Reset()
	res, err := b.runner(syncer.Options{}, "y\n").RunStage(b.ctx, syncer.StageCourseTemplates, syncer.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, b.out.String())
	}
	if len(res.Manual) != 1 || !strings.Contains(res.Manual[0].Description, "courseTemplate.create") ||
		!strings.Contains(res.Manual[0].Description, `"SA1"`) {
		t.Fatalf("manual = %+v", res.Manual)
	}
	if !strings.Contains(b.out.String(), "By hand: tutorial #") {
		t.Fatalf("output:\n%s", b.out.String())
	}

	// Instructors (FR-003): the contact is created, once; the API cannot mark it
	// as instructor, so the report says to tick it, and the next run links it.
	b.out.Reset()
	res, err = b.runner(syncer.Options{}, "yes\n").RunStage(b.ctx, syncer.StageInstructors, syncer.Options{})
	if err != nil || len(res.Manual) != 1 || !strings.Contains(res.Manual[0].Description, `contact "Jane Smith" created in Administrate`) ||
		!strings.Contains(res.Manual[0].Description, "tick Instructor") {
		t.Fatalf("instructors: %v %+v\n%s", err, res.Manual, b.out.String())
	}
	if b.sim.CallCount("CreateContact") != 1 {
		t.Fatalf("CreateContact sent %d times, want 1", b.sim.CallCount("CreateContact"))
	}
	// Asked again before anyone ticked it: the same contact, not a second one.
	b.out.Reset()
	res, err = b.runner(syncer.Options{}, "y\n").RunStage(b.ctx, syncer.StageInstructors, syncer.Options{})
	if err != nil || len(res.Manual) != 1 || !strings.Contains(res.Manual[0].Description, `contact "Jane Smith" exists in Administrate`) ||
		b.sim.CallCount("CreateContact") != 1 {
		t.Fatalf("instructors again: %v %+v (CreateContact %d)", err, res.Manual, b.sim.CallCount("CreateContact"))
	}
	id := res.Manual[0].Description[strings.Index(res.Manual[0].Description, "(id ")+4:]
	id = id[:strings.Index(id, ")")]
	if err := b.sim.SetContactInstructor(id, true); err != nil { // ticked in Administrate's UI
		t.Fatal(err)
	}
	b.out.Reset()
	b.mustRun(syncer.StageInstructors, syncer.Options{})
	if n := b.count(`SELECT count(*) FROM adm.instructors WHERE external_id = $1 AND tutorial_instructor_id IS NOT NULL AND gone_at IS NULL`, id); n != 1 {
		t.Fatalf("the ticked contact is not linked:\n%s", b.out.String())
	}
}
