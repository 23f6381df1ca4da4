package e2e

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/messaging"
	"admsync/pkg/metricstest"
	"admsync/pkg/sampledata"
	"admsync/pkg/testwait"
	"admsync/services/admwriter/internal/breaker"
	"admsync/services/admwriter/internal/cli"
	"admsync/services/admwriter/internal/failpoint"
)

// The simulator applies the create, then drops the connection: the client
// reports the outcome as unknown, the writer reconciles, adopts the event
// and finishes it. One event, no dead letter.
func TestCreateAppliedThenConnectionDropped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ct := b.template(sampledata.Blended, 1)
	ev := b.seedEvent(eventSpec{Template: ct, Title: "ELO-DROP-26A", Location: "London", Venue: "Riverside Rooms"})
	b.sim.SetFaults(admsim.Faults{DropAfterApply: 1})
	b.start(runOpts{workers: 2})
	b.enqueue(ev)
	b.waitState("done", 1)

	b.oneEvent("ELO-DROP-26A")
	calls := b.calls()
	if calls["CreateBlendedEvent"] != 1 || calls["Events"] != 1 || calls["EventWithSessions"] != 1 {
		t.Errorf("calls %v: want one create, one reconcile lookup, one sessions read", calls)
	}
	ext, _ := b.bridge(ev)
	if got := len(b.sim.Sessions(ext)); got != ct.Sessions {
		t.Errorf("%d sessions", got)
	}
	b.noDeadLetters()
}

// The process stops between the create and the bridge write (in-process
// failpoint: the handler stops there with no further write and no release,
// as a killed process would), then the consumer is restarted: the claim
// expires, the next delivery reconciles and adopts. One event.
func TestCrashBetweenCreateAndBridgeWrite(t *testing.T) {
	t.Parallel()
	for _, point := range []string{failpoint.AfterCreate, failpoint.BeforeBridgeCommit} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ct := b.template(sampledata.Blended, 2)
			title := "ELO-CRASH-" + strings.ToUpper(point)
			ev := b.seedEvent(eventSpec{Template: ct, Title: title, Location: "London", Venue: "Riverside Rooms"})
			var hit atomic.Int32
			crashed := make(chan struct{})
			stop := b.start(runOpts{workers: 1, failpoint: func(p string) error {
				if p == point && hit.Add(1) == 1 {
					close(crashed)
					return errors.New("crash")
				}
				return nil
			}})
			b.enqueue(ev)
			<-crashed
			stop() // the "process" is gone
			if _, state := b.bridge(ev); state == "done" {
				t.Fatalf("bridge is done although the process stopped before writing it")
			}
			b.start(runOpts{workers: 1}) // restarted
			b.waitState("done", 1)

			b.createdOnce(ev, title)
			b.noDeadLetters()
		})
	}
}

// Two messages for the same event are handled at the same time by two
// workers: one claims, the other waits for the claim and then finds the
// event done. One event.
func TestSameEventDeliveredTwiceConcurrently(t *testing.T) {
	t.Parallel()
	b := setup(t, withLatency(40*time.Millisecond))
	ct := b.template(sampledata.Blended, 3)
	ev := b.seedEvent(eventSpec{Template: ct, Title: "ELO-TWICE-26A", Location: "Leeds", Venue: "Park Square"})
	b.publish(ev, "twice-1")
	b.publish(ev, "twice-2")
	b.start(runOpts{workers: 4})
	b.waitState("done", 1)
	// Both messages must be settled (the second one skipped, not lost).
	testwait.For(b.t, "both messages acked", func() bool {
		info, err := b.js.Consumer(b.ctx, messaging.StreamTutorialEvents, messaging.ConsumerAdmWriter)
		if err != nil {
			return false
		}
		i, err := info.Info(b.ctx)
		return err == nil && i.NumPending == 0 && i.NumAckPending == 0
	})
	b.oneEvent("ELO-TWICE-26A")
	m := metricstest.Flatten(t, b.registry)
	if m[`admsync_admwriter_events_total{outcome="linked"}`] != 1 || m[`admsync_admwriter_events_total{outcome="skipped"}`] != 1 {
		t.Errorf("events linked %v skipped %v, want 1 and 1", m[`admsync_admwriter_events_total{outcome="linked"}`],
			m[`admsync_admwriter_events_total{outcome="skipped"}`])
	}
	if got := b.calls()["CreateBlendedEvent"]; got != 1 {
		t.Errorf("CreateBlendedEvent calls = %d, want 1", got)
	}
}

