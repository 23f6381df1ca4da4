package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"admsync/pkg/database"
)

func TestEnqueueWritesInCallersTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxFor(t)
	kept, dropped := uuid.New(), uuid.New()

	tx, err := e.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := Enqueue(ctx, tx, subject, dropped, json.RawMessage(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, e.db.Pool, func(tx pgx.Tx) error {
		return Enqueue(ctx, tx, subject, kept, struct {
			TutorialEventID int64 `json:"tutorial_event_id"`
		}{42}, WithHeader("Correlation-Id", "c1"))
	})
	if err != nil {
		t.Fatal(err)
	}

	var n int
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM admsync.outbox WHERE id = $1`, dropped).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rolled-back row present: %d, %v", n, err)
	}
	var subj, payload, headers string
	if err := e.db.Pool.QueryRow(ctx, `SELECT subject, payload::text, headers::text FROM admsync.outbox WHERE id = $1`, kept).
		Scan(&subj, &payload, &headers); err != nil {
		t.Fatal(err)
	}
	if subj != subject || payload != `{"tutorial_event_id": 42}` || headers != `{"Correlation-Id": ["c1"]}` {
		t.Fatalf("row = %s %s %s", subj, payload, headers)
	}

	// The same id again is a unique violation the caller can recognise.
	err = pgx.BeginFunc(ctx, e.db.Pool, func(tx pgx.Tx) error {
		return Enqueue(ctx, tx, subject, kept, map[string]int{})
	})
	if !database.IsUniqueViolation(err) {
		t.Fatalf("duplicate id: %v, want unique violation", err)
	}
}

func TestEnqueueRejectsBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxFor(t)
	cases := map[string]struct {
		subject string
		id      uuid.UUID
		payload any
		opts    []EnqueueOption
	}{
		"empty subject":   {"", uuid.New(), 1, nil},
		"wildcards":       {"tutorial.event.>", uuid.New(), 1, nil},
		"empty token":     {"tutorial..created", uuid.New(), 1, nil},
		"nil message id":  {subject, uuid.Nil, 1, nil},
		"not valid JSON":  {subject, uuid.New(), []byte("not json"), nil},
		"unencodable":     {subject, uuid.New(), make(chan int), nil},
		"reserved header": {subject, uuid.New(), 1, []EnqueueOption{WithHeader("Nats-Msg-Id", "x")}},
	}
	for name, tc := range cases {
		err := pgx.BeginFunc(ctx, e.db.Pool, func(tx pgx.Tx) error {
			return Enqueue(ctx, tx, tc.subject, tc.id, tc.payload, tc.opts...)
		})
		if err == nil {
			t.Errorf("%s: Enqueue succeeded", name)
		} else if errors.Is(err, pgx.ErrTxClosed) || strings.Contains(err.Error(), "SQLSTATE") {
			t.Errorf("%s: rejected by the database, not by Enqueue: %v", name, err)
		}
	}
	var n int
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM admsync.outbox`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows written: %d, %v", n, err)
	}
}

// TestEnqueueBatch: one COPY in the caller's transaction (gone on
// rollback, there on commit, exactly as Enqueue writes them), one
// notification, and bad messages refused before anything reaches the
// database.
func TestEnqueueBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxFor(t)
	msgs := func(n int) []Message {
		out := make([]Message, n)
		for i := range out {
			out[i] = Message{ID: uuid.New(), Subject: subject, Payload: map[string]int{"tutorial_event_id": i}}
		}
		out[0].Headers = map[string][]string{"Correlation-Id": {"c1"}}
		return out
	}
	dropped := msgs(3)
	tx, err := e.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := EnqueueBatch(ctx, tx, dropped); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	listener, err := e.db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Release()
	if _, err := listener.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		t.Fatal(err)
	}
	kept := msgs(500)
	if err := pgx.BeginFunc(ctx, e.db.Pool, func(tx pgx.Tx) error { return EnqueueBatch(ctx, tx, kept) }); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM admsync.outbox`).Scan(&n); err != nil || n != len(kept) {
		t.Fatalf("outbox holds %d rows, want %d (%v)", n, len(kept), err)
	}
	var payload, headers string
	if err := e.db.Pool.QueryRow(ctx, `SELECT payload::text, headers::text FROM admsync.outbox WHERE id = $1`, kept[0].ID).Scan(&payload, &headers); err != nil {
		t.Fatal(err)
	}
	if payload != `{"tutorial_event_id": 0}` || headers != `{"Correlation-Id": ["c1"]}` {
		t.Fatalf("row = %s %s", payload, headers)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := listener.Conn().WaitForNotification(wctx); err != nil {
		t.Fatalf("no notification: %v", err)
	}
	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if note, err := listener.Conn().WaitForNotification(short); err == nil {
		t.Fatalf("a second notification for one batch: %+v", note)
	}

	bad := map[string]func(m []Message){
		"empty subject":   func(m []Message) { m[1].Subject = "" },
		"nil message id":  func(m []Message) { m[2].ID = uuid.Nil },
		"not valid JSON":  func(m []Message) { m[1].Payload = []byte("nope") },
		"reserved header": func(m []Message) { m[2].Headers = map[string][]string{"Nats-Msg-Id": {"x"}} },
	}
	for name, mutate := range bad {
		m := msgs(3)
		mutate(m)
		err := pgx.BeginFunc(ctx, e.db.Pool, func(tx pgx.Tx) error { return EnqueueBatch(ctx, tx, m) })
		if err == nil || strings.Contains(err.Error(), "SQLSTATE") {
			t.Errorf("%s: %v", name, err)
		}
	}
	dup := msgs(2)
	dup[1].ID = dup[0].ID
	err = pgx.BeginFunc(ctx, e.db.Pool, func(tx pgx.Tx) error { return EnqueueBatch(ctx, tx, dup) })
	if !database.IsUniqueViolation(err) {
		t.Fatalf("duplicate id in a batch: %v", err)
	}
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM admsync.outbox`).Scan(&n); err != nil || n != len(kept) {
		t.Fatalf("outbox holds %d rows after refusals, want %d", n, len(kept))
	}
}
