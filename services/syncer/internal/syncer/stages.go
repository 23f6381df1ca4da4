package syncer

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Stage names, in the order `run all` runs them.
const (
	StageCustomFields         = "custom-fields"
	StagePriceLevels          = "price-levels"
	StageLocations            = "locations"
	StageVenues               = "venues"
	StageInstructors          = "instructors"
	StageCourseTemplates      = "course-templates"
	StageCourseTemplatePrices = "course-template-price-levels"
	All                       = "all"
)

// Order is the dependency order of the stages.
var Order = []string{StageCustomFields, StagePriceLevels, StageLocations, StageVenues,
	StageInstructors, StageCourseTemplates, StageCourseTemplatePrices}

// ParseStage accepts a stage name in our spelling (course-templates), with
// underscores, or in the Django command spelling (sync_course_templates,
// sync_all), and returns the canonical name or an error listing the choices.
func ParseStage(s string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.ReplaceAll(n, "_", "-")
	n = strings.TrimPrefix(n, "sync-")
	if n == All {
		return All, nil
	}
	if n == StageEvents {
		return StageEvents, nil
	}
	for _, st := range Order {
		if n == st {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown stage %q: want one of %s or all (Django names such as sync_locations work too)", s, strings.Join(Order, ", "))
}

// Info describes a stage for --help and reports.
type Info struct {
	Name     string
	Display  string // plural noun for report lines: "course template price levels"
	Noun     string // singular: "course template price level"
	Summary  string // what the stage does
	Requires string // prerequisites, for --help
}

// Infos describes every stage, in order.
var Infos = map[string]Info{
	StageCustomFields: {Name: StageCustomFields, Display: "custom fields", Noun: "custom field",
		Summary: "Mirrors the custom-field definitions of all 18 Administrate entity types into adm.custom_fields, keyed by (entity type, key). " +
			"Administrate owns them: no tutorial matching. A type that fails to fetch leaves its rows untouched and marks nothing gone.",
		Requires: "none"},
	StagePriceLevels: {Name: StagePriceLevels, Display: "price levels", Noun: "price level",
		Summary:  "Mirrors every price level (paged) into adm.pricelevels. Administrate owns them: no tutorial matching.",
		Requires: "none"},
	StageLocations: {Name: StageLocations, Display: "locations", Noun: "location",
		Summary: "Links Administrate locations to active acted.tutorial_locations by name (trimmed, whitespace collapsed, case-folded) in adm.locations. " +
			"Unmatched tutorial locations can be created in Administrate at the end (prompt).",
		Requires: "none"},
	StageVenues: {Name: StageVenues, Display: "venues", Noun: "venue",
		Summary: "Links Administrate venues to acted.tutorial_venues by name within the parent location (through adm.locations) in adm.venues. " +
			"A venue whose location is not in adm.locations is skipped with the reason.",
		Requires: "locations synced (adm.locations has rows)"},
	StageInstructors: {Name: StageInstructors, Display: "instructors", Noun: "instructor",
		Summary: "Links Administrate instructor contacts to active acted.tutorial_instructors by first + last name of the linked staff user in adm.instructors, " +
			"and mirrors administrator contacts (name -> id, no matching) into adm.administrators for the importer.",
		Requires: "none"},
	StageCourseTemplates: {Name: StageCourseTemplates, Display: "course templates", Noun: "course template",
		Summary: "Links Administrate course templates to active acted.tutorial_course_templates by code in adm.course_templates (custom-field values, learning mode), " +
			"and mirrors each template's approved instructors into adm.course_template_instructors for the importer.",
		Requires: "custom fields synced (adm.custom_fields has Event rows)"},
	StageCourseTemplatePrices: {Name: StageCourseTemplatePrices, Display: "course template price levels", Noun: "course template price level",
		Summary: "Mirrors each course template's public prices into adm.course_template_price_levels, resolving template and price level through the adm bridges. " +
			"A price whose template or level is not synced is skipped with the reason.",
		Requires: "course templates and price levels synced"},
}

// stage is one unit of the sync: fetch, then match and plan, then apply.
// A fresh value is made per run, so fetch may keep what it read in the value.
type stage interface {
	info() Info
	// prerequisites checks, before any Administrate call, that the data this
	// stage depends on is present (in a plan of all stages: would be present).
	prerequisites(ctx context.Context, q querier, rc *runContext) error
	// fetch reads everything the stage needs from Administrate.
	fetch(ctx context.Context, rc *runContext) error
	// plan loads the stored and tutorial rows (inside the locked transaction)
	// and works out the writes.
	plan(ctx context.Context, tx pgx.Tx, rc *runContext) (*stagePlan, error)
}

// creatingStage is a stage whose unmatched tutorial records can be created in
// Administrate in the prompt phase.
type creatingStage interface {
	stage
	// create creates the records and returns the bridge rows to insert for
	// the ones created, plus report entries.
	create(ctx context.Context, tx pgx.Tx, rc *runContext, items []item) (*creation, error)
}

// creation is what the prompt phase did.
type creation struct {
	rows    []row // bridge rows linking each created record
	created []Record
	manual  []Record
	errors  []string
}

// byHand reports a tutorial record the prompt could not create: what to do
// instead.
func (cr *creation) byHand(it item, format string, args ...any) {
	cr.manual = append(cr.manual, Record{ID: it.ID, Description: fmt.Sprintf(format, args...)})
}

// failed reports an Administrate call of the prompt that failed.
func (cr *creation) failed(format string, args ...any) {
	cr.errors = append(cr.errors, fmt.Sprintf(format, args...))
}

// linked keeps the bridge row of a record created (or found) in
// Administrate for a tutorial record, and reports it as desc.
func (cr *creation) linked(r row, desc string) {
	cr.created = append(cr.created, Record{ID: r.key[0], Description: desc})
	cr.rows = append(cr.rows, r)
}

func newStage(name string) stage {
	switch name {
	case StageCustomFields:
		return &customFieldsStage{}
	case StagePriceLevels:
		return &priceLevelsStage{}
	case StageLocations:
		return &locationsStage{}
	case StageVenues:
		return &venuesStage{}
	case StageInstructors:
		return &instructorsStage{}
	case StageCourseTemplates:
		return &courseTemplatesStage{}
	case StageCourseTemplatePrices:
		return &pricesStage{}
	}
	panic("syncer: no stage " + name)
}

// querier is what prerequisite checks need (a pool or a transaction).
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// PrerequisiteError says which synced data a stage is missing.
type PrerequisiteError struct {
	Stage, Missing, Run string
}

func (e *PrerequisiteError) Error() string {
	return fmt.Sprintf("prerequisite not met: %s needs %s; run `syncer run %s` first", e.Stage, e.Missing, e.Run)
}

// requireRows fails with a PrerequisiteError when t holds no active row
// (keep, when set, narrows the rows): in a plan of all stages the table as
// an earlier stage planned it, otherwise what sql counts.
func requireRows(ctx context.Context, q querier, rc *runContext, t *table, keep func(row) bool, stageName, missing, run, sql string) error {
	var ok bool
	if planned, isPlanned := rc.shared.plannedTable(t.name); isPlanned {
		for _, s := range planned {
			if !s.gone && (keep == nil || keep(s.row)) {
				ok = true
				break
			}
		}
	} else if err := q.QueryRow(ctx, "SELECT EXISTS ("+sql+")").Scan(&ok); err != nil {
		return fmt.Errorf("check prerequisites of %s: %w", stageName, err)
	}
	if !ok {
		return &PrerequisiteError{Stage: stageName, Missing: missing, Run: run}
	}
	return nil
}

// stagePlan is everything a stage worked out before writing.
type stagePlan struct {
	fetched     int
	fetchedWhat string       // replaces "<fetched> <display>" when the stage reads other things
	fetchedNote string       // e.g. "+3 administrators"
	tables      []*tablePlan // the bridge first, then mirror tables
	pairs       []*pairPlan  // hard-keyed mirror sets (approved instructors)
	matched     *matchResult // nil for Administrate-owned data
	skipped     []Record
	errors      []string
	// partialNote explains errors that did not stop the stage.
	describe func(c change) string // labels a change for --plan / --debug; nil: the row's label
	// unmatchedForCreate are the unmatched tutorial items the prompt may offer.
	unmatchedForCreate []item
}

// description labels a change for --plan / --debug and the gone report:
// the stage's own describe, or the row's label.
func (sp *stagePlan) description(c change) string {
	if sp.describe == nil {
		return c.row.label
	}
	return sp.describe(c)
}

// link records in the plan of a stage that links Administrate records to
// tutorial ones what matched, which unmatched tutorial records the prompt
// may offer to create, and the bridge table's diff (first of the tables).
func (sp *stagePlan) link(m *matchResult, bridge *tablePlan) {
	sp.matched = m
	sp.unmatchedForCreate = m.unmatchedTutorial
	sp.tables = []*tablePlan{bridge}
}

// diffInput starts the diff of one table in this run: no desired row yet,
// nothing seen, gone guarded unless --force-gone.
func (rc *runContext) diffInput() diffInput {
	return diffInput{seen: map[string]bool{}, forceGone: rc.opts.ForceGone}
}

// uniqueByID keeps the first record of each id, in order, leaving out the
// records without one, and marks every id kept in seen: a record the stage
// skips afterwards is still one Administrate returned, never taken for gone.
func uniqueByID[T any](seen map[string]bool, recs []T, id func(T) string) []T {
	var out []T
	for _, r := range recs {
		k := id(r)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}
