package pipeline_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"admsync/services/importer/internal/pipeline"
	"admsync/services/importer/internal/workbook"
)

// TestDamagedSheetCommitsNothing damages the sheet near its end, after the
// writer has already been handed a first batch of events inside the import
// transaction: the import must fail as a whole and leave every table as it
// was.
func TestDamagedSheetCommitsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bk := book(2100) // more than one write batch
	path := b.write(bk)
	last := len(bk.Rows) + 3
	damageRow(t, path, last-1, "\x01")
	before := b.counts()
	_, err := pipeline.Import(context.Background(), b.db.Pool, path, pipeline.Options{})
	var fe *workbook.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("import of a damaged sheet: %v", err)
	}
	if fe.Problems[0].Row != last-1 || !strings.Contains(err.Error(), "xl/worksheets/sheet1.xml") {
		t.Fatalf("the refusal does not locate the damage (row %d): %s", last-1, err)
	}
	after := b.counts()
	for tbl, n := range before {
		if after[tbl] != n {
			t.Errorf("%s: %d rows before, %d after", tbl, n, after[tbl])
		}
	}
}

// damageRow inserts bad just inside <row r="row"> of the Import sheet.
func damageRow(t *testing.T, path string, row int, bad string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	done := false
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == "xl/worksheets/sheet1.xml" {
			tag := fmt.Sprintf(`<row r="%d">`, row)
			if bytes.Contains(data, []byte(tag)) {
				data = bytes.Replace(data, []byte(tag), []byte(tag+bad), 1)
				done = true
			}
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if !done {
		t.Fatalf("no row %d in the sheet", row)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
