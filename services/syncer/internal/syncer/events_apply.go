package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"admsync/pkg/administrate"
)

// Changes made in Administrate flow back into the tutorial catalogue: an
// Administrate event (read whole, never trusted from a webhook body) is
// compared, field by field, with the tutorial rows it is linked to and with
// `synced`, the Administrate state last applied to them. A field Administrate
// changed since then is applied; a field changed on both sides (a correction
// re-imported locally while someone edited Administrate) is a conflict: both
// values are reported and neither is overwritten unless --conflicts says which
// side wins. An event whose stored Administrate updatedAt is newer than the
// one read is left alone, so a late or repeated read never undoes a newer one.
//
// Administrate-side state the tutorial tables have no column for (lifecycle
// state, web sale, cancellation) is kept on the adm.events bridge.

// AdmEvent is an Administrate event with its sessions and staff.
type AdmEvent = administrate.SyncedEvent

// EventSource reads Administrate events for the events stage and the webhook consumer.
type EventSource interface {
	// SyncedEvents returns every event whose title carries the sitting ("" = all).
	SyncedEvents(ctx context.Context, sitting string, p Paging) ([]AdmEvent, error)
	// SyncedEvent reads one event as it is now; administrate.ErrNotFound when gone.
	SyncedEvent(ctx context.Context, id string) (AdmEvent, error)
	// EventOfSession names the event of a session; administrate.ErrNotFound when gone.
	EventOfSession(ctx context.Context, sessionID string) (string, error)
}

// Conflict choices (--conflicts).
const (
	ConflictsReport       = ""             // report both values, change neither (default)
	ConflictsAdministrate = "administrate" // Administrate's value overwrites the local one
	ConflictsLocal        = "local"        // the local value stays; Administrate's is taken as seen
)

// Conflict is a field changed both locally and in Administrate since the last sync.
type Conflict struct {
	Event        string `json:"event"` // tutorial event code (and session title for a session field)
	Field        string `json:"field"`
	Local        string `json:"local"`
	Administrate string `json:"administrate"`
	Synced       string `json:"synced"` // the value both sides had at the last sync
	Resolution   string `json:"resolution"`
}

// conflictHint says what the default is and how to choose.
const conflictHint = "neither side was changed; rerun with --conflicts administrate to take Administrate's value " +
	"or --conflicts local to keep the local one (a later correction import sends it to Administrate)"

// refs resolves Administrate ids to tutorial ids through the reference bridges.
type eventRefs struct {
	locations, venues, instructors map[string]int64
	webSaleKey                     string
}

func loadEventRefs(ctx context.Context, tx pgx.Tx) (*eventRefs, error) {
	r := &eventRefs{locations: map[string]int64{}, venues: map[string]int64{}, instructors: map[string]int64{}}
	for _, q := range []struct {
		into map[string]int64
		sql  string
	}{
		{r.locations, `SELECT external_id, tutorial_location_id FROM adm.locations WHERE tutorial_location_id IS NOT NULL AND gone_at IS NULL`},
		{r.venues, `SELECT external_id, tutorial_venue_id FROM adm.venues WHERE tutorial_venue_id IS NOT NULL AND gone_at IS NULL`},
		{r.instructors, `SELECT external_id, tutorial_instructor_id FROM adm.instructors WHERE tutorial_instructor_id IS NOT NULL AND gone_at IS NULL`},
	} {
		rows, err := tx.Query(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("load reference bridges: %w", err)
		}
		for rows.Next() {
			var ext string
			var id int64
			if err := rows.Scan(&ext, &id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("load reference bridges: %w", err)
			}
			q.into[ext] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("load reference bridges: %w", err)
		}
	}
	err := tx.QueryRow(ctx, `SELECT coalesce(min(external_id), '') FROM adm.custom_fields
		WHERE entity_type = 'Event' AND lower(label) = 'web sale' AND gone_at IS NULL`).Scan(&r.webSaleKey)
	if err != nil {
		return nil, fmt.Errorf("find the Web sale custom field: %w", err)
	}
	return r, nil
}

// fields are the values of one row that flow back, as canonical text.
type fields map[string]string

// unresolved marks a value that cannot be expressed locally (its reference is
// not linked); such a field is left alone and reported.
const unresolved = "\x00unresolved"

