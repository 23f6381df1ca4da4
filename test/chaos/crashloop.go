package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"admsync/pkg/admsim"
)

// maxDeliverReason is the DLQ reason for a message whose deliveries ran out
// without the handler ever answering (crash or stall on each of them).
const maxDeliverReason = "max deliveries reached without an answer"

// crashLoop: a handler that dies on every delivery never returns an error,
// so the runner never dead-letters the message itself; JetStream stops
// after MaxDeliver and only says so in a MAX_DELIVERIES advisory. Here the
// syncer (MaxDeliver 3, the shortest AckWait of the consumers) is
// SIGKILLed each time its consumer hands it the sync request, and started
// again at once. The request must end up in the DLQ with the reason
// above, while the events imported beside it are all written: lost 0.
func crashLoop(ctx context.Context, r *run) error {
	// Latency stretches the sync run so the kill lands inside it.
	if _, _, err := r.upWith(ctx, setup{events: r.cfg.Events / 4, faults: admsim.Faults{Latency: 100 * time.Millisecond}}); err != nil {
		return err
	}
	syncer, err := r.spawn("syncer", "syncer", nil, "serve")
	if err != nil {
		return err
	}
	if _, err := r.importBook(ctx, r.book, "all"); err != nil {
		return err
	}
	if err := r.syncRequest(ctx, "crash-loop"); err != nil {
		return err
	}
	const maxDeliver = 3 // messaging.SyncerConsumer
	var lastSeen uint64
	kills := 0
	deadline := time.Now().Add(4*3*time.Minute + time.Minute)
	for kills < maxDeliver {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the sync request was delivered only %d times in %s", kills, 13*time.Minute)
		}
		delivered, pending, err := r.st.ConsumerState(ctx, "SYNC_REQUESTS", "syncer")
		if err == nil && pending > 0 && delivered > lastSeen {
			syncer.Kill()
			kills++
			lastSeen = delivered
			r.logf("delivery %d of the sync request: syncer killed", kills)
			if err := syncer.Restart(); err != nil {
				return err
			}
		}
		sleep(ctx, 10*time.Millisecond)
	}
	killed := time.Now()
	// The advisory follows the last AckWait (2 min); allow one more.
	var found bool
	var reasons []string
	for time.Since(killed) < 5*time.Minute && !found && ctx.Err() == nil {
		sleep(ctx, 2*time.Second)
		letters, err := r.st.DeadLetters(ctx)
		if err != nil {
			continue
		}
		reasons = reasons[:0]
		for _, l := range letters {
			reason := l.Header.Get("Admsync-Dlq-Reason")
			reasons = append(reasons, l.Subject+": "+reason)
			if l.Subject == "dlq.sync.request.all" && strings.Contains(reason, maxDeliverReason) {
				found = true
			}
		}
	}
	waited := time.Since(killed)
	if !found {
		r.res.problemf("the sync request crashed %d times (MaxDeliver) but no dead letter with reason %q appeared within %s (DLQ: %s)",
			kills, maxDeliverReason, waited.Round(time.Second), strings.Join(reasons, "; "))
	}
	r.res.ExpectedDLQ = 1
	err = r.finish(ctx, time.Now())
	r.res.notef("syncer killed on each of %d deliveries; dead letter %v %.0fs after the last", kills, found, waited.Seconds())
	return err
}
