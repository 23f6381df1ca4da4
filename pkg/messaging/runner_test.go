package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/metricstest"
	"admsync/pkg/testwait"
)

func handledTotal(t *testing.T, b *bundle, outcome string) float64 {
	return metricstest.Value(t, b.reg, "admsync_messages_handled_total",
		map[string]string{"consumer": b.spec.Durable(), "outcome": outcome})
}

func TestRunnerAcksSuccess(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rec := b.runRecorded(t, func(uint64) error { return nil })
	b.publish(t, messaging.SubjectTutorialEventCreated, "ok-1", []byte(`{"id":1}`), nil)

	testwait.For(t, "ack counted", func() bool { return handledTotal(t, b, "ack") == 1 })
	// Work queue: the ack deleted the message.
	testwait.For(t, "stream empty", func() bool { return b.streamMsgs(t, messaging.StreamTutorialEvents) == 0 })
	if got := rec.calls(); got != 1 {
		t.Fatalf("handler calls = %d, want 1", got)
	}
	if n := metricstest.Value(t, b.reg, "admsync_handler_duration_seconds", map[string]string{"consumer": b.spec.Durable()}); n != 1 {
		t.Fatalf("duration samples = %v, want 1", n)
	}
}

func TestRunnerRetriesTransientErrorsWithBackoff(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rec := b.runRecorded(t, func(n uint64) error {
		if n < 3 {
			return fmt.Errorf("api timeout on delivery %d", n)
		}
		return nil
	})
	b.publish(t, messaging.SubjectTutorialEventCreated, "retry-1", []byte(`{}`), nil)

	testwait.For(t, "ack after retries", func() bool { return handledTotal(t, b, "ack") == 1 })
	got, _ := rec.snapshot()
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("deliveries = %v, want [1 2 3]", got)
	}
	if r := handledTotal(t, b, "retry"); r != 2 {
		t.Fatalf("retry outcomes = %v, want 2", r)
	}
	if n := b.streamMsgs(t, messaging.StreamDLQ); n != 0 {
		t.Fatalf("DLQ has %d messages, want 0", n)
	}
}

func TestRunnerRetryAfterDelaysRedelivery(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const delay = 400 * time.Millisecond
	rec := b.runRecorded(t, func(n uint64) error {
		if n == 1 {
			return messaging.RetryAfter(errors.New("429 too many requests"), delay)
		}
		return nil
	})
	b.publish(t, messaging.SubjectTutorialEventCreated, "later-1", []byte(`{}`), nil)

	testwait.For(t, "ack after delayed retry", func() bool { return handledTotal(t, b, "ack") == 1 })
	_, times := rec.snapshot()
	if len(times) != 2 {
		t.Fatalf("handler calls = %d, want 2", len(times))
	}
	// A lower bound only: the server must not redeliver before the delay
	// (minus slack for the ack's trip); RetryBackoff[0] would be 20ms.
	if gap := times[1].Sub(times[0]); gap < delay-100*time.Millisecond {
		t.Fatalf("redelivered after %s, want >= ~%s", gap, delay)
	}
}

// dlqMessage returns the only dead letter, waiting for it to appear.
func dlqMessage(t *testing.T, b *bundle) messaging.DeadLetter {
	t.Helper()
	dlq := messaging.NewDLQ(b.js)
	var list []messaging.DeadLetter
	testwait.For(t, "a dead letter", func() bool {
		var err error
		list, err = dlq.List(natstest.Context(t), messaging.ListOptions{})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		return len(list) > 0
	})
	if len(list) != 1 {
		t.Fatalf("DLQ has %d messages, want 1", len(list))
	}
	return list[0]
}

