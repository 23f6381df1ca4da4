package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"admsync/pkg/database"
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
// *NotCreatedError while the creation is not done, ErrChangeApplied when
// the revision was applied, *BusyError while another worker holds it.
func (s *Store) ClaimChange(ctx context.Context, tutorialEventID int64, revision int) (*Claim, error) {
	c := &Claim{TutorialEventID: tutorialEventID, Sessions: map[int]SessionDone{}}
	err := database.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM acted.tutorial_events WHERE id = $1)`, tutorialEventID).Scan(&exists); err != nil {
			return fmt.Errorf("look up tutorial event: %w", err)
		}
		if !exists {
			return ErrNoEvent
		}
		var (
			ext       *string
			token     *uuid.UUID
			leaseLeft bool
			leftSecs  float64
			deleted   bool
		)
		err := tx.QueryRow(ctx, `SELECT id, state, external_id, attempt_token, attempts, deleted_at IS NOT NULL,
				claimed_at IS NOT NULL AND claimed_at > now() - make_interval(secs => $2),
				coalesce(extract(epoch FROM claimed_at + make_interval(secs => $2) - now()), 0)::float8
			FROM adm.events WHERE tutorial_event_id = $1 FOR UPDATE`,
			tutorialEventID, s.Lease.Seconds()).
			Scan(&c.RowID, &c.State, &ext, &token, &c.Attempts, &deleted, &leaseLeft, &leftSecs)
		if errors.Is(err, pgx.ErrNoRows) {
			return &NotCreatedError{}
		}
		if err != nil {
			return fmt.Errorf("lock bridge row: %w", err)
		}
		if deleted {
			return ErrDeleted
		}
		if c.State != Done || ext == nil {
			return &NotCreatedError{State: c.State}
		}
		c.ExternalID = *ext
		var applied bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM adm.event_changes WHERE tutorial_event_id = $1 AND revision = $2)`,
			tutorialEventID, revision).Scan(&applied); err != nil {
			return fmt.Errorf("read applied corrections: %w", err)
		}
		if applied {
			return ErrChangeApplied
		}
		if token != nil && leaseLeft {
			return &BusyError{Left: time.Duration(max(leftSecs, 0) * float64(time.Second))}
		}
		c.Token = uuid.New()
		if _, err := tx.Exec(ctx, `UPDATE adm.events SET attempt_token = $2, claimed_at = now(), updated_at = now() WHERE id = $1`,
			c.RowID, c.Token); err != nil {
			return fmt.Errorf("claim bridge row: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT day_number, external_id, staff_done FROM adm.sessions WHERE event_id = $1`, c.RowID)
		if err != nil {
			return fmt.Errorf("read session bridges: %w", err)
		}
		for rows.Next() {
			var day int
			var ext *string
			var staff bool
			if err := rows.Scan(&day, &ext, &staff); err != nil {
				return fmt.Errorf("read session bridges: %w", err)
			}
			if ext != nil {
				c.Sessions[day] = SessionDone{ExternalID: *ext, StaffDone: staff}
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return c, nil
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
