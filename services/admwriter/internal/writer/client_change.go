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

// UpdateEvent sends event.update with the fields set in in.
func (c *Client) UpdateEvent(ctx context.Context, eventID string, in administrate.EventUpdateInput) error {
	return classify("event.update", c.A.UpdateEvent(ctx, eventID, in))
}

// RemoveStaff sends event.removeStaff for one staff id.
func (c *Client) RemoveStaff(ctx context.Context, staffID string) error {
	return classify("event.removeStaff", c.A.RemoveStaff(ctx, staffID))
}
