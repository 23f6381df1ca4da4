package administrate

import (
	"context"
	"fmt"
	"iter"
	"sync"
)

// Page is one page of a first/offset connection.
type Page[T any] struct {
	Items        []T
	HasNextPage  bool
	TotalRecords int
}

// PageFetcher fetches the page of at most first items starting at offset.
type PageFetcher[T any] func(ctx context.Context, first, offset int) (Page[T], error)

// Pages iterates over every item of a paged list. It asks for pageSize items at a time,
// advances the offset by the number of items received (servers may cap page sizes),
// stops when hasNextPage is false, and yields ErrEmptyPage (then stops) if a page is
// empty while hasNextPage stays true. A fetch error is yielded once and ends the loop.
func Pages[T any](ctx context.Context, pageSize int, fetch PageFetcher[T]) iter.Seq2[T, error] {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	return func(yield func(T, error) bool) {
		var zero T
		offset := 0
		for page := 1; ; page++ {
			p, err := fetch(ctx, pageSize, offset)
			if err != nil {
				yield(zero, fmt.Errorf("page %d (offset %d): %w", page, offset, err))
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
			if !p.HasNextPage {
				return
			}
			if len(p.Items) == 0 {
				yield(zero, fmt.Errorf("page %d (offset %d): %w", page, offset, ErrEmptyPage))
				return
			}
			offset += len(p.Items)
		}
	}
}

// PageOptions shape one paged read.
type PageOptions struct {
	// Size is the first argument of each page (default DefaultPageSize).
	Size int
	// Concurrency is how many pages are in flight once the first page has
	// told the total (offset paging can then address every page at once);
	// 0 or 1 fetches them one after another. The client's rate budget still
	// spaces the requests: this only hides each request's latency.
	Concurrency int
	// OnPage, when set, is called after each page with the page's item
	// count, the items received so far and the total the server announced
	// (0 when it announced none). Calls are serialised.
	OnPage func(n, soFar, total int)
}

// CollectPages fetches every page and returns all items, or the first error and none
// of the items: callers must not act on a partial list.
func CollectPages[T any](ctx context.Context, pageSize int, fetch PageFetcher[T]) ([]T, error) {
	return CollectPagesWith(ctx, PageOptions{Size: pageSize}, fetch)
}

// CollectPagesWith is CollectPages with per-call options: with Concurrency
// above 1 the pages after the first are fetched concurrently, and the result
// is still exactly what the sequential loop returns.
func CollectPagesWith[T any](ctx context.Context, o PageOptions, fetch PageFetcher[T]) ([]T, error) {
	pageSize := o.Size
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	var mu sync.Mutex
	received := 0
	onPage := func(n, total int) {
		if o.OnPage == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		received += n
		o.OnPage(n, received, total)
	}
	first, err := fetch(ctx, pageSize, 0)
	if err != nil {
		return nil, fmt.Errorf("page 1 (offset 0): %w", err)
	}
	onPage(len(first.Items), first.TotalRecords)
	out := first.Items
	if !first.HasNextPage {
		return out, nil
	}
	if len(first.Items) == 0 {
		return nil, fmt.Errorf("page 1 (offset 0): %w", ErrEmptyPage)
	}
	// The first page's length is the server's real page size (it may cap
	// what was asked for), so every later page's offset is known.
	step, offset, page := len(first.Items), len(first.Items), 2
	if o.Concurrency > 1 && first.TotalRecords > offset {
		pages, err := fetchConcurrently(ctx, fetch, pageSize, step, offset, first.TotalRecords, o.Concurrency, onPage)
		if err != nil {
			return nil, err
		}
		// Pages are taken in order while each is full, exactly as the
		// sequential loop would have asked for them; at the first short page
		// or one claiming more, the sequential loop carries on from there.
		more := true
		for _, p := range pages {
			out = append(out, p.Items...)
			offset += len(p.Items)
			page++
			more = p.HasNextPage
			if len(p.Items) != step {
				if more && len(p.Items) == 0 {
					return nil, fmt.Errorf("page %d (offset %d): %w", page-1, offset, ErrEmptyPage)
				}
				break
			}
		}
		if !more {
			return out, nil
		}
	}
	for ; ; page++ {
		p, err := fetch(ctx, pageSize, offset)
		if err != nil {
			return nil, fmt.Errorf("page %d (offset %d): %w", page, offset, err)
		}
		onPage(len(p.Items), p.TotalRecords)
		out = append(out, p.Items...)
		if !p.HasNextPage {
			return out, nil
		}
		if len(p.Items) == 0 {
			return nil, fmt.Errorf("page %d (offset %d): %w", page, offset, ErrEmptyPage)
		}
		offset += len(p.Items)
	}
}

// fetchConcurrently fetches the pages at offset, offset+step, … below total
// with at most workers in flight, and returns them in order; the first
// failure cancels the rest and is returned.
func fetchConcurrently[T any](ctx context.Context, fetch PageFetcher[T], pageSize, step, offset, total, workers int,
	onPage func(n, total int)) ([]Page[T], error) {
	n := (total - offset + step - 1) / step
	pages := make([]Page[T], n)
	var errOnce sync.Once
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				off := offset + i*step
				p, err := fetch(ctx, pageSize, off)
				if err != nil {
					// The first failure is the cause; later ones are its cancellation.
					errOnce.Do(func() { firstErr = fmt.Errorf("page %d (offset %d): %w", i+2, off, err) })
					cancel()
					continue
				}
				pages[i] = p
				onPage(len(p.Items), p.TotalRecords)
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return pages, nil
}
