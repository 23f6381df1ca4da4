package outbox

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

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
