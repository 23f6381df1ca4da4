package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging"
	"admsync/pkg/service"
)

// printQueueState tells the administrator what happens to the events just
// imported: they are queued for Administrate, not yet in it. It says how
// many still wait in the outbox for the relay (run by importer serve) and
// whether an admwriter is consuming the stream, from the admwriter
// consumer's state in JetStream. NATS being unreachable is said, not an
// error: the events stay queued either way.
func printQueueState(ctx context.Context, w io.Writer, e *service.Env, pool *pgxpool.Pool, imported int) {
	if imported == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var backlog int64
	err := pool.QueryRow(ctx, `SELECT count(*) FROM admsync.outbox WHERE published_at IS NULL AND subject = $1`,
		messaging.SubjectTutorialEventCreated).Scan(&backlog)
	switch {
	case err != nil:
		fmt.Fprintf(w, "queued %d events for Administrate (the outbox could not be counted: %v)\n", imported, err)
	case backlog > 0:
		fmt.Fprintf(w, "queued %d events for Administrate: %d messages wait in the outbox until `importer serve` relays them to JetStream\n", imported, backlog)
	default:
		fmt.Fprintf(w, "queued %d events for Administrate: all relayed to JetStream\n", imported)
	}
	fmt.Fprintln(w, writerState(ctx, e))
}

// writerState describes the admwriter consumer in one line.
func writerState(ctx context.Context, e *service.Env) string {
	_, js, err := e.NATS(ctx)
	if err != nil {
		return fmt.Sprintf("admwriter: unknown, NATS is unreachable (%v); the events stay queued until NATS and `admwriter serve` run", err)
	}
	c, err := js.Consumer(ctx, messaging.StreamTutorialEvents, messaging.ConsumerAdmWriter)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound), errors.Is(err, jetstream.ErrStreamNotFound):
		return "admwriter: no admwriter has ever consumed (no durable consumer " + messaging.ConsumerAdmWriter + " on " + messaging.StreamTutorialEvents + "); start `admwriter serve` to create the events in Administrate"
	case err != nil:
		return fmt.Sprintf("admwriter: unknown, JetStream did not answer (%v)", err)
	}
	info := c.CachedInfo()
	last := "never"
	if info.Delivered.Last != nil {
		last = time.Since(*info.Delivered.Last).Round(time.Second).String() + " ago"
	}
	state := fmt.Sprintf("admwriter: %d messages pending, %d in flight, last delivery %s", info.NumPending, info.NumAckPending, last)
	switch {
	case info.NumWaiting > 0:
		return state + fmt.Sprintf("; a writer is consuming (%d pull requests waiting)", info.NumWaiting)
	case info.NumAckPending > 0:
		return state + "; a writer is working on them"
	default:
		return state + "; no admwriter is consuming now: start `admwriter serve` to create the events in Administrate"
	}
}
