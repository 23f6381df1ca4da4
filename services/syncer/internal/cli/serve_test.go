package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/metricstest"
	"admsync/pkg/testwait"
	"admsync/services/syncer/internal/cli"
	"admsync/services/syncer/internal/syncer"
)

// The equivalent of `nats pub sync.request.locations ”` against a running
// `syncer serve`: a result with the counts arrives on sync.result.locations.
func TestServeAnswersSyncRequests(t *testing.T) {
	w, ns := newNATSWorld(t)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cli.Execute(ctx, []string{"serve"}, w.deps()) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Error("serve did not stop")
		}
	})

	nc, js := natstest.Connect(t, ns)
	results := make(chan *nats.Msg, 32)
	sub, err := nc.ChanSubscribe("sync.result.>", results)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	// Wait until serve has declared its consumer.
	tctx := natstest.Context(t)
	for {
		if _, err := js.Consumer(tctx, messaging.StreamSyncRequests, messaging.ConsumerSyncer); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, w.stderr.String())
		case <-time.After(50 * time.Millisecond):
		case <-tctx.Done():
			t.Fatal("consumer never appeared")
		}
	}
	next := func(subject string) []byte {
		t.Helper()
		for {
			select {
			case m := <-results:
				if m.Subject == subject {
					return m.Data
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no message on %s", subject)
			}
		}
	}

	if _, err := js.Publish(tctx, "sync.request.locations", nil); err != nil {
		t.Fatal(err)
	}
	var res syncer.StageResult
	if err := json.Unmarshal(next("sync.result.locations"), &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != syncer.OutcomeOK || res.Counts.Created != 2 || len(res.UnmatchedAdministrate) != 1 || res.RunID == 0 {
		t.Fatalf("result = %+v", res)
	}

	// All stages, with options in the body, Django spelling in the subject.
	if _, err := js.Publish(tctx, "sync.request.sync_all", []byte(`{"page_size": 50, "skip_errors": true}`)); err != nil {
		t.Fatal(err)
	}
	var all syncer.AllResult
	if err := json.Unmarshal(next("sync.result.all"), &all); err != nil {
		t.Fatal(err)
	}
	if len(all.Stages) != 7 || all.Stages[2].Counts.Unchanged != 2 {
		t.Fatalf("all = %+v", all)
	}

	// Every request serve sent to Administrate reserved a slot in the
	// tenant's budget, which it shares with the admwriter (ADM_RATE).
	if sent, got := len(w.sim.Requests()), budgetReservations(t, ns); sent == 0 || got != uint64(sent) {
		t.Errorf("%d slots reserved in the shared budget for %d requests sent; want one per request", got, sent)
	}

	// A request that can never succeed is dead-lettered, not retried.
	if _, err := js.Publish(tctx, "sync.request.locations", []byte(`{"page_sise": 5}`)); err != nil {
		t.Fatal(err)
	}
	dlq := messaging.NewDLQ(js)
	var letters []messaging.DeadLetter
	testwait.For(t, "the malformed request dead-lettered", func() bool {
		var err error
		letters, err = dlq.List(tctx, messaging.ListOptions{})
		return err == nil && len(letters) == 1
	})
	if !strings.Contains(letters[0].Reason, "page_sise") {
		t.Fatalf("dead letter reason = %q", letters[0].Reason)
	}

	// Metrics of the runs (the lone request and the locations stage of all).
	w.mu.Lock()
	reg := w.envs[len(w.envs)-1].Registry
	w.mu.Unlock()
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"admsync_sync_runs_total", map[string]string{"stage": "locations", "outcome": "ok"}, 2},
		{"admsync_sync_runs_total", map[string]string{"stage": "all", "outcome": "failed"}, 1},
		{"admsync_sync_records_total", map[string]string{"stage": "locations", "outcome": "created"}, 2},
		{"admsync_sync_records_total", map[string]string{"stage": "locations", "outcome": "unchanged"}, 2},
		{"admsync_sync_unmatched", map[string]string{"stage": "locations", "side": "administrate"}, 1},
		{"admsync_sync_unmatched", map[string]string{"stage": "locations", "side": "tutorial"}, 0},
		{"admsync_sync_duration_seconds", map[string]string{"stage": "locations"}, 2},
	} {
		if got, found := metricstest.Lookup(t, reg, c.name, c.labels); !found || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, found, c.want)
		}
	}
	if ts := metricstest.Value(t, reg, "admsync_sync_last_success_timestamp_seconds", map[string]string{"stage": "locations"}); ts < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("last success timestamp = %v", ts)
	}
}
