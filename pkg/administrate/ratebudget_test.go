package administrate_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
)

// hammer drives c from workers goroutines as fast as the client lets them, for d or for
// n calls (whichever is given), and returns the calls made and the elapsed time.
func hammer(ctx context.Context, c *administrate.Client, workers int, d time.Duration, n int64) (int64, time.Duration, error) {
	var done atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				if d > 0 && time.Now().After(deadline) {
					return
				}
				if n > 0 && done.Add(1) > n {
					return
				}
				if _, err := c.ListLocations(ctx); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if d > 0 {
					done.Add(1)
				}
			}
		})
	}
	wg.Wait()
	calls := done.Load()
	if n > 0 {
		calls = min(calls, n)
	}
	err, _ := firstErr.Load().(error)
	return calls, time.Since(start), err
}

func TestFullSpeedClientStaysUnderTheSimulatorLimit(t *testing.T) {
	t.Parallel()
	const limit = 50 // the simulator allows R requests per sliding second
	sim := admsimtest.Start(t, admsimtest.WithFaults(admsim.Faults{RateLimit: limit, RateWindow: time.Second}))
	sim.Location("London")
	c := newClient(t, sim, func(o *administrate.Options) {
		// 10 % headroom, as the 15-of-20 default leaves in production; the margin absorbs
		// scheduling jitter between sending and arrival on a busy machine.
		o.RateLimit, o.RateBurst = 0.9*limit, 1
	})
	calls, _, err := hammer(ctxT(t), c, 6, 2500*time.Millisecond, 0)
	if err != nil {
		t.Fatalf("ListLocations: %v", err)
	}
	oc := sim.OutcomeCounts()
	if oc[admsim.OutcomeRateLimited] != 0 {
		t.Fatalf("the simulator answered %d requests with 429 (outcomes %v)", oc[admsim.OutcomeRateLimited], oc)
	}
	if calls < 50 {
		t.Errorf("only %d calls in 2.5 s: the client is not driving at full speed", calls)
	}
}

// BenchmarkRateBudget measures how much of a simulator's limit R a client configured at
// 0.97·R achieves with several workers, and how many 429s that costs (each one stalls
// the client for a whole-second Retry-After). The simulator counts over a sliding 2 s
// window (2·R requests), a scaled-down version of Administrate's 6,000 per 5 minutes.
// Run with -benchtime=300x (≈6 s) for a stable figure; the goal is fraction_of_R ≥ 0.95.
func BenchmarkRateBudget(b *testing.B) {
	const limit = 50 // R, requests per second
	sim := admsimtest.Start(b, admsimtest.WithFaults(admsim.Faults{RateLimit: 2 * limit, RateWindow: 2 * time.Second}))
	sim.Location("London")
	c := newClient(b, sim, func(o *administrate.Options) { o.RateLimit, o.RateBurst = 0.97*limit, 1 })
	ctx := context.Background()
	if _, err := c.ListLocations(ctx); err != nil { // token fetch and connection set-up
		b.Fatal(err)
	}
	sim.ResetRequests()
	time.Sleep(2 * time.Second) // let the warm-up request leave the window
	// The figure needs several seconds of traffic whatever b.N is (make bench
	// runs every benchmark once): at least 300 requests, six seconds at R.
	n := max(int64(b.N), 300)
	b.ResetTimer()
	calls, elapsed, err := hammer(ctx, c, 4, 0, n)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	achieved := float64(calls) / elapsed.Seconds()
	b.ReportMetric(achieved, "req/s")
	b.ReportMetric(achieved/limit, "fraction_of_R")
	b.ReportMetric(float64(sim.OutcomeCounts()[admsim.OutcomeRateLimited]), "429s")
}