func idRef(m map[string]int64, admID string) string {
	if admID == "" {
		return ""
	}
	if id, ok := m[admID]; ok {
		return strconv.FormatInt(id, 10)
	}
	return unresolved
}

// eventFields are the tutorial_events columns an Administrate event sets.
func (r *eventRefs) eventFields(e AdmEvent) fields {
	return fields{
		"location_id":  idRef(r.locations, e.LocationID),
		"venue_id":     idRef(r.venues, e.VenueID),
		"is_soldout":   strconv.FormatBool(e.IsSoldOut),
		"remain_space": strconv.Itoa(e.RemainingPlaces),
	}
}

func (r *eventRefs) sessionFields(s administrate.SyncedSession) fields {
	ids := make([]string, 0, len(s.InstructorContactIDs))
	for _, c := range s.InstructorContactIDs {
		v := idRef(r.instructors, c)
		if v == unresolved {
			return fields{"title": s.Title, "location_id": idRef(r.locations, s.LocationID),
				"venue_id": idRef(r.venues, s.VenueID), "instructors": unresolved}
		}
		ids = append(ids, v)
	}
	return fields{"title": s.Title, "location_id": idRef(r.locations, s.LocationID),
		"venue_id": idRef(r.venues, s.VenueID), "instructors": sortedIDs(ids)}
}

func sortedIDs(ids []string) string {
	n := make([]int64, 0, len(ids))
	for _, s := range ids {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			n = append(n, v)
		}
	}
	sort.Slice(n, func(i, j int) bool { return n[i] < n[j] })
	out := make([]string, 0, len(n))
	for i, v := range n {
		if i > 0 && v == n[i-1] {
			continue
		}
		out = append(out, strconv.FormatInt(v, 10))
	}
	return strings.Join(out, ",")
}

// bridgeState is what the adm.events bridge keeps of Administrate's side.
type bridgeState struct {
	lifecycle string
	webSale   *bool
	cancelled *time.Time
	updated   *time.Time
}

func (r *eventRefs) bridgeFrom(e AdmEvent) bridgeState {
	b := bridgeState{lifecycle: string(e.LifecycleState)}
	if r.webSaleKey != "" {
		for _, v := range e.CustomFieldValues {
			if v.DefinitionKey == r.webSaleKey {
				ws := strings.EqualFold(strings.TrimSpace(v.Value), "true")
				b.webSale = &ws
			}
		}
	}
	if !e.CancelledAt.IsZero() {
		t := e.CancelledAt.UTC()
		b.cancelled = &t
	}
	if !e.UpdatedAt.IsZero() {
		t := e.UpdatedAt.UTC()
		b.updated = &t
	}
	return b
}

// linkedSession is one adm.sessions row with its tutorial session.
type linkedSession struct {
	bridgeID   int64
	externalID string
	tutorialID int64
	day        int
	local      fields
	synced     fields
	gone       bool
}

// linkedEvent is one adm.events row with its tutorial event and sessions.
type linkedEvent struct {
	bridgeID   int64
	externalID string
	tutorialID int64
	code       string
	local      fields
	synced     fields
	updated    *time.Time
	gone       bool
	lifecycle  *string
	webSale    *bool
	cancelled  *time.Time
	sessions   map[string]*linkedSession // by Administrate session id
	unlinked   []*linkedSession          // sessions with no Administrate id yet
}

const linkedEventsSQL = `SELECT ae.id, ae.external_id, te.id, te.code,
	coalesce(te.location_id::text, ''), coalesce(te.venue_id::text, ''), te.is_soldout::text, te.remain_space::text,
	ae.synced, ae.adm_updated_at, ae.gone_at IS NOT NULL, ae.adm_lifecycle_state, ae.adm_web_sale, ae.adm_cancelled_at
	FROM adm.events ae JOIN acted.tutorial_events te ON te.id = ae.tutorial_event_id
	WHERE ae.external_id IS NOT NULL`

const linkedSessionsSQL = `SELECT s.event_id, s.id, coalesce(s.external_id, ''), ts.id, s.day_number,
	ts.title, coalesce(ts.location_id::text, ''), coalesce(ts.venue_id::text, ''),
	coalesce((SELECT string_agg(si.tutorialinstructor_id::text, ',' ORDER BY si.tutorialinstructor_id)
		FROM acted.tutorial_session_instructors si WHERE si.tutorialsessions_id = ts.id), ''),
	s.synced, s.gone_at IS NOT NULL
	FROM adm.sessions s JOIN acted.tutorial_sessions ts ON ts.id = s.tutorial_session_id
	WHERE s.event_id = ANY($1) ORDER BY s.event_id, s.day_number`

