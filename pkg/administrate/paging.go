package administrate

import (
	"context"
	"fmt"
	"iter"
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

// CollectPages fetches every page and returns all items, or the first error and none
// of the items: callers must not act on a partial list.
func CollectPages[T any](ctx context.Context, pageSize int, fetch PageFetcher[T]) ([]T, error) {
	var out []T
	for it, err := range Pages(ctx, pageSize, fetch) {
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}
