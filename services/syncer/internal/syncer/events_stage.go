package syncer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// StageEvents brings tutorial events and sessions up to date with
// Administrate. It is not in Order: `run all` runs it only with --with-events.
const StageEvents = "events"

func init() {
	Infos[StageEvents] = Info{Name: StageEvents, Display: "events", Noun: "event",
		Summary: "Reads a sitting's Administrate events (--sitting; titles carry it) with their sessions and staff and brings the linked " +
			"tutorial events, sessions and session instructors up to date: sold out, remaining places, location and venue, session " +
			"title/location/venue/instructors; lifecycle state, web sale and cancellation are kept on adm.events. " +
			"Administrate events with no bridge are reported (linked to the tutorial event of the same code with --adopt); linked tutorial " +
			"events whose Administrate event is gone are marked gone, never deleted. A field changed both locally and in Administrate " +
			"since the last sync is a conflict: reported with both values and left alone unless --conflicts administrate|local. " +
			"Not part of `run all` unless --with-events.",
		Requires: "locations, venues, instructors and custom fields synced (their bridges resolve Administrate ids)"}
}

// ValidConflicts checks a --conflicts value.
func ValidConflicts(s string) error {
	switch s {
	case ConflictsReport, ConflictsAdministrate, ConflictsLocal:
		return nil
	}
	return fmt.Errorf("--conflicts %q: want administrate or local (default: report and change neither)", s)
}

// sittingScope limits linked events to the tutorial events of a sitting ($1,
// "" = all) or to the Administrate ids read ($2).
const sittingScope = `(ae.external_id = ANY($2) OR $1 = '' OR te.product_id IN (SELECT id FROM acted.products WHERE lower(sitting) = lower($1)))`

func (r *Runner) eventPrerequisites(ctx context.Context) error {
	for _, p := range []struct{ missing, run, sql string }{
		{"locations synced (adm.locations has rows)", "locations", `SELECT 1 FROM adm.locations WHERE gone_at IS NULL`},
		{"custom fields synced (adm.custom_fields has Event rows)", "custom-fields", `SELECT 1 FROM adm.custom_fields WHERE entity_type = 'Event' AND gone_at IS NULL`},
	} {
		var ok bool
		if err := r.Pool.QueryRow(ctx, "SELECT EXISTS ("+p.sql+")").Scan(&ok); err != nil {
			return fmt.Errorf("check prerequisites of events: %w", err)
		}
		if !ok {
			return &PrerequisiteError{Stage: StageEvents, Missing: p.missing, Run: p.run}
		}
	}
	return nil
}

// runEvents is the events stage, shaped like every other stage: run row,
// prerequisites, a complete read, then one transaction under the stage lock,
// the report and the stored result.
func (r *Runner) runEvents(ctx context.Context, rc *runContext) *StageResult {
	info := Infos[StageEvents]
	start := time.Now()
	res := &StageResult{Stage: StageEvents, PlanOnly: rc.opts.Plan, StartedAt: start.UTC(),
		UnmatchedTutorial: []Record{}, UnmatchedAdministrate: []Record{}, Ambiguous: []Ambiguous{},
		Skipped: []Record{}, Errors: []string{}}
	log := r.logger().With("stage", StageEvents)
	defer func() {
		res.DurationSeconds = time.Since(start).Seconds()
		r.finishRun(ctx, rc.owner, res)
		r.Metrics.observe(res)
		log.Info("sync stage finished", "outcome", res.Outcome, "updated", res.Counts.Updated, "unchanged", res.Counts.Unchanged,
			"gone", res.Counts.Gone, "skipped", res.Counts.Skipped, "conflicts", len(res.Conflicts), "plan_only", res.PlanOnly)
	}()
	runID, err := r.startRun(ctx, rc.owner, StageEvents, rc.opts.Plan)
	if err != nil {
		return r.fail(rc, res, start, fmt.Errorf("record the run in admsync.sync_runs: %w", err))
	}
	res.RunID = runID
	if err := ValidConflicts(rc.opts.Conflicts); err != nil {
		return r.fail(rc, res, start, err)
	}
	src, ok := rc.source.(EventSource)
	if !ok {
		return r.fail(rc, res, start, errors.New("this syncer's Administrate source cannot read events"))
	}
	if err := r.eventPrerequisites(ctx); err != nil {
		return r.fail(rc, res, start, err)
	}
	what := "events"
	if rc.opts.Sitting != "" {
		what = "events of sitting " + rc.opts.Sitting
	}
	rc.printf("Fetching %s...\n", what)
	events, err := src.SyncedEvents(ctx, rc.opts.Sitting, rc.paging("events"))
	if err != nil {
		return r.fail(rc, res, start, fmt.Errorf("Administrate could not be read, so no local row was changed: %w", err))
	}
	res.Fetched = len(events)
	var txStart time.Time
	err = r.inStageTx(ctx, rc, StageEvents, func(tx pgx.Tx) error {
		txStart = time.Now()
		return r.planEvents(ctx, tx, rc, events, res)
	})
	if !txStart.IsZero() {
		res.DBSeconds = time.Since(txStart).Seconds()
	}
	if err != nil {
		return r.fail(rc, res, start, err)
	}
	res.Counts.Skipped, res.Counts.Errors = len(res.Skipped), len(res.Errors)
	rc.printf("Fetched %d %s\n", len(events), what)
	r.report(rc, info, res, nil)
	reportConflicts(rc, res)
	res.Outcome = OutcomeOK
	switch {
	case rc.opts.Plan:
		rc.printf("Plan for events (nothing written): %s\n", res.Counts.line(true))
	case res.Counts.Skipped > 0:
		rc.printf("Sync completed with %d skipped record(s), listed above: %s\n", res.Counts.Skipped, res.Counts.Line())
	default:
		rc.printf("Sync completed: %s\n", res.Counts.Line())
	}
	return res
}

