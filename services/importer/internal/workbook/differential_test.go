package workbook

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	"admsync/pkg/sampledata"
)

// sameAsExcelize reads path with the strict reader and with excelize's row
// iterator (raw values) and fails at the first row where they differ: the
// strict reader must change what is refused, never what is read.
func sameAsExcelize(t *testing.T, path string) int {
	t.Helper()
	r, err := Open(path, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.Rows(r.Sheet)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		want, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 1 {
			continue // the header, consumed by Open
		}
		got, ok, err := r.next()
		if err != nil || !ok {
			t.Fatalf("row %d: strict reader ended early: %v", n, err)
		}
		if r.rowNum != n || !slices.Equal(got, want) {
			t.Fatalf("row %d (strict reader at %d):\n got %q\nwant %q", n, r.rowNum, got, want)
		}
	}
	if _, ok, err := r.next(); ok || err != nil {
		t.Fatalf("strict reader has rows after excelize's last (%d): %v", n, err)
	}
	return n
}

func TestReaderMatchesExcelize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for seed := uint64(1); seed <= 6; seed++ {
		opts := sampledata.Options{Events: 40, Seed: seed, Date1904: seed%2 == 0}
		path := filepath.Join(dir, "w.xlsx")
		if _, err := sampledata.WriteFile(path, opts); err != nil {
			t.Fatal(err)
		}
		if n := sameAsExcelize(t, path); n < 40 {
			t.Fatalf("seed %d: only %d rows", seed, n)
		}
		os.Remove(path)
	}
}
