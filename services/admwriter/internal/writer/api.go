package writer

import (
	"context"
	"errors"
	"fmt"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
)

// API is the part of Administrate the writer calls. The production
// implementation is Client (client.go) over pkg/administrate; tests use the
// same one against the simulator, so this interface only decouples the
// writer's logic from the client's error types.
type API interface {
	CreateBlended(ctx context.Context, in administrate.BlendedEventCreateInput) (Created, error)
	CreateLMS(ctx context.Context, in administrate.LMSEventCreateInput) (Created, error)
	CreateClassroom(ctx context.Context, in administrate.ClassroomEventCreateInput) (Created, error)
	// UpdateSession sends session.update.
	UpdateSession(ctx context.Context, sessionID string, in administrate.SessionUpdateInput) error
	// AddSessionStaff adds instructors to a session; "already staff" is success.
	AddSessionStaff(ctx context.Context, sessionID string, contactIDs []string) error
	// AddEventStaff adds one administrator; "already staff" is success.
	AddEventStaff(ctx context.Context, eventID, contactID string) error
	// Batch sends writes as few requests as the client's cap allows, returning
	// one error per op (classified as for the single calls) and the number of
	// requests sent.
	Batch(ctx context.Context, ops []administrate.BatchOp) ([]error, int)
	// FindEvents returns the ids of events with this title and course
	// template code (the natural key used to reconcile).
	FindEvents(ctx context.Context, title, courseTemplateCode string) ([]string, error)
	// EventSessions returns an event's session ids in Administrate's order.
	EventSessions(ctx context.Context, eventID string) ([]string, error)
	// Probe is a cheap read telling whether Administrate answers.
	Probe(ctx context.Context) error
}

// Created is what a create mutation returned.
type Created struct {
	EventID string
	// SessionIDs in Administrate's order; Complete is false when the
	// response held only a first page of them.
	SessionIDs []string
	Complete   bool
}

// Errors of API calls follow pkg/messaging's taxonomy, so the writer and
// the runner read them the same way:
//   - messaging.IsPermanent: Administrate refused the request (validation,
//     an unknown id, a document it rejects); retrying cannot help.
//   - messaging.RetryDelay: Administrate asked to come back later (429 with
//     Retry-After).
//   - errors.Is(err, administrate.ErrOutcomeUnknown): a mutation was sent
//     and may have been applied; reconcile before trying again.
//   - anything else is transient (timeout, connection, 5xx) and feeds the
//     circuit breaker.

// classify wraps an Administrate error of op in those terms.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%s: %w", op, err)
	if outcomeUnknown(err) {
		// Checked first: a batched request that failed as a whole carries the
		// request-level error inside, and it is not a rejection of this op.
		return err
	}
	var (
		me *administrate.MutationError
		ge *administrate.GraphQLError
		he *administrate.HTTPError
	)
	switch {
	case errors.As(err, &me), errors.As(err, &ge), errors.Is(err, administrate.ErrNotFound):
		return messaging.Permanent(err)
	case errors.As(err, &he) && he.RetryAfter > 0:
		return messaging.RetryAfter(err, he.RetryAfter)
	}
	return err
}

// outcomeUnknown reports whether a mutation may have been applied.
func outcomeUnknown(err error) bool { return errors.Is(err, administrate.ErrOutcomeUnknown) }
