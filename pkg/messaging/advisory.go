package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/ctxtime"
)

// A handler that crashes or hangs on every delivery never returns an error,
// so the runner never dead-letters its message: when MaxDeliver is reached
// the server stops delivering it and leaves it in the work-queue stream,
// where nothing shows it. The server does announce it, on
// $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>. A stream
// per work-queue stream keeps those advisories (they are published once, to
// whoever listens at that moment, so a plain subscription would miss the
// ones sent while the service was down), and a durable consumer per work
// consumer moves each reported message to the DLQ.
//
// Who runs it: the service that consumes the work consumer, from its
// Monitor (every serve command runs one for its own consumer), so the
// capture lives and dies with the consumer it watches and its NATS user
// needs only its own streams.

// SubjectMaxDeliveriesAdvisoryPrefix is followed by <stream>.<consumer>.
const SubjectMaxDeliveriesAdvisoryPrefix = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."

// ReasonNoAnswer is the dead-letter reason of a message whose deliveries
// ran out without the handler ever answering (a crash or an ack timeout on
// each one).
const ReasonNoAnswer = "max deliveries reached without an answer"

// MaxDeliveriesStreamName is the stream keeping the max-deliveries
// advisories of the consumers of stream.
func MaxDeliveriesStreamName(stream string) string { return stream + "_MAX_DELIVERIES" }

// MaxDeliveriesStream keeps the max-deliveries advisories of stream's
// consumers until the capture has moved each message to the DLQ (a work
// queue: a handled advisory is deleted). One replica; NewTopology applies
// the configured count.
func MaxDeliveriesStream(stream string) jetstream.StreamConfig {
	return streamDef{
		name:        MaxDeliveriesStreamName(stream),
		subject:     SubjectMaxDeliveriesAdvisoryPrefix + stream + ".>",
		description: "max-deliveries advisories of " + stream + " consumers, to be moved to the DLQ",
		workQueue:   true,
		// An advisory is published once and cannot be sent again, so a
		// full stream drops the oldest rather than refusing the newest.
		dropOldest: true,
		maxAge:     DLQMaxAge,
		maxMsgs:    100_000,
		duplicates: defaultDupesWindow,
	}.config(1)
}

// MaxDeliveriesConsumer is the durable consumer that captures work's
// max-deliveries advisories. Its MaxDeliver is high and its retries slow:
// an advisory is only ever retried because NATS itself is failing.
func MaxDeliveriesConsumer(work ConsumerSpec) ConsumerSpec {
	const ackWait = 30 * time.Second
	return consumerDef{
		stream:        MaxDeliveriesStreamName(work.Stream),
		durable:       work.Durable() + "-max-deliveries",
		description:   "moves messages " + work.Durable() + " gave up on without an answer to the DLQ",
		filter:        SubjectMaxDeliveriesAdvisoryPrefix + work.Stream + "." + work.Durable(),
		ackWait:       ackWait,
		maxDeliver:    200,
		maxAckPending: 16,
		retry:         []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, time.Minute},
	}.spec()
}

// maxDeliveriesAdvisory is the part of nats-server's
// io.nats.jetstream.advisory.v1.max_deliver advisory the capture reads.
type maxDeliveriesAdvisory struct {
	Type       string    `json:"type"`
	Time       time.Time `json:"timestamp"`
	Stream     string    `json:"stream"`
	Consumer   string    `json:"consumer"`
	StreamSeq  uint64    `json:"stream_seq"`
	Deliveries uint64    `json:"deliveries"`
}

// maxDeliveriesAdvisoryType is the advisory's schema type.
const maxDeliveriesAdvisoryType = "io.nats.jetstream.advisory.v1.max_deliver"

