package writer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
	"admsync/services/admwriter/internal/bridge"
	"admsync/services/admwriter/internal/failpoint"
	"admsync/services/admwriter/internal/plan"
)

// Changed is the body of tutorial.event.changed.
type Changed = messaging.TutorialEventChanged

// ChangeAPI is the part of Administrate a correction needs beyond creation
// (its writes go through API.Batch). Client implements it; the writer asks
// its API for it, so a test double of API that cannot correct fails a
// correction permanently instead of pretending.
type ChangeAPI interface {
	// EventState reads the event's correctable fields and its event and session staff.
	EventState(ctx context.Context, eventID string) (administrate.EventSnapshot, error)
}

// changeWait is how soon a correction looks again when the event's creation
// is not done yet: creation is minutes at most, and the consumer's
// MaxDeliver bounds how long it waits.
const changeWait = 5 * time.Second

// handleChange is the messaging handler for tutorial.event.changed.
//
// A correction converges the Administrate event on the tutorial rows as
// they are now, limited to what the message names: the event fields it
// lists are read back and updated only where they differ; the sessions of
// its Days are updated again (Administrate cannot show session times, and
// session.update sets the same values when repeated); the instructors of
// its Days, and the administrators when named, are read back, the missing
// ones added and those the workbook dropped removed (only contacts our
// bridges know, so staff added in Administrate by hand stay). A lost answer
// is therefore harmless: the next attempt reads what is there and sends
// only what is still missing. It runs under the event's claim once its
// creation is done, and each revision is recorded as applied once.
func (w *Writer) handleChange(ctx context.Context, msg jetstream.Msg) error {
	var p Changed
	return consume(ctx, msg, func(span trace.Span) error {
		if err := json.Unmarshal(msg.Data(), &p); err != nil {
			return err
		}
		if p.TutorialEventID <= 0 || p.Revision <= 0 {
			return errors.New("tutorial_event_id or revision missing")
		}
		span.SetAttributes(attribute.Int64("admsync.tutorial_event_id", p.TutorialEventID), attribute.Int("admsync.revision", p.Revision))
		return nil
	}, func(ctx context.Context, delivered uint64) error { return w.ProcessChange(ctx, p, delivered) })
}

// ProcessChange applies one correction; the error follows the messaging
// package's policy.
func (w *Writer) ProcessChange(ctx context.Context, p Changed, delivered uint64) error {
	start := time.Now()
	ids := Payload{TutorialEventID: p.TutorialEventID, ImportRunID: p.ImportRunID}
	log := eventLogger(ctx, w.logger(), ids).With("revision", p.Revision, "delivery", delivered)
	st := w.store()
	claim, err := st.ClaimChange(ctx, p.TutorialEventID, p.Revision)
	var nc *bridge.NotCreatedError
	switch {
	case errors.Is(err, bridge.ErrDeleted):
		return messaging.Permanent(fmt.Errorf("tutorial event %d: %w; import it again as a new event (under a new title) if it is still wanted", p.TutorialEventID, err))
	case errors.Is(err, bridge.ErrChangeApplied):
		log.Info("correction already applied; skipping")
		w.Metrics.Events.WithLabelValues("skipped").Inc()
		return nil
	case errors.As(err, &nc) && nc.State == bridge.Failed:
		// The creation was dead-lettered: its replay reads the corrected
		// rows, and this correction is replayed after it.
		return messaging.Permanent(fmt.Errorf("tutorial event %d: its creation failed; replay the creation first (admwriter dlq replay), then this correction: %w", p.TutorialEventID, err))
	case errors.As(err, &nc):
		log.Info("event not created yet; the correction waits for it", "bridge", string(nc.State), "retry_in", changeWait)
		return messaging.RetryAfter(err, changeWait)
	case err != nil:
		return claimError(err, p.TutorialEventID, st.Lease, log, "for a correction")
	}
	a := &attempt{w: w, st: st, claim: claim, payload: ids, log: log.With("adm_event_id", claim.ExternalID),
		start: start, job: correction(p.Revision)}
	return w.work(ctx, a, func(ctx context.Context) error { return a.applyChange(ctx, p) })
}

// correction is the job of tutorial.event.changed at revision; its note
// names the revision in the error the bridge row keeps.
func correction(revision int) job {
	return job{outcome: "changed", succeeded: "correction applied", failed: "correction failed permanently",
		transient: "transient failure applying a correction", note: "correction " + strconv.Itoa(revision) + ": "}
}

// changeDeadLetter is OnDeadLetter for a correction: the event itself stays
// done (it exists in Administrate); the dead letter records the correction
// for `admwriter dlq replay`.
func (w *Writer) changeDeadLetter(ctx context.Context, msg jetstream.Msg, reason string) {
	var p Changed
	_ = json.Unmarshal(msg.Data(), &p)
	w.logger().Error("correction dead-lettered; the event keeps its earlier values in Administrate until it is replayed",
		"tutorial_event_id", p.TutorialEventID, "revision", p.Revision, "reason", reason)
	w.Metrics.Events.WithLabelValues("failed").Inc()
}

