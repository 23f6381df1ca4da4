package administrate

import (
	"context"
	"fmt"
)

type beforeSendKey struct{}

// WithBeforeSend returns a context whose requests call fn after the rate
// budget has let them through and just before they go on the wire. An error
// from fn aborts the request unsent and is returned (wrapped in
// NotSentError), with no retry.
//
// Why: a request can wait long in the rate budget or behind a Retry-After
// pause, and a process can be paused; a caller holding a lease (the
// admwriter's claim on an event) must re-check it at the last moment, or a
// stale worker sends a create after another one took over.
func WithBeforeSend(ctx context.Context, fn func(context.Context) error) context.Context {
	return context.WithValue(ctx, beforeSendKey{}, fn)
}

func beforeSend(ctx context.Context) func(context.Context) error {
	fn, _ := ctx.Value(beforeSendKey{}).(func(context.Context) error)
	return fn
}

// NotSentError is a request the caller's before-send check stopped: nothing
// reached Administrate.
type NotSentError struct {
	Operation string
	Err       error
}

func (e *NotSentError) Error() string {
	return fmt.Sprintf("administrate %s: not sent: %v", e.Operation, e.Err)
}

func (e *NotSentError) Unwrap() error { return e.Err }
