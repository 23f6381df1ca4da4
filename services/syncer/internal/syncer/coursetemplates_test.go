package syncer_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"admsync/pkg/admsim"
	"admsync/services/syncer/internal/syncer"
)

// US1 scenarios 1, 3 and 4; the spec's edge case of a code matching several
// Administrate templates; approved instructors mirrored for the importer.
func TestCourseTemplates(t *testing.T) {
	b := setup(t)
	cm2 := b.tutorialCourseTemplate("CM2", "Financial Engineering", true)
	b.tutorialCourseTemplate("SA1", "Health and Care", true)
	b.tutorialCourseTemplate("CX1", "Duplicated in Administrate", true)
	ada := b.sim.Instructor("Ada", "Fenwick")
	bo := b.sim.Instructor("Bo", "Lind")
	cfKey := b.sim.CustomField("CourseTemplate", "Exam board")
	sCM2 := b.sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "cm2", Title: "CM2", LearningMode: "blended",
		ApprovedInstructors: []string{ada, bo},
		CustomFieldValues:   []admsim.CustomFieldValueSeed{{Definition: cfKey, Value: "IFoA"}}})
	sCB3 := b.sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CB3", Title: "Business Economics"})
	b.sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CX1", Title: "first"})
	b.sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "cx1", Title: "second"})

	// No Event custom fields synced: refused before calling Administrate.
	res, err := b.run(syncer.StageCourseTemplates, syncer.Options{NoPrompt: true})
	if err == nil || !strings.Contains(res.Message, "Event custom fields") || b.sim.CallCount("CourseTemplates") != 0 {
		t.Fatalf("want the custom-fields prerequisite, got %v (%d calls)", err, b.sim.CallCount("CourseTemplates"))
	}
	b.sim.CustomField("Event", "Sitting")
	b.mustRun(syncer.StageCustomFields, syncer.Options{NoPrompt: true})

	res = b.mustRunCounts(syncer.StageCourseTemplates, syncer.Options{NoPrompt: true}, syncer.Counts{Created: 4})
	if got := b.link("course_template", sCM2); got != cm2 {
		t.Fatalf("CM2 linked to %d, want %d", got, cm2)
	}
	if got := b.str(`SELECT event_learning_mode FROM adm.course_templates WHERE external_id = $1`, sCM2); got != "blended" {
		t.Fatalf("learning mode = %q", got)
	}
	cf := map[string]any{}
	if err := json.Unmarshal([]byte(b.str(`SELECT custom_fields::text FROM adm.course_templates WHERE external_id = $1`, sCM2)), &cf); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cf, map[string]any{cfKey: "IFoA"}) {
		t.Fatalf("custom_fields = %v", cf)
	}
	if n := b.count(`SELECT 1 FROM adm.course_templates WHERE tutorial_course_template_id IS NOT NULL`); n != 1 {
		t.Fatalf("%d templates linked; the ambiguous CX1 must stay unlinked", n)
	}
	if len(res.Ambiguous) != 1 || res.Ambiguous[0].Key != "cx1" || len(res.Ambiguous[0].Administrate) != 2 {
		t.Fatalf("ambiguous = %+v", res.Ambiguous)
	}
	if len(res.UnmatchedAdministrate) != 1 || res.UnmatchedAdministrate[0].ID != sCB3 {
		t.Fatalf("CB3 not reported: %+v", res.UnmatchedAdministrate)
	}
	if len(res.UnmatchedTutorial) != 1 || !strings.Contains(res.UnmatchedTutorial[0].Description, "SA1: Health and Care") {
		t.Fatalf("SA1 not reported: %+v", res.UnmatchedTutorial)
	}
	if !strings.Contains(b.out.String(), "CB3: Business Economics (id: "+sCB3+")") {
		t.Fatalf("report:\n%s", b.out.String())
	}
	approved := func() []string {
		rows, err := b.db.Pool.Query(b.ctx, `SELECT cti.instructor_external_id FROM adm.course_template_instructors cti
			JOIN adm.course_templates ct ON ct.id = cti.course_template_id WHERE ct.external_id = $1 ORDER BY 1`, sCM2)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			out = append(out, s)
		}
		return out
	}
	if got := approved(); len(got) != 2 {
		t.Fatalf("approved instructors = %v", got)
	}

	// Rerun: nothing changes.
	res = b.mustRunCounts(syncer.StageCourseTemplates, syncer.Options{NoPrompt: true}, syncer.Counts{Unchanged: 4})
	if res.RowsApplied != 0 {
		t.Fatalf("rerun applied %d rows", res.RowsApplied)
	}

	// US1 scenario 4: a custom-field value changes in Administrate; Bo is no
	// longer approved.
	b.reseed(func(s *admsim.Seed) {
		for i := range s.CourseTemplates {
			if s.CourseTemplates[i].Code == "cm2" {
				s.CourseTemplates[i].CustomFieldValues[0].Value = "SOA"
				s.CourseTemplates[i].ApprovedInstructors = s.CourseTemplates[i].ApprovedInstructors[:1]
			}
		}
	})
	res = b.mustRunCounts(syncer.StageCourseTemplates, syncer.Options{NoPrompt: true, Debug: true}, syncer.Counts{Updated: 1, Unchanged: 3})
	if got := b.str(`SELECT custom_fields->>$2 FROM adm.course_templates WHERE external_id = $1`, sCM2, cfKey); got != "SOA" {
		t.Fatalf("custom field value = %q", got)
	}
	if got := approved(); len(got) != 1 || got[0] != ada {
		t.Fatalf("approved instructors = %v", got)
	}
	if !strings.Contains(b.out.String(), "[custom_fields]") {
		t.Fatalf("--debug does not list the changed column:\n%s", b.out.String())
	}
}