func TestRunnerDeadLettersAfterMaxDeliver(t *testing.T) {
	t.Parallel()
	b := setup(t, nil) // MaxDeliver 3
	rec := b.runRecorded(t, func(n uint64) error { return fmt.Errorf("upstream 503 on delivery %d", n) })
	ack := b.publish(t, messaging.SubjectTutorialEventCreated, "doomed-1", []byte(`{"n":1}`), nil)

	dl := dlqMessage(t, b)
	if !strings.Contains(dl.Reason, "max deliveries reached (3)") || !strings.Contains(dl.Reason, "upstream 503 on delivery 3") {
		t.Fatalf("reason = %q, want max deliveries with the last error", dl.Reason)
	}
	if dl.Deliveries != 3 || dl.OriginalSequence != ack.Sequence || dl.OriginalStream != messaging.StreamTutorialEvents {
		t.Fatalf("dead letter = %+v", dl)
	}
	testwait.For(t, "original removed", func() bool { return b.streamMsgs(t, messaging.StreamTutorialEvents) == 0 })
	testwait.For(t, "dead_letter counted", func() bool { return handledTotal(t, b, "dead_letter") == 1 })
	if got := rec.calls(); got != 3 {
		t.Fatalf("handler calls = %d, want 3", got)
	}
	if r := handledTotal(t, b, "retry"); r != 2 {
		t.Fatalf("retry outcomes = %v, want 2", r)
	}
}

func TestRunnerDeadLettersPermanentErrorAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rec := b.runRecorded(t, func(uint64) error {
		return messaging.Permanent(fmt.Errorf("decode: %w", errors.New("missing field title")))
	})
	hdr := nats.Header{"Correlation-Id": []string{"c-42"}}
	before := time.Now().Add(-time.Second)
	ack := b.publish(t, messaging.SubjectTutorialEventCreated, "bad-1", []byte(`{"bad":true}`), hdr)

	dl := dlqMessage(t, b)
	checks := map[string]bool{
		"reason":            dl.Reason == "permanent error: decode: missing field title",
		"subject":           dl.Subject == "dlq."+messaging.SubjectTutorialEventCreated,
		"original subject":  dl.OriginalSubject == messaging.SubjectTutorialEventCreated,
		"original stream":   dl.OriginalStream == messaging.StreamTutorialEvents,
		"original sequence": dl.OriginalSequence == ack.Sequence,
		"original msg id":   dl.OriginalMsgID == "bad-1",
		"deliveries":        dl.Deliveries == 1,
		"failed at":         dl.FailedAt.After(before),
		"payload":           string(dl.Payload) == `{"bad":true}`,
		"app header kept":   dl.Header.Get("Correlation-Id") == "c-42",
		"dlq msg id":        dl.Header.Get(jetstream.MsgIDHeader) == messaging.DeadLetterMsgID(messaging.StreamTutorialEvents, ack.Sequence),
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("%s wrong in %+v", what, dl)
		}
	}
	testwait.For(t, "original terminated", func() bool { return b.streamMsgs(t, messaging.StreamTutorialEvents) == 0 })
	if got := rec.calls(); got != 1 {
		t.Fatalf("handler calls = %d, want 1", got)
	}
}

func TestRunnerDeadLettersPanics(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rec := b.runRecorded(t, func(uint64) error { panic("kaboom") })
	b.publish(t, messaging.SubjectTutorialEventCreated, "panic-1", []byte(`{}`), nil)

	dl := dlqMessage(t, b)
	if dl.Reason != "panic: kaboom" {
		t.Fatalf("reason = %q, want %q", dl.Reason, "panic: kaboom")
	}
	testwait.For(t, "dead_letter counted", func() bool { return handledTotal(t, b, "dead_letter") == 1 })
	if got := rec.calls(); got != 1 {
		t.Fatalf("handler calls = %d, want 1", got)
	}
}

