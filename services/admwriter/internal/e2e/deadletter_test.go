package e2e

import (
	"strings"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/messaging"
	"admsync/pkg/metricstest"
	"admsync/pkg/sampledata"
	"admsync/pkg/testwait"
	"admsync/services/admwriter/internal/breaker"
)

// Administrate fails transiently on every allowed delivery (the breaker is
// kept closed): the runner, which alone reads the consumer's MaxDeliver,
// dead-letters the last delivery, and the writer's OnDeadLetter marks the
// bridge failed with that reason and publishes adm.event.failed.
func TestTransientFailuresOnEveryDeliveryFailTheBridge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.spec = testConsumer(time.Second, 3)
	ct := b.template(sampledata.Blended, 2)
	ev := b.seedEvent(eventSpec{Template: ct, Title: "ELO-EXHAUST-26A", Location: "Glasgow", Venue: "Merchant City Rooms"})
	b.sim.SetFaults(admsim.Faults{ErrorRatio: 1})
	b.start(runOpts{workers: 1,
		breaker: breaker.Config{Threshold: 1000, Cooldown: 10 * time.Millisecond, MaxCooldown: 10 * time.Millisecond},
		client:  func(o *administrate.Options) { o.MaxAttempts = 1 }})
	b.enqueue(ev)

	testwait.For(b.t, "a dead letter", func() bool { return len(b.deadLetters()) == 1 })
	dl := b.deadLetters()[0]
	if !strings.Contains(dl.Reason, "max deliveries reached (3)") || dl.Deliveries != 3 {
		t.Errorf("dead letter reason %q after %d deliveries, want max deliveries reached (3)", dl.Reason, dl.Deliveries)
	}
	b.waitState("failed", 1)
	failed := b.results(messaging.SubjectAdmEventFailed)
	if len(failed) != 1 || failed[0]["reason"] != dl.Reason || failed[0]["tutorial_event_id"] != float64(ev) {
		t.Errorf("adm.event.failed = %v, want one with the dead letter's reason", failed)
	}
	if got := metricstest.Flatten(t, b.registry)[`admsync_admwriter_events_total{outcome="failed"}`]; got != 1 {
		t.Errorf("failed events counted %v, want 1", got)
	}
}
