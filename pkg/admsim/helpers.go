package admsim

import (
	"sort"

	"admsync/pkg/admsim/internal/graph"
)

func sortStrings(s []string) { sort.Strings(s) }

func validEntityType(t string) bool { return graph.SupportsCustomField(t).IsValid() }

func ptr[T any](v T) *T { return &v }

// strPtr returns nil for "", so empty optional strings come back as null.
func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