// A handler longer than AckWait is not redelivered to another worker while
// it runs, because the runner sends InProgress every AckWait/3.
func TestRunnerHeartbeatsKeepLongHandlersAlive(t *testing.T) {
	t.Parallel()
	b := setup(t, func(s *messaging.ConsumerSpec) {
		s.Config.AckWait = time.Second
		s.Config.BackOff = []time.Duration{time.Second}
	})
	var rec recorder
	b.run(t, messaging.RunnerOptions{Workers: 2, Handler: func(ctx context.Context, msg jetstream.Msg) error {
		rec.record(msg)
		select {
		case <-time.After(2500 * time.Millisecond):
		case <-ctx.Done():
		}
		return nil
	}})
	b.publish(t, messaging.SubjectTutorialEventCreated, "slow-1", []byte(`{}`), nil)

	testwait.For(t, "ack", func() bool { return handledTotal(t, b, "ack") == 1 })
	if got, _ := rec.snapshot(); len(got) != 1 {
		t.Fatalf("deliveries = %v, want exactly one (no redelivery during the handler)", got)
	}
}

func TestRunnerGateStopsFetching(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	var open atomic.Bool
	var gateCalls atomic.Int64
	var rec recorder
	b.run(t, messaging.RunnerOptions{
		GateRetry: 20 * time.Millisecond,
		Gate: func(context.Context) error {
			gateCalls.Add(1)
			if !open.Load() {
				return errors.New("breaker open")
			}
			return nil
		},
		Handler: func(_ context.Context, msg jetstream.Msg) error {
			rec.record(msg)
			return nil
		},
	})
	b.publish(t, messaging.SubjectTutorialEventCreated, "gated-1", []byte(`{}`), nil)

	testwait.For(t, "gate consulted repeatedly", func() bool { return gateCalls.Load() >= 5 })
	if rec.calls() != 0 {
		t.Fatal("handler ran while the gate was closed")
	}
	// Nothing was even delivered, so no delivery was burnt.
	if info := b.consumerInfo(t); info.Delivered.Consumer != 0 || info.NumPending != 1 {
		t.Fatalf("consumer delivered %d, pending %d; want 0 and 1", info.Delivered.Consumer, info.NumPending)
	}
	open.Store(true)
	testwait.For(t, "ack after gate opened", func() bool { return handledTotal(t, b, "ack") == 1 })
	if got, _ := rec.snapshot(); fmt.Sprint(got) != "[1]" {
		t.Fatalf("deliveries = %v, want [1]", got)
	}
}

