// Package bridge is the admwriter's per-event state machine over the
// adm.events and adm.sessions bridge rows.
//
//	pending ──BeginCreate──▶ creating ──Created──▶ created ──Finish──▶ done
//	   │                        │                     │
//	   └────────────── Fail ────┴─────────────────────┴──▶ failed
//
// A worker owns an event through a claim: a fresh attempt token written under
// a row lock, with claimed_at as a lease that the owner keeps alive with
// Heartbeat. Every later write is fenced on that token, so a worker that lost
// its claim (paused past the lease, then resumed) updates 0 rows, gets
// ErrFenced and stops. No transaction is ever held across an Administrate
// call: each step is one short transaction.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"admsync/pkg/database"
)

// State is adm.events.state.
type State string

const (
	Pending  State = "pending"
	Creating State = "creating"
	Created  State = "created"
	Done     State = "done"
	Failed   State = "failed"
)

var (
	// ErrFenced means another worker holds the claim now: stop without
	// touching Administrate or the bridge again.
	ErrFenced = errors.New("claim lost to another worker")
	// ErrBusy means a live worker holds the claim; try again after its lease.
	ErrBusy = errors.New("event is being written by another worker")
	// ErrLinkedElsewhere means the Administrate event is already the bridge
	// of another tutorial event (two tutorial events with one natural key).
	ErrLinkedElsewhere = errors.New("Administrate event is already linked to another tutorial event")
	// ErrNoEvent means the tutorial event does not exist (deleted, or a
	// message for another database).
	ErrNoEvent = errors.New("tutorial event not found")
)

// BusyError is ErrBusy with how long the other worker's lease has left:
// the moment to look again, if that worker has died.
type BusyError struct{ Left time.Duration }

func (e *BusyError) Error() string {
	return fmt.Sprintf("%v (its lease ends in %s)", ErrBusy, e.Left.Round(time.Millisecond))
}
func (e *BusyError) Unwrap() error { return ErrBusy }

// SessionDone is what adm.sessions records for one Day.
type SessionDone struct {
	ExternalID string
	StaffDone  bool
}

// Claim is a worker's hold on one event.
type Claim struct {
	RowID           int64
	TutorialEventID int64
	Token           uuid.UUID
	// State when claimed (for a failed row: the state it failed in, see
	// Claim); done claims carry no token and need no work.
	State      State
	ExternalID string
	Attempts   int
	// Sessions by Day, as far as a previous attempt got.
	Sessions map[int]SessionDone
}

// Store runs the state machine against PostgreSQL.
type Store struct {
	Pool *pgxpool.Pool
	// Lease is how long a claim holds without a heartbeat.
	Lease time.Duration
}

// Claim takes the event for this worker. A done event returns a claim with
// State Done and no token. A claim held by a live worker (claimed_at within
// the lease) returns ErrBusy. A failed event is reopened: with an
// Administrate id it resumes as created, without one as creating, because a
// create may have been sent before it failed and must be reconciled.
func (s *Store) Claim(ctx context.Context, tutorialEventID int64) (*Claim, error) {
	return s.claim(ctx, tutorialEventID, true, admitCreation)
}

// admitCreation is Claim's rule for the locked row: a done event needs no
// claim; a failed one, or a pending one that already has an Administrate id,
// is reopened as created or creating (see Claim); every claim counts as an
// attempt.
func admitCreation(_ context.Context, _ pgx.Tx, c *Claim, _ lockedRow) (bool, error) {
	if c.State == Done {
		return false, nil
	}
	if c.State == Failed || c.State == Pending && c.ExternalID != "" {
		c.State = Creating
		if c.ExternalID != "" {
			c.State = Created
		}
	}
	c.Attempts++
	return true, nil
}

// lockedRow is what a claim decides on beyond the Claim fields, read from
// the event's adm.events row under its row lock.
type lockedRow struct {
	deleted bool // deleted in Administrate (admwriter events delete-drafts)
	// held: another claim's token is set and its lease has not run out;
	// left is what remains of that lease.
	held bool
	left time.Duration
}

// admitFunc is the rule that differs between creation and corrections. It
// sees the locked row (c holds its id, state, Administrate id and attempts)
// before the live-lease check, and may set the state and attempts the claim
// writes. An error refuses the claim; false returns c without a token
// (nothing to do).
type admitFunc func(ctx context.Context, tx pgx.Tx, c *Claim, r lockedRow) (bool, error)

