package workbook_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"admsync/pkg/sampledata"
	"admsync/services/importer/internal/workbook"
)

// baseXLSX is a small valid generated workbook.
func baseXLSX(t testing.TB) []byte {
	t.Helper()
	b, _ := sampledata.Generate(sampledata.Options{Events: 3, Seed: 2})
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rezip copies a package, transforming parts and adding new ones, each
// part stored with method.
func rezip(t testing.TB, src []byte, edit map[string]func([]byte) []byte, add map[string][]byte, method uint16) []byte {
	t.Helper()
	write := make(map[string]func(io.Writer), len(add))
	for name, data := range add {
		write[name] = func(w io.Writer) { w.Write(data) }
	}
	return pack(t, src, edit, write, method, nil)
}

// pack copies the parts of src through edit, then writes the parts of add;
// compress, if not nil, replaces the Deflate compressor.
func pack(t testing.TB, src []byte, edit map[string]func([]byte) []byte, add map[string]func(io.Writer), method uint16, compress zip.Compressor) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	if compress != nil {
		zw.RegisterCompressor(zip.Deflate, compress)
	}
	create := func(name string) io.Writer {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if fn := edit[f.Name]; fn != nil {
			data = fn(data)
		}
		if _, err := create(f.Name).Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for name, fn := range add {
		fn(create(name))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

var cellB4 = regexp.MustCompile(`<c r="B4"[^>]*>.*?</c>`)

func replaceB4(with string) func([]byte) []byte {
	return func(b []byte) []byte { return cellB4.ReplaceAll(b, []byte(with)) }
}

// withSST adds a shared-string table holding sst and points B4 at index idx.
func withSST(t testing.TB, sst string, idx string) []byte {
	return rezip(t, baseXLSX(t), map[string]func([]byte) []byte{
		"xl/worksheets/sheet1.xml": replaceB4(`<c r="B4" t="s"><v>` + idx + `</v></c>`),
		"[Content_Types].xml": func(b []byte) []byte {
			return bytes.Replace(b, []byte("</Types>"), []byte(`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`), 1)
		},
		"xl/_rels/workbook.xml.rels": func(b []byte) []byte {
			return bytes.Replace(b, []byte("</Relationships>"), []byte(`<Relationship Id="rId99" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>`), 1)
		},
	}, map[string][]byte{"xl/sharedStrings.xml": []byte(sst)}, zip.Deflate)
}

// readAll opens and reads a workbook to the end, returning the first error.
func readAll(path string, lim workbook.Limits) (rows int, err error) {
	r, err := workbook.Open(path, lim)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if err != nil {
			return rows, err
		}
		if rec == nil {
			return rows, nil
		}
		r.Layout.Parse(rec)
		rows++
	}
}

func TestHostileCorpus(t *testing.T) {
	t.Parallel()
	base := baseXLSX(t)
	bigSpaces := func(b []byte) []byte {
		// 48 MiB of whitespace inside the sheet: deflates over 1000:1.
		pad := bytes.Repeat([]byte(" "), 48<<20)
		return bytes.Replace(b, []byte("<sheetData>"), append([]byte("<sheetData>"), pad...), 1)
	}
	manyParts := map[string][]byte{}
	for i := 0; i < 1500; i++ {
		manyParts[fmt.Sprintf("xl/media/x%d.bin", i)] = []byte("x")
	}
	corpus := []struct {
		name string
		data func() []byte
		lim  workbook.Limits
		want string
	}{
		{"empty file", func() []byte { return nil }, workbook.Limits{}, "the file is empty: not an .xlsx workbook"},
		{".xls renamed", func() []byte {
			return append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...)
		}, workbook.Limits{}, "not an .xlsx workbook: it is an old Excel 97–2003 (.xls)"},
		{".csv renamed", func() []byte { return []byte("Course template code,Event title\nCB1_LO_6,ELO-CB1-01-26A\n") }, workbook.Limits{}, "not an .xlsx workbook: it holds text (a CSV"},
		{"binary junk", func() []byte { return []byte{0x7f, 'E', 'L', 'F', 0, 1, 2, 3} }, workbook.Limits{}, "not an .xlsx workbook: it holds binary data"},
		{"zip without a workbook", func() []byte {
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			w, _ := zw.Create("hello.txt")
			w.Write([]byte("hi"))
			zw.Close()
			return b.Bytes()
		}, workbook.Limits{}, "zip file without a workbook part"},
		{"truncated zip", func() []byte { return base[:len(base)/2] }, workbook.Limits{}, "not an .xlsx workbook: its zip structure is damaged"},
		{"DTD in the sheet", func() []byte {
			return rezip(t, base, map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": func(b []byte) []byte {
				return bytes.Replace(b, []byte("<worksheet"), []byte(`<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><worksheet`), 1)
			}}, nil, zip.Deflate)
		}, workbook.Limits{}, "declares a DTD or entities"},
		{"entity in the workbook part", func() []byte {
			return rezip(t, base, map[string]func([]byte) []byte{"xl/workbook.xml": func(b []byte) []byte {
				return bytes.Replace(b, []byte("?>"), []byte(`?><!ENTITY xxe SYSTEM "file:///etc/passwd">`), 1)
			}}, nil, zip.Deflate)
		}, workbook.Limits{}, "declares a DTD or entities"},
		{"formula cell", func() []byte {
			return rezip(t, base, map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": replaceB4(`<c r="B4" t="str"><f>HYPERLINK("http://x","y")</f><v>y</v></c>`)}, nil, zip.Deflate)
		}, workbook.Limits{}, "cell B4 holds a formula"},
		{"shared string index out of range", func() []byte {
			return withSST(t, `<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>x</t></si></sst>`, "7")
		}, workbook.Limits{}, `cell B4 refers to shared string "7", which does not exist`},
		{"negative shared string index", func() []byte {
			return withSST(t, `<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>x</t></si></sst>`, "-1")
		}, workbook.Limits{}, `refers to shared string "-1"`},
		{"broken shared string table", func() []byte {
			return withSST(t, `<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>x</t></si><si><t>unterminated`, "0")
		}, workbook.Limits{}, "damaged"},
		{"zip bomb", func() []byte {
			return rezip(t, base, map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": bigSpaces}, nil, zip.Deflate)
		}, workbook.Limits{}, "looks like a zip bomb"},
		{"too many parts", func() []byte { return rezip(t, base, nil, manyParts, zip.Store) }, workbook.Limits{}, "the package has 15"},
		{"inflates past the total limit", func() []byte { return base }, workbook.Limits{UnzipSizeLimit: 4 << 10, UnzipXMLSizeLimit: 1 << 10}, "would inflate to more than"},
		{"larger than the upload limit", func() []byte { return append(base, make([]byte, 2<<20)...) }, workbook.Limits{MaxFileBytes: 1 << 20}, "the limit is 1 MiB"},
		{"oversized sheet", func() []byte {
			return rezip(t, base, map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": func(b []byte) []byte {
				return bytes.Replace(b, []byte("</sheetData>"), []byte(`<row r="900000"><c r="A900000" t="inlineStr"><is><t>X</t></is></c></row></sheetData>`), 1)
			}}, nil, zip.Deflate)
		}, workbook.Limits{}, "rows beyond row 200000"},
		{"row number past Excel's limit", func() []byte {
			return rezip(t, base, map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": func(b []byte) []byte {
				return bytes.Replace(b, []byte("</sheetData>"), []byte(`<row r="2147483647"><c r="A2147483647"><v>1</v></c></row></sheetData>`), 1)
			}}, nil, zip.Deflate)
		}, workbook.Limits{MaxRows: 1 << 30}, "rows beyond row"},
		{"cells far to the right", func() []byte {
			return rezip(t, base, map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": replaceB4(`<c r="XFD4"><v>1</v></c>`)}, nil, zip.Deflate)
		}, workbook.Limits{}, "at most 1024 columns"},
		{"no Import sheet", func() []byte {
			return rezip(t, base, map[string]func([]byte) []byte{"xl/workbook.xml": func(b []byte) []byte {
				return bytes.Replace(b, []byte(`name="Import"`), []byte(`name="Data"`), 1)
			}}, nil, zip.Deflate)
		}, workbook.Limits{}, `no sheet named "Import"`},
	}
	dir := t.TempDir()
	for i, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("c%d.xlsx", i))
			if err := os.WriteFile(path, c.data(), 0o600); err != nil {
				t.Fatal(err)
			}
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := readAll(path, c.lim)
			took := time.Since(start)
			var fe *workbook.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("want a refusal, got %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("message %q lacks %q", err.Error(), c.want)
			}
			if !strings.Contains(err.Error(), filepath.Base(path)) {
				t.Fatalf("message does not name the file: %s", err)
			}
			if took > 5*time.Second {
				t.Fatalf("took %v to refuse", took)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 64<<20 {
				t.Fatalf("heap grew %d MiB while refusing", grew>>20)
			}
		})
	}
}