func TestRunnerUsesAllWorkers(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const workers = 3
	var running atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	b.run(t, messaging.RunnerOptions{Workers: workers, Handler: func(ctx context.Context, _ jetstream.Msg) error {
		if running.Add(1) == workers {
			once.Do(func() { close(all) })
		}
		// Each handler waits for the others: only N concurrent workers get here.
		select {
		case <-all:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	for i := range workers {
		b.publish(t, messaging.SubjectTutorialEventCreated, "par-"+strconv.Itoa(i), []byte(`{}`), nil)
	}
	testwait.For(t, "all acked", func() bool { return handledTotal(t, b, "ack") == workers })
}

func TestRunnerDrainsInFlightHandlersOnCancel(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	started := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	rn := b.run(t, messaging.RunnerOptions{Handler: func(ctx context.Context, _ jetstream.Msg) error {
		close(started)
		<-release
		finished.Store(true)
		return ctx.Err() // nil unless the drain timed out
	}})
	b.publish(t, messaging.SubjectTutorialEventCreated, "drain-1", []byte(`{}`), nil)
	<-started

	rn.cancel() // shutdown begins while the handler is still running
	close(release)
	if err := rn.Wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !finished.Load() {
		t.Fatal("Run returned before the in-flight handler finished")
	}
	if a := handledTotal(t, b, "ack"); a != 1 {
		t.Fatalf("ack outcomes = %v, want 1 (the in-flight message was acked during drain)", a)
	}
	testwait.For(t, "stream empty", func() bool { return b.streamMsgs(t, messaging.StreamTutorialEvents) == 0 })
}

func TestRunnerDrainTimeoutCancelsHandlers(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	started := make(chan struct{})
	rn := b.run(t, messaging.RunnerOptions{DrainTimeout: 200 * time.Millisecond,
		Handler: func(ctx context.Context, _ jetstream.Msg) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}})
	b.publish(t, messaging.SubjectTutorialEventCreated, "stuck-1", []byte(`{}`), nil)
	<-started

	err := rn.Stop()
	if err == nil || !strings.Contains(err.Error(), "drain timeout") {
		t.Fatalf("Run = %v, want a drain timeout error", err)
	}
	// The cut-off message was handed back (nak), not dead-lettered: the
	// next fetch gets it again.
	if r := handledTotal(t, b, "retry"); r != 1 {
		t.Fatalf("retry outcomes = %v, want 1", r)
	}
	c, err := b.js.Consumer(natstest.Context(t), b.spec.Stream, b.spec.Durable())
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var redelivered uint64
	for m := range batch.Messages() {
		md, _ := m.Metadata()
		redelivered = md.NumDelivered
		_ = m.Ack()
	}
	if redelivered != 2 {
		t.Fatalf("redelivery NumDelivered = %d, want 2", redelivered)
	}
	if n := b.streamMsgs(t, messaging.StreamDLQ); n != 0 {
		t.Fatalf("DLQ has %d messages, want 0", n)
	}
}

// OnDeadLetter is called once per dead letter, whichever way the message got
// there (malformed, last delivery, panic), with the reason the DLQ records
// and the handler's error; never for a message that is retried or acked.
func TestRunnerOnDeadLetterSeesEveryDeadLetter(t *testing.T) {
	t.Parallel()
	b := setup(t, nil) // MaxDeliver 3
	type call struct {
		body, reason string
		err          error
	}
	var (
		mu    sync.Mutex
		calls []call
	)
	b.run(t, messaging.RunnerOptions{
		Handler: func(_ context.Context, msg jetstream.Msg) error {
			switch string(msg.Data()) {
			case "malformed":
				return messaging.Malformed(errors.New("tutorial_event_id missing"))
			case "transient":
				return errors.New("upstream 503")
			case "panic":
				panic("kaboom")
			}
			return nil
		},
		OnDeadLetter: func(_ context.Context, msg jetstream.Msg, reason string, err error) {
			mu.Lock()
			calls = append(calls, call{string(msg.Data()), reason, err})
			mu.Unlock()
		},
	})
	for _, body := range []string{"ok", "malformed", "transient", "panic"} {
		b.publish(t, messaging.SubjectTutorialEventCreated, "odl-"+body, []byte(body), nil)
	}
	testwait.For(t, "three dead letters", func() bool { return handledTotal(t, b, "dead_letter") == 3 })
	testwait.For(t, "one ack", func() bool { return handledTotal(t, b, "ack") == 1 })
	mu.Lock()
	defer mu.Unlock()
	got := map[string]call{}
	for _, c := range calls {
		if _, dup := got[c.body]; dup {
			t.Errorf("OnDeadLetter called twice for %q", c.body)
		}
		got[c.body] = c
	}
	if len(got) != 3 {
		t.Fatalf("OnDeadLetter calls = %+v, want malformed, transient and panic", calls)
	}
	if c := got["malformed"]; c.reason != "permanent error: malformed message: tutorial_event_id missing" || !messaging.IsPermanent(c.err) {
		t.Errorf("malformed: reason %q, err %v", c.reason, c.err)
	}
	if c := got["transient"]; !strings.Contains(c.reason, "max deliveries reached (3)") || c.err == nil || c.err.Error() != "upstream 503" {
		t.Errorf("transient: reason %q, err %v", c.reason, c.err)
	}
	if c := got["panic"]; c.reason != "panic: kaboom" {
		t.Errorf("panic: reason %q", c.reason)
	}
}
