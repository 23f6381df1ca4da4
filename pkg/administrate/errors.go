package administrate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Error taxonomy. Callers decide with errors.Is / errors.As:
//
//   - IsTransient(err): worth retrying later (429, 5xx, timeouts, network); the client has
//     already retried what it safely could.
//   - *OutcomeUnknownError (errors.Is(err, ErrOutcomeUnknown)): a mutation may or may not
//     have been applied. Reconcile (look the entity up) before retrying.
//   - *MutationError: Administrate rejected the write (validation); permanent.
//   - *GraphQLError: the document or a variable was rejected; permanent (a bug or a
//     schema drift that `doctor` would report).
//   - *AuthError: the credentials were refused, or a fresh token was refused too.

var (
	// ErrTransient matches errors worth retrying later.
	ErrTransient = errors.New("administrate: transient failure")
	// ErrOutcomeUnknown matches a mutation whose effect is unknown.
	ErrOutcomeUnknown = errors.New("administrate: mutation outcome unknown")
	// ErrNotFound is returned when an id resolves to nothing (node(id:) answered null).
	ErrNotFound = errors.New("administrate: not found")
	// ErrEmptyPage is returned when a page is empty although hasNextPage is still true;
	// the pager stops instead of looping forever.
	ErrEmptyPage = errors.New("administrate: empty page while hasNextPage is true")
)

// HTTPError is a non-2xx answer that carried no usable GraphQL result.
type HTTPError struct {
	Operation  string
	StatusCode int
	RetryAfter time.Duration // from a Retry-After header, 0 if none
	Body       string        // truncated; never contains credentials
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("administrate %s: HTTP %d: %s", e.Operation, e.StatusCode, e.Body)
}

// Is makes 429 and 5xx match ErrTransient.
func (e *HTTPError) Is(target error) bool {
	return target == ErrTransient && (e.StatusCode == 429 || e.StatusCode >= 500)
}

// TransportError is a failure without an HTTP answer (connection refused or reset,
// timeout). Sent reports whether the request had been written completely.
type TransportError struct {
	Operation string
	Sent      bool
	Timeout   bool
	Err       error
}

func (e *TransportError) Error() string {
	what := "network error"
	if e.Timeout {
		what = "timeout"
	}
	return fmt.Sprintf("administrate %s: %s: %v", e.Operation, what, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// Is makes every transport failure match ErrTransient.
func (e *TransportError) Is(target error) bool { return target == ErrTransient }

// OutcomeUnknownError reports a mutation that was sent but whose answer never arrived
// intact (timeout, dropped connection, 5xx). It may have been applied.
type OutcomeUnknownError struct {
	Operation string
	Err       error // the underlying *TransportError or *HTTPError
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("administrate %s: outcome unknown, reconcile before retrying: %v", e.Operation, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// Is matches ErrOutcomeUnknown (and, through Unwrap, ErrTransient).
func (e *OutcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }

// GraphQLError carries the top-level "errors" of a response: the request was rejected
// as a whole (unknown field, bad enum literal, malformed filter, resolver failure).
type GraphQLError struct {
	Operation  string
	StatusCode int
	Errors     gqlerror.List
}

func (e *GraphQLError) Error() string {
	msgs := make([]string, 0, len(e.Errors))
	for _, g := range e.Errors {
		msgs = append(msgs, g.Message)
	}
	return fmt.Sprintf("administrate %s: GraphQL errors (HTTP %d): %s", e.Operation, e.StatusCode, strings.Join(msgs, "; "))
}

// AuthError reports refused credentials (token endpoint) or a 401 that a fresh token did
// not cure.
type AuthError struct {
	StatusCode int
	Err        error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("administrate: authentication failed (HTTP %d): %v", e.StatusCode, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// FieldError is one entry of a mutation payload's errors { label message value }.
type FieldError struct {
	Field   string // Administrate's "label": the input field concerned
	Message string
	Value   string
}

// MutationError is a write Administrate rejected with payload errors. EntityID is set
// when Administrate nevertheless returned an entity (createBlended may answer an event
// together with errors): the entity exists and its id must be kept.
type MutationError struct {
	Operation string
	Errors    []FieldError
	EntityID  string
}

func (e *MutationError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, f := range e.Errors {
		p := f.Message
		if f.Field != "" {
			p = f.Field + ": " + p
		}
		if f.Value != "" {
			p += fmt.Sprintf(" (value %q)", f.Value)
		}
		parts = append(parts, p)
	}
	msg := fmt.Sprintf("administrate %s rejected: %s", e.Operation, strings.Join(parts, "; "))
	if e.EntityID != "" {
		msg += " (entity " + e.EntityID + " was created nevertheless)"
	}
	return msg
}

// alreadyStaff is the stable part of "The input Contact already exists as staff on the
// Event" (and its session counterpart).
const alreadyStaff = "already exists as staff"

// IsAlreadyStaff reports whether err is a MutationError whose every entry says the
// contact is already staff, so the caller can treat the add as done.
func IsAlreadyStaff(err error) bool {
	var me *MutationError
	if !errors.As(err, &me) || len(me.Errors) == 0 {
		return false
	}
	for _, f := range me.Errors {
		if !strings.Contains(strings.ToLower(f.Message), alreadyStaff) {
			return false
		}
	}
	return true
}

// IsTransient reports whether err is worth retrying later.
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }

// mutationError builds a *MutationError from generated payload errors, or nil.
func mutationError[E any, P interface {
	*E
	GetLabel() string
	GetMessage() string
	GetValue() string
}](op string, errs []E, entityID string) error {
	if len(errs) == 0 {
		return nil
	}
	me := &MutationError{Operation: op, EntityID: entityID}
	for i := range errs {
		e := P(&errs[i])
		me.Errors = append(me.Errors, FieldError{Field: e.GetLabel(), Message: e.GetMessage(), Value: e.GetValue()})
	}
	return me
}
