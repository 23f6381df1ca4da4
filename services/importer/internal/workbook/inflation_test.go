package workbook_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"admsync/services/importer/internal/workbook"
)

// repack copies a package at BestSpeed (ratios of a few hundred to one,
// under the ratio guard, like the files that got through before), editing
// and adding parts; add's parts are written by a function so that hundreds
// of MiB are streamed, never held.
func repack(t testing.TB, src []byte, edit map[string]func([]byte) []byte, add map[string]func(io.Writer)) []byte {
	t.Helper()
	return pack(t, src, edit, add, zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
}

// repeatedStrings writes a shared-string table of n bytes of short items.
func repeatedStrings(n int) func(io.Writer) {
	return func(w io.Writer) {
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
		item := []byte("<si><t>" + strings.Repeat("inflated text ", 5) + "</t></si>")
		chunk := bytes.Repeat(item, (64<<10)/len(item))
		for written := 0; written < n; written += len(chunk) {
			w.Write(chunk)
		}
		io.WriteString(w, "</sst>")
	}
}

// oneLongString writes a table whose item 0 is n characters long.
func oneLongString(n int) func(io.Writer) {
	return func(w io.Writer) {
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>`)
		// Letters from a seeded generator: compresses like text, so the
		// ratio guard does not catch it first.
		rng := rand.New(rand.NewPCG(uint64(n), 5))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		w.Write(b)
		io.WriteString(w, `</t></si></sst>`)
	}
}

// sheetReferring makes every event title and session title cell refer to
// shared string 0 (rows of the base workbook repeated up to rows).
func sheetReferring(rows int) func([]byte) []byte {
	return func(p []byte) []byte {
		var b bytes.Buffer
		head, _, _ := bytes.Cut(p, []byte("<sheetData>"))
		b.Write(head)
		b.WriteString("<sheetData>")
		hdr := regexpRow1.Find(p)
		b.Write(hdr)
		for r := 4; r < rows+4; r++ {
			fmt.Fprintf(&b, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>CB1_LO_3</t></is></c><c r="B%d" t="s"><v>0</v></c><c r="C%d" t="s"><v>0</v></c></row>`, r, r, r, r)
		}
		b.WriteString("</sheetData></worksheet>")
		return b.Bytes()
	}
}

// oneLongLine writes n letters that the ratio guard lets through (see
// sheetWithToken).
func oneLongLine(w io.Writer, n int) {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	block := make([]byte, 64<<10)
	for i := range block {
		block[i] = "abcd"[rng.IntN(4)]
	}
	for range n / len(block) {
		w.Write(block)
	}
}

// sheetWithToken puts open + 40 MiB of letters + close right after
// <sheetData>. The letters repeat a 64 KiB random block of four letters:
// beyond deflate's 32 KiB window, so the part inflates only about four to
// one and the ratio guard does not refuse it first.
func sheetWithToken(open, close string) func([]byte) []byte {
	return func(p []byte) []byte {
		rng := rand.New(rand.NewPCG(40, 5))
		block := make([]byte, 64<<10)
		for i := range block {
			block[i] = "abcd"[rng.IntN(4)]
		}
		head, tail, _ := bytes.Cut(p, []byte("<sheetData>"))
		var b bytes.Buffer
		b.Grow(len(p) + 41<<20)
		b.Write(head)
		b.WriteString("<sheetData>" + open)
		for range (40 << 20) / len(block) {
			b.Write(block)
		}
		b.WriteString(close)
		b.Write(tail)
		return b.Bytes()
	}
}

var regexpRow1 = regexp.MustCompile(`<row r="1"[^>]*>.*?</row>`)

// hostile is one inflation attack and what refusing it must say.
type hostile struct {
	name string
	data func(t testing.TB) []byte
	want string // "" when the file is within budget and must be read
}

