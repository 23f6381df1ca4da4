package e2e

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/administrate"
	"admsync/pkg/sampledata"
	"admsync/pkg/testwait"
	"admsync/services/admwriter/internal/bridge"
	"admsync/services/admwriter/internal/writer"
)

// A worker whose create waits in the rate budget while another worker takes
// its claim over must not send the create: the claim is re-checked at the
// last moment before the request goes out (chaos scenario admwriter-pause).
func TestStaleWorkerDoesNotSendCreate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ct := b.template(sampledata.Blended, 1)
	ev := b.seedEvent(eventSpec{Template: ct, Title: "ELO-STALE-26A", Location: "Leeds", Venue: "Park Square"})

	opts := b.sim.ClientOptions()
	opts.RateLimit, opts.RateBurst = 0.5, 1 // one request every two seconds
	c, err := administrate.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListLocations(b.ctx); err != nil { // spend the budget: the create will wait
		t.Fatal(err)
	}
	w := &writer.Writer{Pool: b.db.Pool, API: writer.NewClient(c), Metrics: writer.NewMetrics(prometheus.NewRegistry()), Logger: testLogger(), Lease: time.Minute}

	go func() {
		// While the create waits for the budget, another worker takes over.
		// The bridge row appears only when the worker claims the event, so
		// "no row yet" is waited through here rather than failed on.
		testwait.For(t, "the create to begin", func() bool {
			var state string
			err := b.db.Pool.QueryRow(b.ctx, `SELECT state FROM adm.events WHERE tutorial_event_id = $1`, ev).Scan(&state)
			return err == nil && state == "creating"
		})
		if _, err := b.db.Pool.Exec(b.ctx, `UPDATE adm.events SET attempt_token = gen_random_uuid() WHERE tutorial_event_id = $1`, ev); err != nil {
			t.Error(err)
		}
	}()
	err = w.Process(b.ctx, writer.Payload{TutorialEventID: ev}, 1)
	if !errors.Is(err, bridge.ErrFenced) {
		t.Fatalf("want the attempt stopped as fenced, got %v", err)
	}
	if got := b.calls()["CreateBlendedEvent"]; got != 0 {
		t.Fatalf("the stale worker sent %d create(s)", got)
	}
}
