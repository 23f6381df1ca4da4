package syncer

import (
	"strings"
	"testing"
)

func storedRow(id int64, key string, gone bool, vals ...string) stored {
	s := stored{id: id, gone: gone, row: row{key: []string{key}}}
	for _, v := range vals {
		if v == "<nil>" {
			s.row.vals = append(s.row.vals, nil)
		} else {
			s.row.vals = append(s.row.vals, str(v))
		}
	}
	return s
}

func desiredRow(key string, vals ...string) row {
	return storedRow(0, key, false, vals...).row
}

var testTable = &table{name: "t", key: []string{"external_id"},
	cols: []column{{"name", colText}, {"amount", colNumeric}, {"cf", colJSON}}, hasGone: true}

func TestDiffComparesDataColumnsOnly(t *testing.T) {
	t.Parallel()
	existing := []stored{
		storedRow(1, "a", false, "A", "250.00", `{"x": "1", "y": null}`),
		storedRow(2, "b", false, "B", "10", `{}`),
		storedRow(3, "c", true, "C", "1", `{}`),
	}
	p := diff(testTable, existing, diffInput{
		desired: []row{
			desiredRow("a", "A", "250", `{"y":null,"x":"1"}`), // same data, other spelling
			desiredRow("b", "B2", "10", `{}`),                 // changed
			desiredRow("c", "C", "1", `{}`),                   // back from gone
			desiredRow("d", "D", "1", `{}`),                   // new
		},
		seen: map[string]bool{"a": true, "b": true, "c": true, "d": true},
	})
	if p.unchanged != 1 || len(p.updates) != 2 || len(p.creates) != 1 || len(p.gone) != 0 {
		t.Fatalf("plan: unchanged %d updates %d creates %d gone %d", p.unchanged, len(p.updates), len(p.creates), len(p.gone))
	}
	if f := p.updates[1].fields; len(f) != 1 || f[0] != "gone_at" {
		t.Fatalf("revived row fields = %v", f)
	}
}

func TestDiffGoneGuard(t *testing.T) {
	t.Parallel()
	var existing []stored
	for i, k := range []string{"a", "b", "c", "d"} {
		existing = append(existing, storedRow(int64(i+1), k, false, k, "1", "{}"))
	}
	one := diffInput{desired: []row{desiredRow("a", "a", "1", "{}")}, seen: map[string]bool{"a": true}}
	p := diff(testTable, existing, one)
	if len(p.gone) != 0 || p.blockedGone != 3 || !strings.Contains(p.goneBlocked, "more than half") {
		t.Fatalf("drop from 4 to 1 must be blocked: %+v", p)
	}
	one.forceGone = true
	if p := diff(testTable, existing, one); len(p.gone) != 3 {
		t.Fatalf("--force-gone: gone = %d", len(p.gone))
	}
	half := diffInput{desired: []row{desiredRow("a", "a", "1", "{}"), desiredRow("b", "b", "1", "{}")},
		seen: map[string]bool{"a": true, "b": true}}
	if p := diff(testTable, existing, half); len(p.gone) != 2 {
		t.Fatalf("a drop of exactly half is allowed: gone = %d (%s)", len(p.gone), p.goneBlocked)
	}
	half.incomplete = "page 3 failed"
	if p := diff(testTable, existing, half); len(p.gone) != 0 || !strings.Contains(p.goneBlocked, "page 3 failed") {
		t.Fatalf("incomplete fetch must block: %+v", p)
	}
}

func TestDiffAltKeyTakesOverReplacedRow(t *testing.T) {
	t.Parallel()
	tbl := &table{name: "p", key: []string{"external_id"}, hasGone: true,
		cols: []column{{"ct", colBigint}, {"pl", colBigint}, {"amount", colNumeric}}, altKey: []string{"ct", "pl"}}
	existing := []stored{storedRow(7, "P1", false, "1", "2", "500.00")}
	p := diff(tbl, existing, diffInput{desired: []row{desiredRow("P2", "1", "2", "550")}, seen: map[string]bool{"P2": true}})
	if len(p.creates) != 0 || len(p.gone) != 0 || len(p.updates) != 1 || p.updates[0].id != 7 {
		t.Fatalf("want the stored row updated in place: %+v", p)
	}
}
