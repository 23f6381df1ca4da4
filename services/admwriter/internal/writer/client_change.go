package writer

import (
	"context"

	"admsync/pkg/administrate"
)

// EventState reads what a correction converges (event fields, event and
// session staff).
func (c *Client) EventState(ctx context.Context, eventID string) (administrate.EventSnapshot, error) {
	st, err := c.A.EventState(ctx, eventID)
	return st, classify("event state", err)
}
