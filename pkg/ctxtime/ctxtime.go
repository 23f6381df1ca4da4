// Package ctxtime waits for a time that a context can cut short: the retry,
// poll and back-off pauses of the services and the simulator.
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx is done if that comes first. It returns nil
// after the whole wait and ctx.Err() when the context ended it; a d of zero or
// less does not wait and returns ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
