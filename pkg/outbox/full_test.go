package outbox

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging"
	"admsync/pkg/testwait"
)

// A full work queue refuses the publish (DiscardNew): the relay keeps the
// row, records why, and sends it once the consumer has made room. Nothing
// is dropped, nothing is sent twice, the order holds.
func TestRelayWaitsForRoomInAFullWorkQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxFor(t)
	const room = 3
	cfg := messaging.TutorialEventsStream()
	if cfg.Discard != jetstream.DiscardNew {
		t.Fatalf("%s discards %v, want DiscardNew", cfg.Name, cfg.Discard)
	}
	cfg.MaxMsgs = room
	if _, err := messaging.EnsureStream(ctx, e.js, cfg); err != nil {
		t.Fatal(err)
	}
	ids := e.enqueueCommitted(t, 2*room+1)
	start(t, e.newRelay(t, RelayOptions{}))

	testwait.For(t, "the queue full and the rest kept with the refusal", func() bool {
		var failed int
		if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM admsync.outbox
			WHERE published_at IS NULL AND last_error ILIKE '%maximum messages%'`).Scan(&failed); err != nil {
			t.Fatal(err)
		}
		return len(e.streamIDs(t)) == room && failed >= 1
	})
	if n := e.unpublished(t, ids); n != len(ids)-room {
		t.Fatalf("%d rows unpublished with the queue full, want %d", n, len(ids)-room)
	}

	// The consumer works through the queue; every row arrives once, in order.
	cons, err := e.js.CreateOrUpdateConsumer(ctx, cfg.Name, jetstream.ConsumerConfig{
		Durable: "drain", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	testwait.For(t, "every row delivered", func() bool {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			got = append(got, m.Headers().Get(jetstream.MsgIDHeader))
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return len(got) >= len(ids) && e.unpublished(t, ids) == 0
	})
	if !slices.Equal(got, strs(ids)) {
		t.Fatalf("delivered %v,\nwant each row once, in order: %v", got, strs(ids))
	}
	if left := e.streamIDs(t); len(left) != 0 {
		t.Fatalf("stream still holds %v", left)
	}
	var lastErr *string
	if err := e.db.Pool.QueryRow(ctx, `SELECT last_error FROM admsync.outbox WHERE id = $1`, ids[len(ids)-1]).Scan(&lastErr); err != nil {
		t.Fatal(err)
	}
	if lastErr != nil && strings.TrimSpace(*lastErr) != "" {
		t.Errorf("last_error after success = %q, want cleared", *lastErr)
	}
}

func TestStreamFull(t *testing.T) {
	t.Parallel()
	full := &jetstream.APIError{Code: 503, ErrorCode: 10077, Description: "maximum messages exceeded"}
	if !streamFull(fmt.Errorf("publish: %w", full)) {
		t.Error("a wrapped 10077 maximum messages error is not recognised")
	}
	if streamFull(&jetstream.APIError{Code: 503, ErrorCode: 10077, Description: "some other store failure"}) ||
		streamFull(errors.New("maximum messages exceeded")) || streamFull(nil) {
		t.Error("streamFull matched an error that is not a full stream")
	}
}