func reportConflicts(rc *runContext, res *StageResult) {
	if len(res.Conflicts) == 0 {
		return
	}
	rc.printf("\n⚠ %d field(s) changed both locally and in Administrate since the last sync:\n", len(res.Conflicts))
	for _, c := range res.Conflicts {
		rc.printf("  - %s %s: local %q, Administrate %q (both were %q)\n", c.Event, c.Field, c.Local, c.Administrate, c.Synced)
	}
	switch rc.opts.Conflicts {
	case ConflictsAdministrate:
		rc.printf("  Administrate's values were applied (--conflicts administrate).\n")
	case ConflictsLocal:
		rc.printf("  The local values were kept (--conflicts local); a correction import sends them to Administrate.\n")
	default:
		rc.printf("  By default neither side wins and nothing was changed: rerun with --conflicts administrate to take\n" +
			"  Administrate's values, or --conflicts local to keep the local ones.\n")
	}
}

// planEvents works out (and unless --plan applies) the events stage inside its transaction.
func (r *Runner) planEvents(ctx context.Context, tx pgx.Tx, rc *runContext, events []AdmEvent, res *StageResult) error {
	rf, err := loadEventRefs(ctx, tx)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(events))
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	linked, err := loadLinked(ctx, tx, !rc.opts.Plan, sittingScope, rc.opts.Sitting, ids)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, e := range events {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		le := linked[e.ID]
		if le == nil {
			if le, err = r.adoptOrReport(ctx, tx, rc, e, res); err != nil || le == nil {
				if err != nil {
					return err
				}
				continue
			}
		}
		out, err := applyEvent(ctx, tx, rf, le, e, rc.opts.Conflicts, rc.opts.Plan)
		if err != nil {
			return err
		}
		res.Conflicts = append(res.Conflicts, out.conflicts...)
		for _, c := range out.conflicts {
			if c.Resolution == conflictHint {
				res.Skipped = append(res.Skipped, Record{ID: c.Event, Description: fmt.Sprintf("conflict on %s: local %q, Administrate %q; %s",
					c.Field, c.Local, c.Administrate, conflictHint)})
			}
		}
		res.Skipped = append(res.Skipped, out.skipped...)
		switch {
		case out.stale:
			res.Counts.Unchanged++
			rc.debugf("  %s: Administrate returned an older state than the one stored; left alone\n", le.code)
		case out.changed:
			res.Counts.Updated++
			res.RowsApplied++
			if rc.opts.Plan || rc.opts.Debug {
				res.Changes = append(res.Changes, Change{Action: "update", Table: "acted.tutorial_events", ID: le.code,
					Description: e.Title, Fields: out.fields})
			}
		default:
			res.Counts.Unchanged++
		}
	}
	// Linked events Administrate no longer returns: marked gone, never deleted.
	var gone []*linkedEvent
	active := 0
	for _, le := range linked {
		if le.gone {
			continue
		}
		active++
		if !seen[le.externalID] {
			gone = append(gone, le)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].code < gone[j].code })
	switch {
	case len(gone) == 0:
	case !rc.opts.ForceGone && len(seen)*2 < active:
		res.GoneBlocked = fmt.Sprintf("nothing marked gone: Administrate returned %d event(s) where %d are linked, a drop of more than half; "+
			"if that is real, rerun with --force-gone", len(seen), active)
	default:
		for _, le := range gone {
			res.Gone = append(res.Gone, Gone{ID: le.externalID, Description: fmt.Sprintf(
				"the Administrate event of tutorial event %s is no longer returned (deleted there, or its title no longer carries the sitting); "+
					"the tutorial event is kept", le.code)})
			if !rc.opts.Plan {
				if _, err := tx.Exec(ctx, `UPDATE adm.events SET gone_at = now(), updated_at = now() WHERE id = $1 AND gone_at IS NULL`, le.bridgeID); err != nil {
					return fmt.Errorf("mark the event bridge of %s gone: %w", le.code, err)
				}
			}
		}
		res.Counts.Gone = len(gone)
	}
	return nil
}

