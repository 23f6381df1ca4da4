// Package defaults fills in the settings an options struct leaves unset.
package defaults

// Number is a count, size, rate or duration setting.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~float32 | ~float64
}

// Positive gives *v the default d when *v is zero or negative, the way every
// options struct here reads an unset (or nonsensical) count, size or duration;
// a positive *v is left as it is.
func Positive[T Number](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}
