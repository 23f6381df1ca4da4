package outbox

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging"
	"admsync/pkg/metricstest"
	"admsync/pkg/testwait"
)

// Four overlapping transactions per iteration, written in order tx0, tx1,
// txRollback, tx2 (so their xids ascend) and ended in reverse, with the relay
// running a full pass after each commit. A relay that tracked a high-water
// mark would publish tx2's rows first and then skip tx1's and tx0's for ever;
// the xid filter must hold them all back until tx0 commits.
func TestRelayPublishesOutOfOrderCommitsExactlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.newRelay(t, RelayOptions{})
	start(t, r)
	testwait.For(t, "relay active", r.active.Load)
	ctx := ctxFor(t)

	const iterations = 30
	var committed, rolledBack []uuid.UUID
	for i := range iterations {
		txs := make([]pgx.Tx, 4)
		ids := make([][]uuid.UUID, 4)
		for k := range txs {
			tx, err := e.db.Pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			txs[k] = tx
			for range 2 {
				id := uuid.New()
				if err := Enqueue(ctx, tx, subject, id, map[string]int{"iteration": i, "tx": k}); err != nil {
					t.Fatal(err)
				}
				ids[k] = append(ids[k], id)
			}
		}
		if err := txs[3].Commit(ctx); err != nil {
			t.Fatal(err)
		}
		waitCycles(t, r, 2)
		if err := txs[2].Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if err := txs[1].Commit(ctx); err != nil {
			t.Fatal(err)
		}
		waitCycles(t, r, 2)
		if err := txs[0].Commit(ctx); err != nil {
			t.Fatal(err)
		}
		committed = slices.Concat(committed, ids[0], ids[1], ids[3])
		rolledBack = append(rolledBack, ids[2]...)
	}

	testwait.For(t, "every committed row marked sent", func() bool { return e.unpublished(t, committed) == 0 })
	got := e.streamIDs(t)

	if len(got) != len(committed) {
		t.Errorf("stream holds %d messages, want %d (one per committed row)", len(got), len(committed))
	}
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range committed {
		if seen[id.String()] != 1 {
			t.Errorf("committed row %s is in the stream %d times, want 1", id, seen[id.String()])
		}
	}
	for _, id := range rolledBack {
		if seen[id.String()] != 0 {
			t.Errorf("rolled-back row %s was published", id)
		}
	}
	// One relay publishes in (created_xid, created_at) order.
	rows, err := e.db.Pool.Query(ctx, `SELECT id FROM admsync.outbox ORDER BY created_xid, created_at`)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, strs(want)) {
		t.Errorf("stream order differs from (created_xid, created_at) order")
	}
	// Each row went out once: no republish was needed.
	if d := r.duplicates.Load(); d != 0 {
		t.Errorf("relay saw %d duplicate PubAcks, want 0", d)
	}
	if n := metricstest.Value(t, e.reg, "admsync_outbox_published_total", nil); n != float64(len(committed)) {
		t.Errorf("admsync_outbox_published_total = %v, want %d", n, len(committed))
	}
}

// The relay dies after the PubAck of a row but before marking it. The row
// must still be unmarked; the next relay publishes it again, the stream
// drops the copy (same Nats-Msg-Id), and the row gets marked.
func TestRelayCrashBetweenPubAckAndMark(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.enqueueCommitted(t, 5)
	crash := errors.New("simulated crash after PubAck")
	r1 := e.newRelay(t, RelayOptions{Hook: &probe{crashAfter: func(id uuid.UUID) error {
		if id == ids[2] {
			return crash
		}
		return nil
	}}})
	if err := r1.Run(ctxFor(t)); !errors.Is(err, crash) {
		t.Fatalf("Run = %v, want the failpoint error", err)
	}

	// State at the crash: rows 0 and 1 marked, row 2 in the stream but
	// unmarked, rows 3 and 4 untouched.
	for i, id := range ids {
		marked := e.publishedAt(t, id) != nil
		if marked != (i < 2) {
			t.Errorf("row %d marked = %v after the crash, want %v", i, marked, i < 2)
		}
	}
	if got := e.streamIDs(t); !slices.Equal(got, strs(ids[:3])) {
		t.Fatalf("stream after crash = %v, want the first 3 rows", got)
	}

	r2 := e.newRelay(t, RelayOptions{})
	start(t, r2)
	testwait.For(t, "all rows marked", func() bool { return e.unpublished(t, ids) == 0 })
	if got := e.streamIDs(t); !slices.Equal(got, strs(ids)) {
		t.Fatalf("stream after rerun = %v, want each row exactly once, in order", got)
	}
	if d := r2.duplicates.Load(); d != 1 {
		t.Fatalf("rerun saw %d duplicate PubAcks, want 1 (row 2's republish)", d)
	}
}