// claim is the one claim core of creation (Claim) and corrections
// (ClaimChange), in one transaction: the tutorial event must exist; its
// adm.events row is locked (inserted as pending first when create is set,
// otherwise a missing row is *NotCreatedError); admit applies the caller's
// rule; a claim whose lease is live is refused with *BusyError; then a fresh
// attempt token and lease are written and the session bridges read.
// Writing the token under the row lock is what leaves one valid claim at a
// time: every later write is fenced on it.
func (s *Store) claim(ctx context.Context, tutorialEventID int64, create bool, admit admitFunc) (*Claim, error) {
	c := &Claim{TutorialEventID: tutorialEventID, Sessions: map[int]SessionDone{}}
	err := database.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM acted.tutorial_events WHERE id = $1)`, tutorialEventID).Scan(&exists); err != nil {
			return fmt.Errorf("look up tutorial event: %w", err)
		}
		if !exists {
			return ErrNoEvent
		}
		if create {
			if _, err := tx.Exec(ctx, `INSERT INTO adm.events (tutorial_event_id, state) VALUES ($1, 'pending')
				ON CONFLICT (tutorial_event_id) DO NOTHING`, tutorialEventID); err != nil {
				return fmt.Errorf("insert bridge row: %w", err)
			}
		}
		r, err := s.lockRow(ctx, tx, c)
		if errors.Is(err, pgx.ErrNoRows) {
			return &NotCreatedError{}
		}
		if err != nil {
			return err
		}
		if take, err := admit(ctx, tx, c, r); err != nil || !take {
			return err
		}
		if r.held {
			return &BusyError{Left: r.left}
		}
		c.Token = uuid.New()
		if _, err := tx.Exec(ctx, `UPDATE adm.events SET state = $2, attempt_token = $3, attempts = $4,
				claimed_at = now(), updated_at = now() WHERE id = $1`,
			c.RowID, c.State, c.Token, c.Attempts); err != nil {
			return fmt.Errorf("claim bridge row: %w", err)
		}
		return readSessions(ctx, tx, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// lockRow locks c's adm.events row, the lock that serialises concurrent
// claims of the same event, and reads it into c and the lockedRow. The
// lease is measured on the database's clock only.
func (s *Store) lockRow(ctx context.Context, tx pgx.Tx, c *Claim) (lockedRow, error) {
	var (
		r        lockedRow
		ext      *string
		leftSecs float64
	)
	err := tx.QueryRow(ctx, `SELECT id, state, external_id, attempts, deleted_at IS NOT NULL,
			attempt_token IS NOT NULL AND claimed_at IS NOT NULL AND claimed_at > now() - make_interval(secs => $2),
			coalesce(extract(epoch FROM claimed_at + make_interval(secs => $2) - now()), 0)::float8
		FROM adm.events WHERE tutorial_event_id = $1 FOR UPDATE`,
		c.TutorialEventID, s.Lease.Seconds()).
		Scan(&c.RowID, &c.State, &ext, &c.Attempts, &r.deleted, &r.held, &leftSecs)
	if err != nil {
		return r, fmt.Errorf("lock bridge row: %w", err)
	}
	if ext != nil {
		c.ExternalID = *ext
	}
	r.left = time.Duration(max(leftSecs, 0) * float64(time.Second))
	return r, nil
}

// readSessions fills c.Sessions with the session bridges a previous attempt
// stored.
func readSessions(ctx context.Context, tx pgx.Tx, c *Claim) error {
	rows, err := tx.Query(ctx, `SELECT day_number, external_id, staff_done FROM adm.sessions WHERE event_id = $1`, c.RowID)
	if err != nil {
		return fmt.Errorf("read session bridges: %w", err)
	}
	defer rows.Close()
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
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read session bridges: %w", err)
	}
	return nil
}

// fenced runs fn in a transaction after checking, under the row lock, that
// the claim is still ours; it also renews the lease.
func (s *Store) fenced(ctx context.Context, c *Claim, fn func(tx pgx.Tx) error) error {
	return database.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE adm.events SET claimed_at = now(), updated_at = now()
			WHERE id = $1 AND attempt_token = $2`, c.RowID, c.Token)
		if err != nil {
			return fmt.Errorf("fence bridge row: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return ErrFenced
		}
		if fn == nil {
			return nil
		}
		return fn(tx)
	})
}

// Heartbeat renews the lease; ErrFenced if the claim is gone.
func (s *Store) Heartbeat(ctx context.Context, c *Claim) error {
	return s.fenced(ctx, c, nil)
}

