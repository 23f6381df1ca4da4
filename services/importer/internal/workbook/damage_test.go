package workbook_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"admsync/pkg/sampledata"
	"admsync/services/importer/internal/workbook"
)

var inlineCell = regexp.MustCompile(`<c r="([A-Z]+[0-9]+)"([^>]*) t="inlineStr"><is><t>([^<]*)</t></is></c>`)

// sharedXLSX is a generated workbook whose text cells use a shared-string
// table, as Excel writes them (the generator writes inline strings).
func sharedXLSX(t testing.TB, events int, seed uint64) []byte {
	t.Helper()
	b, _ := sampledata.Generate(sampledata.Options{Events: events, Seed: seed})
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	var sst []string
	index := map[string]int{}
	out := rezip(t, buf.Bytes(), map[string]func([]byte) []byte{
		"xl/worksheets/sheet1.xml": func(x []byte) []byte {
			return inlineCell.ReplaceAllFunc(x, func(m []byte) []byte {
				p := inlineCell.FindSubmatch(m)
				s := string(p[3])
				i, ok := index[s]
				if !ok {
					i = len(sst)
					index[s] = i
					sst = append(sst, s)
				}
				return fmt.Appendf(nil, `<c r="%s"%s t="s"><v>%d</v></c>`, p[1], p[2], i)
			})
		},
		"[Content_Types].xml": func(x []byte) []byte {
			return bytes.Replace(x, []byte("</Types>"), []byte(`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`), 1)
		},
		"xl/_rels/workbook.xml.rels": func(x []byte) []byte {
			return bytes.Replace(x, []byte("</Relationships>"), []byte(`<Relationship Id="rId99" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>`), 1)
		},
	}, nil, zip.Deflate)
	var x strings.Builder
	fmt.Fprintf(&x, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">`, len(sst), len(sst))
	for _, v := range sst {
		x.WriteString("<si><t>" + v + "</t></si>")
	}
	x.WriteString("</sst>")
	return rezip(t, out, nil, map[string][]byte{"xl/sharedStrings.xml": []byte(x.String())}, zip.Deflate)
}

// damage is one kind of harm done to a part at a seeded position.
type damage struct {
	name string
	do   func(rng *rand.Rand, part []byte) []byte
}

// afterTag picks a position just after a '>' (so the harm lands in
// element content or between tags) in the middle 80% of the part.
func afterTag(rng *rand.Rand, part []byte) int {
	lo, hi := len(part)/10, len(part)*9/10
	for range 1000 {
		i := lo + rng.IntN(hi-lo)
		if j := bytes.IndexByte(part[i:hi], '>'); j >= 0 {
			return i + j + 1
		}
	}
	return bytes.LastIndexByte(part, '>')
}

func insert(part []byte, at int, b ...byte) []byte {
	out := append([]byte{}, part[:at]...)
	out = append(out, b...)
	return append(out, part[at:]...)
}

var controlBytes = []byte{0x00, 0x01, 0x02, 0x07, 0x08, 0x0B, 0x0C, 0x0E, 0x1B, 0x1F}

var endTag = regexp.MustCompile(`</[A-Za-z:]+>`)

var damages = []damage{
	{"control byte", func(rng *rand.Rand, p []byte) []byte {
		return insert(p, afterTag(rng, p), controlBytes[rng.IntN(len(controlBytes))])
	}},
	{"bad UTF-8", func(rng *rand.Rand, p []byte) []byte {
		bad := [][]byte{{0xFF}, {0xC3, 0x28}, {0x80}, {0xE2, 0x82}, {0xF0, 0x9F, 0x98}, {0xED, 0xA0, 0x80}}
		return insert(p, afterTag(rng, p), bad[rng.IntN(len(bad))]...)
	}},
	{"truncated", func(rng *rand.Rand, p []byte) []byte {
		last := bytes.LastIndexByte(p, '<')
		return p[:len(p)/10+rng.IntN(last-len(p)/10)]
	}},
	{"unclosed tag", func(rng *rand.Rand, p []byte) []byte {
		tags := endTag.FindAllIndex(p, -1)
		t := tags[rng.IntN(len(tags))]
		return append(append([]byte{}, p[:t[0]]...), p[t[1]:]...)
	}},
	{"stray start tag", func(rng *rand.Rand, p []byte) []byte {
		return insert(p, afterTag(rng, p), []byte("<x>")...)
	}},
	{"undefined entity", func(rng *rand.Rand, p []byte) []byte {
		return insert(p, afterTag(rng, p), []byte("&bogus;")...)
	}},
}

// parts are the package parts damaged in turn; every one must refuse the
// file, whether or not the importer needs anything from it.
var parts = []string{
	"xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/styles.xml", "xl/workbook.xml",
	"xl/_rels/workbook.xml.rels", "[Content_Types].xml", "_rels/.rels", "xl/theme/theme1.xml", "docProps/core.xml",
}

// TestDamageAnywhereRefusesTheFile damages each part of a valid workbook in
// seeded ways (several control bytes, bad UTF-8, truncation, unclosed and
// stray tags, undefined entities, at random positions) and requires every
// variant to be refused as a whole, naming the part, and for the sheet the
// row, before a caller could use any row.
func TestDamageAnywhereRefusesTheFile(t *testing.T) {
	t.Parallel()
	const seed = 12
	base := sharedXLSX(t, 30, 3)
	if n, err := readAll(writeTemp(t, base), workbook.Limits{}); err != nil || n < 60 {
		t.Fatalf("the undamaged workbook: %d rows, %v", n, err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, part := range parts {
		for _, d := range damages {
			for v := range 3 {
				name := fmt.Sprintf("%s/%s/%d", part, d.name, v)
				var before []byte
				data := rezip(t, base, map[string]func([]byte) []byte{part: func(p []byte) []byte {
					before = p
					return d.do(rng, p)
				}}, nil, zip.Deflate)
				if before == nil {
					t.Fatalf("%s: the workbook has no part %s", name, part)
				}
				rows, err := readAll(writeTemp(t, data), workbook.Limits{})
				var fe *workbook.FileError
				if !errors.As(err, &fe) {
					t.Errorf("%s (seed %d): accepted with %d rows, err %v", name, seed, rows, err)
					continue
				}
				msg := err.Error()
				if !strings.Contains(msg, part) {
					t.Errorf("%s: the message does not name the part: %s", name, msg)
				}
				if part == "xl/worksheets/sheet1.xml" && fe.Problems[0].Row == 0 && !strings.Contains(msg, "line") {
					t.Errorf("%s: the message locates nothing: %s", name, msg)
				}
			}
		}
	}
}

// TestCorruptCompressedDataRefusesTheFile flips bytes inside the deflated
// data of each part: the inflater or the CRC check must refuse it.
func TestCorruptCompressedDataRefusesTheFile(t *testing.T) {
	t.Parallel()
	base := sharedXLSX(t, 30, 4)
	zr, err := zip.NewReader(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, f := range zr.File {
		if f.CompressedSize64 < 16 {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		for v := range 3 {
			data := append([]byte{}, base...)
			i := off + 2 + rng.Int64N(int64(f.CompressedSize64)-4)
			data[i] ^= byte(1 + rng.IntN(255))
			_, err := readAll(writeTemp(t, data), workbook.Limits{})
			var fe *workbook.FileError
			if !errors.As(err, &fe) {
				t.Errorf("%s/%d: byte %d flipped, accepted (err %v)", f.Name, v, i, err)
			} else if !strings.Contains(err.Error(), f.Name) {
				t.Errorf("%s/%d: the message does not name the part: %s", f.Name, v, err)
			}
		}
	}
}

var row42 = regexp.MustCompile(`<row r="42"[^>]*>`)

// TestStrayByteBeforeRow42 is the reported case: one 0x01 before the first cell of row 42
// of a 30-event workbook. The refusal names the row.
func TestStrayByteBeforeRow42(t *testing.T) {
	t.Parallel()
	base := sharedXLSX(t, 30, 3)
	data := rezip(t, base, map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": func(p []byte) []byte {
		out := row42.ReplaceAll(p, []byte("$0\x01"))
		if bytes.Equal(out, p) {
			t.Fatal("the workbook has no row 42")
		}
		return out
	}}, nil, zip.Deflate)
	_, err := readAll(writeTemp(t, data), workbook.Limits{})
	var fe *workbook.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("accepted: %v", err)
	}
	if fe.Problems[0].Row != 42 || !strings.Contains(err.Error(), "row 42") || !strings.Contains(err.Error(), "xl/worksheets/sheet1.xml") {
		t.Fatalf("message does not say row 42 of the sheet part: %s", err)
	}
	t.Log(err)
}

func writeTemp(t testing.TB, data []byte) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "w-*.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return filepath.Clean(f.Name())
}

// TestDTDAnywhereIsRefused places a DOCTYPE (with entity declarations)
// after a 6 KB comment, in the prolog and inside the root element, of
// every XML part: a prefix check would miss it; the token-level check
// does not.
func TestDTDAnywhereIsRefused(t *testing.T) {
	t.Parallel()
	base := sharedXLSX(t, 5, 5)
	pad := "<!--" + strings.Repeat("padding ", 6<<10/8) + "-->"
	dtd := `<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>`
	for _, part := range parts {
		for _, where := range []string{"prolog", "inside the root"} {
			data := rezip(t, base, map[string]func([]byte) []byte{part: func(p []byte) []byte {
				at := bytes.Index(p, []byte("?>")) + 2
				if where == "inside the root" {
					root := bytes.IndexByte(p[at:], '<') + at
					at = bytes.IndexByte(p[root:], '>') + root + 1
				}
				return insert(p, at, []byte(pad+dtd)...)
			}}, nil, zip.Deflate)
			_, err := readAll(writeTemp(t, data), workbook.Limits{})
			if err == nil || !strings.Contains(err.Error(), "declares a DTD") || !strings.Contains(err.Error(), part) {
				t.Errorf("%s, %s: %v", part, where, err)
			}
		}
	}
	// A legacy VML drawing is markup but not XML; a DTD in it is refused too.
	vml := "xl/drawings/vmlDrawing1.vml"
	data := rezip(t, base, nil, map[string][]byte{vml: []byte(`<xml xmlns:v="urn:schemas-microsoft-com:vml">` + pad + dtd + `<v:shape><br></v:shape></xml>`)}, zip.Deflate)
	if _, err := readAll(writeTemp(t, data), workbook.Limits{}); err == nil || !strings.Contains(err.Error(), vml) {
		t.Errorf("%s: %v", vml, err)
	}
}

// TestEntityInTheHeaderNamesTheCell puts an undefined entity into the
// header cell B1, inline and through the shared-string table: the file is
// refused with one message naming the part, the cell and the entity, not
// with 26 "required column is missing" messages.
func TestEntityInTheHeaderNamesTheCell(t *testing.T) {
	t.Parallel()
	b1 := regexp.MustCompile(`<c r="B1"[^>]*>.*?</c>`)
	inline := rezip(t, baseXLSX(t), map[string]func([]byte) []byte{"xl/worksheets/sheet1.xml": func(p []byte) []byte {
		return b1.ReplaceAll(p, []byte(`<c r="B1" t="inlineStr"><is><t>Event &bogus; title</t></is></c>`))
	}}, nil, zip.Deflate)
	shared := rezip(t, sharedXLSX(t, 3, 2), map[string]func([]byte) []byte{"xl/sharedStrings.xml": func(p []byte) []byte {
		return bytes.Replace(p, []byte("<t>Event title</t>"), []byte("<t>Event &bogus; title</t>"), 1)
	}}, nil, zip.Deflate)
	for name, data := range map[string][]byte{"inline": inline, "shared": shared} {
		_, err := readAll(writeTemp(t, data), workbook.Limits{})
		var fe *workbook.FileError
		if !errors.As(err, &fe) {
			t.Fatalf("%s: accepted: %v", name, err)
		}
		msg := err.Error()
		if len(fe.Problems) != 1 || !strings.Contains(msg, "B1") || !strings.Contains(msg, "&bogus;") || strings.Contains(msg, "is missing") {
			t.Errorf("%s: %s", name, msg)
		}
		t.Logf("%s: %s", name, msg)
	}
}
