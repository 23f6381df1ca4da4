package outbox

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/database/dbtest"
	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/testwait"
)

const subject = messaging.SubjectTutorialEventCreated

// env is one test's PostgreSQL database (advisory locks are per database,
// so relays of different tests never contend) and JetStream server.
type env struct {
	db  *dbtest.DB
	srv *natstest.Server
	js  jetstream.JetStream
	reg *prometheus.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := dbtest.New(t)
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv)
	if _, err := messaging.EnsureStream(natstest.Context(t), js, messaging.TutorialEventsStream()); err != nil {
		t.Fatal(err)
	}
	return &env{db: db, srv: srv, js: js, reg: prometheus.NewRegistry()}
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// probe is the tests' Hook: it counts the relay's steps and can crash it
// after a chosen row's PubAck.
type probe struct {
	cycles       atomic.Uint64 // completed drain passes while active
	duplicates   atomic.Uint64 // PubAcks that reported a duplicate
	lockAttempts atomic.Uint64 // pg_try_advisory_lock calls
	active       atomic.Bool   // won the advisory lock
	crashAfter   func(id uuid.UUID) error
}

func (p *probe) LockTried(locked bool) {
	p.lockAttempts.Add(1)
	if locked {
		p.active.Store(true)
	}
}

func (p *probe) Drained() { p.cycles.Add(1) }

func (p *probe) Published(_ context.Context, id uuid.UUID, duplicate bool) error {
	if duplicate {
		p.duplicates.Add(1)
	}
	if p.crashAfter != nil {
		return p.crashAfter(id)
	}
	return nil
}

// testRelay is a relay with its probe.
type testRelay struct {
	*Relay
	*probe
}

// newRelay builds a relay with test-sized intervals and a probe (the one
// in opts.Hook, if set).
func (e *env) newRelay(t *testing.T, opts RelayOptions) *testRelay {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	if opts.LockRetry == 0 {
		opts.LockRetry = 50 * time.Millisecond
	}
	if opts.MaxRetryDelay == 0 {
		opts.MaxRetryDelay = 200 * time.Millisecond
	}
	if opts.PublishTimeout == 0 {
		opts.PublishTimeout = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	if opts.Registerer == nil {
		opts.Registerer = e.reg
	}
	p, _ := opts.Hook.(*probe)
	if p == nil {
		p = &probe{}
	}
	opts.Hook = p
	r, err := NewRelay(e.db.Pool, e.js, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &testRelay{Relay: r, probe: p}
}

// start runs r until the returned stop is called (or t ends).
func start(t *testing.T, r *testRelay) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(30 * time.Second):
				result = errors.New("relay did not stop within 30s")
			}
		})
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// waitCycles waits until r has finished n more drain passes, so that at
// least one whole pass started after the caller's last change.
func waitCycles(t *testing.T, r *testRelay, n uint64) {
	t.Helper()
	target := r.cycles.Load() + n
	testwait.For(t, "relay drain passes", func() bool { return r.cycles.Load() >= target })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// enqueueCommitted writes n rows in one committed transaction.
func (e *env) enqueueCommitted(t *testing.T, n int, opts ...EnqueueOption) []uuid.UUID {
	t.Helper()
	ctx := ctxFor(t)
	ids := make([]uuid.UUID, n)
	err := pgx.BeginFunc(ctx, e.db.Pool, func(tx pgx.Tx) error {
		for i := range ids {
			ids[i] = uuid.New()
			if err := Enqueue(ctx, tx, subject, ids[i], map[string]int{"n": i}, opts...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// streamIDs returns the Nats-Msg-Id of every message in TUTORIAL_EVENTS in
// stream order (there is no consumer, so the work queue keeps them all).
func (e *env) streamIDs(t *testing.T) []string {
	t.Helper()
	ctx := ctxFor(t)
	s, err := e.js.Stream(ctx, messaging.StreamTutorialEvents)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("get msg %d: %v", seq, err)
		}
		ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
	}
	return ids
}

// unpublished counts rows among ids not yet marked sent.
func (e *env) unpublished(t *testing.T, ids []uuid.UUID) int {
	t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(ctxFor(t),
		`SELECT count(*) FROM admsync.outbox WHERE id = ANY($1) AND published_at IS NULL`, ids).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) publishedAt(t *testing.T, id uuid.UUID) *time.Time {
	t.Helper()
	var at *time.Time
	if err := e.db.Pool.QueryRow(ctxFor(t), `SELECT published_at FROM admsync.outbox WHERE id = $1`, id).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

func strs(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
