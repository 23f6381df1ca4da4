package messaging

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeadLetterMsgID is the Nats-Msg-Id of the dead letter of stream/seq, so a
// worker that dies between the DLQ PubAck and Term and dead-letters the
// redelivered message again, or the max-deliveries capture that moves the
// same message, is deduplicated by the DLQ stream.
func DeadLetterMsgID(stream string, seq uint64) string {
	return fmt.Sprintf("dlq:%s:%d", stream, seq)
}

// letterSource is the message being dead-lettered: a delivery the runner
// holds, or a message the max-deliveries capture read from its stream.
type letterSource struct {
	subject    string
	header     nats.Header
	data       []byte
	stream     string
	seq        uint64
	deliveries uint64
}

// newDeadLetter builds the DLQ copy of src: same payload and application
// headers, on dlq.<subject>, with the Admsync-* headers saying why and from where.
func newDeadLetter(src letterSource, reason string, failedAt time.Time) *nats.Msg {
	h := nats.Header{}
	for k, v := range src.header {
		// Nats-* headers are JetStream control headers (msg id, expected
		// stream/sequence); copied, they would be enforced on the DLQ publish.
		if strings.HasPrefix(k, "Nats-") {
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	if id := src.header.Get(jetstream.MsgIDHeader); id != "" {
		h.Set(HeaderOriginalMsgID, id)
	}
	h.Set(HeaderDLQReason, headerSafe(reason))
	h.Set(HeaderOriginalSubject, src.subject)
	h.Set(HeaderOriginalStream, src.stream)
	h.Set(HeaderOriginalSequence, strconv.FormatUint(src.seq, 10))
	h.Set(HeaderDeliveries, strconv.FormatUint(src.deliveries, 10))
	h.Set(HeaderFailedAt, failedAt.UTC().Format(time.RFC3339Nano))
	return &nats.Msg{
		Subject: DLQSubjectPrefix + src.subject,
		Header:  h,
		Data:    src.data,
	}
}

// publishDeadLetter stores src's dead letter and waits for the DLQ's PubAck.
// It reports whether the DLQ already held it (a duplicate of an earlier try).
func publishDeadLetter(ctx context.Context, js jetstream.JetStream, src letterSource, reason string, failedAt time.Time) (bool, error) {
	dl := newDeadLetter(src, reason, failedAt)
	ack, err := js.PublishMsg(ctx, dl,
		jetstream.WithMsgID(DeadLetterMsgID(src.stream, src.seq)),
		jetstream.WithExpectStream(StreamDLQ))
	if err != nil {
		return false, fmt.Errorf("publish dead letter of %s/%d to %s: %w", src.stream, src.seq, dl.Subject, err)
	}
	return ack.Duplicate, nil
}

// deadLetter publishes msg's dead letter, waits for the DLQ's PubAck, and
// only then terminates the original. The order matters: on a work-queue
// stream a terminated message is deleted, so terminating first could lose it.
func deadLetter(ctx context.Context, js jetstream.JetStream, msg jetstream.Msg, meta *jetstream.MsgMetadata, reason string) error {
	src := letterSource{subject: msg.Subject(), header: msg.Headers(), data: msg.Data(),
		stream: meta.Stream, seq: meta.Sequence.Stream, deliveries: meta.NumDelivered}
	if _, err := publishDeadLetter(ctx, js, src, reason, time.Now()); err != nil {
		return err
	}
	if err := msg.TermWithReason(headerSafe(reason)); err != nil {
		return fmt.Errorf("terminate %s/%d after dead-lettering: %w", meta.Stream, meta.Sequence.Stream, err)
	}
	return nil
}