// US4 scenarios 1 and 2, the skip rules, and a price that Administrate
// replaces under a new id for the same template and level.
func TestCourseTemplatePriceLevels(t *testing.T) {
	b := setup(t)
	b.sim.Currency("GBP")
	b.sim.CustomField("Event", "Sitting")
	normal := b.sim.PriceLevel("Normal")
	b.tutorialCourseTemplate("CT123", "Template", true)

	// Neither course templates nor price levels synced.
	res, err := b.run(syncer.StageCourseTemplatePrices, syncer.Options{NoPrompt: true})
	if err == nil || !strings.Contains(res.Message, "course templates") {
		t.Fatalf("want the course-templates prerequisite: %v", err)
	}
	sCT := b.sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CT123", Title: "Template",
		Prices: []admsim.PriceSeed{{ID: "Price:456", PriceLevel: normal, Amount: "500.00"}}})
	b.mustRun(syncer.StageCustomFields, syncer.Options{NoPrompt: true})
	b.mustRun(syncer.StageCourseTemplates, syncer.Options{NoPrompt: true})
	res, err = b.run(syncer.StageCourseTemplatePrices, syncer.Options{NoPrompt: true})
	if err == nil || !strings.Contains(res.Message, "price levels") {
		t.Fatalf("want the price-levels prerequisite: %v", err)
	}
	b.mustRun(syncer.StagePriceLevels, syncer.Options{NoPrompt: true})
	// A level created after the price-levels sync: its price is skipped.
	late := b.sim.PriceLevel("Late")
	b.reseed(func(s *admsim.Seed) {
		s.CourseTemplates[0].Prices = append(s.CourseTemplates[0].Prices, admsim.PriceSeed{PriceLevel: late, Amount: "1.00"})
	})

	res = b.mustRunSkipping(syncer.StageCourseTemplatePrices, syncer.Options{NoPrompt: true})
	wantCounts(t, res, syncer.Counts{Created: 1, Skipped: 1})
	row := func() string {
		return b.str(`SELECT p.external_id || ' ' || p.amount::text || ' ' || ct.external_id || ' ' || pl.external_id
			FROM adm.course_template_price_levels p JOIN adm.course_templates ct ON ct.id = p.course_template_id
			JOIN adm.pricelevels pl ON pl.id = p.price_level_id WHERE p.gone_at IS NULL`)
	}
	priceID := b.str(`SELECT external_id FROM adm.course_template_price_levels`)
	if got, want := row(), priceID+" 500.00 "+sCT+" "+normal; got != want {
		t.Fatalf("price row = %q, want %q", got, want)
	}
	if !strings.Contains(res.Skipped[0].Description, "not in adm.pricelevels") {
		t.Fatalf("skip reason = %q", res.Skipped[0].Description)
	}

	// Scenario 2: the amount changes.
	b.reseed(func(s *admsim.Seed) { s.CourseTemplates[0].Prices[0].Amount = "550.00" })
	res = b.mustRunSkipping(syncer.StageCourseTemplatePrices, syncer.Options{NoPrompt: true})
	wantCounts(t, res, syncer.Counts{Updated: 1, Skipped: 1})
	if got := b.str(`SELECT amount::text FROM adm.course_template_price_levels`); got != "550.00" {
		t.Fatalf("amount = %s", got)
	}

	// Administrate replaces the price under a new id: the row is updated in
	// place, no unique-key collision, nothing left behind.
	b.reseed(func(s *admsim.Seed) { s.CourseTemplates[0].Prices[0].ID = "Price:999" })
	res = b.mustRunSkipping(syncer.StageCourseTemplatePrices, syncer.Options{NoPrompt: true})
	wantCounts(t, res, syncer.Counts{Updated: 1, Skipped: 1})
	newID := b.str(`SELECT external_id FROM adm.course_template_price_levels`)
	if newID == priceID || b.count(`SELECT 1 FROM adm.course_template_price_levels`) != 1 {
		t.Fatalf("price id not replaced in place (%s -> %s)", priceID, newID)
	}
	res = b.mustRunSkipping(syncer.StageCourseTemplatePrices, syncer.Options{NoPrompt: true})
	wantCounts(t, res, syncer.Counts{Unchanged: 1, Skipped: 1})
}
