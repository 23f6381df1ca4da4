package administrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The three custom scalars are bound to these types in genqlient.yaml and in the
// simulator's gqlgen.yml. Administrate documents the string forms; the number forms
// are accepted because its output form is not documented (see administrate-api.md §3)
// and a client that breaks on "250" vs 250 would fail in production, not in tests.
//
// The zero value of each type means "no value": it marshals to JSON null, which lets
// genqlient's omitempty semantics work for optional inputs of these types.

const localDateTimeLayout = "2006-01-02T15:04:05"

// decimalPattern is deliberately strict: no exponent, no fraction syntax, no hex.
var decimalPattern = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)$`)

// LocalDateTime is a naive wall-clock date-time (no zone), e.g. 2026-09-01T09:00:00.
// Administrate reads it in the record's timeZoneName.
type LocalDateTime struct {
	// wall holds the wall-clock fields in UTC; the zone carries no meaning.
	wall time.Time
}

// NewLocalDateTime builds a LocalDateTime from calendar fields.
func NewLocalDateTime(year int, month time.Month, day, hour, minute, second int) LocalDateTime {
	return LocalDateTime{wall: time.Date(year, month, day, hour, minute, second, 0, time.UTC)}
}

// LocalDateTimeOf keeps the wall-clock fields of t (in t's own location) and drops the zone.
func LocalDateTimeOf(t time.Time) LocalDateTime {
	if t.IsZero() {
		return LocalDateTime{}
	}
	return LocalDateTime{wall: time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)}
}

// ParseLocalDateTime parses the forms Administrate and our callers use:
// 2006-01-02T15:04:05 (fractional seconds allowed), 2006-01-02T15:04, a space
// instead of T, and RFC 3339 with an offset, whose offset is dropped (wall clock kept).
func ParseLocalDateTime(s string) (LocalDateTime, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return LocalDateTime{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return LocalDateTimeOf(t), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return LocalDateTime{wall: t}, nil
		}
	}
	return LocalDateTime{}, fmt.Errorf("invalid LocalDateTime %q: want YYYY-MM-DDTHH:MM:SS", s)
}

// IsZero reports whether no value is set.
func (l LocalDateTime) IsZero() bool { return l.wall.IsZero() }

// In interprets the wall clock in loc.
func (l LocalDateTime) In(loc *time.Location) time.Time {
	w := l.wall
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
}

// Wall returns the wall-clock fields as a time in UTC (for comparison and arithmetic).
func (l LocalDateTime) Wall() time.Time { return l.wall }

// Before reports whether l is strictly earlier than o.
func (l LocalDateTime) Before(o LocalDateTime) bool { return l.wall.Before(o.wall) }

// Equal reports whether both denote the same wall clock.
func (l LocalDateTime) Equal(o LocalDateTime) bool { return l.wall.Equal(o.wall) }

// String renders the Administrate form, or "" for the zero value.
func (l LocalDateTime) String() string {
	if l.IsZero() {
		return ""
	}
	return l.wall.Format(localDateTimeLayout)
}

// MarshalJSON implements json.Marshaler; the zero value is null.
func (l LocalDateTime) MarshalJSON() ([]byte, error) {
	if l.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(l.String())
}

// UnmarshalJSON accepts a string, null, or a number of Unix seconds (read as UTC wall clock).
func (l *LocalDateTime) UnmarshalJSON(b []byte) error {
	v, err := decodeScalar(b)
	if err != nil {
		return fmt.Errorf("LocalDateTime: %w", err)
	}
	return l.set(v)
}

// UnmarshalGQL lets gqlgen (the simulator) decode the scalar from a variable or literal.
func (l *LocalDateTime) UnmarshalGQL(v any) error { return l.set(v) }

// MarshalGQL lets gqlgen (the simulator) encode the scalar.
func (l LocalDateTime) MarshalGQL(w io.Writer) { writeJSON(w, l) }

func (l *LocalDateTime) set(v any) error {
	switch x := v.(type) {
	case nil:
		*l = LocalDateTime{}
		return nil
	case string:
		p, err := ParseLocalDateTime(x)
		if err != nil {
			return err
		}
		*l = p
		return nil
	default:
		secs, err := numberToFloat(v)
		if err != nil {
			return fmt.Errorf("LocalDateTime: %w", err)
		}
		*l = LocalDateTimeOf(unixFloat(secs).UTC())
		return nil
	}
}

// DateTime is an instant. Administrate returns it in UTC with a Z suffix.
type DateTime struct {
	time.Time
}

// NewDateTime wraps t.
func NewDateTime(t time.Time) DateTime { return DateTime{Time: t} }

// MarshalJSON implements json.Marshaler as RFC 3339 in UTC; the zero value is null.
func (d DateTime) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.UTC().Format(time.RFC3339))
}

// UnmarshalJSON accepts RFC 3339 (with or without fractional seconds), a naive
// date-time (read as UTC), null, or a number of Unix seconds.
func (d *DateTime) UnmarshalJSON(b []byte) error {
	v, err := decodeScalar(b)
	if err != nil {
		return fmt.Errorf("DateTime: %w", err)
	}
	return d.set(v)
}

// UnmarshalGQL lets gqlgen (the simulator) decode the scalar.
func (d *DateTime) UnmarshalGQL(v any) error { return d.set(v) }

// MarshalGQL lets gqlgen (the simulator) encode the scalar.
func (d DateTime) MarshalGQL(w io.Writer) { writeJSON(w, d) }

func (d *DateTime) set(v any) error {
	switch x := v.(type) {
	case nil:
		*d = DateTime{}
		return nil
	case string:
		x = strings.TrimSpace(x)
		if x == "" {
			*d = DateTime{}
			return nil
		}
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			*d = DateTime{Time: t}
			return nil
		}
		l, err := ParseLocalDateTime(x)
		if err != nil {
			return fmt.Errorf("invalid DateTime %q: want RFC 3339", x)
		}
		*d = DateTime{Time: l.wall}
		return nil
	default:
		secs, err := numberToFloat(v)
		if err != nil {
			return fmt.Errorf("DateTime: %w", err)
		}
		*d = DateTime{Time: unixFloat(secs).UTC()}
		return nil
	}
}

// Decimal is an exact decimal amount kept in its canonical text form, so "250.00"
// round-trips unchanged and no float rounding touches money.
type Decimal struct {
	text string
}

// ParseDecimal validates and normalises s (an optional sign, digits, optional fraction).
func ParseDecimal(s string) (Decimal, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Decimal{}, nil
	}
	if !decimalPattern.MatchString(s) {
		return Decimal{}, fmt.Errorf("invalid Decimal %q", s)
	}
	if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	return Decimal{text: s}, nil
}

// MustDecimal is ParseDecimal for constants; it panics on a malformed literal.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// IsZero reports whether no value is set (an amount of "0.00" is not zero here).
func (d Decimal) IsZero() bool { return d.text == "" }

// String returns the decimal text as received or given, e.g. "250.00".
func (d Decimal) String() string { return d.text }

// Rat returns the exact value.
func (d Decimal) Rat() *big.Rat {
	r, _ := new(big.Rat).SetString(d.text)
	if r == nil {
		return new(big.Rat)
	}
	return r
}

// Cmp compares numerically (so "250" equals "250.00").
func (d Decimal) Cmp(o Decimal) int { return d.Rat().Cmp(o.Rat()) }

// MarshalJSON writes the string form Administrate accepts; the zero value is null.
func (d Decimal) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.text)
}

// UnmarshalJSON accepts a string, a JSON number (its exact text is kept) or null.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '"' && !bytes.Equal(b, []byte("null")) {
		p, err := ParseDecimal(string(b))
		if err != nil {
			return err
		}
		*d = p
		return nil
	}
	v, err := decodeScalar(b)
	if err != nil {
		return fmt.Errorf("Decimal: %w", err)
	}
	return d.set(v)
}

// UnmarshalGQL lets gqlgen (the simulator) decode the scalar.
func (d *Decimal) UnmarshalGQL(v any) error { return d.set(v) }

// MarshalGQL lets gqlgen (the simulator) encode the scalar.
func (d Decimal) MarshalGQL(w io.Writer) { writeJSON(w, d) }

func (d *Decimal) set(v any) error {
	switch x := v.(type) {
	case nil:
		*d = Decimal{}
		return nil
	case string:
		p, err := ParseDecimal(x)
		if err != nil {
			return err
		}
		*d = p
		return nil
	case json.Number:
		return d.set(string(x))
	case int:
		*d = Decimal{text: strconv.Itoa(x)}
		return nil
	case int64:
		*d = Decimal{text: strconv.FormatInt(x, 10)}
		return nil
	case float64:
		*d = Decimal{text: strconv.FormatFloat(x, 'f', -1, 64)}
		return nil
	default:
		return fmt.Errorf("invalid Decimal of type %T", v)
	}
}

// decodeScalar turns raw JSON into nil, string or json.Number.
func decodeScalar(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	switch v.(type) {
	case nil, string, json.Number:
		return v, nil
	default:
		return nil, fmt.Errorf("want a string or number, got %s", string(b))
	}
}

func numberToFloat(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Float64()
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	default:
		return 0, fmt.Errorf("want a string or number, got %T", v)
	}
}

func unixFloat(secs float64) time.Time {
	whole := int64(secs)
	return time.Unix(whole, int64((secs-float64(whole))*1e9))
}

func writeJSON(w io.Writer, v json.Marshaler) {
	b, err := v.MarshalJSON()
	if err != nil {
		b = []byte("null")
	}
	_, _ = w.Write(b)
}
