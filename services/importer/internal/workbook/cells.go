package workbook

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Date is a calendar day with no zone; the event's time zone is applied
// only when a date and a time are combined into an instant.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d.Year == 0 }

// Time returns midnight of d in UTC, for storage as a DATE.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// String renders d as the template writes dates (DD/MM/YYYY).
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Time().Format("02/01/2006")
}

// Clock is a time of day in minutes after midnight.
type Clock int

// String renders c as HH:MM.
func (c Clock) String() string {
	return time.Date(2000, 1, 1, int(c)/60, int(c)%60, 0, 0, time.UTC).Format("15:04")
}

// Plausible dates: a serial outside this window is almost always a number
// typed into a date column (a day count, a price), not a date.
const (
	minYear = 2000
	maxYear = 2099
	// Excel's last serial: 31 Dec 9999 in the 1900 system.
	maxSerial = 2958465
)

var (
	errDateFormat  = errors.New("is not a date: enter it as a date cell or as text DD/MM/YYYY")
	errDateRange   = errors.New("is not a plausible date (outside 2000–2099): is it a number rather than a date?")
	errDateInvalid = errors.New("is not a real calendar date")
	errTimeFormat  = errors.New("is not a time of day: enter it as text HH:MM (24-hour) or as a time cell")
	errTimeIsDate  = errors.New("holds a date and time, not a time of day: enter only the time, as HH:MM")
	errNotInteger  = errors.New("is not a whole number")
)

// ParseDate reads a date cell's raw value: a serial number (the workbook's
// 1900 or 1904 system; a time-of-day fraction is ignored) or text
// D/M/YYYY, D-M-YYYY or YYYY-MM-DD. Anything else is an error; text is never
// guessed at beyond those layouts.
func ParseDate(raw string, date1904 bool) (Date, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return Date{}, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return serialDate(f, date1904)
	}
	var sep string
	switch {
	case strings.Contains(s, "/"):
		sep = "/"
	case strings.Contains(s, "-"):
		sep = "-"
	default:
		return Date{}, errDateFormat
	}
	parts := strings.Split(s, sep)
	if len(parts) != 3 {
		return Date{}, errDateFormat
	}
	var n [3]int
	for i, p := range parts {
		v, ok := digits(p)
		if !ok {
			return Date{}, errDateFormat
		}
		n[i] = v
	}
	var y, m, d int
	switch {
	case len(parts[2]) == 4 && len(parts[0]) <= 2 && len(parts[1]) <= 2:
		d, m, y = n[0], n[1], n[2]
	case sep == "-" && len(parts[0]) == 4 && len(parts[1]) <= 2 && len(parts[2]) <= 2:
		y, m, d = n[0], n[1], n[2]
	default:
		return Date{}, errDateFormat
	}
	return makeDate(y, m, d)
}

func makeDate(y, m, d int) (Date, error) {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return Date{}, errDateInvalid
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || int(t.Month()) != m {
		return Date{}, errDateInvalid // 31/02, 29/02 of a common year
	}
	if y < minYear || y > maxYear {
		return Date{}, errDateRange
	}
	return Date{y, time.Month(m), d}, nil
}

func serialDate(f float64, date1904 bool) (Date, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 1 || f > maxSerial {
		return Date{}, errDateRange
	}
	days := int(math.Floor(f))
	// The 1900 system counts from 30 Dec 1899 for every serial after
	// Excel's fictitious 29 Feb 1900; earlier serials are outside the
	// plausible window anyway. The 1904 system counts from 1 Jan 1904.
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	if date1904 {
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	t := base.AddDate(0, 0, days)
	if t.Year() < minYear || t.Year() > maxYear {
		return Date{}, errDateRange
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// ParseTime reads a time cell's raw value: text H:MM / HH:MM (24-hour) or a
// day fraction in [0, 1) rounded to the minute. A value of 1 or more is a
// date-time and is refused.
func ParseTime(raw string) (Clock, bool, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return 0, false, nil
	}
	if h, m, ok := strings.Cut(s, ":"); ok {
		hh, ok1 := digits(h)
		mm, ok2 := digits(m)
		if !ok1 || !ok2 || len(h) > 2 || len(m) != 2 || hh > 23 || mm > 59 {
			return 0, false, errTimeFormat
		}
		return Clock(hh*60 + mm), true, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, false, errTimeFormat
	}
	if f >= 1 {
		return 0, false, errTimeIsDate
	}
	mins := int(math.Round(f * 24 * 60))
	if mins >= 24*60 {
		mins = 24*60 - 1 // 23:59:59.x rounds up to midnight; keep it on the same day
	}
	return Clock(mins), true, nil
}

// ParseInt reads a whole number written as a number cell ("14", "14.0") or
// text.
func ParseInt(raw string) (int, bool, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return 0, false, nil
	}
	if v, err := strconv.Atoi(s); err == nil {
		return v, true, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1e9 {
		return 0, false, errNotInteger
	}
	return int(f), true, nil
}

// digits parses a non-empty run of ASCII digits (at most 9).
func digits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
