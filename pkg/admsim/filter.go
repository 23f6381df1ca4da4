package admsim

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"admsync/pkg/admsim/internal/graph"
)

// filter is the entity-independent form of the <Entity>FieldGraphFilter inputs.
type filter struct {
	field  string
	op     graph.FilterOperation
	value  *string
	values []*string
}

// getter reads the filterable values of one field of a record (a list for list-valued
// fields such as approvedCourseIds; an empty list means null). fold makes eq/ne/in
// case-insensitive, which we use for booleans and enum values.
type getter[T any] struct {
	get  func(*T) []string
	fold bool
}

func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func boolStr(b bool) []string { return []string{strconv.FormatBool(b)} }

// applyFilters ANDs the filters, as Administrate does. One bad filter fails the whole
// request with an error, never a partial result.
func applyFilters[T any](entity string, items []*T, filters []filter, getters map[string]getter[T]) ([]*T, error) {
	for _, f := range filters {
		g, ok := getters[f.field]
		if !ok {
			return nil, fmt.Errorf("filtering %s on field %q is not supported by the simulator", entity, f.field)
		}
		if err := checkFilter(f); err != nil {
			return nil, fmt.Errorf("filter on %s.%s: %w", entity, f.field, err)
		}
		kept := items[:0:0]
		for _, it := range items {
			ok, err := matches(f, g.get(it), g.fold)
			if err != nil {
				return nil, fmt.Errorf("filter on %s.%s: %w", entity, f.field, err)
			}
			if ok {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	return items, nil
}

func checkFilter(f filter) error {
	switch f.op {
	case graph.FilterOperationIn, graph.FilterOperationNotin, graph.FilterOperationContains:
		if len(f.values) == 0 {
			return fmt.Errorf("operation %s needs values", f.op)
		}
	case graph.FilterOperationIsnull, graph.FilterOperationNotnull:
	default:
		if f.value == nil {
			return fmt.Errorf("operation %s needs a value", f.op)
		}
	}
	return nil
}

func matches(f filter, have []string, fold bool) (bool, error) {
	eq := func(a, b string) bool {
		if fold {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	anyOf := func(pred func(string) bool) bool {
		for _, h := range have {
			if pred(h) {
				return true
			}
		}
		return false
	}
	want := deref(f.value)
	switch f.op {
	case graph.FilterOperationEq:
		return anyOf(func(h string) bool { return eq(h, want) }), nil
	case graph.FilterOperationNe:
		return !anyOf(func(h string) bool { return eq(h, want) }), nil
	case graph.FilterOperationIn, graph.FilterOperationContains:
		return anyOf(func(h string) bool {
			for _, v := range f.values {
				if v != nil && eq(h, *v) {
					return true
				}
			}
			return false
		}), nil
	case graph.FilterOperationNotin:
		return !anyOf(func(h string) bool {
			for _, v := range f.values {
				if v != nil && eq(h, *v) {
					return true
				}
			}
			return false
		}), nil
	case graph.FilterOperationIsnull:
		return len(have) == 0, nil
	case graph.FilterOperationNotnull:
		return len(have) > 0, nil
	case graph.FilterOperationLike:
		re, err := likeRegexp(want)
		if err != nil {
			return false, err
		}
		return anyOf(re.MatchString), nil
	case graph.FilterOperationWordlike:
		words := wordsOf(want)
		if len(words) == 0 {
			return false, fmt.Errorf("wordlike needs at least one word")
		}
		return anyOf(func(h string) bool { return containsWordsInOrder(wordsOf(h), words) }), nil
	case graph.FilterOperationGt, graph.FilterOperationGe, graph.FilterOperationLt, graph.FilterOperationLe:
		return anyOf(func(h string) bool {
			c := compareValues(h, want)
			switch f.op {
			case graph.FilterOperationGt:
				return c > 0
			case graph.FilterOperationGe:
				return c >= 0
			case graph.FilterOperationLt:
				return c < 0
			default:
				return c <= 0
			}
		}), nil
	default:
		return false, fmt.Errorf("unsupported operation %q", f.op)
	}
}

// likeRegexp translates SQL LIKE (% any run, _ one character) into a case-insensitive
// anchored regexp; without a wildcard, like is a case-insensitive equality.
func likeRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?is)^")
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// wordsOf lower-cases s and splits it into words, ignoring punctuation.
func wordsOf(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// containsWordsInOrder reports whether every word of want starts a word of have, in order.
func containsWordsInOrder(have, want []string) bool {
	i := 0
	for _, h := range have {
		if i < len(want) && strings.HasPrefix(h, want[i]) {
			i++
		}
	}
	return i == len(want)
}

// compareValues compares numerically when both sides are numbers, else as text (which
// orders ISO-8601 dates correctly).
func compareValues(a, b string) int {
	fa, errA := strconv.ParseFloat(a, 64)
	fb, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

// page is the result of paginating a filtered list.
type page struct {
	offset int
	limit  int
	total  int
}

// paginate validates first/offset/after and returns the window [offset, offset+limit).
// first defaults to defSize and is capped at maxSize, as servers cap page sizes.
func paginate(total int, first, offset *int, after *string, defSize, maxSize int) (page, error) {
	p := page{total: total, limit: defSize}
	if first != nil {
		if *first < 0 {
			return p, fmt.Errorf("first must not be negative")
		}
		p.limit = *first
	}
	if p.limit > maxSize {
		p.limit = maxSize
	}
	if offset != nil {
		if *offset < 0 {
			return p, fmt.Errorf("offset must not be negative")
		}
		p.offset = *offset
	}
	if after != nil && *after != "" {
		n, err := decodeCursor(*after)
		if err != nil {
			return p, err
		}
		p.offset = n + 1
	}
	return p, nil
}

// bounds returns the slice bounds of the page within the filtered list.
func (p page) bounds() (int, int) {
	lo := min(p.offset, p.total)
	hi := min(lo+p.limit, p.total)
	return lo, hi
}

func (p page) info() *graph.PageInfo {
	lo, hi := p.bounds()
	info := &graph.PageInfo{
		HasNextPage:     hi < p.total,
		HasPreviousPage: lo > 0,
		TotalRecords:    ptr(p.total),
	}
	if hi > lo {
		info.StartCursor = ptr(cursor(lo))
		info.EndCursor = ptr(cursor(hi - 1))
	}
	return info
}

func cursor(i int) string {
	return base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(i)))
}

func decodeCursor(c string) (int, error) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, fmt.Errorf("malformed cursor %q", c)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("malformed cursor %q", c)
	}
	return n, nil
}

// window filters then pages items.
func window[T any](entity string, items []*T, filters []filter, getters map[string]getter[T],
	first, offset *int, after *string, defSize, maxSize int) ([]*T, page, error) {
	items, err := applyFilters(entity, items, filters, getters)
	if err != nil {
		return nil, page{}, err
	}
	p, err := paginate(len(items), first, offset, after, defSize, maxSize)
	if err != nil {
		return nil, p, err
	}
	lo, hi := p.bounds()
	return items[lo:hi], p, nil
}
