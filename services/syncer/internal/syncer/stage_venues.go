package syncer

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

var venuesTable = &table{
	name:      "adm.venues",
	key:       []string{"external_id"},
	cols:      []column{{"location_id", colText}, {"name", colText}, {"tutorial_venue_id", colBigint}},
	touch:     []string{"updated_at"},
	hasGone:   true,
	labelCols: []string{"name"},
	linkCol:   "tutorial_venue_id",
}

type venuesStage struct {
	records []Venue
	tutorialRecords
	// locByTutorial maps a tutorial location id to the Administrate location
	// linked to it, for creating venues.
	locByTutorial map[int64]string
}

func (s *venuesStage) info() Info { return Infos[StageVenues] }

func (s *venuesStage) prerequisites(ctx context.Context, q querier, rc *runContext) error {
	return requireRows(ctx, q, rc, locationsTable, nil, StageVenues, "synced locations (adm.locations is empty)", StageLocations,
		`SELECT 1 FROM adm.locations WHERE gone_at IS NULL`)
}

func (s *venuesStage) fetch(ctx context.Context, rc *runContext) error {
	var err error
	s.records, err = rc.source.Venues(ctx, rc.paging("venues"))
	if err != nil {
		return fmt.Errorf("fetch venues: %w", err)
	}
	return nil
}

type admLocation struct {
	tutorialID *int64
	name       string
	gone       bool
}

func (s *venuesStage) plan(ctx context.Context, tx pgx.Tx, rc *runContext) (*stagePlan, error) {
	existing, err := rc.load(ctx, tx, venuesTable)
	if err != nil {
		return nil, err
	}
	locs := map[string]admLocation{}
	s.locByTutorial = map[int64]string{}
	tutLinks := map[int64]int{}
	// The locations as stored, or as the locations stage of this plan would leave them.
	stLocs, err := rc.load(ctx, tx, locationsTable)
	if err != nil {
		return nil, err
	}
	for _, sl := range stLocs {
		id := sl.row.key[0]
		l := admLocation{name: deref(sl.row.vals[locationsTable.colIndex("name")]), gone: sl.gone}
		if v := sl.row.vals[locationsTable.colIndex("tutorial_location_id")]; v != nil {
			tid, err := strconv.ParseInt(*v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("read adm.locations: tutorial_location_id %q: %w", *v, err)
			}
			l.tutorialID = &tid
		}
		locs[id] = l
		if l.tutorialID != nil && !l.gone {
			s.locByTutorial[*l.tutorialID] = id
			tutLinks[*l.tutorialID]++
		}
	}
	for tid, n := range tutLinks {
		if n > 1 { // cannot tell which Administrate location a new venue belongs to
			delete(s.locByTutorial, tid)
		}
	}
	tut, err := s.read(ctx, tx, `
		SELECT v.id, v.name, v.description, v.location_id, coalesce(l.name, '')
		FROM acted.tutorial_venues v LEFT JOIN acted.tutorial_locations l ON l.id = v.location_id`,
		func(r pgx.Rows, t *tutorialRow) error {
			var name, desc, locName string
			var locID *int64
			err := r.Scan(&t.id, &name, &desc, &locID, &locName)
			t.active = true // tutorial venues have no is_active column
			t.label = name
			if locID == nil {
				t.note = "has no location"
			} else {
				t.label = name + " (" + locName + ")"
				t.key = compositeKey(strconv.FormatInt(*locID, 10), matchKey(name))
			}
			t.extra = map[string]string{"name": name, "description": desc}
			if locID != nil {
				t.extra["location_id"] = strconv.FormatInt(*locID, 10)
			}
			return err
		})
	if err != nil {
		return nil, err
	}
	sp := &stagePlan{fetched: len(s.records)}
	in := rc.diffInput()
	var adm []item
	var keep []Venue
	// Every venue is seen, even one skipped below: not a vanished one.
	for _, v := range uniqueByID(in.seen, s.records, func(v Venue) string { return v.ID }) {
		l, known := locs[v.LocationID]
		switch {
		case v.LocationID == "":
			sp.skipped = append(sp.skipped, Record{ID: v.ID, Description: fmt.Sprintf("venue %q has no location in Administrate", v.Name)})
			continue
		case !known:
			sp.skipped = append(sp.skipped, Record{ID: v.ID, Description: fmt.Sprintf(
				"venue %q: its location %s is not in adm.locations (run `syncer run locations`)", v.Name, v.LocationID)})
			continue
		case l.gone:
			sp.skipped = append(sp.skipped, Record{ID: v.ID, Description: fmt.Sprintf(
				"venue %q: its location %s (%s) is marked gone", v.Name, v.LocationID, l.name)})
			continue
		}
		it := item{ID: v.ID, Label: v.Name + " (" + l.name + ")"}
		if l.tutorialID == nil {
			it.Note = "its location " + l.name + " is not linked to a tutorial location"
		} else {
			it.Key = compositeKey(strconv.FormatInt(*l.tutorialID, 10), matchKey(v.Name))
		}
		adm = append(adm, it)
		keep = append(keep, v)
	}
	m := matchTutorial(tut, adm) // tutorial venues are all active
	for _, v := range keep {
		in.desired = append(in.desired, row{key: []string{v.ID}, label: v.Name,
			vals: []*string{str(v.LocationID), strOrNil(v.Name), linkOf(&m, v.ID)}})
	}
	sp.link(&m, diff(venuesTable, existing, in))
	return sp, nil
}

func (s *venuesStage) create(ctx context.Context, _ pgx.Tx, rc *runContext, items []item) (*creation, error) {
	cr := &creation{}
	ok, why := rc.supports(ctx, OpCreateVenue)
	for _, it := range items {
		t := s.tut[it.ID]
		name := t.extra["name"]
		tloc, hasLoc := t.extra["location_id"]
		var admLoc string
		if hasLoc {
			id, _ := strconv.ParseInt(tloc, 10, 64)
			admLoc = s.locByTutorial[id]
		}
		switch {
		case !hasLoc:
			cr.byHand(it, "tutorial venue %q has no location: set its location in the tutorial tables, then rerun", name)
			continue
		case admLoc == "":
			cr.byHand(it, "venue %q: its tutorial location is not linked to one Administrate location; sync or create the location first", it.Label)
			continue
		case !ok:
			cr.byHand(it, "%s; create venue %q in location %s by hand in Administrate, then run `syncer run venues`", why, name, admLoc)
			continue
		}
		v, err := rc.creator.CreateVenue(ctx, name, t.extra["description"], admLoc)
		if err != nil {
			cr.failed("create venue %q in Administrate: %v", it.Label, err)
			continue
		}
		loc := v.LocationID
		if loc == "" {
			loc = admLoc
		}
		cr.linked(row{key: []string{v.ID}, label: v.Name,
			vals: []*string{str(loc), strOrNil(v.Name), str(it.ID)}},
			fmt.Sprintf("venue %s (tutorial #%s)", it.Label, it.ID))
	}
	return cr, nil
}
