package outbox_test

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/messaging"
	"admsync/pkg/outbox"
)

// The importer stages one message per event in the transaction that writes
// the event; a relay elsewhere publishes it after commit.
func ExampleEnqueue() {
	var (
		ctx             = context.Background()
		pool            *pgxpool.Pool // database.Open(ctx, cfg.DatabaseURL)
		tutorialEventID int64         = 42
	)
	_ = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// ... INSERT INTO acted.tutorial_events ... RETURNING id
		return outbox.Enqueue(ctx, tx, messaging.SubjectTutorialEventCreated, uuid.New(),
			map[string]int64{"tutorial_event_id": tutorialEventID})
	})
}

// One relay per database is active; start one in every replica that owns
// the outbox and the others wait as standbys.
func ExampleRelay() {
	var (
		ctx  = context.Background()
		pool *pgxpool.Pool       // database.Open
		js   jetstream.JetStream // jetstream.New(messaging.Connect(...))
		reg  = prometheus.NewRegistry()
	)
	relay, err := outbox.NewRelay(pool, js, outbox.RelayOptions{Logger: slog.Default(), Registerer: reg})
	if err != nil {
		return
	}
	_ = relay.Run(ctx) // until ctx is cancelled
}
