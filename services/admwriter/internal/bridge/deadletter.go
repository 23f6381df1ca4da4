package bridge

import (
	"context"
	"fmt"
)

// Abandon marks the event of a dead-lettered message failed with the
// reason, unless it is done or a live worker holds it (a duplicate message
// being handled: that worker settles it). The row keeps its Administrate id
// and sessions, so a replay resumes where it stopped (Claim reopens failed
// rows). It returns the row as it now is, nil when the event has no bridge
// row (it was never claimed).
func (s *Store) Abandon(ctx context.Context, tutorialEventID int64, reason string) (*Row, error) {
	_, err := s.Pool.Exec(ctx, `UPDATE adm.events SET state = 'failed', attempt_token = NULL, claimed_at = NULL,
			last_error = $2, finished_at = now(), updated_at = now()
		WHERE tutorial_event_id = $1 AND state <> 'done'
		  AND (attempt_token IS NULL OR claimed_at IS NULL OR claimed_at <= now() - make_interval(secs => $3))`,
		tutorialEventID, reason, s.Lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("mark tutorial event %d failed: %w", tutorialEventID, err)
	}
	return Get(ctx, s.Pool, tutorialEventID)
}
