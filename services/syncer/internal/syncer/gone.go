package syncer

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A record Administrate stopped returning is named in the report with the
// local events that still refer to it, and a tutorial record that was linked
// to such a record is never offered for creation without saying so: the
// record may have been archived on purpose, and a new one would be a second.

// Gone is a bridge record marked gone in this run.
type Gone struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	// UsedBy lists the local tutorial events and sessions that still refer to
	// it through its tutorial record ("" when none do).
	UsedBy string `json:"used_by,omitempty"`
}

// referenceSQL finds, per tutorial id in $1, the codes of the tutorial events
// and the number of sessions using it.
var referenceSQL = map[string]string{
	"adm.locations": refByColumn("location_id"),
	"adm.venues":    refByColumn("venue_id"),
	"adm.instructors": `SELECT x.id,
		coalesce((SELECT array_agg(DISTINCT e.code ORDER BY e.code) FROM acted.tutorial_session_instructors si
			JOIN acted.tutorial_sessions s ON s.id = si.tutorialsessions_id
			JOIN acted.tutorial_events e ON e.id = s.tutorial_event_id WHERE si.tutorialinstructor_id = x.id), '{}'),
		(SELECT count(*) FROM acted.tutorial_session_instructors si WHERE si.tutorialinstructor_id = x.id)
		FROM unnest($1::bigint[]) x(id)`,
}

func refByColumn(col string) string {
	return fmt.Sprintf(`SELECT x.id,
		coalesce((SELECT array_agg(DISTINCT e.code ORDER BY e.code) FROM acted.tutorial_events e
			WHERE e.%[1]s = x.id OR e.id IN (SELECT s.tutorial_event_id FROM acted.tutorial_sessions s WHERE s.%[1]s = x.id)), '{}'),
		(SELECT count(*) FROM acted.tutorial_sessions s WHERE s.%[1]s = x.id)
		FROM unnest($1::bigint[]) x(id)`, col)
}

// shownEvents bounds the event codes named per gone record.
const shownEvents = 5

// describeGone names each record the plan marks gone in the stage's bridge and
// the local events still using it (inside the stage's transaction).
func describeGone(ctx context.Context, tx pgx.Tx, sp *stagePlan, noun string) ([]Gone, error) {
	tp := sp.tables[0]
	t := tp.t
	if len(tp.gone) == 0 {
		return nil, nil
	}
	link := map[string]int64{} // Administrate id -> tutorial id
	var tutIDs []int64
	if t.linkCol != "" {
		i := t.colIndex(t.linkCol)
		for _, g := range tp.gone {
			if v := g.row.vals[i]; v != nil {
				if id, err := strconv.ParseInt(*v, 10, 64); err == nil {
					link[g.row.keyString()] = id
					tutIDs = append(tutIDs, id)
				}
			}
		}
	}
	usedBy := map[int64]string{}
	if q, ok := referenceSQL[t.name]; ok && len(tutIDs) > 0 {
		rows, err := tx.Query(ctx, q, tutIDs)
		if err != nil {
			return nil, fmt.Errorf("find the events using gone records of %s: %w", t.name, err)
		}
		for rows.Next() {
			var id, sessions int64
			var codes []string
			if err := rows.Scan(&id, &codes, &sessions); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find the events using gone records of %s: %w", t.name, err)
			}
			if len(codes) == 0 && sessions == 0 {
				continue
			}
			shown := codes
			if len(shown) > shownEvents {
				shown = append(append([]string{}, shown[:shownEvents]...), fmt.Sprintf("and %d more", len(codes)-shownEvents))
			}
			usedBy[id] = fmt.Sprintf("%d tutorial event(s) (%s) and %d session(s)", len(codes), strings.Join(shown, ", "), sessions)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("find the events using gone records of %s: %w", t.name, err)
		}
	}
	var out []Gone
	for _, g := range tp.gone {
		name := firstNonEmpty(sp.description(g), g.row.label, strings.Join(g.row.key, "/"))
		desc := fmt.Sprintf("%s %q is no longer returned by Administrate (deleted or archived there)", noun, name)
		tid, linked := link[g.row.keyString()]
		if linked {
			desc += fmt.Sprintf("; it was linked to tutorial #%d", tid)
		}
		gr := Gone{ID: strings.Join(g.row.key, "/"), Description: desc}
		if u := usedBy[tid]; linked && u != "" {
			gr.UsedBy = u + " still refer to it: they cannot be sent to Administrate until it is restored there or they are changed"
		}
		out = append(out, gr)
	}
	return out, nil
}

// noteGoneLinks marks the unmatched tutorial records that were linked to a
// record Administrate no longer returns (gone before or in this run), so the
// report and the creation question say so.
func noteGoneLinks(sp *stagePlan, noun string) {
	if sp.matched == nil || len(sp.tables) == 0 || sp.tables[0].t.linkCol == "" {
		return
	}
	tp := sp.tables[0]
	i := tp.t.colIndex(tp.t.linkCol)
	goneNow := map[int64]bool{}
	for _, g := range tp.gone {
		goneNow[g.id] = true
	}
	was := map[string]stored{} // tutorial id -> the gone bridge row
	for _, s := range tp.existing {
		if v := s.row.vals[i]; v != nil && (s.gone || goneNow[s.id]) {
			was[*v] = s
		}
	}
	for k, it := range sp.matched.unmatchedTutorial {
		s, ok := was[it.ID]
		if !ok {
			continue
		}
		note := fmt.Sprintf("was linked to Administrate %s %q (id %s), which Administrate no longer returns (gone): "+
			"creating it makes a new record there", noun, firstNonEmpty(s.row.label, s.row.key[0]), s.row.key[0])
		if it.Note != "" {
			note = it.Note + "; " + note
		}
		sp.matched.unmatchedTutorial[k].Note = note
		sp.matched.unmatchedTutorial[k].wasGone = true
	}
}
