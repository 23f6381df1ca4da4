package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// NATSNode is one node of a loopback nats-server cluster (Options.NATSCluster).
type NATSNode struct {
	Name string
	Port int
	Proc *Proc
}

// startNATSCluster runs n natsd children as one JetStream cluster on
// loopback, each with its own store directory and fixed client and route
// ports, so a node killed and started again rejoins with its store. The
// services get all n client URLs in NATS_URL.
func (s *Stack) startNATSCluster(ctx context.Context, n int) error {
	clientPorts := make([]int, n)
	routePorts := make([]int, n)
	for i := range n {
		clientPorts[i] = freePort()
		routePorts[i] = freePort()
	}
	var urls []string
	for i := range n {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", clientPorts[i]))
	}
	for i := range n {
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", routePorts[j]))
			}
		}
		name := fmt.Sprintf("n%d", i+1)
		p := &Proc{
			Name: "natsd-" + name,
			Args: []string{"--name", name, "--dir", filepath.Join(s.Dir, "nats-"+name),
				"--port", fmt.Sprint(clientPorts[i]), "--cluster-port", fmt.Sprint(routePorts[i]),
				"--routes", strings.Join(routes, ",")},
			Log: filepath.Join(s.Dir, "natsd-"+name+".log"),
			bin: s.Opts.NATSBin,
		}
		if err := p.start(); err != nil {
			return err
		}
		s.procs = append(s.procs, p)
		s.NATSNodes = append(s.NATSNodes, &NATSNode{Name: name, Port: clientPorts[i], Proc: p})
	}
	s.NATSURL = strings.Join(urls, ",")
	return s.WaitNATS(ctx, 60*time.Second)
}

// Node returns the cluster node called name, or nil.
func (s *Stack) Node(name string) *NATSNode {
	for _, n := range s.NATSNodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// StreamCluster reports a stream's leader and replica count as JetStream
// sees them.
func (s *Stack) StreamCluster(ctx context.Context, stream string) (leader string, replicas int, err error) {
	info, err := s.StreamInfo(ctx, stream)
	if err != nil {
		return "", 0, err
	}
	if info.Cluster != nil {
		leader = info.Cluster.Leader
	}
	return leader, info.Config.Replicas, nil
}

// ConsumerCluster reports a consumer's leader and replica count.
func (s *Stack) ConsumerCluster(ctx context.Context, stream, consumer string) (leader string, replicas int, err error) {
	info, err := s.ConsumerInfo(ctx, stream, consumer)
	if err != nil {
		return "", 0, err
	}
	if info.Cluster != nil {
		leader = info.Cluster.Leader
	}
	r := info.Config.Replicas
	if r == 0 { // a consumer inherits its stream's replicas
		_, r, err = s.StreamCluster(ctx, stream)
	}
	return leader, r, err
}

// WaitStreamLeader waits until stream has a leader other than not (empty:
// any) and answers, and returns it.
func (s *Stack) WaitStreamLeader(ctx context.Context, stream, not string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		leader, _, err := s.StreamCluster(cctx, stream)
		cancel()
		if err == nil && leader != "" && leader != not {
			return leader, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("%w: stream %s has no new leader after %s (%v)", ErrTimeout, stream, timeout, last)
}

// TryPublish publishes one message with a short timeout and reports the
// error, for checks that work is refused while JetStream has no quorum.
func (s *Stack) TryPublish(ctx context.Context, subject, msgID string, data []byte, timeout time.Duration) error {
	js, nc, err := s.jetStream()
	if err != nil {
		return err
	}
	defer nc.Close()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err = js.Publish(cctx, subject, data, jetstream.WithMsgID(msgID), jetstream.WithRetryAttempts(0))
	return err
}
