package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"admsync/test/harness"
)

// clusterSetup is a whole pipeline on a 3-node JetStream cluster whose
// services are asked for R3 streams and consumers.
var clusterSetup = setup{natsCluster: 3, env: []string{"NATS_REPLICAS=3"}}

// clusterServices starts the relay, one admwriter and the syncer's request
// consumer, and checks the work streams and their consumers really are
// replicated three times: on R1 a node loss is an outage or a loss, and the
// scenario would prove nothing.
func (r *run) clusterServices(ctx context.Context) (relay, writer *harness.Proc, err error) {
	relay, ws, err := r.services(1)
	if err != nil {
		return nil, nil, err
	}
	if _, err := r.spawn("syncer", "syncer", nil, "serve"); err != nil {
		return nil, nil, err
	}
	// The services declare the topology as they start.
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range [][2]string{{"TUTORIAL_EVENTS", "admwriter"}, {"SYNC_REQUESTS", "syncer"}} {
		for {
			_, sr, serr := r.st.StreamCluster(ctx, c[0])
			_, cr, cerr := r.st.ConsumerCluster(ctx, c[0], c[1])
			if serr == nil && cerr == nil {
				if sr != 3 || cr != 3 {
					r.res.problemf("stream %s is R%d and consumer %s R%d, want R3 (services started with NATS_REPLICAS=3)", c[0], sr, c[1], cr)
				}
				break
			}
			if time.Now().After(deadline) {
				return nil, nil, fmt.Errorf("stream %s / consumer %s not declared after 30s: %v %v", c[0], c[1], serr, cerr)
			}
			sleep(ctx, 200*time.Millisecond)
		}
	}
	return relay, ws[0], nil
}

// syncRequest asks `syncer serve` for a full sync, as an operator would.
func (r *run) syncRequest(ctx context.Context, id string) error {
	return r.st.Publish(ctx, "sync.request.all", "chaos-sync-"+id, []byte(`{"no_prompt": true}`))
}

// syncRunsOK counts sync stage runs that finished ok.
func (r *run) syncRunsOK(ctx context.Context) int {
	var n int
	_ = r.st.Pool.QueryRow(ctx, `SELECT count(*) FROM admsync.sync_runs WHERE status = 'ok'`).Scan(&n)
	return n
}

// waitSync waits until more than before sync stage runs finished ok.
func (r *run) waitSync(ctx context.Context, before int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if r.syncRunsOK(ctx) > before {
			return true
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return false
		}
	}
	return false
}

// natsLeaderLoss: the node leading TUTORIAL_EVENTS is SIGKILLed while a
// workbook is being imported, relayed and written and a sync request is
// queued; the other two keep a quorum, elect a new leader and carry on.
// The node is started again on its store and must catch up. Recovery is
// from the kill until every accepted event was written.
func natsLeaderLoss(ctx context.Context, r *run) error {
	r.supervised = true
	if err := r.up(ctx, clusterSetup); err != nil {
		return err
	}
	if _, _, err := r.clusterServices(ctx); err != nil {
		return err
	}
	parts := split(r.book, 3)
	if err := r.importUntilBusy(ctx, parts[0], "part-1", 3); err != nil {
		return err
	}
	syncsBefore := r.syncRunsOK(ctx)
	if err := r.syncRequest(ctx, "1"); err != nil {
		return err
	}
	imported := make(chan error, 1)
	go func() {
		_, err := r.importBook(ctx, parts[1], "part-2")
		imported <- err
	}()
	sleep(ctx, r.jitter(0, 500*time.Millisecond))
	leader, _, err := r.st.StreamCluster(ctx, "TUTORIAL_EVENTS")
	if err != nil {
		return err
	}
	node := r.st.Node(leader)
	if node == nil {
		return fmt.Errorf("stream leader %q is none of the cluster's nodes", leader)
	}
	node.Proc.Kill()
	killed := time.Now()
	r.logf("killed node %s, the leader of TUTORIAL_EVENTS", leader)
	newLeader, err := r.st.WaitStreamLeader(ctx, "TUTORIAL_EVENTS", leader, time.Minute)
	if err != nil {
		r.res.problemf("no new leader after the leader's node died: %v", err)
	}
	elected := time.Since(killed)
	if err := <-imported; err != nil {
		return err
	}
	// Work keeps arriving while the node is down.
	if _, err := r.importBook(ctx, parts[2], "part-3"); err != nil {
		return err
	}
	sleep(ctx, r.jitter(3*time.Second, 6*time.Second))
	if err := node.Proc.Restart(); err != nil {
		return err
	}
	back := time.Since(killed)
	r.logf("node %s started again %.1fs after the kill; new leader %s", leader, back.Seconds(), newLeader)
	err = r.finish(ctx, killed)
	if !r.waitSync(ctx, syncsBefore, 30*time.Second) {
		r.res.problemf("the sync request queued across the node loss never completed")
	}
	r.res.notef("killed leader %s; new leader %s after %.1fs; node back after %.1fs; recovery = kill to all written",
		leader, newLeader, elected.Seconds(), back.Seconds())
	return err
}

