package administrate_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging/natstest"
)

// Three budgets on three connections (as three processes would hold them),
// each driven by four goroutines as fast as it lets them: every release of
// all twelve is at least one interval after the previous one, so the
// tenant's rate holds whatever the number of processes.
func TestSharedBudgetSpacesAllProcesses(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	ctx := natstest.Context(t)
	const rate, perWorker = 50.0, 5
	var (
		mu       sync.Mutex
		releases []time.Time
		wg       sync.WaitGroup
		interval time.Duration
	)
	start := time.Now()
	for range 3 {
		_, js := natstest.Connect(t, srv)
		b, err := administrate.NewSharedBudget(ctx, js, administrate.SharedBudgetOptions{Rate: rate})
		if err != nil {
			t.Fatal(err)
		}
		interval = b.Interval()
		for range 4 {
			wg.Go(func() {
				for range perWorker {
					if err := b.Wait(ctx); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					releases = append(releases, time.Now())
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	slices.SortFunc(releases, func(a, b time.Time) int { return a.Compare(b) })
	if len(releases) != 3*4*perWorker {
		t.Fatalf("%d releases", len(releases))
	}
	if want := time.Duration(float64(time.Second+administrate.DefaultBudgetTolerance) / rate); interval != want {
		t.Errorf("interval %s, want %s", interval, want)
	}
	// Sleep wake-ups are late, never early, so a late one can shorten the
	// gap to its successor: counted, not judged.
	short := 0
	for i := 1; i < len(releases); i++ {
		if releases[i].Sub(releases[i-1]) < interval-2*time.Millisecond {
			short++
		}
	}
	// All three budgets together release no faster than one per interval.
	// Measured from before the first reservation: the first slot is no
	// earlier than that, each later slot one interval after the one before,
	// and a release never precedes its slot — whereas the first release
	// itself may wake late and so cannot be the reference.
	total := releases[len(releases)-1].Sub(start)
	if min := time.Duration(len(releases)-1) * interval; total < min-5*time.Millisecond {
		t.Errorf("%d releases in %s, want at least %s at one per %s", len(releases), total, min, interval)
	}
	t.Logf("%d releases from 3 budgets in %s (interval %s, %d gaps shortened by late wake-ups)", len(releases), total.Round(time.Millisecond), interval, short)
}

// A bucket that vanishes (its store lost with a NATS node, or a restart of
// a server that kept it in memory) is made again: the writers keep sending
// instead of waiting on it for ever.
func TestSharedBudgetSurvivesItsBucketVanishing(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	ctx := natstest.Context(t)
	_, js := natstest.Connect(t, srv)
	b, err := administrate.NewSharedBudget(ctx, js, administrate.SharedBudgetOptions{Rate: 50})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteKeyValue(ctx, administrate.DefaultBudgetBucket); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i := range 3 {
		if err := b.Wait(wctx); err != nil {
			t.Fatalf("wait %d after the bucket vanished: %v", i, err)
		}
	}
	if _, err := js.KeyValue(ctx, administrate.DefaultBudgetBucket); err != nil {
		t.Fatalf("bucket not made again: %v", err)
	}
}
