package writer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"admsync/pkg/administrate"
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

// Kind classifies an Administrate failure for the failure policy.
type Kind int

const (
	// Transient: timeout, connection error, 429, 5xx. Retry later; feeds the breaker.
	Transient Kind = iota
	// OutcomeUnknown: a mutation was sent and may have been applied.
	OutcomeUnknown
	// Rejected: Administrate answered with a validation error. Permanent.
	Rejected
)

func (k Kind) String() string {
	switch k {
	case Transient:
		return "transient"
	case OutcomeUnknown:
		return "outcome unknown"
	default:
		return "rejected"
	}
}

// APIError is an Administrate failure with its class.
type APIError struct {
	Kind Kind
	Op   string
	// RetryAfter is Administrate's Retry-After, when it sent one.
	RetryAfter time.Duration
	Err        error
}

func (e *APIError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Op, e.Kind, e.Err) }
func (e *APIError) Unwrap() error { return e.Err }

// kindOf returns err's class; errors that are not *APIError (context
// cancellation, programming errors) count as transient.
func kindOf(err error) Kind {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Kind
	}
	return Transient
}

func retryAfterOf(err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.RetryAfter
	}
	return 0
}
