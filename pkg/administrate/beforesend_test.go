package administrate_test

import (
	"context"
	"errors"
	"testing"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim/admsimtest"
)

// A before-send check that fails stops the request unsent: Administrate
// records nothing and the caller gets its error back.
func TestBeforeSendCheckStopsTheRequest(t *testing.T) {
	sim := admsimtest.Start(t)
	c := sim.Client(t)
	lost := errors.New("claim lost")
	calls := 0
	ctx := administrate.WithBeforeSend(context.Background(), func(context.Context) error { calls++; return lost })
	_, err := c.ListLocations(ctx)
	var ns *administrate.NotSentError
	if !errors.As(err, &ns) || !errors.Is(err, lost) {
		t.Fatalf("want NotSentError wrapping the check's error, got %v", err)
	}
	if calls != 1 {
		t.Fatalf("check ran %d times, want once (no retry)", calls)
	}
	if n := len(sim.Requests()); n != 0 {
		t.Fatalf("%d requests reached the simulator", n)
	}
	ok := administrate.WithBeforeSend(context.Background(), func(context.Context) error { return nil })
	if _, err := c.ListLocations(ok); err != nil {
		t.Fatalf("a passing check must let the request through: %v", err)
	}
}