// applyChange converges the event on its rows for what p names: one read of
// the event, then every write that is still needed as aliased fields of one
// request (w.API.Batch, as the create path's sessions), in the order the
// calls used to go one by one: the event fields, the named Days' session
// updates, each named Day's instructors to add and to remove, the
// administrators to add and to remove. Each field is judged on its own; if
// any failed, the correction is not recorded and its next attempt reads the
// event again and sends only what still differs (a transient failure,
// including "outcome unknown" for a request that failed as a whole, is
// returned before a rejection).
func (a *attempt) applyChange(ctx context.Context, p Changed) error {
	w, c := a.w, a.claim
	api, ok := w.API.(ChangeAPI)
	if !ok {
		return messaging.Permanent(errors.New("this Administrate client cannot apply corrections"))
	}
	ev, pl, err := a.load(ctx)
	if err != nil {
		return err
	}
	var snap administrate.EventSnapshot
	if err := a.call(func() (err error) { snap, err = api.EventState(ctx, c.ExternalID); return err }); err != nil {
		return a.classify(err, "read the event's state")
	}

	type write struct {
		op   administrate.BatchOp
		what string
		done func() // counts a success
	}
	var writes []write
	add := func(op administrate.BatchOp, what string, done func()) {
		writes = append(writes, write{op, what, done})
	}

	// 1. Event fields: only those named, only where Administrate differs.
	if in, names := eventUpdate(ev, snap, p.EventFields); len(names) > 0 {
		a.log.Info("updating event fields", "fields", strings.Join(names, ","))
		add(administrate.BatchUpdateEvent(c.ExternalID, in), "update event fields "+strings.Join(names, ","), nil)
	}

	byDay := map[int]plan.SessionCall{}
	for _, s := range pl.Sessions {
		byDay[s.Day] = s
	}
	// session is the plan of a Day the correction names and its
	// Administrate session: the bridge's id, else the event's Day-th
	// session as read back.
	session := func(day int) (plan.SessionCall, string, error) {
		s, ok := byDay[day]
		if !ok {
			return s, "", messaging.Permanent(fmt.Errorf("the correction names Day %d, which the event does not have", day))
		}
		if id := c.Sessions[day].ExternalID; id != "" {
			return s, id, nil
		}
		if day >= 1 && day <= len(snap.Sessions) {
			return s, snap.Sessions[day-1].ID, nil
		}
		return s, "", messaging.Permanent(fmt.Errorf("event %s has no session for Day %d", c.ExternalID, day))
	}

	// 2. Sessions of the named Days: sent again whole (times cannot be read back).
	for _, day := range p.SessionDays {
		s, sid, err := session(day)
		if err != nil {
			return err
		}
		add(administrate.BatchUpdateSession(sid, s.Update), fmt.Sprintf("update session of Day %d", day), w.Metrics.SessionUpdates.Inc)
	}

	// 3. Instructors of the named Days, converged on the rows.
	current := map[string][]administrate.StaffMember{}
	for _, s := range snap.Sessions {
		current[s.ID] = s.Staff
	}
	for _, day := range p.StaffDays {
		s, sid, err := session(day)
		if err != nil {
			return err
		}
		where := fmt.Sprintf("Day %d", day)
		missing, remove, err := a.staffChanges(ctx, where, current[sid], s.InstructorIDs, administrate.StaffTypeInstructor)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			add(administrate.BatchAddSessionStaff(sid, missing, administrate.StaffTypeInstructor), "add staff to "+where, w.Metrics.StaffAdded.Inc)
		}
		for _, st := range remove {
			add(administrate.BatchRemoveStaff(st.ID), "remove staff from "+where, nil)
		}
	}

	// 4. Event administrators.
	if p.Administrators {
		missing, remove, err := a.staffChanges(ctx, "the event", snap.Staff, pl.Administrators, administrate.StaffTypeAdministrator)
		if err != nil {
			return err
		}
		for _, id := range missing {
			add(administrate.BatchAddEventStaff(c.ExternalID, id, administrate.StaffTypeAdministrator), "add staff to the event", w.Metrics.StaffAdded.Inc)
		}
		for _, st := range remove {
			add(administrate.BatchRemoveStaff(st.ID), "remove staff from the event", nil)
		}
	}

	if len(writes) > 0 {
		ops := make([]administrate.BatchOp, len(writes))
		for i, wr := range writes {
			ops[i] = wr.op
		}
		errs := a.batch(ctx, ops)
		var transient, rejected error
		for i, wr := range writes {
			switch err := errs[i]; {
			case err == nil:
				if wr.done != nil {
					wr.done()
				}
			case messaging.IsPermanent(err):
				a.log.Error("correction write rejected", "write", wr.what, "error", err)
				if rejected == nil {
					rejected = a.classify(err, wr.what)
				}
			case transient == nil:
				transient = a.classify(err, wr.what)
			}
		}
		if err := a.crash(failpoint.AfterChangeCall); err != nil {
			return err
		}
		if transient != nil {
			return transient
		}
		if rejected != nil {
			return rejected
		}
	}
	if err := a.crash(failpoint.BeforeBridgeCommit); err != nil {
		return err
	}
	return a.st.FinishChange(ctx, c, p.Revision, p.ImportRunID, a.calls)
}