// CaptureOptions configures a Capture.
type CaptureOptions struct {
	// Consumer is the work consumer whose exhausted messages are captured.
	Consumer ConsumerSpec
	// Replicas of the advisory stream (default 1).
	Replicas   int
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Capture moves the messages one work consumer gave up on without an
// answer from its work-queue stream to the DLQ.
type Capture struct {
	js      jetstream.JetStream
	opts    CaptureOptions
	logger  *slog.Logger
	metrics *metrics
}

// NewCapture registers the capture's metric.
func NewCapture(js jetstream.JetStream, opts CaptureOptions) (*Capture, error) {
	if opts.Consumer.Stream == "" || opts.Consumer.Durable() == "" {
		return nil, errors.New("new max-deliveries capture: consumer stream and durable are required")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("new max-deliveries capture: %w", err)
	}
	return &Capture{js: js, opts: opts, metrics: m,
		logger: logger.With("component", "max-deliveries-capture", "stream", opts.Consumer.Stream, "consumer", opts.Consumer.Durable())}, nil
}

// Ensure declares the advisory stream and the capture's durable consumer.
func (c *Capture) Ensure(ctx context.Context) error {
	s := MaxDeliveriesStream(c.opts.Consumer.Stream)
	s.Replicas = max(c.opts.Replicas, 1)
	if _, err := EnsureStream(ctx, c.js, s); err != nil {
		return err
	}
	_, err := EnsureConsumer(ctx, c.js, MaxDeliveriesConsumer(c.opts.Consumer))
	return err
}

// Run declares the stream and consumer (retrying while NATS refuses) and
// then handles advisories until ctx ends.
func (c *Capture) Run(ctx context.Context) error {
	for failures := 1; ; failures++ {
		ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.Ensure(ectx)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		c.logger.Warn("cannot declare the max-deliveries capture yet; retrying", "error", err)
		ctxtime.Sleep(ctx, fetchBackoff(failures))
	}
	r, err := NewRunner(c.js, RunnerOptions{
		Consumer: MaxDeliveriesConsumer(c.opts.Consumer), Handler: c.Handle, Workers: 2,
		Logger: c.opts.Logger, Registerer: c.opts.Registerer,
	})
	if err != nil {
		return err
	}
	return r.Run(ctx)
}

// Handle moves the message one advisory names to the DLQ. It is safe to
// repeat: the dead letter's Nats-Msg-Id is the same whoever writes it (this
// capture again, or the runner that dead-lettered the same delivery), and a
// message no longer in its stream was already moved, acked or terminated.
func (c *Capture) Handle(ctx context.Context, msg jetstream.Msg) error {
	var adv maxDeliveriesAdvisory
	if err := json.Unmarshal(msg.Data(), &adv); err != nil {
		return Permanent(fmt.Errorf("decode max-deliveries advisory on %s: %w", msg.Subject(), err))
	}
	if adv.Type != maxDeliveriesAdvisoryType || adv.Stream != c.opts.Consumer.Stream ||
		adv.Consumer != c.opts.Consumer.Durable() || adv.StreamSeq == 0 {
		return Permanent(fmt.Errorf("not a max-deliveries advisory of %s/%s: type %q stream %q consumer %q seq %d",
			c.opts.Consumer.Stream, c.opts.Consumer.Durable(), adv.Type, adv.Stream, adv.Consumer, adv.StreamSeq))
	}
	moved, err := MoveToDLQ(ctx, c.js, adv.Stream, adv.StreamSeq, adv.Deliveries, ReasonNoAnswer)
	if err != nil {
		return err
	}
	if moved {
		c.metrics.maxDeliveries.WithLabelValues(adv.Consumer).Inc()
		c.logger.Error("message dead-lettered: deliveries ran out without an answer",
			"stream_seq", adv.StreamSeq, "deliveries", adv.Deliveries)
	}
	return nil
}

// MoveToDLQ copies the message at stream/seq to the DLQ with reason and
// then deletes it from stream. It returns false when the message is no
// longer there (already handled, terminated or moved). Copy before delete:
// a crash in between leaves a duplicate the DLQ drops on the next try.
func MoveToDLQ(ctx context.Context, js jetstream.JetStream, stream string, seq, deliveries uint64, reason string) (bool, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return false, fmt.Errorf("move %s/%d to the DLQ: %w", stream, seq, err)
	}
	raw, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("move %s/%d to the DLQ: read it: %w", stream, seq, err)
	}
	src := letterSource{subject: raw.Subject, header: raw.Header, data: raw.Data,
		stream: stream, seq: seq, deliveries: deliveries}
	if _, err := publishDeadLetter(ctx, js, src, reason, time.Now()); err != nil {
		return false, fmt.Errorf("move %s/%d to the DLQ: %w", stream, seq, err)
	}
	if err := s.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) &&
		!errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) {
		return false, fmt.Errorf("move %s/%d to the DLQ: delete it from %s: %w", stream, seq, stream, err)
	}
	return true, nil
}
