// Package sqlarg turns the importer's values into SQL arguments for the
// tutorial tables, where a missing value is NULL: the zero value of each
// kind (no id, no text, no time) is passed as nil.
package sqlarg

import (
	"time"

	"admsync/services/importer/internal/validate"
)

// ID is id, or NULL for 0 (no row).
func ID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Text is s, or NULL for "".
func Text(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Time is t as the tutorial tables store it (wall clock, validate.Wall),
// or NULL for the zero time.
func Time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return validate.Wall(t)
}