func TestImpossibleCellsAreProblemsNotPanics(t *testing.T) {
	t.Parallel()
	b, _ := sampledata.Generate(sampledata.Options{Events: 2, Seed: 2})
	b.Rows[0].Set("H", sampledata.Num(-5))
	b.Rows[0].Set("J", sampledata.Num(99999999))
	b.Rows[0].Set("I", sampledata.Num(1.5))
	b.Rows[0].Set("L", sampledata.Text("13/13/2024"))
	b.Rows[0].Set("U", sampledata.Text("NaN"))
	path := filepath.Join(t.TempDir(), "bad.xlsx")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	r, err := workbook.Open(path, workbook.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, err := r.Next()
	if err != nil || rec == nil || rec.Row != 4 {
		t.Fatalf("first record %v %v", rec, err)
	}
	_, probs := r.Layout.Parse(rec)
	want := map[string]string{"H4": "not a plausible date", "J4": "not a plausible date", "I4": "date and time", "L4": "not a real calendar date", "U4": "not a whole number"}
	got := map[string]string{}
	for _, p := range probs {
		got[p.Cell()] = p.Text()
	}
	for cell, w := range want {
		if !strings.Contains(got[cell], w) {
			t.Errorf("%s: got %q, want %q", cell, got[cell], w)
		}
	}
}