// A session update is rejected after the event was created: the event id is
// kept, the session error is reported on its own, the message is
// dead-lettered; after the cause is fixed a replay sends only what is
// missing.
func TestSessionUpdateFailsAfterCreate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ct := b.templateWithSessions(sampledata.Blended, 3)
	ev := b.seedEvent(eventSpec{Template: ct, Title: "ELO-SESS-26A", Location: "London", Venue: "Riverside Rooms"})
	// Only Day 2 has a URL, and the bridge of the session URL field points at
	// a definition Administrate does not have: Administrate rejects that one
	// update, which no check before the create could have foreseen.
	b.db.Exec(t, `UPDATE acted.tutorial_sessions SET url = NULL
		WHERE tutorial_event_id = $1 AND sequence <> 2`, ev)
	var urlField string
	if err := b.db.Pool.QueryRow(b.ctx, `SELECT external_id FROM adm.custom_fields WHERE entity_type = 'Session' AND label = 'URL'`).Scan(&urlField); err != nil {
		t.Fatal(err)
	}
	b.db.Exec(t, `UPDATE adm.custom_fields SET external_id = 'Q3VzdG9tRmllbGREZWZpbml0aW9uOjk5OTk='
		WHERE entity_type = 'Session' AND label = 'URL'`)
	b.start(runOpts{workers: 2})
	b.enqueue(ev)
	b.waitState("failed", 1)

	ext, _ := b.bridge(ev)
	if ext == "" {
		t.Fatal("the event id was not kept after the session failure")
	}
	testwait.For(b.t, "a dead letter", func() bool { return len(b.deadLetters()) == 1 })
	dl := b.deadLetters()[0]
	if !strings.Contains(dl.Reason, "Day 2") || !strings.Contains(dl.Reason, ext) {
		t.Errorf("dead-letter reason %q should name Day 2 and the event", dl.Reason)
	}
	failed := b.results("adm.event.failed")
	if len(failed) != 1 || failed[0]["external_id"] != ext {
		t.Fatalf("adm.event.failed %v", failed)
	}
	if se, _ := failed[0]["session_errors"].(map[string]any); len(se) != 1 || se["2"] == nil {
		t.Errorf("session errors %v, want Day 2 only", failed[0]["session_errors"])
	}
	var done int
	if err := b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM adm.sessions s JOIN adm.events e ON e.id = s.event_id
		WHERE e.tutorial_event_id = $1 AND s.staff_done`, ev).Scan(&done); err != nil || done != ct.Sessions-1 {
		t.Errorf("sessions done before the fix = %d (%v), want %d", done, err, ct.Sessions-1)
	}

	// The operator fixes the bridge and replays.
	b.db.Exec(t, `UPDATE adm.custom_fields SET external_id = $1
		WHERE entity_type = 'Session' AND label = 'URL'`, urlField)
	b.sim.ResetRequests()
	// Administrate refused the session: poison until the data changes, so
	// the replay after the fix is forced.
	if _, err := cli.Replay(b.ctx, b.db.Pool, messaging.NewDLQ(b.js), dl.Sequence, false); err == nil {
		t.Fatal("replay of a letter Administrate refused was not skipped without --force")
	}
	if _, err := cli.Replay(b.ctx, b.db.Pool, messaging.NewDLQ(b.js), dl.Sequence, true); err != nil {
		t.Fatal(err)
	}
	b.waitState("done", 1)

	calls := b.calls()
	want := map[string]int{"EventWithSessions": 1, "UpdateSession": 1, "AddSessionStaff": 1}
	if len(calls) != len(want) {
		t.Errorf("calls after replay %v, want %v", calls, want)
	}
	for op, n := range want {
		if calls[op] != n {
			t.Errorf("calls after replay %v, want %v", calls, want)
		}
	}
	day2 := b.sim.Sessions(ext)[1]
	for _, r := range b.sim.Requests() {
		for _, f := range r.Fields {
			vars := f.Variables
			if len(r.Fields) == 1 {
				vars = r.Variables
			}
			if f.Operation == "UpdateSession" && vars["sessionId"] != day2.ID {
				t.Errorf("replay updated session %v, want only Day 2's %s", vars["sessionId"], day2.ID)
			}
		}
	}
	if day2.End.String() != "2026-03-31T17:00:00" || len(day2.Staff) != 1 {
		t.Errorf("Day 2 after replay: end %s staff %v", day2.End, day2.Staff)
	}
	b.oneEvent("ELO-SESS-26A")
	b.noDeadLetters() // the replayed letter was removed
}

// Administrate is down for longer than AckWait × MaxDeliver: the breaker
// opens and stops fetching, so no delivery is wasted; when it is back every
// event is written and nothing was dead-lettered.
func TestOutageLongerThanAllDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.spec = testConsumer(1*time.Second, 3)
	var events []int64
	for i := range 6 {
		ct := b.template(sampledata.Blended, i)
		events = append(events, b.seedEvent(eventSpec{Template: ct, Title: "ELO-OUT-" + ct.Code, Location: "Bristol", Venue: "Harbourside Centre"}))
	}
	// Queued before the outage starts (the relay can take seconds on a busy
	// machine), and the writer started inside it.
	b.enqueue(events...)
	outage := 5 * time.Second // > AckWait 1s × MaxDeliver 3
	if err := b.sim.StartOutage(outage); err != nil {
		t.Fatal(err)
	}
	b.start(runOpts{workers: 4, client: func(o *administrate.Options) { o.MaxAttempts = 2 }})
	b.waitState("done", len(events))

	b.noDeadLetters()
	hist := strings.Join(b.breakerHistory(), " ")
	if !strings.Contains(hist, "closed>open") || !strings.HasSuffix(hist, ">closed") {
		t.Errorf("breaker transitions %q: want it to open during the outage and close after", hist)
	}
	for _, ev := range events {
		title := mustTitle(b, ev)
		if got := len(b.eventsTitled(title)); got != 1 {
			t.Errorf("%s: %d events", title, got)
		}
	}
	counts, err := cli.Status(b.ctx, b.db.Pool, 0)
	if err != nil || counts["done"] != len(events) {
		t.Errorf("status %v %v", counts, err)
	}
}

// A permanent error (the course template has no Administrate bridge) is
// dead-lettered with its reason without calling Administrate; after the
// bridge is restored, a replay finishes the event.
func TestPermanentErrorThenReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ct := b.template(sampledata.Blended, 4)
	ev := b.seedEvent(eventSpec{Template: ct, Title: "ELO-PERM-26A", Location: "Glasgow", Venue: "Merchant City Rooms"})
	b.db.Exec(t, `UPDATE adm.course_templates SET gone_at = now() WHERE code = $1`, ct.Code)
	b.start(runOpts{workers: 2})
	b.enqueue(ev)
	testwait.For(b.t, "a dead letter", func() bool { return len(b.deadLetters()) == 1 })
	dl := b.deadLetters()[0]
	if !strings.Contains(dl.Reason, ct.Code) || !strings.Contains(dl.Reason, "not linked") || dl.Deliveries != 1 {
		t.Errorf("dead letter reason %q deliveries %d", dl.Reason, dl.Deliveries)
	}
	if _, state := b.bridge(ev); state != "failed" {
		t.Errorf("bridge state %s, want failed", state)
	}
	if len(b.sim.Requests()) != 0 {
		t.Errorf("Administrate was called: %v", b.calls())
	}
	var n int
	if err := b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM acted.tutorial_events WHERE id = $1`, ev).Scan(&n); err != nil || n != 1 {
		t.Errorf("tutorial event touched: %d %v", n, err)
	}

	// Done events are refused by replay; this one is not done.
	b.db.Exec(t, `UPDATE adm.course_templates SET gone_at = NULL WHERE code = $1`, ct.Code)
	if _, err := cli.Replay(b.ctx, b.db.Pool, messaging.NewDLQ(b.js), dl.Sequence, false); err != nil {
		t.Fatal(err)
	}
	b.waitState("done", 1)
	b.oneEvent("ELO-PERM-26A")

	// A second replay of an event already done is refused.
	b.publishDeadLetterCopy(dl)
	dls := b.deadLetters()
	if len(dls) != 1 {
		t.Fatalf("dead letters %d", len(dls))
	}
	if _, err := cli.Replay(b.ctx, b.db.Pool, messaging.NewDLQ(b.js), dls[0].Sequence, false); err == nil || !strings.Contains(err.Error(), "already written") {
		t.Errorf("replay of a done event = %v, want refused", err)
	}
}

// `retry` queues (through the outbox) exactly the events whose bridge is not done.
func TestRetryQueuesUnfinishedEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var events []int64
	for i := range 3 {
		ct := b.template(sampledata.LMS, i)
		events = append(events, b.seedEvent(eventSpec{Template: ct, Title: "ELO-RETRY-" + ct.Code, Location: "Online"}))
	}
	b.start(runOpts{workers: 2})
	b.enqueue(events[0])
	b.waitState("done", 1)

	ids, err := cli.Retry(b.ctx, b.db.Pool, b.runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != events[1] || ids[1] != events[2] {
		t.Fatalf("retry queued %v, want %v", ids, events[1:])
	}
	relayFlush(t, b)
	b.waitState("done", 3)
	if got := b.calls()["CreateLMSEvent"]; got != 3 {
		t.Errorf("CreateLMSEvent calls = %d, want 3", got)
	}
	if ids, err := cli.Retry(b.ctx, b.db.Pool, 0); err != nil || len(ids) != 0 {
		t.Errorf("second retry queued %v (%v), want none", ids, err)
	}
}

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
