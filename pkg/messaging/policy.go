package messaging

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// permanentError marks a failure that no retry can fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// retryAfterError asks for redelivery after a given delay.
type retryAfterError struct {
	err   error
	delay time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying (a decode or validation failure,
// a GraphQL business error): the runner dead-letters the message at once.
func Permanent(err error) error {
	if err == nil {
		err = errors.New("permanent failure")
	}
	return &permanentError{err: err}
}

// RetryAfter asks the runner to redeliver after d instead of the
// delivery-count backoff, e.g. honouring an API's Retry-After.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		err = errors.New("retry requested")
	}
	if d < 0 {
		d = 0
	}
	return &retryAfterError{err: err, delay: d}
}

// Malformed marks a message whose body or subject cannot be read (bad
// JSON, a missing field, an unknown stage). Every service treats it the
// same way: dead-lettered at once with the reason "malformed message: …",
// since the producer must be fixed and the message replayed.
func Malformed(err error) error {
	if err == nil {
		err = errors.New("unreadable message")
	}
	return Permanent(fmt.Errorf("malformed message: %w", err))
}

// IsPermanent reports whether err (or anything it wraps) was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryDelay returns the delay requested with RetryAfter, if any.
func RetryDelay(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.delay, true
	}
	return 0, false
}

// Action is what the runner does with a handled message. Its String is the
// outcome label of admsync_messages_handled_total.
type Action int

const (
	ActionAck Action = iota
	ActionRetry
	ActionDeadLetter
)

func (a Action) String() string {
	switch a {
	case ActionAck:
		return "ack"
	case ActionRetry:
		return "retry"
	case ActionDeadLetter:
		return "dead_letter"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Decision is the policy's verdict on one delivery.
type Decision struct {
	Action Action
	Delay  time.Duration // for ActionRetry: the NakWithDelay delay
	Reason string        // for ActionDeadLetter: the Admsync-Dlq-Reason header
}

// Policy maps a handler's result to ack, delayed nak or dead letter.
type Policy struct {
	// MaxDeliver is the consumer's limit; <= 0 means unlimited.
	MaxDeliver int
	// Backoff is the nak delay by delivery count (1-based; the last entry
	// repeats). Empty means DefaultRetryDelay.
	Backoff []time.Duration
}

// DefaultRetryDelay is the nak delay when a Policy has no Backoff.
const DefaultRetryDelay = 5 * time.Second

// Decide returns what to do after delivery number delivered ended with err.
// The order matters: a permanent error dead-letters even on the first
// delivery, and on the last allowed delivery any failure dead-letters,
// because a nak there would let the server drop the message silently.
func (p Policy) Decide(err error, delivered uint64) Decision {
	if err == nil {
		return Decision{Action: ActionAck}
	}
	if IsPermanent(err) {
		return Decision{Action: ActionDeadLetter, Reason: "permanent error: " + err.Error()}
	}
	if p.MaxDeliver > 0 && delivered >= uint64(p.MaxDeliver) {
		return Decision{Action: ActionDeadLetter,
			Reason: fmt.Sprintf("max deliveries reached (%d): %s", p.MaxDeliver, err.Error())}
	}
	if d, ok := RetryDelay(err); ok {
		return Decision{Action: ActionRetry, Delay: d}
	}
	return Decision{Action: ActionRetry, Delay: p.backoff(delivered)}
}

func (p Policy) backoff(delivered uint64) time.Duration {
	if len(p.Backoff) == 0 {
		return DefaultRetryDelay
	}
	i := 0
	if delivered > 1 {
		i = int(min(delivered-1, uint64(len(p.Backoff)-1)))
	}
	return p.Backoff[i]
}

// maxReasonLen keeps a dead letter's reason header (and the term reason in
// the server's advisory) bounded; the full error is in the logs.
const maxReasonLen = 1024

// headerSafe makes s a valid single-line header value.
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxReasonLen {
		s = strings.ToValidUTF8(s[:maxReasonLen], "") + "..."
	}
	return s
}
