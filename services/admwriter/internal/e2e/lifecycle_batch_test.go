package e2e

import (
	"fmt"
	"strings"
	"testing"

	"admsync/pkg/admsim"
	"admsync/pkg/sampledata"
)

// TestLifecycleCommandsShareRequests: the lifecycle commands of 40 events
// send their writes as shared requests (an event's prices together, many
// events per request), and a batched request that fails part-way (its first
// fields applied, then a 500 or a dropped connection: every field's outcome
// unknown) still ends with every event in its right state, each price added
// once and recorded once, and the command reporting no failure.
func TestLifecycleCommandsShareRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.seedPrices()
	lms := b.template(sampledata.LMS, 0)
	const n = 40
	var evs []int64
	for i := range n {
		evs = append(evs, b.seedEvent(eventSpec{Template: lms, Title: fmt.Sprintf("LB-%02d", i), Location: "Online"}))
	}
	run := fmt.Sprint(b.runID)
	b.start(runOpts{workers: 4})
	b.enqueue(evs...)
	b.waitState("done", n)
	b.startCommands()

	// websale on: one read to plan, then 40 fields in requests of up to 32.
	out, calls := b.events("websale", "on", "--import-run", run, "--yes")
	if !strings.Contains(out, "websale: 40 changed, 0 unchanged, 0 refused, 0 failed") {
		t.Fatalf("websale on:\n%s", out)
	}
	if calls > 1+5 {
		t.Errorf("websale on for %d events: %d requests, want at most 6 (a read; 40 fields in 2, a few more if they arrive apart)", n, calls)
	}

	// prices add, the first batched request failing after 7 of its fields.
	b.sim.SetFaults(admsim.Faults{BatchFailures: 1, BatchApply: 7})
	out, calls = b.events("prices", "add", "--import-run", run, "--yes")
	if !strings.Contains(out, " 0 refused, 0 failed") || !strings.Contains(out, "prices: ") {
		t.Fatalf("prices add with a part-way failure:\n%s", out)
	}
	if got := b.sim.OutcomeCounts()[admsim.OutcomePartial]; got != 1 {
		t.Fatalf("%d requests failed part-way, want 1: the fault did not hit a batched request", got)
	}
	// Two reads; 80 fields in 3 requests (a few more if they arrive apart);
	// the failed request's events sent again (at most 32 fields: 1 or 2).
	if calls > 2+8 {
		t.Errorf("prices add for %d events of 2 prices: %d requests, want at most 10 (it was %d, one per price)", n, calls, 2+2*n)
	}
	b.checkPricesOnce(n)
	if out, _ := b.events("prices", "add", "--import-run", run, "--yes"); !strings.Contains(out, "nothing to change") {
		t.Fatalf("prices add a second time:\n%s", out)
	}

	// publish, the first batched request dropped after 3 of its fields.
	b.sim.SetFaults(admsim.Faults{BatchFailures: 1, BatchApply: 3, BatchDrop: true})
	out, _ = b.events("publish", "--import-run", run, "--yes")
	if !strings.Contains(out, "publish: 40 changed, 0 unchanged, 0 refused, 0 failed") {
		t.Fatalf("publish with a dropped batch:\n%s", out)
	}
	if got := b.sim.OutcomeCounts()[admsim.OutcomeDropped]; got != 1 {
		t.Fatalf("%d requests dropped, want 1", got)
	}
	webKey := sampledata.ExternalID("CustomFieldDefinition", webSaleIndex(b)+1)
	for _, ev := range b.sim.Events() {
		if ev.LifecycleState != "published" || ev.CustomFields[webKey] != "True" {
			t.Errorf("%s: %s, web sale %q; want published with web sale on", ev.Title, ev.LifecycleState, ev.CustomFields[webKey])
		}
	}
	b.checkPricesOnce(n)
}

// checkPricesOnce: each of the n events has its template's two prices once in
// Administrate and once in adm.event_prices.
func (b *bundle) checkPricesOnce(n int) {
	b.t.Helper()
	evs := b.sim.Events()
	if len(evs) != n {
		b.t.Fatalf("%d events in Administrate, want %d", len(evs), n)
	}
	for _, ev := range evs {
		seen := map[string]int{}
		for _, p := range ev.Prices {
			seen[p.PriceLevelID+"/"+p.CurrencyID]++
		}
		if len(ev.Prices) != 2 || len(seen) != 2 {
			b.t.Errorf("%s prices %+v, want its template's 2, once each", ev.Title, ev.Prices)
		}
	}
	var rows, events int
	if err := b.db.Pool.QueryRow(b.ctx, `SELECT count(*), count(DISTINCT event_id) FROM adm.event_prices`).Scan(&rows, &events); err != nil {
		b.t.Fatal(err)
	}
	if rows != 2*n || events != n {
		b.t.Errorf("adm.event_prices: %d rows for %d events, want %d for %d", rows, events, 2*n, n)
	}
}
