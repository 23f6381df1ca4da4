package writer

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
	"admsync/services/admwriter/internal/bridge"
	"admsync/services/admwriter/internal/plan"
)

// writeSessions sends every session update and staff addition still to do, and the
// event administrators, as one batch: aliased fields of as few requests as the cap
// allows (one for every event of the real season), in Day order with the
// administrators last. Each field is judged on its own and every session that
// completed is stored, whatever happened to the others; then a transient failure
// (including "outcome unknown", which for these idempotent writes means send them
// again) is returned first, else the sessions Administrate refused, else a refused
// administrator. byDay maps a Day to its Administrate session id.
func (a *attempt) writeSessions(ctx context.Context, p *plan.Plan, byDay map[int]string) (map[string]string, error) {
	w, st, c := a.w, a.st, a.claim
	type job struct {
		s             plan.SessionCall
		sid           string
		update, staff int // index into ops, -1 when not sent
	}
	var (
		ops  []administrate.BatchOp
		jobs []job
	)
	for _, s := range p.Sessions {
		done := c.Sessions[s.Day]
		j := job{s: s, sid: done.ExternalID, update: -1, staff: -1}
		if j.sid == "" {
			j.sid = byDay[s.Day]
			j.update = len(ops)
			ops = append(ops, administrate.BatchUpdateSession(j.sid, s.Update))
		}
		if !done.StaffDone && len(s.InstructorIDs) > 0 {
			j.staff = len(ops)
			ops = append(ops, administrate.BatchAddSessionStaff(j.sid, s.InstructorIDs, administrate.StaffTypeInstructor))
		}
		if j.update >= 0 || j.staff >= 0 || !done.StaffDone {
			jobs = append(jobs, j)
		}
	}
	admins := len(ops)
	for _, admin := range p.Administrators {
		ops = append(ops, administrate.BatchAddEventStaff(c.ExternalID, admin, administrate.StaffTypeAdministrator))
	}
	errs := a.batch(ctx, ops)

	sessionErrors := map[string]string{}
	var (
		transient error
		stored    []bridge.SessionRow
	)
	for _, j := range jobs {
		day := strconv.Itoa(j.s.Day)
		if j.update >= 0 {
			if err := errs[j.update]; err != nil {
				if messaging.IsPermanent(err) {
					sessionErrors[day] = err.Error()
					a.log.Error("session update rejected", "day", j.s.Day, "session_id", j.sid, "error", err)
				} else if transient == nil {
					transient = a.classify(err, fmt.Sprintf("update session of Day %d", j.s.Day))
				}
				// Stored only once updated: the next attempt sends both again.
				continue
			}
			w.Metrics.SessionUpdates.Inc()
		}
		staffDone := len(j.s.InstructorIDs) == 0
		if j.staff >= 0 {
			switch err := errs[j.staff]; {
			case err == nil:
				w.Metrics.StaffAdded.Inc()
				staffDone = true
			case messaging.IsPermanent(err):
				sessionErrors[day] = err.Error()
				a.log.Error("session staff rejected", "day", j.s.Day, "session_id", j.sid, "error", err)
			case transient == nil:
				transient = a.classify(err, fmt.Sprintf("add instructors to session of Day %d", j.s.Day))
			}
		}
		if j.update < 0 && !staffDone {
			continue // nothing new to store
		}
		stored = append(stored, bridge.SessionRow{TutorialSessionID: j.s.TutorialSessionID, Day: j.s.Day, ExternalID: j.sid, StaffDone: staffDone})
	}
	if err := st.Sessions(ctx, c, stored); err != nil {
		return nil, err
	}
	var adminErr error
	for i, admin := range p.Administrators {
		err := errs[admins+i]
		switch {
		case err == nil:
			w.Metrics.StaffAdded.Inc()
		case !messaging.IsPermanent(err):
			if transient == nil {
				transient = a.classify(err, "add event administrator "+admin)
			}
		case adminErr == nil:
			adminErr = a.classify(err, "add event administrator "+admin)
		}
	}
	if transient != nil {
		return nil, transient
	}
	if len(sessionErrors) > 0 {
		return sessionErrors, nil
	}
	return nil, adminErr
}

// batch sends ops through the API's Batch, counting its requests as calls and
// feeding the breaker: any answer closes it, a batch of which every op failed
// transiently counts as one failure.
func (a *attempt) batch(ctx context.Context, ops []administrate.BatchOp) []error {
	if len(ops) == 0 {
		return nil
	}
	errs, requests := a.w.API.Batch(ctx, ops)
	a.calls += requests
	if a.w.Breaker != nil {
		answered, failed := false, false
		for _, err := range errs {
			switch {
			case err == nil, messaging.IsPermanent(err):
				answered = true
			case errors.Is(err, context.Canceled):
			default:
				failed = true
			}
		}
		switch {
		case answered:
			a.w.Breaker.Success()
		case failed:
			a.w.Breaker.Failure()
		}
	}
	return errs
}
