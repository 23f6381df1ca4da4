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
// redelivered message again is deduplicated by the DLQ stream.
func DeadLetterMsgID(stream string, seq uint64) string {
	return fmt.Sprintf("dlq:%s:%d", stream, seq)
}

// newDeadLetter builds the DLQ copy of msg: same payload and application
// headers, on dlq.<subject>, with the Admsync-* headers saying why and from where.
func newDeadLetter(msg jetstream.Msg, meta *jetstream.MsgMetadata, reason string, failedAt time.Time) *nats.Msg {
	h := nats.Header{}
	for k, v := range msg.Headers() {
		// Nats-* headers are JetStream control headers (msg id, expected
		// stream/sequence); copied, they would be enforced on the DLQ publish.
		if strings.HasPrefix(k, "Nats-") {
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	if id := msg.Headers().Get(jetstream.MsgIDHeader); id != "" {
		h.Set(HeaderOriginalMsgID, id)
	}
	h.Set(HeaderDLQReason, headerSafe(reason))
	h.Set(HeaderOriginalSubject, msg.Subject())
	h.Set(HeaderOriginalStream, meta.Stream)
	h.Set(HeaderOriginalSequence, strconv.FormatUint(meta.Sequence.Stream, 10))
	h.Set(HeaderDeliveries, strconv.FormatUint(meta.NumDelivered, 10))
	h.Set(HeaderFailedAt, failedAt.UTC().Format(time.RFC3339Nano))
	return &nats.Msg{
		Subject: DLQSubjectPrefix + msg.Subject(),
		Header:  h,
		Data:    msg.Data(),
	}
}

// deadLetter publishes msg's dead letter, waits for the DLQ's PubAck, and
// only then terminates the original. The order matters: on a work-queue
// stream a terminated message is deleted, so terminating first could lose it.
func deadLetter(ctx context.Context, js jetstream.JetStream, msg jetstream.Msg, meta *jetstream.MsgMetadata, reason string) error {
	dl := newDeadLetter(msg, meta, reason, time.Now())
	_, err := js.PublishMsg(ctx, dl,
		jetstream.WithMsgID(DeadLetterMsgID(meta.Stream, meta.Sequence.Stream)),
		jetstream.WithExpectStream(StreamDLQ))
	if err != nil {
		return fmt.Errorf("publish dead letter of %s/%d to %s: %w", meta.Stream, meta.Sequence.Stream, dl.Subject, err)
	}
	if err := msg.TermWithReason(headerSafe(reason)); err != nil {
		return fmt.Errorf("terminate %s/%d after dead-lettering: %w", meta.Stream, meta.Sequence.Stream, err)
	}
	return nil
}
