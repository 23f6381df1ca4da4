package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
)

type batcherFixture struct {
	sim    *admsimtest.Server
	api    *administrate.Client
	b      *batcher
	events []string
	levels [2]string
	gbp    string
}

func startBatcher(t *testing.T, events int, faults admsim.Faults) *batcherFixture {
	t.Helper()
	sim := admsimtest.Start(t, admsimtest.WithFaults(faults))
	api, err := administrate.New(sim.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	f := &batcherFixture{sim: sim, api: api, b: newBatcher(api, nil),
		levels: [2]string{sim.PriceLevel("Normal"), sim.PriceLevel("Retaker")}, gbp: sim.Currency("GBP")}
	// Generous waits: these tests check what is grouped, not how fast, and
	// the goroutines of one test may start far apart on a loaded machine.
	f.b.quiet, f.b.linger = 200*time.Millisecond, time.Second
	loc := sim.Location("London")
	ct := sim.CourseTemplate(admsim.CourseTemplateSeed{Code: "CB1", Title: "CB1", LearningMode: "blended"})
	for i := range events {
		f.events = append(f.events, sim.SeedEvent(admsim.EventSeed{CourseTemplate: ct, Title: fmt.Sprintf("E%d 26A", i),
			Location: loc, LifecycleState: "draft"}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.b.run(ctx, batchSenders) }()
	t.Cleanup(func() { cancel(); <-done })
	sim.ResetRequests()
	return f
}

// prices are one event's two prices as ops, the new ids in ids.
func (f *batcherFixture) prices(ev string, ids *[2]string) []administrate.BatchOp {
	var ops []administrate.BatchOp
	for j, pl := range f.levels {
		ops = append(ops, administrate.BatchAddEventPrice(ev, administrate.EventPrice{PriceLevelID: pl, CurrencyID: f.gbp,
			Amount: administrate.MustDecimal(fmt.Sprintf("%d.00", 100*(j+1)))}, &ids[j]))
	}
	return ops
}

// every runs fn for each event at once, as the handlers of one run do.
func every(events []string, fn func(i int, ev string)) {
	var wg sync.WaitGroup
	for i, ev := range events {
		wg.Go(func() { fn(i, ev) })
	}
	wg.Wait()
}

// The writes of concurrent commands share requests: an event's prices always
// in the same request, as many events per request as the cap allows (32
// fields: 16 events of two prices), each answer given to its own event.
func TestBatcherSharesRequestsBetweenEvents(t *testing.T) {
	t.Parallel()
	f := startBatcher(t, 40, admsim.Faults{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := make([][2]string, len(f.events))
	errs := make([][]error, len(f.events))
	every(f.events, func(i int, ev string) { errs[i] = f.b.write(ctx, f.prices(ev, &ids[i])) })

	for i, ev := range f.events {
		view, _ := f.sim.Event(ev)
		if errs[i][0] != nil || errs[i][1] != nil || len(view.Prices) != 2 || view.Prices[0].ID != ids[i][0] || view.Prices[1].ID != ids[i][1] {
			t.Fatalf("event %d: errors %v, ids %v, prices %+v", i, errs[i], ids[i], view.Prices)
		}
	}
	// 80 fields: 3 requests of at most 32 (16 events each); allow one more
	// for a slow start.
	reqs := f.sim.Requests()
	if len(reqs) > 4 || f.sim.FieldCount() != 80 {
		t.Fatalf("%d requests carrying %d fields, want at most 4 carrying 80", len(reqs), f.sim.FieldCount())
	}
	for _, r := range reqs {
		seen := map[string]int{}
		for _, fl := range r.Fields {
			in, _ := fl.Variables["input"].(map[string]any)
			seen[fmt.Sprint(in["eventId"])]++
		}
		for ev, n := range seen {
			if n != 2 {
				t.Errorf("event %s has %d of its 2 prices in one request: an event's writes travel together", ev, n)
			}
		}
	}
	if n, fields := f.b.counts(); n != len(reqs) || fields != 80 {
		t.Errorf("batcher counted %d requests, %d fields; simulator %d", n, fields, len(reqs))
	}

	// The same prices again: each field is judged alone ("already exists").
	every(f.events[:3], func(i int, ev string) {
		var again [2]string
		for _, err := range f.b.write(ctx, f.prices(ev, &again)) {
			if !administrate.IsPriceExists(err) {
				t.Errorf("event %d again: %v, want IsPriceExists", i, err)
			}
		}
	})
}

// A batched request that fails part-way leaves every event in it "outcome
// unknown"; the events sent again end with each price once.
func TestBatcherPartWayFailureIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	f := startBatcher(t, 6, admsim.Faults{BatchFailures: 1, BatchApply: 5})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	unknown := 0
	var mu sync.Mutex
	every(f.events, func(i int, ev string) {
		var ids [2]string
		for _, err := range f.b.write(ctx, f.prices(ev, &ids)) {
			if errors.Is(err, administrate.ErrOutcomeUnknown) {
				mu.Lock()
				unknown++
				mu.Unlock()
			} else if err != nil {
				t.Errorf("event %d: %v", i, err)
			}
		}
	})
	if unknown == 0 {
		t.Fatal("no field was left outcome unknown: the fault did not hit a batched request")
	}
	every(f.events, func(i int, ev string) {
		var ids [2]string
		for _, err := range f.b.write(ctx, f.prices(ev, &ids)) {
			if err != nil && !administrate.IsPriceExists(err) {
				t.Errorf("event %d again: %v", i, err)
			}
		}
	})
	for _, ev := range f.events {
		if view, _ := f.sim.Event(ev); len(view.Prices) != 2 {
			t.Errorf("event %s has %d prices, want 2", ev, len(view.Prices))
		}
	}
}

// The reads before a delete go out as one list of ids; a gone event is
// ErrNotFound.
func TestBatcherReadsTogether(t *testing.T) {
	t.Parallel()
	f := startBatcher(t, 12, admsim.Faults{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := append([]string{"RXZlbnQ6OTk5OQ=="}, f.events...)
	every(ids, func(i int, ev string) {
		st, err := f.b.status(ctx, ev)
		switch {
		case i == 0 && !errors.Is(err, administrate.ErrNotFound):
			t.Errorf("unknown event: %+v, %v; want ErrNotFound", st, err)
		case i > 0 && (err != nil || st.ID != ev || st.LifecycleState != administrate.EventLifecycleStateDraft):
			t.Errorf("event %s: %+v, %v", ev, st, err)
		}
	})
	if n := f.sim.RequestCount(); n > 2 {
		t.Errorf("%d requests for 13 reads, want 1 (2 for a slow start)", n)
	}
}

// A command whose context ends while its writes are still queued withdraws
// them: nothing is sent for it.
func TestBatcherWithdrawsCancelledWrites(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t)
	api, err := administrate.New(sim.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	b := newBatcher(api, nil) // not running: nothing is ever sent
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	errs := b.write(ctx, []administrate.BatchOp{administrate.BatchDeleteEvent("RXZlbnQ6MQ==")})
	if !errors.Is(errs[0], context.DeadlineExceeded) || errors.Is(errs[0], administrate.ErrOutcomeUnknown) {
		t.Fatalf("cancelled write: %v, want not sent", errs[0])
	}
	if len(b.writes) != 0 || sim.RequestCount() != 0 {
		t.Fatalf("%d writes still queued, %d requests", len(b.writes), sim.RequestCount())
	}
}
