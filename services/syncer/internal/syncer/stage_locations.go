package syncer

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// tutorialRow is a tutorial record as a stage reads it.
type tutorialRow struct {
	id     int64
	key    string
	label  string
	active bool
	note   string
	extra  map[string]string // stage-specific columns the prompt needs
}

// matchTutorial matches Administrate's items with the tutorial records:
// active ones are linked, inactive ones only reported (matchRecords).
func matchTutorial(tut []tutorialRow, adm []item) matchResult {
	active, inactive := splitActive(tut)
	return matchRecords(active, inactive, adm)
}

func splitActive(rows []tutorialRow) (active, inactive []item) {
	for _, r := range rows {
		it := item{ID: strconv.FormatInt(r.id, 10), Key: r.key, Label: r.label, Note: r.note}
		if r.active {
			active = append(active, it)
		} else {
			inactive = append(inactive, it)
		}
	}
	return active, inactive
}

// linkOf returns the tutorial id linked to an Administrate id, as a column value.
func linkOf(m *matchResult, admID string) *string {
	if t, ok := m.links[admID]; ok {
		return str(t)
	}
	return nil
}

var locationsTable = &table{
	name:      "adm.locations",
	key:       []string{"external_id"},
	cols:      []column{{"legacy_id", colText}, {"name", colText}, {"tutorial_location_id", colBigint}},
	touch:     []string{"updated_at"},
	hasGone:   true,
	labelCols: []string{"name"},
	linkCol:   "tutorial_location_id",
}

type locationsStage struct {
	records []Location
	tutorialRecords
}

func (s *locationsStage) info() Info { return Infos[StageLocations] }

func (s *locationsStage) prerequisites(context.Context, querier, *runContext) error { return nil }

func (s *locationsStage) fetch(ctx context.Context, rc *runContext) error {
	var err error
	s.records, err = rc.source.Locations(ctx, rc.paging("locations"))
	if err != nil {
		return fmt.Errorf("fetch locations: %w", err)
	}
	return nil
}

func (s *locationsStage) plan(ctx context.Context, tx pgx.Tx, rc *runContext) (*stagePlan, error) {
	existing, err := rc.load(ctx, tx, locationsTable)
	if err != nil {
		return nil, err
	}
	tut, err := s.read(ctx, tx, `SELECT id, name, code, is_active FROM acted.tutorial_locations`,
		func(r pgx.Rows, t *tutorialRow) error {
			var name, code string
			err := r.Scan(&t.id, &name, &code, &t.active)
			t.key, t.label = matchKey(name), name
			t.extra = map[string]string{"name": name, "code": code}
			return err
		})
	if err != nil {
		return nil, err
	}
	sp := &stagePlan{fetched: len(s.records)}
	in := rc.diffInput()
	uniq := uniqueByID(in.seen, s.records, func(l Location) string { return l.ID })
	var adm []item
	for _, l := range uniq {
		adm = append(adm, item{ID: l.ID, Key: matchKey(l.Name), Label: l.Name})
	}
	m := matchTutorial(tut, adm)
	for _, l := range uniq {
		in.desired = append(in.desired, row{key: []string{l.ID}, label: l.Name,
			vals: []*string{strOrNil(l.LegacyID), strOrNil(l.Name), linkOf(&m, l.ID)}})
	}
	sp.link(&m, diff(locationsTable, existing, in))
	return sp, nil
}

func (s *locationsStage) create(ctx context.Context, _ pgx.Tx, rc *runContext, items []item) (*creation, error) {
	cr := &creation{}
	ok, why := rc.supports(ctx, OpCreateLocation)
	for _, it := range items {
		t := s.tut[it.ID]
		if !ok {
			cr.byHand(it, "%s; create location %q by hand in Administrate, then run `syncer run locations`", why, t.extra["name"])
			continue
		}
		loc, err := rc.creator.CreateLocation(ctx, t.extra["name"], t.extra["code"])
		if err != nil {
			cr.failed("create location %q in Administrate: %v", t.extra["name"], err)
			continue
		}
		cr.linked(row{key: []string{loc.ID}, label: loc.Name,
			vals: []*string{strOrNil(loc.LegacyID), strOrNil(loc.Name), str(it.ID)}},
			fmt.Sprintf("location %q (tutorial #%s)", loc.Name, it.ID))
	}
	return cr, nil
}

// tutorialRecords are the tutorial records a linking stage read for its
// plan, kept by id for the prompt phase.
type tutorialRecords struct {
	tut map[string]tutorialRow
}

// read reads the tutorial records sql selects, scan filling each one, and
// keeps them by id.
func (tr *tutorialRecords) read(ctx context.Context, tx pgx.Tx, sql string, scan func(pgx.Rows, *tutorialRow) error) ([]tutorialRow, error) {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("read tutorial records: %w", err)
	}
	defer rows.Close()
	var out []tutorialRow
	for rows.Next() {
		var t tutorialRow
		if err := scan(rows, &t); err != nil {
			return nil, fmt.Errorf("read tutorial records: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tutorial records: %w", err)
	}
	tr.tut = make(map[string]tutorialRow, len(out))
	for _, t := range out {
		tr.tut[strconv.FormatInt(t.id, 10)] = t
	}
	return out, nil
}
