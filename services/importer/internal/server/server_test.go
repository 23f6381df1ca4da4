package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/database/dbtest"
	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/outbox"
	"admsync/pkg/sampledata"
	"admsync/pkg/testwait"
	"admsync/services/importer/internal/server"
)

func TestImportRequestsOverNATS(t *testing.T) {
	t.Parallel()
	ctx := natstest.Context(t)
	db := dbtest.New(t)
	ns := natstest.Start(t)
	nc, js := natstest.Connect(t, ns)
	if err := messaging.EnsureTopology(ctx, js); err != nil {
		t.Fatal(err)
	}
	bk, ref := sampledata.Generate(sampledata.Options{Events: 7, Seed: 9})
	if _, err := sampledata.Seed(ctx, db.Pool, ref); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bk.Write(&buf); err != nil {
		t.Fatal(err)
	}
	store, err := js.ObjectStore(ctx, messaging.BucketWorkbooks)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutBytes(ctx, "events.xlsx", buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutBytes(ctx, "notes.xlsx", []byte("just,some,csv\n")); err != nil {
		t.Fatal(err)
	}

	results := make(chan *nats.Msg, 8)
	sub, err := nc.ChanSubscribe("import.result.>", results)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	srv := &server.Server{Pool: db.Pool, JS: js, Logger: slog.New(slog.DiscardHandler)}
	runner, err := messaging.NewRunner(js, messaging.RunnerOptions{Consumer: messaging.ImporterConsumer(), Handler: srv.Handle, FetchWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(rctx) }()
	defer func() { stop(); <-done }()

	for id, body := range map[string]string{"r1": `{"object":"events.xlsx"}`, "r2": "notes.xlsx", "r3": `{"object":"missing.xlsx"}`, "r4": `{"object":`} {
		if _, err := js.Publish(ctx, messaging.SubjectImportRequestPrefix+id, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]server.Result{}
	for len(got) < 4 {
		select {
		case m := <-results:
			var r server.Result
			if err := json.Unmarshal(m.Data, &r); err != nil {
				t.Fatal(err)
			}
			got[r.RequestID] = r
		case <-time.After(30 * time.Second):
			t.Fatalf("results so far: %+v", got)
		}
	}
	if r := got["r1"]; r.Status != "imported" || r.Summary == nil || r.Summary.Imported != 7 {
		t.Fatalf("r1: %+v", r)
	}
	if r := got["r2"]; r.Status != "refused" || !bytes.Contains([]byte(r.Error), []byte("not an .xlsx workbook")) {
		t.Fatalf("r2: %+v", r)
	}
	if r := got["r3"]; r.Status != "refused" || !bytes.Contains([]byte(r.Error), []byte("no object")) {
		t.Fatalf("r3: %+v", r)
	}
	// A malformed request is answered and dead-lettered, as in every
	// service; a refused workbook is only answered.
	if r := got["r4"]; r.Status != "refused" || !bytes.Contains([]byte(r.Error), []byte("not valid JSON")) {
		t.Fatalf("r4: %+v", r)
	}
	var dls []messaging.DeadLetter
	testwait.For(t, "r4 dead-lettered", func() bool {
		if dls, err = messaging.NewDLQ(js).List(ctx, messaging.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		return len(dls) > 0
	})
	if len(dls) != 1 || dls[0].OriginalSubject != messaging.SubjectImportRequestPrefix+"r4" ||
		!strings.HasPrefix(dls[0].Reason, "permanent error: malformed message: ") {
		t.Fatalf("dead letters = %+v, want only r4's, as a malformed message", dls)
	}

	// The outbox holds one row per event, and the relay puts each on
	// JetStream exactly once, even when flushed twice.
	var pending int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM admsync.outbox WHERE published_at IS NULL`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 7 {
		t.Fatalf("outbox has %d unpublished rows, want 7", pending)
	}
	relay, err := outbox.NewRelay(db.Pool, js, outbox.RelayOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := relay.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stream, err := js.Stream(ctx, messaging.StreamTutorialEvents)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 7 {
		t.Fatalf("stream holds %d messages, want 7", info.State.Msgs)
	}
	seen := map[string]bool{}
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		var p map[string]int64
		if err := json.Unmarshal(m.Data, &p); err != nil || p["tutorial_event_id"] == 0 {
			t.Fatalf("payload %s", m.Data)
		}
		id := m.Header.Get(jetstream.MsgIDHeader)
		if seen[id] {
			t.Fatalf("message %s twice", id)
		}
		seen[id] = true
	}
}
