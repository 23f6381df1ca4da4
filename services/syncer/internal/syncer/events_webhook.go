package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"admsync/pkg/administrate"
)

// A webhook delivery names an object; it is only a hint. Applying it reads the
// event as it is now from Administrate and applies it exactly like the events
// stage, in one transaction under the stage's lock, recording the delivery in
// admsync.webhook_deliveries in the same transaction: a delivery seen again
// (Administrate's retry past the stream's duplicate window, a replay) changes
// nothing, and a late one never undoes newer data.

// Delivery is one accepted webhook delivery, as the intake queues it.
type Delivery struct {
	ID          string    `json:"delivery_id"`
	WebhookID   string    `json:"webhook_id"`
	Kind        string    `json:"kind"` // event or session
	ObjectID    string    `json:"object_id"`
	TriggeredAt time.Time `json:"triggered_at"`
	ReceivedAt  time.Time `json:"received_at"`
}

// Delivery outcomes (admsync.webhook_deliveries.outcome, metrics).
const (
	DeliveryApplied   = "applied"   // tutorial rows or the bridge changed
	DeliveryUnchanged = "unchanged" // already up to date
	DeliveryStale     = "stale"     // Administrate answered an older state than the stored one
	DeliveryConflict  = "conflict"  // a field changed on both sides was reported and left alone
	DeliveryGone      = "gone"      // the event no longer exists in Administrate: bridge marked gone
	DeliveryUnlinked  = "unlinked"  // no tutorial event is linked to it (see `syncer run events --adopt`)
	DeliveryDuplicate = "duplicate" // applied before
)

// ApplyResult says what applying a delivery did.
type ApplyResult struct {
	Outcome   string
	EventID   string
	Code      string
	Fields    []string
	Conflicts []Conflict
}

// ApplyDelivery applies one webhook delivery. Errors are transient (Administrate
// or the database): the caller retries.
func ApplyDelivery(ctx context.Context, pool *pgxpool.Pool, src EventSource, d Delivery) (ApplyResult, error) {
	var done bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM admsync.webhook_deliveries WHERE delivery_id = $1)`, d.ID).Scan(&done); err != nil {
		return ApplyResult{}, fmt.Errorf("look up delivery %s: %w", d.ID, err)
	}
	if done {
		return ApplyResult{Outcome: DeliveryDuplicate}, nil
	}
	eventID, gone, err := resolveEvent(ctx, pool, src, d)
	if err != nil {
		return ApplyResult{}, err
	}
	res := ApplyResult{EventID: eventID}
	if eventID != "" {
		// Reads and writes of one event are serialised: deliveries of it
		// applied side by side could otherwise commit in the opposite order
		// of their reads, and Administrate's updatedAt (whole seconds) cannot
		// always tell two reads apart. A session lock, so no transaction is
		// open while Administrate answers; PostgreSQL drops it with a dead process.
		unlock, err := lockEvent(ctx, pool, eventID)
		if err != nil {
			return res, err
		}
		defer unlock()
	}
	var ev AdmEvent
	if !gone && eventID != "" {
		ev, err = src.SyncedEvent(ctx, eventID)
		switch {
		case errors.Is(err, administrate.ErrNotFound):
			gone = true
		case err != nil:
			return res, fmt.Errorf("read event %s from Administrate: %w", eventID, err)
		}
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+lockSQL+`)`, StageEvents); err != nil {
			return fmt.Errorf("lock stage events: %w", err)
		}
		res.Outcome = DeliveryUnlinked
		if eventID != "" {
			linked, err := loadLinked(ctx, tx, true, "ae.external_id = $1", eventID)
			if err != nil {
				return err
			}
			if le := linked[eventID]; le != nil {
				res.Code = le.code
				if err := applyLinked(ctx, tx, le, ev, gone, &res); err != nil {
					return err
				}
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO admsync.webhook_deliveries (delivery_id, webhook_id, object_id, triggered_at, received_at, outcome)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (delivery_id) DO NOTHING`,
			d.ID, d.WebhookID, d.ObjectID, nullTime(d.TriggeredAt), d.ReceivedAt, res.Outcome)
		if err != nil {
			return fmt.Errorf("record delivery %s: %w", d.ID, err)
		}
		if tag.RowsAffected() == 0 {
			// Applied by a concurrent delivery of the same id: undo ours.
			res.Outcome = DeliveryDuplicate
			return errDuplicate
		}
		return nil
	})
	if errors.Is(err, errDuplicate) {
		return ApplyResult{Outcome: DeliveryDuplicate, EventID: eventID}, nil
	}
	return res, err
}

var errDuplicate = errors.New("delivery applied concurrently")

func applyLinked(ctx context.Context, tx pgx.Tx, le *linkedEvent, ev AdmEvent, gone bool, res *ApplyResult) error {
	if gone {
		res.Outcome = DeliveryGone
		_, err := tx.Exec(ctx, `UPDATE adm.events SET gone_at = now(), updated_at = now() WHERE id = $1 AND gone_at IS NULL`, le.bridgeID)
		if err != nil {
			return fmt.Errorf("mark the event bridge of %s gone: %w", le.code, err)
		}
		return nil
	}
	rf, err := loadEventRefs(ctx, tx)
	if err != nil {
		return err
	}
	out, err := applyEvent(ctx, tx, rf, le, ev, ConflictsReport, false)
	if err != nil {
		return err
	}
	res.Fields, res.Conflicts = out.fields, out.conflicts
	switch {
	case out.stale:
		res.Outcome = DeliveryStale
	case len(out.conflicts) > 0:
		res.Outcome = DeliveryConflict
	case out.changed:
		res.Outcome = DeliveryApplied
	default:
		res.Outcome = DeliveryUnchanged
	}
	return nil
}

// resolveEvent names the event a delivery is about; gone reports an object
// Administrate no longer has.
func resolveEvent(ctx context.Context, pool *pgxpool.Pool, src EventSource, d Delivery) (string, bool, error) {
	if d.Kind != "session" {
		return d.ObjectID, false, nil
	}
	id, err := src.EventOfSession(ctx, d.ObjectID)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, administrate.ErrNotFound) {
		return "", false, fmt.Errorf("read the event of session %s from Administrate: %w", d.ObjectID, err)
	}
	// A deleted session: its event, if linked here, is read again as it is now.
	var ext string
	err = pool.QueryRow(ctx, `SELECT e.external_id FROM adm.sessions s JOIN adm.events e ON e.id = s.event_id WHERE s.external_id = $1`, d.ObjectID).Scan(&ext)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("find the event of session %s: %w", d.ObjectID, err)
	}
	return ext, false, nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

const eventLockSQL = `hashtextextended('admsync.events.' || $1, 0)`

func lockEvent(ctx context.Context, pool *pgxpool.Pool, eventID string) (func(), error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock event %s: %w", eventID, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+eventLockSQL+`)`, eventID); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock event %s: %w", eventID, err)
	}
	return func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+eventLockSQL+`)`, eventID); err != nil {
			// An unknown lock state must not go back to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}, nil
}
