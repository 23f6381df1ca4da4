// Package match holds the one normalisation every admsync component uses to
// compare names typed by people (workbook cells, tutorial records,
// Administrate records): trimmed, inner whitespace collapsed to one space,
// and Unicode case-folded. The importer and the syncer must agree on it, or a
// name that links in one place would fail to resolve in the other.
package match

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
)

// A cases.Caser keeps state between calls, so one is pooled per goroutine
// rather than shared.
var folders = sync.Pool{New: func() any { c := cases.Fold(); return &c }}

// Key returns the comparison key of s: leading and trailing whitespace
// removed, every run of inner whitespace (including non-breaking spaces and
// tabs) replaced by one space, and full Unicode case folding applied, so
// "  Live   Online " and "live online" have the same key, and so do "STRASSE"
// and "straße".
func Key(s string) string {
	// Fast path: plain ASCII, the common case in workbooks. ASCII lower-casing
	// is exactly Unicode case folding for these characters.
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return asciiKey(s)
	}
	collapsed := strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	c := folders.Get().(*cases.Caser)
	out := c.String(collapsed)
	folders.Put(c)
	return out
}

func asciiKey(s string) string {
	// Return s itself when it is already a key, to avoid an allocation.
	clean := true
	prevSpace := true // a leading space is not clean
	for i := 0; i < len(s); i++ {
		b := s[i]
		sp := isASCIISpace(b)
		if (b >= 'A' && b <= 'Z') || (sp && (prevSpace || b != ' ')) {
			clean = false
			break
		}
		prevSpace = sp
	}
	if clean && !prevSpace {
		return s
	}
	if clean && len(s) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isASCIISpace(c) {
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isASCIISpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

// Equal reports whether a and b have the same Key.
func Equal(a, b string) bool { return Key(a) == Key(b) }

// SplitNames splits a cell holding several person names separated by "/",
// ";" or ",", trims each, and drops empty parts. "A Smith / B Jones; C Lee"
// gives three names.
func SplitNames(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == ';' || r == ',' })
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
