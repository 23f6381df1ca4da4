package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/metricstest"
	"admsync/pkg/testwait"
)

func TestDLQListGetReplayDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rn := b.run(t, messaging.RunnerOptions{Handler: func(context.Context, jetstream.Msg) error {
		return messaging.Permanent(errors.New("rejected by Administrate"))
	}})
	for i := 1; i <= 3; i++ {
		b.publish(t, messaging.SubjectTutorialEventCreated, fmt.Sprintf("ev-%d", i), fmt.Appendf(nil, `{"event":%d}`, i),
			nats.Header{"Correlation-Id": []string{fmt.Sprint("c", i)}})
	}
	testwait.For(t, "3 dead letters", func() bool { return b.streamMsgs(t, messaging.StreamDLQ) == 3 })
	if err := rn.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx := natstest.Context(t)
	dlq := messaging.NewDLQ(b.js)

	all, err := dlq.List(ctx, messaging.ListOptions{})
	if err != nil || len(all) != 3 {
		t.Fatalf("List = %d items, %v; want 3", len(all), err)
	}
	page, err := dlq.List(ctx, messaging.ListOptions{FromSequence: all[1].Sequence, Limit: 1})
	if err != nil || len(page) != 1 || page[0].Sequence != all[1].Sequence {
		t.Fatalf("List page = %+v, %v", page, err)
	}
	if other, _ := dlq.List(ctx, messaging.ListOptions{OriginalSubject: "sync.request.>"}); len(other) != 0 {
		t.Fatalf("List filtered by another subject = %d items", len(other))
	}

	first := all[0]
	got, err := dlq.Get(ctx, first.Sequence)
	if err != nil || got.OriginalMsgID != "ev-1" || got.Reason != "permanent error: rejected by Administrate" || string(got.Payload) != `{"event":1}` {
		t.Fatalf("Get = %+v, %v", got, err)
	}

	rep, err := dlq.Replay(ctx, first.Sequence, 1)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	wantID := fmt.Sprintf("ev-1:replay:%d:1", first.Sequence)
	if rep.MsgID != wantID || rep.Stream != messaging.StreamTutorialEvents || rep.Subject != messaging.SubjectTutorialEventCreated {
		t.Fatalf("Replay = %+v, want msg id %s on %s", rep, wantID, messaging.StreamTutorialEvents)
	}
	s, err := b.js.Stream(ctx, messaging.StreamTutorialEvents)
	if err != nil {
		t.Fatal(err)
	}
	replayed, err := s.GetMsg(ctx, rep.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if replayed.Header.Get(jetstream.MsgIDHeader) != wantID || string(replayed.Data) != `{"event":1}` ||
		replayed.Header.Get("Correlation-Id") != "c1" || replayed.Header.Get(messaging.HeaderDLQReason) != "" ||
		replayed.Header.Get(messaging.HeaderReplayOf) != fmt.Sprint(first.Sequence) {
		t.Fatalf("replayed message headers %v data %s", replayed.Header, replayed.Data)
	}

	// The same replay attempt again is caught by the stream's dedupe.
	if _, err := dlq.Replay(ctx, first.Sequence, 1); !errors.Is(err, messaging.ErrReplayDuplicate) {
		t.Fatalf("second Replay attempt 1 = %v, want ErrReplayDuplicate", err)
	}
	if rep2, err := dlq.Replay(ctx, first.Sequence, 2); err != nil || rep2.Sequence == rep.Sequence {
		t.Fatalf("Replay attempt 2 = %+v, %v", rep2, err)
	}

	if err := dlq.Delete(ctx, first.Sequence); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := dlq.Get(ctx, first.Sequence); !errors.Is(err, messaging.ErrDeadLetterNotFound) {
		t.Fatalf("Get after delete = %v, want ErrDeadLetterNotFound", err)
	}
	if rest, err := dlq.List(ctx, messaging.ListOptions{}); err != nil || len(rest) != 2 {
		t.Fatalf("List after delete = %d, %v; want 2", len(rest), err)
	}
}

func TestMonitorRefreshesGauges(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := natstest.Context(t)
	// Two messages waiting on the consumer, one dead letter.
	b.publish(t, messaging.SubjectTutorialEventCreated, "p-1", []byte(`{}`), nil)
	b.publish(t, messaging.SubjectTutorialEventCreated, "p-2", []byte(`{}`), nil)
	if _, err := b.js.PublishMsg(ctx, &nats.Msg{Subject: "dlq.tutorial.event.created", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	mon, err := messaging.NewMonitor(b.js, messaging.MonitorOptions{Consumers: []messaging.ConsumerSpec{b.spec}, Registerer: b.reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := mon.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if v := metricstest.Value(t, b.reg, "admsync_dlq_messages", nil); v != 1 {
		t.Errorf("admsync_dlq_messages = %v, want 1", v)
	}
	if v := metricstest.Value(t, b.reg, "admsync_consumer_pending", map[string]string{"consumer": b.spec.Durable()}); v != 2 {
		t.Errorf("admsync_consumer_pending = %v, want 2", v)
	}
	// A second runner or monitor on the same registry reuses the collectors.
	if _, err := messaging.NewMonitor(b.js, messaging.MonitorOptions{Registerer: b.reg}); err != nil {
		t.Fatalf("second NewMonitor on one registry: %v", err)
	}
}

// The DLQ tools classify letters by the reasons the runner's Policy
// writes; if a reason's wording changes, this fails rather than letting
// replay treat poison as retryable.
func TestReasonCauseOfPolicyDecisions(t *testing.T) {
	t.Parallel()
	p := messaging.Policy{MaxDeliver: 3}
	cases := []struct {
		err       error
		delivered uint64
		want      messaging.Cause
	}{
		{messaging.Permanent(errors.New("validation failed: title too long")), 1, messaging.CausePermanent},
		{messaging.Permanent(errors.New("decode payload")), 3, messaging.CausePermanent},
		{messaging.Malformed(errors.New("decode payload")), 1, messaging.CauseMalformed},
		{errors.New("administrate: 503"), 3, messaging.CauseRetriesExhausted},
		{messaging.RetryAfter(errors.New("429"), time.Second), 3, messaging.CauseRetriesExhausted},
	}
	for _, c := range cases {
		d := p.Decide(c.err, c.delivered)
		if d.Action != messaging.ActionDeadLetter {
			t.Fatalf("Decide(%v, %d) = %v, want a dead letter", c.err, c.delivered, d.Action)
		}
		if got := messaging.ReasonCause(d.Reason); got != c.want {
			t.Errorf("ReasonCause(%q) = %q, want %q", d.Reason, got, c.want)
		}
	}
	for reason, want := range map[string]messaging.Cause{
		messaging.ReasonNoAnswer:     messaging.CauseNoAnswer,
		"panic: nil map":             messaging.CausePanic,
		"something else":             messaging.CauseOther,
		"":                           messaging.CauseOther,
		"Permanent error: not quite": messaging.CauseOther,
	} {
		if got := messaging.ReasonCause(reason); got != want {
			t.Errorf("ReasonCause(%q) = %q, want %q", reason, got, want)
		}
	}
}