// BeginCreate records that a create is about to be sent: from here on a
// crash leaves the row in creating, and the next attempt reconciles.
func (s *Store) BeginCreate(ctx context.Context, c *Claim) error {
	err := s.fenced(ctx, c, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE adm.events SET state = 'creating' WHERE id = $1`, c.RowID)
		return err
	})
	if err == nil {
		c.State = Creating
	}
	return err
}

// Created stores the Administrate event id the moment it is known.
func (s *Store) Created(ctx context.Context, c *Claim, externalID string) error {
	err := s.fenced(ctx, c, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE adm.events SET state = 'created', external_id = $2 WHERE id = $1`, c.RowID, externalID)
		if database.IsUniqueViolation(err) {
			return fmt.Errorf("event %s: %w", externalID, ErrLinkedElsewhere)
		}
		return err
	})
	if err == nil {
		c.State, c.ExternalID = Created, externalID
	}
	return err
}

// Session records one Day's Administrate session (after session.update)
// and whether its staff are added: Sessions with one row.
func (s *Store) Session(ctx context.Context, c *Claim, tutorialSessionID int64, day int, externalID string, staffDone bool) error {
	return s.Sessions(ctx, c, []SessionRow{{TutorialSessionID: tutorialSessionID, Day: day, ExternalID: externalID, StaffDone: staffDone}})
}

// SessionRow is one session's progress, for Sessions.
type SessionRow struct {
	TutorialSessionID int64
	Day               int
	ExternalID        string
	StaffDone         bool
}

// Sessions stores sessions' progress (each Day's Administrate session,
// after session.update, and whether its staff are added) in one fenced
// transaction: a batch of session writes completes together, and one round
// trip to PostgreSQL per batch keeps the writer at Administrate's pace.
func (s *Store) Sessions(ctx context.Context, c *Claim, rows []SessionRow) error {
	if len(rows) == 0 {
		return nil
	}
	err := s.fenced(ctx, c, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range rows {
			var ts *int64
			if r.TutorialSessionID != 0 {
				ts = &r.TutorialSessionID
			}
			b.Queue(`INSERT INTO adm.sessions (event_id, tutorial_session_id, day_number, external_id, staff_done)
				VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (event_id, day_number) DO UPDATE
				SET external_id = EXCLUDED.external_id, tutorial_session_id = EXCLUDED.tutorial_session_id,
				    staff_done = EXCLUDED.staff_done, updated_at = now()`,
				c.RowID, ts, r.Day, r.ExternalID, r.StaffDone)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("store %d session bridges: %w", len(rows), err)
		}
		return nil
	})
	if err == nil {
		for _, r := range rows {
			c.Sessions[r.Day] = SessionDone{ExternalID: r.ExternalID, StaffDone: r.StaffDone}
		}
	}
	return err
}

// Finish marks the event done and gives the claim up.
func (s *Store) Finish(ctx context.Context, c *Claim) error {
	err := s.fenced(ctx, c, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE adm.events SET state = 'done', attempt_token = NULL, last_error = NULL,
			finished_at = now() WHERE id = $1`, c.RowID)
		return err
	})
	if err == nil {
		c.State = Done
	}
	return err
}

// Fail marks the event failed (dead-lettered) with its reason.
func (s *Store) Fail(ctx context.Context, c *Claim, reason string) error {
	return s.fenced(ctx, c, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE adm.events SET state = 'failed', attempt_token = NULL, claimed_at = NULL,
			last_error = $2, finished_at = now() WHERE id = $1`, c.RowID, reason)
		return err
	})
}

// Release gives the claim up after a transient failure, keeping the state
// (so a creating row is reconciled next time) and noting the error.
func (s *Store) Release(ctx context.Context, c *Claim, reason string) error {
	return s.fenced(ctx, c, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE adm.events SET attempt_token = NULL, claimed_at = NULL, last_error = $2
			WHERE id = $1`, c.RowID, reason)
		return err
	})
}

// Row is one adm.events row as the CLI shows it.
type Row struct {
	TutorialEventID int64
	ExternalID      string
	State           State
	Attempts        int
	LastError       string
}

// Get reads the bridge of one tutorial event (nil when there is none).
func Get(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, tutorialEventID int64) (*Row, error) {
	r := &Row{TutorialEventID: tutorialEventID}
	var ext, lastErr *string
	err := q.QueryRow(ctx, `SELECT external_id, state, attempts, last_error FROM adm.events WHERE tutorial_event_id = $1`,
		tutorialEventID).Scan(&ext, &r.State, &r.Attempts, &lastErr)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read bridge of tutorial event %d: %w", tutorialEventID, err)
	}
	if ext != nil {
		r.ExternalID = *ext
	}
	if lastErr != nil {
		r.LastError = *lastErr
	}
	return r, nil
}