// While JetStream is down no row may be marked sent; attempts and
// last_error record the failures; after NATS returns every row is in the
// stream exactly once.
func TestRelayMarksNothingWhilePublishFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.Shutdown()
	ids := e.enqueueCommitted(t, 3)
	r := e.newRelay(t, RelayOptions{PublishTimeout: 200 * time.Millisecond})
	start(t, r)

	var attempts int
	var lastError *string
	testwait.For(t, "failed attempts recorded", func() bool {
		err := e.db.Pool.QueryRow(ctxFor(t), `SELECT attempts, last_error FROM admsync.outbox WHERE id = $1`, ids[0]).
			Scan(&attempts, &lastError)
		if err != nil {
			t.Fatal(err)
		}
		return attempts >= 2
	})
	if lastError == nil || *lastError == "" {
		t.Error("last_error not recorded")
	}
	if n := e.unpublished(t, ids); n != len(ids) {
		t.Fatalf("%d rows marked sent while NATS was down", len(ids)-n)
	}
	waitCycles(t, r, 1)
	if b := metricstest.Value(t, e.reg, "admsync_outbox_backlog", nil); b != 3 {
		t.Errorf("admsync_outbox_backlog = %v, want 3", b)
	}
	if l := metricstest.Value(t, e.reg, "admsync_outbox_lag_seconds", nil); l <= 0 {
		t.Errorf("admsync_outbox_lag_seconds = %v, want > 0", l)
	}

	if err := e.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "all rows marked after NATS returns", func() bool { return e.unpublished(t, ids) == 0 })
	if got := e.streamIDs(t); !slices.Equal(got, strs(ids)) {
		t.Fatalf("stream = %v, want each row exactly once, in order", got)
	}
	waitCycles(t, r, 1)
	if b := metricstest.Value(t, e.reg, "admsync_outbox_backlog", nil); b != 0 {
		t.Errorf("admsync_outbox_backlog = %v after drain, want 0", b)
	}
}

// Only the lock holder publishes; a standby takes over when it stops.
func TestRelayStandbyTakesOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r1 := e.newRelay(t, RelayOptions{})
	stop1 := start(t, r1)
	testwait.For(t, "first relay active", r1.active.Load)
	r2 := e.newRelay(t, RelayOptions{})
	start(t, r2)
	testwait.For(t, "standby tried the lock twice", func() bool { return r2.lockAttempts.Load() >= 2 })

	first := e.enqueueCommitted(t, 3)
	testwait.For(t, "first batch sent", func() bool { return e.unpublished(t, first) == 0 })
	if r2.active.Load() || r2.cycles.Load() != 0 {
		t.Fatal("standby published while the first relay held the lock")
	}

	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "standby active", r2.active.Load)
	second := e.enqueueCommitted(t, 3)
	testwait.For(t, "second batch sent", func() bool { return e.unpublished(t, second) == 0 })
	if got := e.streamIDs(t); !slices.Equal(got, strs(slices.Concat(first, second))) {
		t.Fatalf("stream = %v, want both batches once each", got)
	}
}

func TestRelayFlush(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.enqueueCommitted(t, 2, WithHeader("Correlation-Id", "import-7"))
	r := e.newRelay(t, RelayOptions{})
	n, err := r.Flush(ctxFor(t))
	if err != nil || n != 2 {
		t.Fatalf("Flush = %d, %v; want 2, nil", n, err)
	}
	if e.unpublished(t, ids) != 0 {
		t.Fatal("Flush left rows unmarked")
	}
	s, err := e.js.Stream(ctxFor(t), messaging.StreamTutorialEvents)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctxFor(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != subject || string(m.Data) != `{"n": 0}` && string(m.Data) != `{"n":0}` ||
		m.Header.Get("Correlation-Id") != "import-7" || m.Header.Get(jetstream.MsgIDHeader) != ids[0].String() {
		t.Fatalf("published message = %s %q %v", m.Subject, m.Data, m.Header)
	}

	// A row committed before Flush but behind an older transaction that is
	// still open is not publishable yet: Flush waits for it.
	ctx := ctxFor(t)
	older, err := e.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	olderID := uuid.New()
	if err := Enqueue(ctx, older, subject, olderID, map[string]string{"tx": "older"}); err != nil {
		t.Fatal(err)
	}
	newer := e.enqueueCommitted(t, 1)
	type result struct {
		n   int
		err error
	}
	flushed := make(chan result, 1)
	attempts := r.lockAttempts.Load()
	go func() {
		n, err := r.Flush(ctx)
		flushed <- result{n, err}
	}()
	testwait.For(t, "flush started", func() bool { return r.lockAttempts.Load() > attempts })
	if err := older.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if res := <-flushed; res.err != nil || res.n != 2 {
		t.Fatalf("Flush behind an open transaction = %d, %v; want 2, nil", res.n, res.err)
	}
	if e.unpublished(t, []uuid.UUID{olderID, newer[0]}) != 0 {
		t.Fatal("Flush left rows unmarked")
	}

	// With a relay running, Flush leaves the work to it.
	active := e.newRelay(t, RelayOptions{})
	start(t, active)
	testwait.For(t, "relay active", active.active.Load)
	if _, err := r.Flush(ctxFor(t)); !errors.Is(err, ErrRelayActive) {
		t.Fatalf("Flush beside an active relay = %v, want ErrRelayActive", err)
	}
}

func TestDecodeHeaders(t *testing.T) {
	t.Parallel()
	h, err := decodeHeaders([]byte(`{"A": ["1", "2"], "B": "3"}`))
	if err != nil || len(h["A"]) != 2 || h.Get("B") != "3" {
		t.Fatalf("decodeHeaders = %v, %v", h, err)
	}
	if h, err := decodeHeaders([]byte(`{}`)); err != nil || len(h) != 0 {
		t.Fatalf("empty headers = %v, %v", h, err)
	}
	for _, bad := range []string{`[]`, `{"A": 1}`, `{"A": [1]}`} {
		if _, err := decodeHeaders([]byte(bad)); err == nil {
			t.Errorf("decodeHeaders(%s) succeeded", bad)
		}
	}
}