// natsQuorumLoss: two of the three nodes are SIGKILLed, so JetStream has
// no quorum. The system must stop accepting work visibly — publishes are
// refused, an import's messages stay in the outbox, the services report
// not ready — and carry on without loss once the nodes are back.
func natsQuorumLoss(ctx context.Context, r *run) error {
	r.supervised = true
	if err := r.up(ctx, clusterSetup); err != nil {
		return err
	}
	relay, writer, err := r.clusterServices(ctx)
	if err != nil {
		return err
	}
	parts := split(r.book, 2)
	if err := r.importUntilBusy(ctx, parts[0], "part-1", 3); err != nil {
		return err
	}
	leader, _, err := r.st.StreamCluster(ctx, "TUTORIAL_EVENTS")
	if err != nil {
		return err
	}
	var down []*harness.NATSNode
	for _, n := range r.st.NATSNodes {
		if n.Name == leader {
			down = append(down, n)
		}
	}
	for _, n := range r.st.NATSNodes {
		if len(down) < 2 && n.Name != leader {
			down = append(down, n)
		}
	}
	var names []string
	for _, n := range down {
		n.Proc.Kill()
		names = append(names, n.Name)
	}
	killed := time.Now()
	r.logf("killed nodes %s: no JetStream quorum", strings.Join(names, ", "))
	// Work arrives while there is no quorum: it must wait in the outbox.
	if _, err := r.importBook(ctx, parts[1], "part-2"); err != nil {
		return err
	}
	sleep(ctx, 5*time.Second)
	var notes []string
	if perr := r.st.TryPublish(ctx, "sync.request.all", "chaos-quorum-probe", []byte(`{"no_prompt": true}`), 5*time.Second); perr == nil {
		r.res.problemf("a publish was accepted without a quorum")
	} else {
		notes = append(notes, "publish refused ("+firstLine(perr.Error())+")")
	}
	p, _ := r.st.Progress(ctx)
	if p.Unsent == 0 {
		r.res.problemf("no outbox row waits for the broker: the import's messages went somewhere without a quorum")
	} else {
		notes = append(notes, fmt.Sprintf("outbox kept %d rows", p.Unsent))
	}
	for _, pr := range []*harness.Proc{relay, writer} {
		if ok, body := pr.Ready(ctx); ok {
			r.res.problemf("%s reports ready without a JetStream quorum (/readyz: %s)", pr.Name, oneLine(body))
		} else {
			notes = append(notes, pr.Name+" not ready")
		}
	}
	sleep(ctx, r.jitter(2*time.Second, 5*time.Second))
	for _, n := range down {
		if err := n.Proc.Restart(); err != nil {
			return err
		}
	}
	healed := time.Now()
	r.logf("nodes back after %.1fs", healed.Sub(killed).Seconds())
	err = r.finish(ctx, healed)
	r.res.notef("killed %s for %.1fs: %s", strings.Join(names, "+"), healed.Sub(killed).Seconds(), strings.Join(notes, ", "))
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
