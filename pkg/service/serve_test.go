package service

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/config"
	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/testwait"
)

func testEnv(t *testing.T, natsURL, metricsAddr string) *Env {
	t.Helper()
	cfg, err := config.LoadWith(config.MapLookuper(map[string]string{
		"NATS_URL": natsURL, "METRICS_ADDR": metricsAddr, "LOG_LEVEL": "error", "LOG_FORMAT": "text",
	}))
	if err != nil {
		t.Fatal(err)
	}
	e := SetupWith("servetest", cfg, io.Discard)
	t.Cleanup(e.Close)
	return e
}

func readyz(addr string) int {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Serve declares the consumer, hands its messages to the handler, runs the
// tasks beside it, is ready exactly while the consumer exists on the
// server, and returns nil once ctx ends.
func TestServeRunsConsumerAndTasksAndReportsReadiness(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	addr := testwait.FreeAddr(t)
	e := testEnv(t, ns.URL(), addr)
	spec := messaging.SyncerConsumer()
	handled := make(chan string, 1)
	taskRan := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.Serve(ctx, Service{
			Consumer: Consumer{
				Streams: []string{messaging.StreamSyncRequests, messaging.StreamSyncResults, messaging.StreamDLQ},
				Spec:    spec,
				Handler: func(_ context.Context, msg jetstream.Msg) error {
					handled <- msg.Subject()
					return nil
				},
				FetchWait: 200 * time.Millisecond,
			},
			Tasks: []Task{{Name: "beside", Run: func(ctx context.Context) error {
				close(taskRan)
				<-ctx.Done()
				return nil
			}}},
		})
	}()
	testwait.For(t, "ready", func() bool { return readyz(addr) == http.StatusOK })
	<-taskRan

	_, js := natstest.Connect(t, ns)
	if _, err := js.Publish(natstest.Context(t), messaging.SubjectSyncRequestPrefix+"locations", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case subj := <-handled:
		if subj != messaging.SubjectSyncRequestPrefix+"locations" {
			t.Fatalf("handled %s", subj)
		}
	case err := <-done:
		t.Fatalf("Serve returned %v before handling", err)
	}

	// Readiness comes from the consumer: without it the service is not ready.
	if err := js.DeleteConsumer(natstest.Context(t), spec.Stream, spec.Durable()); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "not ready without the consumer", func() bool { return readyz(addr) == http.StatusServiceUnavailable })

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after a clean stop = %v, want nil", err)
	}
}

// A task that fails stops the whole service with its error, named.
func TestServeStopsWhenATaskFails(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	e := testEnv(t, ns.URL(), "")
	boom := errors.New("database gone")
	err := e.Serve(natstest.Context(t), Service{
		Consumer: Consumer{
			Streams:   []string{messaging.StreamSyncRequests, messaging.StreamSyncResults, messaging.StreamDLQ},
			Spec:      messaging.SyncerConsumer(),
			Handler:   func(context.Context, jetstream.Msg) error { return nil },
			FetchWait: 200 * time.Millisecond,
		},
		Tasks: []Task{{Name: "outbox relay", Run: func(context.Context) error { return boom }}},
	})
	if !errors.Is(err, boom) || err.Error() != "outbox relay: database gone" {
		t.Fatalf("Serve = %v, want the task's error named", err)
	}
}
