package messaging_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"admsync/pkg/messaging"
)

func TestPolicyDecide(t *testing.T) {
	t.Parallel()
	p := messaging.Policy{MaxDeliver: 5, Backoff: []time.Duration{time.Second, 10 * time.Second, time.Minute}}
	boom := errors.New("boom")
	cases := []struct {
		name      string
		err       error
		delivered uint64
		want      messaging.Decision
	}{
		{"success acks", nil, 1, messaging.Decision{Action: messaging.ActionAck}},
		{"success on last delivery acks", nil, 5, messaging.Decision{Action: messaging.ActionAck}},
		{"transient first delivery", boom, 1, messaging.Decision{Action: messaging.ActionRetry, Delay: time.Second}},
		{"transient second delivery", boom, 2, messaging.Decision{Action: messaging.ActionRetry, Delay: 10 * time.Second}},
		{"transient beyond schedule repeats last", boom, 4, messaging.Decision{Action: messaging.ActionRetry, Delay: time.Minute}},
		{"transient on last delivery dead-letters", boom, 5,
			messaging.Decision{Action: messaging.ActionDeadLetter, Reason: "max deliveries reached (5): boom"}},
		{"wrapped transient", fmt.Errorf("call api: %w", boom), 2, messaging.Decision{Action: messaging.ActionRetry, Delay: 10 * time.Second}},
		{"permanent dead-letters at once", messaging.Permanent(boom), 1,
			messaging.Decision{Action: messaging.ActionDeadLetter, Reason: "permanent error: boom"}},
		{"wrapped permanent", fmt.Errorf("handle: %w", messaging.Permanent(boom)), 1,
			messaging.Decision{Action: messaging.ActionDeadLetter, Reason: "permanent error: handle: boom"}},
		{"retry after uses its delay", messaging.RetryAfter(boom, 42*time.Second), 1,
			messaging.Decision{Action: messaging.ActionRetry, Delay: 42 * time.Second}},
		{"retry after on last delivery dead-letters", messaging.RetryAfter(boom, time.Second), 5,
			messaging.Decision{Action: messaging.ActionDeadLetter, Reason: "max deliveries reached (5): boom"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Decide(tc.err, tc.delivered); got != tc.want {
				t.Fatalf("Decide(%v, %d) = %+v, want %+v", tc.err, tc.delivered, got, tc.want)
			}
		})
	}
}

func TestPolicyDefaults(t *testing.T) {
	t.Parallel()
	var p messaging.Policy // unlimited deliveries, no schedule
	if got := p.Decide(errors.New("x"), 1000); got.Action != messaging.ActionRetry || got.Delay != messaging.DefaultRetryDelay {
		t.Fatalf("Decide = %+v, want retry after DefaultRetryDelay", got)
	}
	if !messaging.IsPermanent(messaging.Permanent(nil)) {
		t.Fatal("Permanent(nil) is not permanent")
	}
	if d, ok := messaging.RetryDelay(messaging.RetryAfter(nil, -time.Second)); !ok || d != 0 {
		t.Fatalf("RetryDelay = %v, %v; want 0, true", d, ok)
	}
	if messaging.IsPermanent(errors.New("x")) {
		t.Fatal("plain error is permanent")
	}
	for a, want := range map[messaging.Action]string{messaging.ActionAck: "ack", messaging.ActionRetry: "retry", messaging.ActionDeadLetter: "dead_letter"} {
		if a.String() != want {
			t.Errorf("%d.String() = %q, want %q", a, a.String(), want)
		}
	}
}

// The handler decides the class of an error; the policy does the rest.
func ExamplePolicy_Decide() {
	p := messaging.Policy{MaxDeliver: 3, Backoff: []time.Duration{10 * time.Second, 30 * time.Second}}
	timeout := errors.New("administrate: timeout")

	fmt.Println(p.Decide(nil, 1).Action)
	fmt.Println(p.Decide(timeout, 2))
	fmt.Println(p.Decide(messaging.RetryAfter(timeout, time.Minute), 1))
	fmt.Println(p.Decide(messaging.Permanent(errors.New("title is required")), 1))
	fmt.Println(p.Decide(timeout, 3).Reason)
	// Output:
	// ack
	// {retry 30s }
	// {retry 1m0s }
	// {dead_letter 0s permanent error: title is required}
	// max deliveries reached (3): administrate: timeout
}
