package messaging

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrDeadLetterNotFound is returned for a DLQ sequence that holds no message.
var ErrDeadLetterNotFound = errors.New("dead letter not found")

// ErrReplayDuplicate is returned when a replay's message id was already
// used inside the target stream's duplicate window, so the stream dropped it.
var ErrReplayDuplicate = errors.New("replay rejected as duplicate: message id already used within the duplicate window")

// DeadLetter is one message in the DLQ stream, decoded from its headers.
type DeadLetter struct {
	Sequence         uint64    // DLQ stream sequence
	Time             time.Time // when the DLQ stored it
	Subject          string    // dlq.<original subject>
	OriginalSubject  string
	OriginalStream   string
	OriginalSequence uint64
	OriginalMsgID    string
	Reason           string
	Cause            Cause // what Reason says about the letter, see ReasonCause
	Deliveries       uint64
	FailedAt         time.Time
	Header           nats.Header
	Payload          []byte
}

// Cause classifies a dead letter by why it was given up on, which decides
// whether replaying it without a change can help.
type Cause string

const (
	// CausePermanent: the handler refused the message itself (malformed,
	// invalid, or a business error from Administrate). Replaying it
	// unchanged fails again; only a change to the data it names can help.
	CausePermanent Cause = "permanent"
	// CauseMalformed: the message could not be read at all (Malformed).
	CauseMalformed Cause = "malformed"
	// CauseRetriesExhausted: transient failures outlasted every delivery.
	CauseRetriesExhausted Cause = "retries exhausted"
	// CauseNoAnswer: deliveries ran out without the handler answering
	// (crashes or ack timeouts), moved here by the max-deliveries capture.
	CauseNoAnswer Cause = "no answer"
	// CausePanic: the handler panicked (a bug: replay once it is fixed).
	CausePanic Cause = "panic"
	// CauseOther: a reason this version does not recognise.
	CauseOther Cause = "other"
)

// Reason prefixes the runner's Policy writes (policy.go); ReasonCause
// reads them back. TestReasonCauseOfPolicyDecisions keeps the two in step.
const (
	reasonPrefixPermanent = "permanent error: "
	reasonPrefixMalformed = reasonPrefixPermanent + "malformed message: "
	reasonPrefixExhausted = "max deliveries reached ("
	reasonPrefixPanic     = "panic: "
)

// ReasonCause classifies a dead letter's reason header.
func ReasonCause(reason string) Cause {
	switch {
	case reason == ReasonNoAnswer:
		return CauseNoAnswer
	case strings.HasPrefix(reason, reasonPrefixMalformed):
		return CauseMalformed
	case strings.HasPrefix(reason, reasonPrefixPermanent):
		return CausePermanent
	case strings.HasPrefix(reason, reasonPrefixExhausted):
		return CauseRetriesExhausted
	case strings.HasPrefix(reason, reasonPrefixPanic):
		return CausePanic
	}
	return CauseOther
}

// Poison reports whether the letter could not even be read, so a replay
// without a change would only fail again. Services know more of their own
// permanent failures (the admwriter's dlq command adds Administrate's refusals).
func (d DeadLetter) Poison() bool { return d.Cause == CauseMalformed }

// DLQ gives operators list, get, delete and replay over the DLQ stream.
type DLQ struct {
	js     jetstream.JetStream
	stream string
}

// NewDLQ returns helpers over the DLQ stream.
func NewDLQ(js jetstream.JetStream) *DLQ {
	return &DLQ{js: js, stream: StreamDLQ}
}

// ListOptions filters List.
type ListOptions struct {
	// FromSequence starts the listing at this DLQ sequence (default 1).
	FromSequence uint64
	// OriginalSubject keeps only dead letters of this subject (wildcards allowed).
	OriginalSubject string
	// ReasonContains keeps only dead letters whose reason contains it
	// (case-insensitive).
	ReasonContains string
	// Cause keeps only dead letters of this cause.
	Cause Cause
	// OlderThan keeps only dead letters stored before this time.
	OlderThan time.Time
	// Limit caps the result (default 100).
	Limit int
}

func (o ListOptions) match(dl DeadLetter) bool {
	if o.ReasonContains != "" && !strings.Contains(strings.ToLower(dl.Reason), strings.ToLower(o.ReasonContains)) {
		return false
	}
	if o.Cause != "" && dl.Cause != o.Cause {
		return false
	}
	if !o.OlderThan.IsZero() && !dl.Time.Before(o.OlderThan) {
		return false
	}
	return true
}

// List returns dead letters in sequence order.
func (d *DLQ) List(ctx context.Context, opts ListOptions) ([]DeadLetter, error) {
	s, err := d.js.Stream(ctx, d.stream)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	filter := SubjectDLQ
	if opts.OriginalSubject != "" {
		filter = DLQSubjectPrefix + opts.OriginalSubject
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = 100
	}
	seq := max(opts.FromSequence, 1)
	var out []DeadLetter
	for len(out) < limit {
		// "Next message at or after seq on filter" skips deleted sequences.
		raw, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("list dead letters at sequence %d: %w", seq, err)
		}
		if dl := decodeDeadLetter(raw); opts.match(dl) {
			out = append(out, dl)
		}
		seq = raw.Sequence + 1
	}
	return out, nil
}

