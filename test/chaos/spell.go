package chaos

import (
	"math/rand/v2"
	"strings"
	"unicode"

	"admsync/pkg/match"
	"admsync/pkg/sampledata"
)

// spaces are the whitespace runes match.Key trims and collapses: ASCII
// ones, the no-break and typographic spaces Excel users paste, and the
// ideographic space.
var spaces = []string{" ", "\t", "\n", "\u00a0", "\u2002", "\u2003", "\u2009", "\u202f", "\u3000"}

// folds are spellings that Unicode full case folding (match.Key) maps to
// plain ASCII: the Kelvin sign and the long s, and the Latin ligatures.
var folds = []struct{ from, to string }{
	{"ff", "\ufb00"}, {"fi", "\ufb01"}, {"fl", "\ufb02"}, {"st", "\ufb06"},
	{"k", "\u212a"}, {"s", "\u017f"},
}

// respell returns a spelling of s that match.Key treats as the same name,
// drawn at random from every variation the matcher accepts: letter case,
// whitespace around and between the words, and characters that case-fold
// to the plain ones. It never returns a spelling with another key.
func respell(rng *rand.Rand, s string) string {
	if strings.TrimSpace(s) == "" {
		return s
	}
	v := s
	switch rng.IntN(5) {
	case 1:
		v = strings.ToUpper(v)
	case 2:
		v = strings.ToLower(v)
	case 3, 4:
		var b strings.Builder
		for _, c := range v {
			if rng.IntN(2) == 0 {
				c = unicode.ToUpper(c)
			} else {
				c = unicode.ToLower(c)
			}
			b.WriteRune(c)
		}
		v = b.String()
	}
	if rng.IntN(2) == 0 {
		v = foldForms(rng, v)
	}
	if rng.IntN(2) == 0 {
		words := strings.Fields(v)
		var b strings.Builder
		for i, w := range words {
			if i > 0 {
				b.WriteString(spaceRun(rng, 1+rng.IntN(3)))
			}
			b.WriteString(w)
		}
		v = b.String()
	}
	if rng.IntN(2) == 0 {
		v = spaceRun(rng, 1+rng.IntN(2)) + v
	}
	if rng.IntN(2) == 0 {
		v += spaceRun(rng, 1+rng.IntN(2))
	}
	if match.Key(v) != match.Key(s) {
		return s
	}
	return v
}

func spaceRun(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(spaces[rng.IntN(len(spaces))])
	}
	return b.String()
}

// foldForms replaces some letters (either case) by a character that folds
// to them.
func foldForms(rng *rand.Rand, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		done := false
		if rng.IntN(2) == 0 {
			for _, f := range folds {
				if len(s)-i >= len(f.from) && strings.EqualFold(s[i:i+len(f.from)], f.from) {
					b.WriteString(f.to)
					i += len(f.from)
					done = true
					break
				}
			}
		}
		if !done {
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// spelledColumns are the cells the importer resolves with match.Key:
// course template code, location, venue, instructor, session instructor
// and event administrators.
var spelledColumns = []string{"A", "E", "F", "R", "S", "T"}

// respellBook rewrites a share of those cells in place and returns how
// many it changed.
func respellBook(rng *rand.Rand, b *sampledata.Book, share float64) int {
	n := 0
	for i := range b.Rows {
		for _, col := range spelledColumns {
			v := b.Rows[i].Get(col)
			if v.Kind != sampledata.String || v.Text == "" || rng.Float64() >= share {
				continue
			}
			if s := respell(rng, v.Text); s != v.Text {
				b.Rows[i].Set(col, sampledata.Text(s))
				n++
			}
		}
	}
	return n
}
