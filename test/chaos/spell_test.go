package chaos

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"

	"admsync/pkg/match"
	"admsync/pkg/sampledata"
)

// TestRespellKeepsTheKey checks that every respelling of every name the
// generator uses has the same match.Key, and that over many seeds the
// respellings really use each kind of variation the matcher accepts: case,
// surrounding and inner whitespace (ASCII and Unicode), and characters
// that only case folding maps back.
func TestRespellKeepsTheKey(t *testing.T) {
	ref := sampledata.Reference(sampledata.Options{Seed: 1})
	var names []string
	for _, ct := range ref.CourseTemplates {
		names = append(names, ct.Code)
	}
	for _, l := range ref.Locations {
		names = append(names, l.Name)
	}
	for _, v := range ref.Venues {
		names = append(names, v.Name)
	}
	for _, p := range append(ref.Instructors, ref.Administrators...) {
		names = append(names, p.FullName())
	}
	names = append(names, "To be confirmed", "Alice Abbott / Ben Bennett")
	seen := map[string]int{}
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		for _, name := range names {
			v := respell(rng, name)
			if match.Key(v) != match.Key(name) {
				t.Fatalf("respell(%q) = %q: key %q, want %q", name, v, match.Key(v), match.Key(name))
			}
			if v == name {
				continue
			}
			seen["changed"]++
			if strings.ToLower(v) != v && strings.ToUpper(v) != v && strings.Map(keepLetters, v) != strings.Map(keepLetters, name) {
				seen["case"]++
			}
			if strings.TrimSpace(v) != v || strings.TrimFunc(v, unicode.IsSpace) != v {
				seen["surrounding space"]++
			}
			if inner := strings.TrimFunc(v, unicode.IsSpace); strings.Contains(strings.TrimSpace(name), " ") && strings.Join(strings.Fields(inner), " ") != inner {
				seen["inner space"]++
			}
			if strings.ContainsAny(v, "\u00a0\u2002\u2003\u2009\u202f\u3000") {
				seen["unicode space"]++
			}
			if strings.ContainsAny(v, "\u212a\u017f\ufb00\ufb01\ufb02\ufb06") {
				seen["folded form"]++
			}
		}
	}
	for _, kind := range []string{"changed", "case", "surrounding space", "inner space", "unicode space", "folded form"} {
		if seen[kind] == 0 {
			t.Errorf("no respelling used %s", kind)
		}
	}
	t.Logf("variations over 200 seeds: %v", seen)
}

func keepLetters(r rune) rune {
	if unicode.IsLetter(r) {
		return r
	}
	return -1
}

// TestRespellBookIsRepeatable checks a seed always gives the same workbook,
// so a failing round can be rerun exactly.
func TestRespellBookIsRepeatable(t *testing.T) {
	gen := func() *sampledata.Book {
		b, _ := sampledata.Generate(sampledata.Options{Events: 12, Seed: 7})
		rng := rand.New(rand.NewPCG(7, 2))
		respellBook(rng, b, 0.6)
		spoil(rng, b, 2)
		return b
	}
	a, b := gen(), gen()
	if len(a.Rows) != len(b.Rows) {
		t.Fatalf("%d rows, then %d", len(a.Rows), len(b.Rows))
	}
	for i := range a.Rows {
		if a.Rows[i] != b.Rows[i] {
			t.Fatalf("row %d differs between two runs of one seed", i)
		}
	}
}