// Get returns the dead letter at DLQ sequence seq.
func (d *DLQ) Get(ctx context.Context, seq uint64) (DeadLetter, error) {
	s, err := d.js.Stream(ctx, d.stream)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("get dead letter %d: %w", seq, err)
	}
	raw, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return DeadLetter{}, fmt.Errorf("get dead letter %d: %w", seq, ErrDeadLetterNotFound)
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("get dead letter %d: %w", seq, err)
	}
	return decodeDeadLetter(raw), nil
}

// Delete removes the dead letter at seq.
func (d *DLQ) Delete(ctx context.Context, seq uint64) error {
	s, err := d.js.Stream(ctx, d.stream)
	if err != nil {
		return fmt.Errorf("delete dead letter %d: %w", seq, err)
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) {
			return fmt.Errorf("delete dead letter %d: %w: %w", seq, ErrDeadLetterNotFound, err)
		}
		return fmt.Errorf("delete dead letter %d: %w", seq, err)
	}
	return nil
}

// Replayed describes a republished dead letter.
type Replayed struct {
	MsgID    string // the fresh Nats-Msg-Id
	Subject  string // the original subject it went back to
	Stream   string // the stream that stored it
	Sequence uint64 // its sequence there
}

// ReplayMsgID is the fresh Nats-Msg-Id of the attempt-th replay of the dead
// letter at dlqSeq: unique per replay, so the original stream's dedupe does
// not drop it, yet stable, so a retried replay command is deduplicated.
func ReplayMsgID(originalMsgID string, dlqSeq uint64, attempt int) string {
	return fmt.Sprintf("%s:replay:%d:%d", originalMsgID, dlqSeq, attempt)
}

// Replay republishes the payload and application headers of the dead letter
// at seq to its original subject with Nats-Msg-Id
// ReplayMsgID(original id, seq, attempt). attempt numbers the operator's
// replays of this dead letter (1 for the first); reusing one within the
// duplicate window returns ErrReplayDuplicate. The dead letter is kept:
// delete it once the replay has succeeded.
func (d *DLQ) Replay(ctx context.Context, seq uint64, attempt int) (Replayed, error) {
	if attempt < 1 {
		return Replayed{}, fmt.Errorf("replay dead letter %d: attempt must be >= 1, got %d", seq, attempt)
	}
	dl, err := d.Get(ctx, seq)
	if err != nil {
		return Replayed{}, fmt.Errorf("replay: %w", err)
	}
	if dl.OriginalSubject == "" {
		return Replayed{}, fmt.Errorf("replay dead letter %d: no %s header", seq, HeaderOriginalSubject)
	}
	origID := dl.OriginalMsgID
	if origID == "" {
		origID = fmt.Sprintf("%s:%d", dl.OriginalStream, dl.OriginalSequence)
	}
	msgID := ReplayMsgID(origID, seq, attempt)
	h := nats.Header{}
	for k, v := range dl.Header {
		if strings.HasPrefix(k, "Admsync-") || strings.HasPrefix(k, "Nats-") {
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	h.Set(HeaderReplayOf, strconv.FormatUint(seq, 10))
	ack, err := d.js.PublishMsg(ctx, &nats.Msg{Subject: dl.OriginalSubject, Header: h, Data: dl.Payload},
		jetstream.WithMsgID(msgID))
	if err != nil {
		return Replayed{}, fmt.Errorf("replay dead letter %d to %s: %w", seq, dl.OriginalSubject, err)
	}
	r := Replayed{MsgID: msgID, Subject: dl.OriginalSubject, Stream: ack.Stream, Sequence: ack.Sequence}
	if ack.Duplicate {
		return r, fmt.Errorf("replay dead letter %d as %s: %w", seq, msgID, ErrReplayDuplicate)
	}
	return r, nil
}

func decodeDeadLetter(raw *jetstream.RawStreamMsg) DeadLetter {
	h := raw.Header
	dl := DeadLetter{
		Sequence:        raw.Sequence,
		Time:            raw.Time,
		Subject:         raw.Subject,
		OriginalSubject: h.Get(HeaderOriginalSubject),
		OriginalStream:  h.Get(HeaderOriginalStream),
		OriginalMsgID:   h.Get(HeaderOriginalMsgID),
		Reason:          h.Get(HeaderDLQReason),
		Cause:           ReasonCause(h.Get(HeaderDLQReason)),
		Header:          h,
		Payload:         raw.Data,
	}
	if dl.OriginalSubject == "" {
		dl.OriginalSubject = strings.TrimPrefix(raw.Subject, DLQSubjectPrefix)
	}
	dl.OriginalSequence, _ = strconv.ParseUint(h.Get(HeaderOriginalSequence), 10, 64)
	dl.Deliveries, _ = strconv.ParseUint(h.Get(HeaderDeliveries), 10, 64)
	dl.FailedAt, _ = time.Parse(time.RFC3339Nano, h.Get(HeaderFailedAt))
	return dl
}