func hostiles() []hostile {
	sstRels := func(p []byte) []byte {
		return bytes.Replace(p, []byte("</Relationships>"), []byte(`<Relationship Id="rId99" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>`), 1)
	}
	return []hostile{
		{"shared strings inflating 160:1 past the budget", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/_rels/workbook.xml.rels": sstRels},
				map[string]func(io.Writer){"xl/sharedStrings.xml": repeatedStrings(300 << 20)})
		}, "would inflate to more than 256 MiB"},
		{"many parts each under the budget, together over it", func(t testing.TB) []byte {
			add := map[string]func(io.Writer){}
			for i := range 3 {
				add[fmt.Sprintf("xl/worksheets/sheet%d.xml", 10+i)] = repeatedStrings(100 << 20)
			}
			return repack(t, baseXLSX(t), nil, add)
		}, "would inflate to more than 256 MiB"},
		{"shared strings over their own cap", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/_rels/workbook.xml.rels": sstRels},
				map[string]func(io.Writer){"xl/sharedStrings.xml": repeatedStrings(24 << 20)})
		}, "at most 16 MiB are read"},
		{"one 1 MB string referenced by 12,000 cells", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/_rels/workbook.xml.rels": sstRels, "xl/worksheets/sheet1.xml": sheetReferring(6000)},
				map[string]func(io.Writer){"xl/sharedStrings.xml": oneLongString(1 << 20)})
		}, "32767 characters"},
		// One enormous token in the sheet itself, which has no cap of its
		// own below the whole file's budget: each must be refused at the
		// token cap, not buffered whole first.
		{"one 40 MiB cell text in the sheet", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": sheetWithToken(`<row r="2"><c r="A2" t="inlineStr"><is><t>`, `</t></is></c></row>`)}, nil)
		}, "longer than 1 MiB"},
		{"one 40 MiB attribute value in the sheet", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": sheetWithToken(`<row r="2" spans="`, `"></row>`)}, nil)
		}, "longer than 1 MiB"},
		{"one 40 MiB comment in the sheet", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": sheetWithToken(`<!--`, `-->`)}, nil)
		}, "longer than 1 MiB"},
		{"one 40 MiB element name in the sheet", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": sheetWithToken(`<x`, `/>`)}, nil)
		}, "longer than 1 MiB"},
		{"a million elements nested in the sheet", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": func(p []byte) []byte {
				head, tail, _ := bytes.Cut(p, []byte("</sheetData>"))
				rng := rand.New(rand.NewPCG(1, 2))
				var b bytes.Buffer
				b.Write(head)
				b.WriteString("</sheetData><extLst>")
				for range 1 << 20 {
					b.WriteString("<" + string([]byte{"abcd"[rng.IntN(4)], "abcd"[rng.IntN(4)], "abcd"[rng.IntN(4)]}) + ">")
				}
				b.Write(tail)
				return b.Bytes()
			}}, nil)
		}, "more than 100 deep"},
		{"a million elements nested in the shared strings", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/_rels/workbook.xml.rels": sstRels},
				map[string]func(io.Writer){"xl/sharedStrings.xml": func(w io.Writer) {
					io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
					rng := rand.New(rand.NewPCG(3, 4))
					for range 1 << 20 {
						io.WriteString(w, "<"+string([]byte{"abcd"[rng.IntN(4)], "abcd"[rng.IntN(4)], "abcd"[rng.IntN(4)]})+">")
					}
					io.WriteString(w, `</sst>`)
				}})
		}, "more than 100 deep"},
		{"one 4 MiB shared string (under the table's cap)", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/_rels/workbook.xml.rels": sstRels, "xl/worksheets/sheet1.xml": sheetReferring(10)},
				map[string]func(io.Writer){"xl/sharedStrings.xml": oneLongString(4 << 20)})
		}, "32767 characters"},
		{"one 12 MiB attribute value in the shared strings", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/_rels/workbook.xml.rels": sstRels},
				map[string]func(io.Writer){"xl/sharedStrings.xml": func(w io.Writer) {
					io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t xml:space="`)
					oneLongLine(w, 12<<20)
					io.WriteString(w, `">x</t></si></sst>`)
				}})
		}, "longer than 1 MiB"},
		{"one 32,000-character string referenced by 12,000 cells (within budget)", func(t testing.TB) []byte {
			return repack(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/_rels/workbook.xml.rels": sstRels, "xl/worksheets/sheet1.xml": sheetReferring(6000)},
				map[string]func(io.Writer){"xl/sharedStrings.xml": oneLongString(32000)})
		}, ""},
	}
}

// TestInflationIsBounded runs every inflation attack with the default
// limits: refusals come from the zip directory or the first bytes over a
// budget, the heap stays small and nothing is written to the temp
// directory. Time and heap are logged (the assertions are on bytes).
func TestInflationIsBounded(t *testing.T) {
	files := t.TempDir()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, h := range hostiles() {
		t.Run(h.name, func(t *testing.T) {
			data := h.data(t)
			path := filepath.Join(files, "hostile.xlsx")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			rows, err := readAll(path, workbook.Limits{TmpDir: tmp})
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			grew := int64(after.TotalAlloc - before.TotalAlloc)
			t.Logf("%d KiB file: %v after %v, %d rows, %d MiB allocated", len(data)>>10, errText(err), took, rows, grew>>20)
			if h.want == "" {
				if err != nil || rows < 6000 {
					t.Fatalf("a file within budget: %d rows, %v", rows, err)
				}
			} else {
				var fe *workbook.FileError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), h.want) {
					t.Fatalf("want a refusal saying %q, got %v", h.want, err)
				}
				if grew > 64<<20 {
					t.Fatalf("allocated %d MiB to refuse it", grew>>20)
				}
			}
			if n := dirBytes(t, tmp); n != 0 {
				t.Fatalf("%d bytes left or written in the temp directory", n)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return "read"
	}
	s := err.Error()
	if i := strings.Index(s, ", "); i >= 0 {
		s = s[i+2:]
	}
	return "refused (" + s + ")"
}

func dirBytes(t *testing.T, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
