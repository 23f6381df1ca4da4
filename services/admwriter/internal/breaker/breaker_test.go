package breaker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"admsync/pkg/testwait"
)

// fakeClock advances only when the breaker sleeps, so the tests are exact
// and take no wall time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

func newTest(t *testing.T, threshold int) (*Breaker, *fakeClock, *[]string) {
	t.Helper()
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var changes []string
	b := New(Config{
		Threshold: threshold, Cooldown: time.Second, MaxCooldown: 4 * time.Second,
		OnChange: func(from, to State) { changes = append(changes, from.String()+">"+to.String()) },
		now:      clk.Now, sleep: clk.Sleep,
	})
	return b, clk, &changes
}

func TestOpensAfterThresholdConsecutiveFailures(t *testing.T) {
	t.Parallel()
	b, _, _ := newTest(t, 3)
	b.Failure()
	b.Failure()
	b.Success() // an answer resets the streak
	b.Failure()
	b.Failure()
	if got := b.State(); got != Closed {
		t.Fatalf("after 2 failures in a row: %v, want closed", got)
	}
	b.Failure()
	if got := b.State(); got != Open {
		t.Fatalf("after 3 failures in a row: %v, want open", got)
	}
}

func TestWaitProbesAfterCooldownThenHalfOpenThenClosed(t *testing.T) {
	t.Parallel()
	b, clk, changes := newTest(t, 1)
	start := clk.Now()
	b.Failure()
	probes := 0
	if err := b.Wait(context.Background(), func(context.Context) error { probes++; return nil }); err != nil {
		t.Fatal(err)
	}
	if probes != 1 {
		t.Fatalf("probes = %d, want 1", probes)
	}
	if waited := clk.Now().Sub(start); waited != time.Second {
		t.Fatalf("waited %v before probing, want the 1s cool-down", waited)
	}
	if got := b.State(); got != HalfOpen {
		t.Fatalf("after a good probe: %v, want half-open", got)
	}
	b.Success()
	want := []string{"closed>open", "open>half-open", "half-open>closed"}
	if len(*changes) != len(want) {
		t.Fatalf("changes %v, want %v", *changes, want)
	}
	for i := range want {
		if (*changes)[i] != want[i] {
			t.Fatalf("changes %v, want %v", *changes, want)
		}
	}
}

func TestFailedProbesBackOffUpToMax(t *testing.T) {
	t.Parallel()
	b, clk, _ := newTest(t, 1)
	b.Failure()
	var probeTimes []time.Duration
	start := clk.Now()
	fails := 4
	err := b.Wait(context.Background(), func(context.Context) error {
		probeTimes = append(probeTimes, clk.Now().Sub(start))
		if fails > 0 {
			fails--
			return errors.New("503")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// cool-downs 1s, 2s, 4s, 4s (capped), 4s
	want := []time.Duration{1 * time.Second, 3 * time.Second, 7 * time.Second, 11 * time.Second, 15 * time.Second}
	if len(probeTimes) != len(want) {
		t.Fatalf("probes at %v, want %v", probeTimes, want)
	}
	for i := range want {
		if probeTimes[i] != want[i] {
			t.Fatalf("probes at %v, want %v", probeTimes, want)
		}
	}
}

func TestHalfOpenFailureReopens(t *testing.T) {
	t.Parallel()
	b, _, _ := newTest(t, 5)
	for range 5 {
		b.Failure()
	}
	if err := b.Wait(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if b.State() != HalfOpen {
		t.Fatalf("state %v, want half-open", b.State())
	}
	b.Failure() // one failure is enough in half-open
	if b.State() != Open {
		t.Fatalf("state %v, want open", b.State())
	}
}

func TestWaitReturnsWhenContextEnds(t *testing.T) {
	t.Parallel()
	b := New(Config{Threshold: 1, Cooldown: time.Hour})
	b.Failure()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
}

func TestConcurrentWaitersShareOneProbe(t *testing.T) {
	t.Parallel()
	b := New(Config{Threshold: 1, Cooldown: time.Millisecond})
	b.Failure()
	var mu sync.Mutex
	probes := 0
	release := make(chan struct{})
	probe := func(context.Context) error {
		mu.Lock()
		probes++
		mu.Unlock()
		<-release
		return nil
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = b.Wait(context.Background(), probe) }()
	}
	// Let one waiter start probing, then release it; the rest must not probe.
	testwait.For(t, "a waiter to probe", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return probes > 0
	})
	close(release)
	wg.Wait()
	if probes != 1 {
		t.Fatalf("probes = %d, want 1", probes)
	}
}
