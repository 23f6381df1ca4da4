package messaging_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/metricstest"
	"admsync/pkg/testwait"
)

// crashConsumer returns the consumer with a one-second ack wait and two
// deliveries, so a worker that never answers exhausts it quickly.
func crashConsumer(s *messaging.ConsumerSpec) {
	s.Config.AckWait = time.Second
	s.Config.BackOff = []time.Duration{time.Second}
	s.Config.MaxDeliver = 2
}

// startMonitor runs the bundle's Monitor (and so its max-deliveries
// capture) until the test ends.
func startMonitor(t *testing.T, b *bundle) {
	t.Helper()
	mon, err := messaging.NewMonitor(b.js, messaging.MonitorOptions{
		Consumers: []messaging.ConsumerSpec{b.spec}, Interval: 100 * time.Millisecond,
		Registerer: b.reg, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { mon.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// A worker that takes the message and dies before answering, on every
// delivery, never makes the runner dead-letter it: the server stops
// delivering after MaxDeliver and announces it. The capture must move the
// message to the DLQ, with its payload and headers, replayable.
func TestCaptureMovesMessagesExhaustedWithoutAnAnswerToTheDLQ(t *testing.T) {
	t.Parallel()
	b := setup(t, crashConsumer)
	startMonitor(t, b)
	ctx := natstest.Context(t)
	data := []byte(`{"tutorial_event_id":42,"import_run_id":7}`)
	ack := b.publish(t, messaging.SubjectTutorialEventCreated, "ev-42", data, nats.Header{"Correlation-Id": []string{"c42"}})

	// Each delivery goes to a fresh connection that is closed without an
	// ack or a nak: a worker killed mid-handler.
	cons, err := b.js.Consumer(ctx, b.spec.Stream, b.spec.Durable())
	if err != nil {
		t.Fatal(err)
	}
	deliveries := 0
	testwait.For(t, "the exhausted message in the DLQ", func() bool {
		if b.streamMsgs(t, messaging.StreamDLQ) == 1 {
			return true
		}
		nc, err := nats.Connect(b.srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		c, err := js.Consumer(ctx, b.spec.Stream, b.spec.Durable())
		if err != nil {
			t.Fatal(err)
		}
		batch, err := c.Fetch(1, jetstream.FetchMaxWait(1500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for range batch.Messages() {
			deliveries++
		}
		return false
	})
	if deliveries != b.spec.Config.MaxDeliver {
		t.Errorf("the crashing worker got %d deliveries, want MaxDeliver %d", deliveries, b.spec.Config.MaxDeliver)
	}

	dlq := messaging.NewDLQ(b.js)
	dls, err := dlq.List(ctx, messaging.ListOptions{})
	if err != nil || len(dls) != 1 {
		t.Fatalf("DLQ list = %d, %v", len(dls), err)
	}
	dl := dls[0]
	if dl.Reason != messaging.ReasonNoAnswer || dl.OriginalStream != messaging.StreamTutorialEvents ||
		dl.OriginalSequence != ack.Sequence || dl.OriginalSubject != messaging.SubjectTutorialEventCreated ||
		dl.OriginalMsgID != "ev-42" || string(dl.Payload) != string(data) || dl.Header.Get("Correlation-Id") != "c42" ||
		dl.Deliveries != uint64(b.spec.Config.MaxDeliver) || dl.Cause != messaging.CauseNoAnswer {
		t.Fatalf("dead letter = %+v", dl)
	}
	// Gone from the work queue: nothing left behind that no consumer will deliver.
	testwait.For(t, "the work stream empty", func() bool { return b.streamMsgs(t, messaging.StreamTutorialEvents) == 0 })
	if got := metricstest.Value(t, b.reg, "admsync_max_deliveries_dead_lettered_total", map[string]string{"consumer": b.spec.Durable()}); got != 1 {
		t.Errorf("admsync_max_deliveries_dead_lettered_total = %v, want 1", got)
	}
	// Replayable like any other dead letter: it is delivered again.
	if _, err := dlq.Replay(ctx, dl.Sequence, 1); err != nil {
		t.Fatalf("replay: %v", err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for m := range batch.Messages() {
		got++
		if string(m.Data()) != string(data) {
			t.Errorf("replayed payload %s", m.Data())
		}
		_ = m.Ack()
	}
	if got != 1 {
		t.Fatalf("replayed message delivered %d times, want 1", got)
	}
}

// The capture repeats safely: an advisory handled twice, or after a crash
// between the DLQ copy and the delete, leaves exactly one dead letter and
// no message behind.
func TestCaptureIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := natstest.Context(t)
	for _, s := range []jetstream.StreamConfig{messaging.MaxDeliveriesStream(b.spec.Stream)} {
		if _, err := messaging.EnsureStream(ctx, b.js, s); err != nil {
			t.Fatal(err)
		}
	}
	first := b.publish(t, messaging.SubjectTutorialEventCreated, "ev-1", []byte(`{"tutorial_event_id":1}`), nil)
	second := b.publish(t, messaging.SubjectTutorialEventCreated, "ev-2", []byte(`{"tutorial_event_id":2}`), nil)
	// A crash after the copy: the dead letter of "first" is in the DLQ, the
	// message still in its stream.
	if moved, err := messaging.MoveToDLQ(ctx, b.js, b.spec.Stream, first.Sequence, 20, messaging.ReasonNoAnswer); err != nil || !moved {
		t.Fatalf("MoveToDLQ = %v, %v", moved, err)
	}
	if _, err := b.js.Publish(ctx, messaging.SubjectTutorialEventCreated, []byte(`{"tutorial_event_id":1}`),
		jetstream.WithMsgID("ev-1-again")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.js.PublishMsg(ctx, &nats.Msg{Subject: messaging.DLQSubjectPrefix + messaging.SubjectTutorialEventCreated},
		jetstream.WithMsgID(messaging.DeadLetterMsgID(b.spec.Stream, second.Sequence))); err != nil {
		t.Fatal(err)
	}

	advisory := func(seq uint64) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"type": "io.nats.jetstream.advisory.v1.max_deliver",
			"stream": b.spec.Stream, "consumer": b.spec.Durable(), "stream_seq": seq, "deliveries": 20})
		if err := b.nc.Publish(messaging.SubjectMaxDeliveriesAdvisoryPrefix+b.spec.Stream+"."+b.spec.Durable(), body); err != nil {
			t.Fatal(err)
		}
	}
	// Each advisory twice (a redelivered advisory), for a message already
	// moved and one whose copy is in the DLQ but which was not deleted.
	for range 2 {
		advisory(first.Sequence)
		advisory(second.Sequence)
	}
	startMonitor(t, b)
	testwait.For(t, "the advisories handled", func() bool {
		return b.streamMsgs(t, messaging.MaxDeliveriesStreamName(b.spec.Stream)) == 0
	})
	if n := b.streamMsgs(t, messaging.StreamDLQ); n != 2 {
		t.Errorf("DLQ holds %d letters, want 2 (one per message)", n)
	}
	s, _ := b.js.Stream(ctx, b.spec.Stream)
	for _, seq := range []uint64{first.Sequence, second.Sequence} {
		if _, err := s.GetMsg(ctx, seq); err == nil {
			t.Errorf("message %d still in %s", seq, b.spec.Stream)
		}
	}
	if n := b.streamMsgs(t, b.spec.Stream); n != 1 {
		t.Errorf("%s holds %d messages, want only the unrelated one", b.spec.Stream, n)
	}
}