// loadLinked reads the linked events (where: extra SQL condition on ae/te with
// args) and their sessions, locking the bridge rows when lock is set.
func loadLinked(ctx context.Context, tx pgx.Tx, lock bool, where string, args ...any) (map[string]*linkedEvent, error) {
	q := linkedEventsSQL + " AND " + where
	if lock { // a plan reads a read-only snapshot
		q += " FOR UPDATE OF ae"
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("load linked events: %w", err)
	}
	out := map[string]*linkedEvent{}
	byBridge := map[int64]*linkedEvent{}
	for rows.Next() {
		le := &linkedEvent{local: fields{}, sessions: map[string]*linkedSession{}}
		var loc, ven, sold, rem string
		var synced []byte
		if err := rows.Scan(&le.bridgeID, &le.externalID, &le.tutorialID, &le.code, &loc, &ven, &sold, &rem,
			&synced, &le.updated, &le.gone, &le.lifecycle, &le.webSale, &le.cancelled); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load linked events: %w", err)
		}
		le.local = fields{"location_id": loc, "venue_id": ven, "is_soldout": sold, "remain_space": rem}
		if len(synced) > 0 {
			if err := json.Unmarshal(synced, &le.synced); err != nil {
				rows.Close()
				return nil, fmt.Errorf("event bridge %d: stored synced state: %w", le.bridgeID, err)
			}
		}
		out[le.externalID] = le
		byBridge[le.bridgeID] = le
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load linked events: %w", err)
	}
	if len(byBridge) == 0 {
		return out, nil
	}
	ids := make([]int64, 0, len(byBridge))
	for id := range byBridge {
		ids = append(ids, id)
	}
	srows, err := tx.Query(ctx, linkedSessionsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("load linked sessions: %w", err)
	}
	defer srows.Close()
	for srows.Next() {
		var evID int64
		ls := &linkedSession{}
		var title, loc, ven, instr string
		var synced []byte
		if err := srows.Scan(&evID, &ls.bridgeID, &ls.externalID, &ls.tutorialID, &ls.day, &title, &loc, &ven, &instr,
			&synced, &ls.gone); err != nil {
			return nil, fmt.Errorf("load linked sessions: %w", err)
		}
		ls.local = fields{"title": title, "location_id": loc, "venue_id": ven, "instructors": instr}
		if len(synced) > 0 {
			if err := json.Unmarshal(synced, &ls.synced); err != nil {
				return nil, fmt.Errorf("session bridge %d: stored synced state: %w", ls.bridgeID, err)
			}
		}
		le := byBridge[evID]
		if ls.externalID == "" {
			le.unlinked = append(le.unlinked, ls)
		} else {
			le.sessions[ls.externalID] = ls
		}
	}
	return out, srows.Err()
}

// fieldPlan is what happens to the fields of one row.
type fieldPlan struct {
	set       fields // local columns to write
	synced    fields // the new synced state
	conflicts []Conflict
	skipped   []string // fields whose Administrate value cannot be expressed locally
}

