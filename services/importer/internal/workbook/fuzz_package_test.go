package workbook_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"admsync/services/importer/internal/workbook"
)

// FuzzPackagePart replaces one part of a valid workbook (chosen by which)
// with arbitrary bytes: reading must end in rows or a *FileError, never in
// a panic (the reader recovers panics into refusals, so a recovered one is
// reported here as a failure) and never in an error of another kind.
func FuzzPackagePart(f *testing.F) {
	base := sharedXLSX(f, 3, 8)
	zr, err := zip.NewReader(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		f.Fatal(err)
	}
	names := []string{"xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"}
	for i, name := range names {
		for _, zf := range zr.File {
			if zf.Name == name {
				rc, _ := zf.Open()
				data, _ := io.ReadAll(rc)
				rc.Close()
				f.Add(uint8(i), data)
				if len(data) > 200 {
					f.Add(uint8(i), data[:len(data)/2])
				}
			}
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, which uint8, part []byte) {
		name := names[int(which)%len(names)]
		data := rezip(t, base, map[string]func([]byte) []byte{name: func([]byte) []byte { return part }}, nil, zip.Store)
		path := filepath.Join(dir, "f.xlsx")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := readAll(path, workbook.Limits{})
		if err == nil {
			return
		}
		var fe *workbook.FileError
		if !errors.As(err, &fe) {
			t.Fatalf("%s: not a refusal: %v", name, err)
		}
		if msg := err.Error(); strings.Contains(msg, "could not be read (") || strings.Contains(msg, "damaged near row") {
			t.Fatalf("%s: a recovered panic: %s", name, msg)
		}
	})
}