// adoptOrReport handles an Administrate event with no bridge: reported, or
// with --adopt linked to the tutorial event whose code is its title (when
// that event has no bridge of its own). It returns the new link, or nil.
func (r *Runner) adoptOrReport(ctx context.Context, tx pgx.Tx, rc *runContext, e AdmEvent, res *StageResult) (*linkedEvent, error) {
	var tutID int64
	var code string
	var bridged bool
	err := tx.QueryRow(ctx, `SELECT te.id, te.code, EXISTS (SELECT 1 FROM adm.events ae WHERE ae.tutorial_event_id = te.id)
		FROM acted.tutorial_events te WHERE lower(te.code) = lower(btrim($1)) ORDER BY te.id LIMIT 1`, e.Title).Scan(&tutID, &code, &bridged)
	found := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("look for the tutorial event of %q: %w", e.Title, err)
	}
	desc := fmt.Sprintf("%s (%s)", e.Title, e.LifecycleState)
	switch {
	case !found:
		desc += ": no tutorial event has this code; import it to bring it into the catalogue"
	case bridged:
		desc += fmt.Sprintf(": tutorial event %s already has a bridge to another or an unfinished Administrate event (see `admwriter status`); not adopted", code)
	case !rc.opts.Adopt:
		desc += fmt.Sprintf(": tutorial event %s has the same code; rerun with --adopt to link them", code)
	}
	if !found || bridged || !rc.opts.Adopt {
		res.UnmatchedAdministrate = append(res.UnmatchedAdministrate, Record{ID: e.ID, Description: desc})
		return nil, nil
	}
	res.Counts.Created++
	res.Changes = append(res.Changes, Change{Action: "create", Table: "adm.events", ID: code, Description: "adopted " + e.ID})
	if rc.opts.Plan {
		return nil, nil
	}
	var bridgeID int64
	if err := tx.QueryRow(ctx, `INSERT INTO adm.events (external_id, tutorial_event_id, state, finished_at) VALUES ($1, $2, 'done', now()) RETURNING id`,
		e.ID, tutID).Scan(&bridgeID); err != nil {
		return nil, fmt.Errorf("adopt %s: %w", e.Title, err)
	}
	// Sessions are linked by position (Administrate's order against the
	// tutorial sequence) only when both sides have the same number.
	rows, err := tx.Query(ctx, `SELECT id FROM acted.tutorial_sessions WHERE tutorial_event_id = $1 ORDER BY sequence`, tutID)
	if err != nil {
		return nil, fmt.Errorf("adopt %s: %w", e.Title, err)
	}
	sessIDs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("adopt %s: %w", e.Title, err)
	}
	if len(sessIDs) == len(e.Sessions) {
		for i, s := range e.Sessions {
			if _, err := tx.Exec(ctx, `INSERT INTO adm.sessions (event_id, external_id, tutorial_session_id, day_number, staff_done) VALUES ($1, $2, $3, $4, true)`,
				bridgeID, s.ID, sessIDs[i], i+1); err != nil {
				return nil, fmt.Errorf("adopt the sessions of %s: %w", e.Title, err)
			}
		}
	} else {
		res.Skipped = append(res.Skipped, Record{ID: code, Description: fmt.Sprintf("adopted, but its %d session(s) were not linked: Administrate has %d",
			len(sessIDs), len(e.Sessions))})
	}
	linked, err := loadLinked(ctx, tx, true, "ae.id = $1", bridgeID)
	if err != nil {
		return nil, err
	}
	return linked[e.ID], nil
}

// runEventsInAll runs the events stage at the end of `run all --with-events`.
func (r *Runner) runEventsInAll(ctx context.Context, rc *runContext, all *AllResult, failed, skipped *[]string) {
	if ctx.Err() != nil {
		all.NotRun = append(all.NotRun, StageEvents)
		return
	}
	rc.printf("\n[+] events\n")
	res := r.runEvents(ctx, rc)
	all.Stages = append(all.Stages, *res)
	all.Totals = all.Totals.Add(res.Counts)
	all.RowsApplied += res.RowsApplied
	all.DBSeconds += res.DBSeconds
	if !res.OK() {
		all.Failed++
		*failed = append(*failed, StageEvents)
		rc.printf("  ✗ events: FAILED - %s\n", res.Message)
		return
	}
	all.Succeeded++
	if res.Counts.Skipped > 0 {
		*skipped = append(*skipped, StageEvents)
	}
	rc.printf("  ✓ events: %s\n", strings.TrimSpace(res.Counts.line(rc.opts.Plan)))
}
