package administrate_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"admsync/pkg/administrate"
)

// These drive the pager with in-process page functions: they test the iteration logic
// on shapes the simulator never produces (a server that claims more pages but sends none).

func TestPagerErrorsOnEmptyPageThatClaimsMore(t *testing.T) {
	t.Parallel()
	calls := 0
	fetch := func(_ context.Context, first, offset int) (administrate.Page[int], error) {
		calls++
		if offset == 0 {
			return administrate.Page[int]{Items: []int{1, 2}, HasNextPage: true}, nil
		}
		return administrate.Page[int]{HasNextPage: true}, nil // stuck: empty but "more"
	}
	items, err := administrate.CollectPages(context.Background(), 2, fetch)
	if !errors.Is(err, administrate.ErrEmptyPage) || items != nil {
		t.Fatalf("items=%v err=%v, want nil and ErrEmptyPage", items, err)
	}
	if calls != 2 {
		t.Errorf("fetch called %d times, want 2 (no looping)", calls)
	}
}

func TestPagerAdvancesByItemsReceived(t *testing.T) {
	t.Parallel()
	data := []int{0, 1, 2, 3, 4, 5, 6}
	var offsets []int
	// The server caps pages at 2 although 5 were asked for.
	fetch := func(_ context.Context, first, offset int) (administrate.Page[int], error) {
		offsets = append(offsets, offset)
		end := min(offset+2, len(data))
		return administrate.Page[int]{Items: data[offset:end], HasNextPage: end < len(data)}, nil
	}
	var got []int
	for v, err := range administrate.Pages(context.Background(), 5, fetch) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got) != 7 || got[6] != 6 {
		t.Fatalf("got %v", got)
	}
	if want := []int{0, 2, 4, 6}; len(offsets) != len(want) || offsets[3] != 6 {
		t.Errorf("offsets = %v, want %v", offsets, want)
	}
}

func TestPagerStopsOnFetchError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	fetch := func(_ context.Context, first, offset int) (administrate.Page[int], error) {
		if offset > 0 {
			return administrate.Page[int]{}, boom
		}
		return administrate.Page[int]{Items: []int{1}, HasNextPage: true}, nil
	}
	if items, err := administrate.CollectPages(context.Background(), 1, fetch); !errors.Is(err, boom) || items != nil {
		t.Fatalf("items=%v err=%v: a failed page must discard the partial list", items, err)
	}
}

// TestConcurrentPagingEqualsSequential drives CollectPages over seeded random
// shapes — list length, asked and server-capped page sizes, concurrency, and a
// server whose pages come back short part-way (records removed while paging) —
// and checks that the concurrent result is exactly what the sequential pager
// returns against the same server.
func TestConcurrentPagingEqualsSequential(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(20261201, 16))
	for round := range 300 {
		total := rng.IntN(60)
		asked := 1 + rng.IntN(12)
		capAt := asked
		if rng.IntN(3) == 0 {
			capAt = 1 + rng.IntN(asked)
		}
		shortAt := -1 // offset from which pages come back one item short
		if total > 0 && rng.IntN(4) == 0 {
			shortAt = rng.IntN(total)
		}
		conc := 1 + rng.IntN(6)
		server := func(_ context.Context, first, offset int) (administrate.Page[int], error) {
			n := min(first, capAt)
			end := min(offset+n, total)
			if offset >= shortAt && shortAt >= 0 && end-1 > offset && end < total {
				end-- // a short page in the middle: the sequential pager advances by what it got
			}
			var items []int
			for i := offset; i < end; i++ {
				items = append(items, i)
			}
			return administrate.Page[int]{Items: items, HasNextPage: end < total, TotalRecords: total}, nil
		}
		want, err := administrate.CollectPages(context.Background(), asked, server)
		if err != nil {
			t.Fatalf("round %d: sequential: %v", round, err)
		}
		var pages atomic.Int64
		got, err := administrate.CollectPagesWith(context.Background(), administrate.PageOptions{Size: asked, Concurrency: conc,
			OnPage: func(n, soFar, total int) { pages.Add(1) }}, server)
		if err != nil {
			t.Fatalf("round %d: concurrent: %v", round, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d (total %d, asked %d, cap %d, short from %d, concurrency %d):\n got %v\nwant %v",
				round, total, asked, capAt, shortAt, conc, got, want)
		}
		if pages.Load() == 0 {
			t.Fatalf("round %d: OnPage never called", round)
		}
	}
}

// TestConcurrentPagingOverlapsRequests checks that, once the total is known,
// several pages really are in flight at once (the point of it: a slow
// Administrate no longer multiplies the sync's wall time).
func TestConcurrentPagingOverlapsRequests(t *testing.T) {
	t.Parallel()
	var inFlight, most atomic.Int64
	both := make(chan struct{})
	var once sync.Once
	server := func(ctx context.Context, first, offset int) (administrate.Page[int], error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if offset > 0 {
			if n >= 2 {
				once.Do(func() { close(both) })
			}
			select { // hold each later page until two overlap (or give up)
			case <-both:
			case <-time.After(5 * time.Second):
			}
		}
		end := min(offset+first, 40)
		items := make([]int, 0, end-offset)
		for i := offset; i < end; i++ {
			items = append(items, i)
		}
		return administrate.Page[int]{Items: items, HasNextPage: end < 40, TotalRecords: 40}, nil
	}
	got, err := administrate.CollectPagesWith(context.Background(), administrate.PageOptions{Size: 10, Concurrency: 4}, server)
	if err != nil || len(got) != 40 {
		t.Fatalf("got %d items, err %v", len(got), err)
	}
	if most.Load() < 2 {
		t.Errorf("at most %d page(s) in flight, want pages fetched concurrently", most.Load())
	}
}

// TestConcurrentPagingFailsWhole checks that one failed page among concurrent
// ones fails the list (never a partial list) and names that page.
func TestConcurrentPagingFailsWhole(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	server := func(_ context.Context, first, offset int) (administrate.Page[int], error) {
		if offset == 30 {
			return administrate.Page[int]{}, boom
		}
		end := min(offset+first, 50)
		items := make([]int, end-offset)
		return administrate.Page[int]{Items: items, HasNextPage: end < 50, TotalRecords: 50}, nil
	}
	items, err := administrate.CollectPagesWith(context.Background(), administrate.PageOptions{Size: 10, Concurrency: 3}, server)
	if !errors.Is(err, boom) || items != nil || !strings.Contains(err.Error(), "offset 30") {
		t.Fatalf("items=%v err=%v, want nil and the failure of the page at offset 30", items, err)
	}
}
