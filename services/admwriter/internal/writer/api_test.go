package writer

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"admsync/pkg/administrate"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		err        error
		kind       Kind
		retryAfter time.Duration
	}{
		{"429 with Retry-After", &administrate.HTTPError{StatusCode: 429, RetryAfter: 3 * time.Second}, Transient, 3 * time.Second},
		{"503", fmt.Errorf("wrapped: %w", &administrate.HTTPError{StatusCode: 503}), Transient, 0},
		{"connection refused", &administrate.TransportError{Err: errors.New("refused")}, Transient, 0},
		{"sent, then dropped", &administrate.OutcomeUnknownError{Err: &administrate.TransportError{Sent: true}}, OutcomeUnknown, 0},
		{"validation", &administrate.MutationError{Errors: []administrate.FieldError{{Field: "end", Message: "End must be after start"}}}, Rejected, 0},
		{"bad document", &administrate.GraphQLError{}, Rejected, 0},
		{"no such event", administrate.ErrNotFound, Rejected, 0},
	}
	for _, c := range cases {
		err := classify("op", c.err)
		if kindOf(err) != c.kind || retryAfterOf(err) != c.retryAfter {
			t.Errorf("%s: kind %v retry-after %v, want %v %v", c.name, kindOf(err), retryAfterOf(err), c.kind, c.retryAfter)
		}
		if !errors.Is(err, c.err) {
			t.Errorf("%s: the original error is not wrapped", c.name)
		}
	}
	if classify("op", nil) != nil {
		t.Error("classify(nil) must be nil")
	}
	if kindOf(errors.New("database down")) != Transient {
		t.Error("unclassified errors must count as transient")
	}
}
