package administrate

import (
	"encoding/json"
	"testing"
	"time"
)

func TestLocalDateTimeAcceptsStringAndNumber(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`"2026-09-01T09:00:00"`:       "2026-09-01T09:00:00",
		`"2026-09-01T09:00"`:          "2026-09-01T09:00:00",
		`"2026-09-01 09:00:00"`:       "2026-09-01T09:00:00",
		`"2026-09-01T09:00:00+01:00"`: "2026-09-01T09:00:00", // wall clock kept
		`1788253200`:                  "2026-09-01T09:00:00", // Unix seconds, read as UTC
		`null`:                        "",
	} {
		var l LocalDateTime
		if err := json.Unmarshal([]byte(in), &l); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if l.String() != want {
			t.Errorf("%s -> %q, want %q", in, l.String(), want)
		}
	}
	var bad LocalDateTime
	if err := json.Unmarshal([]byte(`"01/09/2026"`), &bad); err == nil {
		t.Errorf("a D/M/Y string was accepted")
	}
	b, _ := json.Marshal(struct{ A, B LocalDateTime }{A: NewLocalDateTime(2026, 3, 2, 9, 30, 0)})
	if string(b) != `{"A":"2026-03-02T09:30:00","B":null}` {
		t.Errorf("marshal = %s", b)
	}
	london, _ := time.LoadLocation("Europe/London")
	if got := NewLocalDateTime(2026, 7, 1, 9, 0, 0).In(london).UTC().Hour(); got != 8 {
		t.Errorf("09:00 BST is %d:00 UTC, want 8", got)
	}
}

func TestDateTimeAcceptsStringAndNumber(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`"2026-09-01T08:00:00Z"`, `"2026-09-01T09:00:00+01:00"`, `"2026-09-01T08:00:00.000Z"`, `1788249600`} {
		var d DateTime
		if err := json.Unmarshal([]byte(in), &d); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if !d.Equal(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)) {
			t.Errorf("%s -> %v", in, d.Time)
		}
	}
	b, _ := json.Marshal(NewDateTime(time.Date(2026, 9, 1, 9, 0, 0, 0, time.FixedZone("x", 3600))))
	if string(b) != `"2026-09-01T08:00:00Z"` {
		t.Errorf("marshal = %s", b)
	}
}

func TestDecimalKeepsExactText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`"250.00"`: "250.00", `250.00`: "250.00", `250`: "250", `"0.1"`: "0.1", `null`: ""} {
		var d Decimal
		if err := json.Unmarshal([]byte(in), &d); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if d.String() != want {
			t.Errorf("%s -> %q, want %q", in, d.String(), want)
		}
	}
	for _, bad := range []string{`"1e3"`, `"1/2"`, `"abc"`, `true`, `"0x10"`} {
		var d Decimal
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s accepted as %q", bad, d.String())
		}
	}
	if MustDecimal("250").Cmp(MustDecimal("250.00")) != 0 || MustDecimal("45.50").Cmp(MustDecimal("45.5")) != 0 {
		t.Errorf("numeric comparison")
	}
	b, _ := json.Marshal(MustDecimal("650.00"))
	if string(b) != `"650.00"` {
		t.Errorf("marshal = %s, want the string form", b)
	}
}
