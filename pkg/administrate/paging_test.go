package administrate_test

import (
	"context"
	"errors"
	"testing"

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
