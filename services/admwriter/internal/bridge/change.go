package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Corrections (tutorial.event.changed) use the same claim as creation: the
// attempt token and lease on the event's adm.events row, taken only once the
// row is done, so a correction never runs beside the event's creation nor
// beside another correction of it. Each applied revision is recorded in
// adm.event_changes in the transaction that gives the claim up.

var (
	// ErrChangeApplied means this revision of the event was applied before.
	ErrChangeApplied = errors.New("correction already applied")
	// ErrNotCreated is wrapped by NotCreatedError.
	ErrNotCreated = errors.New("event is not created in Administrate yet")
	// ErrDeleted means the event was deleted in Administrate (admwriter
	// events delete-drafts): there is nothing left to correct.
	ErrDeleted = errors.New("event was deleted in Administrate")
)

// NotCreatedError says the event's creation is not done: State is its
// bridge state ("" when it has no bridge row yet).
type NotCreatedError struct{ State State }

func (e *NotCreatedError) Error() string {
	st := string(e.State)
	if st == "" {
		st = "not claimed yet"
	}
	return fmt.Sprintf("%v (bridge %s)", ErrNotCreated, st)
}
func (e *NotCreatedError) Unwrap() error { return ErrNotCreated }

// ClaimChange takes a done event for applying revision: ErrNoEvent,
// *NotCreatedError while the creation is not done, ErrDeleted once the event
// was deleted in Administrate, ErrChangeApplied when the revision was
// applied, *BusyError while another worker holds it. It is Claim's core with
// the correction's admission rule and no bridge row of its own.
func (s *Store) ClaimChange(ctx context.Context, tutorialEventID int64, revision int) (*Claim, error) {
	return s.claim(ctx, tutorialEventID, false, func(ctx context.Context, tx pgx.Tx, c *Claim, r lockedRow) (bool, error) {
		if r.deleted {
			return false, ErrDeleted
		}
		if c.State != Done || c.ExternalID == "" {
			return false, &NotCreatedError{State: c.State}
		}
		var applied bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM adm.event_changes WHERE tutorial_event_id = $1 AND revision = $2)`,
			c.TutorialEventID, revision).Scan(&applied); err != nil {
			return false, fmt.Errorf("read applied corrections: %w", err)
		}
		if applied {
			return false, ErrChangeApplied
		}
		return true, nil
	})
}

// FinishChange records revision as applied (with the import run that made
// it and the Administrate calls it took) and gives the claim up, in one
// fenced transaction.
func (s *Store) FinishChange(ctx context.Context, c *Claim, revision int, importRunID int64, calls int) error {
	return s.fenced(ctx, c, func(tx pgx.Tx) error {
		var run *int64
		if importRunID != 0 {
			run = &importRunID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO adm.event_changes (tutorial_event_id, revision, import_run_id, calls)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, c.TutorialEventID, revision, run, calls); err != nil {
			return fmt.Errorf("record correction: %w", err)
		}
		_, err := tx.Exec(ctx, `UPDATE adm.events SET attempt_token = NULL, claimed_at = NULL, last_error = NULL WHERE id = $1`, c.RowID)
		return err
	})
}
