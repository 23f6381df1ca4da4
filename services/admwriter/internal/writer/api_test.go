package writer

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		err        error
		permanent  bool
		unknown    bool
		retryAfter time.Duration
	}{
		{"429 with Retry-After", &administrate.HTTPError{StatusCode: 429, RetryAfter: 3 * time.Second}, false, false, 3 * time.Second},
		{"503", fmt.Errorf("wrapped: %w", &administrate.HTTPError{StatusCode: 503}), false, false, 0},
		{"connection refused", &administrate.TransportError{Err: errors.New("refused")}, false, false, 0},
		{"sent, then dropped", &administrate.OutcomeUnknownError{Err: &administrate.TransportError{Sent: true}}, false, true, 0},
		{"validation", &administrate.MutationError{Errors: []administrate.FieldError{{Field: "end", Message: "End must be after start"}}}, true, false, 0},
		{"bad document", &administrate.GraphQLError{}, true, false, 0},
		{"no such event", administrate.ErrNotFound, true, false, 0},
	}
	for _, c := range cases {
		err := classify("op", c.err)
		delay, _ := messaging.RetryDelay(err)
		if messaging.IsPermanent(err) != c.permanent || outcomeUnknown(err) != c.unknown || delay != c.retryAfter {
			t.Errorf("%s: permanent %v, outcome unknown %v, retry after %v; want %v %v %v", c.name,
				messaging.IsPermanent(err), outcomeUnknown(err), delay, c.permanent, c.unknown, c.retryAfter)
		}
		if !errors.Is(err, c.err) {
			t.Errorf("%s: the original error is not wrapped", c.name)
		}
	}
	if classify("op", nil) != nil {
		t.Error("classify(nil) must be nil")
	}
}