// planFields decides, per field, between Administrate's value (adm), the local
// one and the state of the last sync.
func planFields(adm, local, synced fields, choice, label string) fieldPlan {
	fp := fieldPlan{set: fields{}, synced: fields{}}
	names := make([]string, 0, len(adm))
	for k := range adm {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, f := range names {
		a, l := adm[f], local[f]
		base, hasBase := synced[f]
		if a == unresolved {
			fp.skipped = append(fp.skipped, f)
			if hasBase {
				fp.synced[f] = base
			}
			continue
		}
		switch {
		case a == l:
			fp.synced[f] = a
		case !hasBase || l == base:
			// Only Administrate changed (or this row was never synced: the
			// import and Administrate's own edits before it agree on nothing
			// else to go by).
			fp.set[f] = a
			fp.synced[f] = a
		case a == base:
			// Only the local side changed (a correction not yet sent): not ours to undo.
			fp.synced[f] = base
		default:
			c := Conflict{Event: label, Field: f, Local: l, Administrate: a, Synced: base}
			switch choice {
			case ConflictsAdministrate:
				fp.set[f] = a
				fp.synced[f] = a
				c.Resolution = "Administrate's value applied (--conflicts administrate)"
			case ConflictsLocal:
				fp.synced[f] = a
				c.Resolution = "local value kept (--conflicts local)"
			default:
				fp.synced[f] = base
				c.Resolution = conflictHint
			}
			fp.conflicts = append(fp.conflicts, c)
		}
	}
	return fp
}

// eventOutcome is what applying one Administrate event did.
type eventOutcome struct {
	changed      bool // a tutorial row or session link changed
	stale        bool // Administrate's read was older than what is stored
	fields       []string
	conflicts    []Conflict
	skipped      []Record
	sessionsGone int
}

// applyEvent brings one linked event (and its sessions) up to date with e,
// writing only when plan is false.
func applyEvent(ctx context.Context, tx pgx.Tx, rf *eventRefs, le *linkedEvent, e AdmEvent, choice string, plan bool) (eventOutcome, error) {
	var out eventOutcome
	b := rf.bridgeFrom(e)
	if le.updated != nil && b.updated != nil && b.updated.Before(*le.updated) {
		out.stale = true
		return out, nil
	}
	fp := planFields(rf.eventFields(e), le.local, le.synced, choice, le.code)
	out.conflicts = append(out.conflicts, fp.conflicts...)
	for _, f := range fp.skipped {
		out.skipped = append(out.skipped, Record{ID: le.code, Description: fmt.Sprintf("%s: Administrate's value is not linked to a tutorial record "+
			"(run the reference stages, e.g. `syncer run venues`); left as it is", f)})
	}
	if len(fp.set) > 0 {
		out.changed = true
		var sets []string
		args := []any{le.tutorialID}
		for _, f := range sortedKeys(fp.set) {
			out.fields = append(out.fields, f)
			args = append(args, nullIfEmpty(fp.set[f]))
			cast := map[string]string{"location_id": "::bigint", "venue_id": "::bigint", "is_soldout": "::boolean", "remain_space": "::integer"}[f]
			sets = append(sets, fmt.Sprintf("%s = $%d%s", f, len(args), cast))
		}
		if !plan {
			if _, err := tx.Exec(ctx, "UPDATE acted.tutorial_events SET "+strings.Join(sets, ", ")+", updated_at = now() WHERE id = $1", args...); err != nil {
				return out, fmt.Errorf("update tutorial event %s: %w", le.code, err)
			}
		}
	}
	// Sessions: Administrate's, matched by id to the session bridges.
	seen := map[string]bool{}
	for _, s := range e.Sessions {
		seen[s.ID] = true
		ls := le.sessions[s.ID]
		if ls == nil {
			out.skipped = append(out.skipped, Record{ID: le.code, Description: fmt.Sprintf("Administrate session %q (%s) is not linked to a tutorial session; left alone", s.Title, s.ID)})
			continue
		}
		label := le.code + " day " + strconv.Itoa(ls.day)
		sp := planFields(rf.sessionFields(s), ls.local, ls.synced, choice, label)
		out.conflicts = append(out.conflicts, sp.conflicts...)
		for _, f := range sp.skipped {
			out.skipped = append(out.skipped, Record{ID: label, Description: fmt.Sprintf("session %s: Administrate's value is not linked to a tutorial record; left as it is", f)})
		}
		if err := applySession(ctx, tx, ls, sp, plan); err != nil {
			return out, fmt.Errorf("tutorial event %s: %w", le.code, err)
		}
		for _, f := range sortedKeys(sp.set) {
			out.changed = true
			out.fields = append(out.fields, "day "+strconv.Itoa(ls.day)+" "+f)
		}
		if !plan && (ls.gone || !sameFields(ls.synced, sp.synced)) {
			if _, err := tx.Exec(ctx, `UPDATE adm.sessions SET synced = $2, gone_at = NULL, updated_at = now() WHERE id = $1`, ls.bridgeID, jsonFields(sp.synced)); err != nil {
				return out, fmt.Errorf("update session bridge %d: %w", ls.bridgeID, err)
			}
		}
	}
	for _, ls := range le.sessions {
		if seen[ls.externalID] || ls.gone {
			continue
		}
		out.sessionsGone++
		out.changed = true
		out.fields = append(out.fields, "day "+strconv.Itoa(ls.day)+" gone")
		if !plan {
			if _, err := tx.Exec(ctx, `UPDATE adm.sessions SET gone_at = now(), updated_at = now() WHERE id = $1 AND gone_at IS NULL`, ls.bridgeID); err != nil {
				return out, fmt.Errorf("mark session bridge %d gone: %w", ls.bridgeID, err)
			}
		}
	}
	var bf []string
	if le.lifecycle == nil || *le.lifecycle != b.lifecycle {
		bf = append(bf, "lifecycle_state")
	}
	if (le.webSale == nil) != (b.webSale == nil) || (le.webSale != nil && *le.webSale != *b.webSale) {
		bf = append(bf, "web_sale")
	}
	if (le.cancelled == nil) != (b.cancelled == nil) || (le.cancelled != nil && !le.cancelled.Equal(*b.cancelled)) {
		bf = append(bf, "cancelled")
	}
	if len(bf) > 0 {
		out.changed = true
		out.fields = append(out.fields, bf...)
	}
	newer := b.updated != nil && (le.updated == nil || b.updated.After(*le.updated))
	if !plan && (len(bf) > 0 || le.gone || newer || !sameFields(le.synced, fp.synced)) {
		var cancelled any
		if b.cancelled != nil {
			cancelled = *b.cancelled
		}
		var updated any
		if b.updated != nil {
			updated = *b.updated
		}
		var webSale any
		if b.webSale != nil {
			webSale = *b.webSale
		}
		if _, err := tx.Exec(ctx, `UPDATE adm.events SET adm_lifecycle_state = $2, adm_web_sale = $3, adm_cancelled_at = $4,
			adm_updated_at = GREATEST(adm_updated_at, $5), synced = $6, last_synced = now(), gone_at = NULL, updated_at = now() WHERE id = $1`,
			le.bridgeID, b.lifecycle, webSale, cancelled, updated, jsonFields(fp.synced)); err != nil {
			return out, fmt.Errorf("update event bridge of %s: %w", le.code, err)
		}
	}
	return out, nil
}

func applySession(ctx context.Context, tx pgx.Tx, ls *linkedSession, sp fieldPlan, plan bool) error {
	if len(sp.set) == 0 || plan {
		return nil
	}
	var sets []string
	args := []any{ls.tutorialID}
	for _, f := range sortedKeys(sp.set) {
		if f == "instructors" {
			continue
		}
		args = append(args, nullIfEmpty(sp.set[f]))
		cast := map[string]string{"location_id": "::bigint", "venue_id": "::bigint"}[f]
		sets = append(sets, fmt.Sprintf("%s = $%d%s", f, len(args), cast))
	}
	if len(sets) > 0 {
		if _, err := tx.Exec(ctx, "UPDATE acted.tutorial_sessions SET "+strings.Join(sets, ", ")+", updated_at = now() WHERE id = $1", args...); err != nil {
			return fmt.Errorf("update tutorial session %d: %w", ls.tutorialID, err)
		}
	}
	if v, ok := sp.set["instructors"]; ok {
		var ids []int64
		for _, s := range strings.Split(v, ",") {
			if id, err := strconv.ParseInt(s, 10, 64); err == nil {
				ids = append(ids, id)
			}
		}
		if ids == nil {
			ids = []int64{}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM acted.tutorial_session_instructors WHERE tutorialsessions_id = $1 AND NOT (tutorialinstructor_id = ANY($2))`, ls.tutorialID, ids); err != nil {
			return fmt.Errorf("update instructors of tutorial session %d: %w", ls.tutorialID, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO acted.tutorial_session_instructors (tutorialsessions_id, tutorialinstructor_id)
			SELECT $1, x FROM unnest($2::bigint[]) x ON CONFLICT DO NOTHING`, ls.tutorialID, ids); err != nil {
			return fmt.Errorf("update instructors of tutorial session %d: %w", ls.tutorialID, err)
		}
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func sortedKeys(f fields) []string {
	out := make([]string, 0, len(f))
	for k := range f {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sameFields(a, b fields) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func jsonFields(f fields) []byte {
	b, _ := json.Marshal(f)
	return b
}
