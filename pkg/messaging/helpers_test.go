package messaging_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
)

// bundle is what a runner test needs: a server, a client, the consumer spec
// in use and a private metrics registry.
type bundle struct {
	srv  *natstest.Server
	nc   *nats.Conn
	js   jetstream.JetStream
	spec messaging.ConsumerSpec
	reg  *prometheus.Registry
}

// testConsumer is the admwriter consumer with test-sized timings; the
// production constants stay untouched.
func testConsumer() messaging.ConsumerSpec {
	s := messaging.AdmWriterConsumer()
	s.Config.AckWait = 2 * time.Second
	s.Config.BackOff = []time.Duration{2 * time.Second}
	s.Config.MaxDeliver = 3
	s.RetryBackoff = []time.Duration{20 * time.Millisecond, 50 * time.Millisecond}
	return s
}

func setup(t *testing.T, mutate func(*messaging.ConsumerSpec)) *bundle {
	t.Helper()
	srv := natstest.Start(t)
	nc, js := natstest.Connect(t, srv)
	spec := testConsumer()
	if mutate != nil {
		mutate(&spec)
	}
	top := messaging.Topology{
		Streams:   []jetstream.StreamConfig{messaging.TutorialEventsStream(), messaging.DLQStream()},
		Consumers: []messaging.ConsumerSpec{spec},
	}
	if err := top.Ensure(natstest.Context(t), js); err != nil {
		t.Fatalf("ensure topology: %v", err)
	}
	return &bundle{srv: srv, nc: nc, js: js, spec: spec, reg: prometheus.NewRegistry()}
}

// running is a runner started by bundle.run.
type running struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	result error
}

// Stop cancels the runner and returns Run's error.
func (r *running) Stop() error {
	r.cancel()
	return r.Wait()
}

// Wait returns Run's error once it has returned (bounded at 30s).
func (r *running) Wait() error {
	r.once.Do(func() {
		select {
		case r.result = <-r.done:
		case <-time.After(30 * time.Second):
			r.result = errors.New("runner did not stop within 30s")
		}
	})
	return r.result
}

// run starts a runner on the bundle's consumer; it is stopped when t ends.
func (b *bundle) run(t *testing.T, opts messaging.RunnerOptions) *running {
	t.Helper()
	opts.Consumer = b.spec
	if opts.Registerer == nil {
		opts.Registerer = b.reg
	}
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	if opts.FetchWait == 0 {
		opts.FetchWait = 300 * time.Millisecond
	}
	r, err := messaging.NewRunner(b.js, opts)
	if err != nil {
		t.Fatalf("new runner: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rn := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { rn.done <- r.Run(ctx) }()
	t.Cleanup(func() { _ = rn.Stop() })
	return rn
}

func (b *bundle) publish(t *testing.T, subject, msgID string, data []byte, hdr nats.Header) *jetstream.PubAck {
	t.Helper()
	m := &nats.Msg{Subject: subject, Data: data, Header: hdr}
	ack, err := b.js.PublishMsg(natstest.Context(t), m, jetstream.WithMsgID(msgID))
	if err != nil {
		t.Fatalf("publish %s: %v", msgID, err)
	}
	return ack
}

func (b *bundle) streamMsgs(t *testing.T, name string) uint64 {
	t.Helper()
	s, err := b.js.Stream(natstest.Context(t), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := s.Info(natstest.Context(t))
	if err != nil {
		t.Fatalf("stream %s info: %v", name, err)
	}
	return info.State.Msgs
}

func (b *bundle) consumerInfo(t *testing.T) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := b.js.Consumer(natstest.Context(t), b.spec.Stream, b.spec.Durable())
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	info, err := c.Info(natstest.Context(t))
	if err != nil {
		t.Fatalf("consumer info: %v", err)
	}
	return info
}

// testLogger shows runner logs only with -v.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// runRecorded starts a runner whose handler records each delivery and
// returns what outcome says for that delivery's number.
func (b *bundle) runRecorded(t *testing.T, outcome func(delivery uint64) error) *recorder {
	t.Helper()
	rec := &recorder{}
	b.run(t, messaging.RunnerOptions{Handler: func(_ context.Context, msg jetstream.Msg) error {
		return outcome(rec.record(msg))
	}})
	return rec
}

// recorder is a concurrency-safe log of what a handler saw.
type recorder struct {
	mu         sync.Mutex
	deliveries []uint64
	times      []time.Time
}

func (r *recorder) record(msg jetstream.Msg) uint64 {
	md, _ := msg.Metadata()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliveries = append(r.deliveries, md.NumDelivered)
	r.times = append(r.times, time.Now())
	return md.NumDelivered
}

func (r *recorder) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.deliveries)
}

func (r *recorder) snapshot() ([]uint64, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.deliveries...), append([]time.Time(nil), r.times...)
}

func testContext(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