// staffChanges compares a staff list with the wanted contacts: the wanted
// ones it lacks, and those of typ it has that are not wanted and that our
// bridges know (adm.instructors or adm.administrators), to remove; someone
// added in Administrate by hand is left alone.
func (a *attempt) staffChanges(ctx context.Context, where string, have []administrate.StaffMember, want []string,
	typ administrate.StaffType) (missing []string, remove []administrate.StaffMember, err error) {
	present := map[string]bool{}
	var extra []administrate.StaffMember
	for _, s := range have {
		if s.Type != typ && s.Type != "" {
			continue
		}
		present[s.ContactID] = true
		if !slices.Contains(want, s.ContactID) {
			extra = append(extra, s)
		}
	}
	for _, id := range want {
		if !present[id] && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		a.log.Info("adding staff", "where", where, "contacts", strings.Join(missing, ","))
	}
	if len(extra) == 0 {
		return missing, nil, nil
	}
	table := "adm.instructors"
	if typ == administrate.StaffTypeAdministrator {
		table = "adm.administrators"
	}
	ids := make([]string, 0, len(extra))
	for _, s := range extra {
		ids = append(ids, s.ContactID)
	}
	rows, err := a.w.Pool.Query(ctx, `SELECT DISTINCT external_id FROM `+table+` WHERE external_id = ANY($1)`, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", table, err)
	}
	ours := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("read %s: %w", table, err)
		}
		ours[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", table, err)
	}
	for _, s := range extra {
		if !ours[s.ContactID] {
			a.log.Info("leaving staff our bridges do not know", "where", where, "contact", s.ContactID)
			continue
		}
		a.log.Info("removing staff the workbook no longer names", "where", where, "contact", s.ContactID, "staff_id", s.ID)
		remove = append(remove, s)
	}
	return missing, remove, nil
}

// eventUpdate is the event.update input for the named fields whose value in
// Administrate differs from the rows, and the names it sets.
func eventUpdate(ev plan.Event, snap administrate.EventSnapshot, fields []string) (administrate.EventUpdateInput, []string) {
	var in administrate.EventUpdateInput
	var names []string
	cf := map[string]string{}
	for _, v := range snap.CustomFieldValues {
		cf[v.DefinitionKey] = v.Value
	}
	field := func(label, want, name string) {
		key := ev.EventFields[label]
		if key == "" || cf[key] == want {
			return
		}
		in.CustomFieldValues = append(in.CustomFieldValues, administrate.CustomFieldValueInput{DefinitionKey: key, Value: want})
		names = append(names, name)
	}
	for _, f := range fields {
		switch f {
		case messaging.ChangedFieldTitle:
			if snap.Title != ev.Title {
				in.Title, names = ev.Title, append(names, f)
			}
		case messaging.ChangedFieldMaxPlaces:
			if ev.MaxPlaces > 0 && snap.MaxPlaces != ev.MaxPlaces {
				in.MaxPlaces, names = ev.MaxPlaces, append(names, f)
			}
		case messaging.ChangedFieldLocation:
			if id := ev.Location.ExternalID; id != "" && snap.LocationID != id {
				in.LocationId, names = id, append(names, f)
			}
		case messaging.ChangedFieldVenue:
			if id := ev.Venue.ExternalID; id != "" && snap.VenueID != id {
				in.VenueId, names = id, append(names, f)
			}
		case messaging.ChangedFieldSitting:
			field(plan.LabelSitting, ev.Sitting, f)
		case messaging.ChangedFieldWebSale:
			field(plan.LabelWebSale, strconv.FormatBool(ev.WebSale), f)
		case messaging.ChangedFieldURL:
			field(plan.LabelURL, ev.EventURL, f)
		case messaging.ChangedFieldOCRMoodleCode:
			field(plan.LabelOCRMoodleCode, ev.OCRMoodleCode, f)
		case messaging.ChangedFieldFinalisationDate:
			want := ""
			if !ev.FinalisationDate.IsZero() {
				want = ev.FinalisationDate.Format("2006-01-02")
			}
			field(plan.LabelFinalisationDate, want, f)
		}
	}
	return in, names
}
