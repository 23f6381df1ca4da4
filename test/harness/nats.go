package harness

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATSChild runs nats-server as a child process on a fixed loopback
// port, so that clients reconnect to the same URL after it is killed and
// started again on the same store.
func (s *Stack) startNATSChild(ctx context.Context) error {
	_, port, err := net.SplitHostPort(freeAddr())
	if err != nil {
		return err
	}
	p := &Proc{
		Name: "natsd",
		Args: []string{"--dir", filepath.Join(s.Dir, "nats"), "--port", port},
		Log:  filepath.Join(s.Dir, "natsd.log"),
		bin:  s.Opts.NATSBin,
	}
	if err := p.start(); err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	s.NATSProc = p
	n, _ := strconv.Atoi(port)
	s.NATSURL = fmt.Sprintf("nats://127.0.0.1:%d", n)
	return s.WaitNATS(ctx, 30*time.Second)
}

// WaitNATS waits until the server answers JetStream requests: accepting
// connections is not enough after a restart, JetStream recovers its
// streams from the store first.
func (s *Stack) WaitNATS(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if s.NATSProc != nil && !s.NATSProc.Running() {
			return fmt.Errorf("nats-server exited; see %s", s.NATSProc.Log)
		}
		if last = s.pingJetStream(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w: nats-server at %s not ready after %s: %v", ErrTimeout, s.NATSURL, timeout, last)
}

func (s *Stack) pingJetStream(ctx context.Context) error {
	js, nc, err := s.jetStream(nats.Timeout(time.Second), nats.NoReconnect())
	if err != nil {
		return err
	}
	defer nc.Close()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(cctx)
	return err
}

// RestartNATS restarts the broker on the same port and store. Graceful
// shuts it down cleanly (the embedded server's Restart, or SIGTERM to the
// child); otherwise the child is SIGKILLed, which needs Options.NATSBin.
func (s *Stack) RestartNATS(ctx context.Context, graceful bool) error {
	switch {
	case s.NATSProc == nil && graceful:
		if err := s.NATS.Restart(); err != nil {
			return err
		}
	case s.NATSProc == nil:
		return fmt.Errorf("a hard kill of nats-server needs it as a child process (Options.NATSBin)")
	case graceful:
		s.NATSProc.Stop(15 * time.Second)
		if err := s.NATSProc.Restart(); err != nil {
			return err
		}
	default:
		s.NATSProc.Kill()
		if err := s.NATSProc.Restart(); err != nil {
			return err
		}
	}
	return s.WaitNATS(ctx, 30*time.Second)
}

// ConsumerBacklog reports the admwriter consumer's messages not yet
// delivered and delivered but not acknowledged.
func (s *Stack) ConsumerBacklog(ctx context.Context) (pending, ackPending uint64, err error) {
	info, err := s.ConsumerInfo(ctx, "TUTORIAL_EVENTS", "admwriter")
	if err != nil {
		return 0, 0, err
	}
	return info.NumPending, uint64(info.NumAckPending), nil
}

// StreamStored is how many messages a stream has ever stored (its last
// sequence): with deduplication by Nats-Msg-Id it equals the distinct ids
// published, however often a publisher retried.
func (s *Stack) StreamStored(ctx context.Context, stream string) (uint64, error) {
	info, err := s.StreamInfo(ctx, stream)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// StreamInfo reads a stream's state on a connection of its own.
func (s *Stack) StreamInfo(ctx context.Context, stream string) (*jetstream.StreamInfo, error) {
	js, nc, err := s.jetStream()
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	return st.Info(ctx)
}

// Publish sends one JetStream message (e.g. a poison payload) and waits
// for its acknowledgement.
func (s *Stack) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	js, nc, err := s.jetStream()
	if err != nil {
		return err
	}
	defer nc.Close()
	_, err = js.Publish(ctx, subject, data, jetstream.WithMsgID(msgID))
	return err
}

// jetStream connects to the stack's NATS (2 s connect timeout unless opts
// say otherwise); the caller closes the connection.
func (s *Stack) jetStream(opts ...nats.Option) (jetstream.JetStream, *nats.Conn, error) {
	nc, err := nats.Connect(s.NATSURL, append([]nats.Option{nats.Timeout(2 * time.Second)}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, nc, nil
}

// ConsumerState is what a crash-loop driver watches: how many deliveries
// the consumer made (redeliveries included) and how many wait for an ack.
func (s *Stack) ConsumerState(ctx context.Context, stream, consumer string) (delivered uint64, ackPending int, err error) {
	info, err := s.ConsumerInfo(ctx, stream, consumer)
	if err != nil {
		return 0, 0, err
	}
	return info.Delivered.Consumer, info.NumAckPending, nil
}

// ConsumerInfo reads a durable consumer's state on a connection of its own.
func (s *Stack) ConsumerInfo(ctx context.Context, stream, consumer string) (*jetstream.ConsumerInfo, error) {
	js, nc, err := s.jetStream()
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	c, err := js.Consumer(ctx, stream, consumer)
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

// DeadLetter is one message of the DLQ stream.
type DeadLetter struct {
	Seq     uint64
	Subject string
	Header  nats.Header
	Data    []byte
}

// DeadLetters reads every message of the DLQ stream.
func (s *Stack) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	js, nc, err := s.jetStream()
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	st, err := js.Stream(ctx, "DLQ")
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []DeadLetter
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		out = append(out, DeadLetter{Seq: seq, Subject: m.Subject, Header: m.Header, Data: m.Data})
	}
	return out, nil
}
