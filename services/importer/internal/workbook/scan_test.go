package workbook

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// decoderTokens is what partDecoder (encoding/xml, strict) makes of data:
// one line per token as the sheet reader sees it, and the error that ends
// the part ("" at a well-formed end).
func decoderTokens(data []byte) ([]string, string) {
	guard := &tokenGuard{r: bytes.NewReader(data)}
	p := &partDecoder{name: "p", rc: io.NopCloser(nil), d: xml.NewDecoder(bufio.NewReader(guard)), guard: guard}
	p.d.Strict = true
	var out []string
	for {
		tok, err := p.token()
		if err == io.EOF {
			return out, ""
		}
		if err != nil {
			return out, p.fail(err).Error()
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var b strings.Builder
			fmt.Fprintf(&b, "start %s", t.Name.Local)
			for _, a := range t.Attr {
				fmt.Fprintf(&b, " %s=%q", a.Name.Local, a.Value)
			}
			out = append(out, b.String())
		case xml.EndElement:
			out = append(out, "end "+t.Name.Local)
		case xml.CharData:
			out = append(out, fmt.Sprintf("text %q", []byte(t)))
		default:
			out = append(out, "other")
		}
	}
}

func scannerTokens(data []byte, size int, oneByte bool) ([]string, string) {
	var r io.Reader = bytes.NewReader(data)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	s := newScanner("p", io.NopCloser(nil), r, size)
	var out []string
	for {
		err := s.next()
		if err == io.EOF {
			return out, ""
		}
		if err != nil {
			return out, err.Error()
		}
		switch s.kind {
		case tokStart:
			var b strings.Builder
			fmt.Fprintf(&b, "start %s", s.local)
			for _, a := range s.attrs {
				fmt.Fprintf(&b, " %s=%q", a.local, a.value)
			}
			out = append(out, b.String())
		case tokEnd:
			out = append(out, "end "+string(s.local))
		case tokText:
			out = append(out, fmt.Sprintf("text %q", s.text))
		default:
			out = append(out, "other")
		}
	}
}

var scanSeeds = []string{
	`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n" + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="r"><sheetData><row r="1" spans="1:3"><c r="A1" t="inlineStr"><is><t>a &amp; b &#233;&#x263A; &lt;x&gt;</t></is></c><c r="B1" s="2"/><c r="C1"><v>45292.5</v></c></row></sheetData></worksheet>`,
	`<x:worksheet xmlns:x="m"><x:sheetData><x:row x:r="7"><x:c r="A7" t="s"><x:v>0</x:v></x:c></x:row></x:sheetData></x:worksheet>`,
	"<a>line1\r\nline2\rline3<![CDATA[ <b>&amp;\r\n ]] ]]><!-- c - o -- ><?pi data?></a>\n",
	`<a b='1'c="2" d = "x&quot;y"><b/></a>`,
	`<a><!DOCTYPE x [<!ENTITY e "x">]></a>`,
	`<a>&bogus;</a>`, `<a>&#0;</a>`, `<a>&#xD800;</a>`, `<a>&#;</a>`, `<a>&amp</a>`, `<a>]]></a>`,
	"<a>\x01</a>", "<a>\xff</a>", `<a b="<"/>`, `<a b=c/>`, `<a b/>`, `<a></b>`, `<a></x:a>`, `<a>`, `</a>`, `<a/><b/>`,
	`text<a/>`, "\ufeff<a/>", ``, "  ", `<a/>tail`, `<a:b:c/>`, `<1a/>`, `<a 1="x"/>`, `<?xml version="1.1"?><a/>`,
	`<?xml encoding="latin1"?><a/>`, `<é/>`, `<a é="1"/>`, "<a>\u00a0</a>\u00a0", `<a><!- x --></a>`, `<a><![CDAT[x]]></a>`,
}

// FuzzScannerMatchesDecoder holds the sheet's scanner to encoding/xml:
// the same tokens (names, attribute values, decoded text) and an error at
// the same token, whatever the input and however it arrives (buffers down
// to a few bytes, one byte per read).
func FuzzScannerMatchesDecoder(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := decoderTokens(data)
		for _, mode := range []struct {
			size    int
			oneByte bool
		}{{64 << 10, false}, {4, false}, {7, true}} {
			got, gerr := scannerTokens(data, mode.size, mode.oneByte)
			if (werr == "") != (gerr == "") || strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("input %q (buffer %d, one byte %v):\nencoding/xml: %q, %s\nscanner:      %q, %s", data, mode.size, mode.oneByte, want, werr, got, gerr)
			}
		}
	})
}

// TestScannerMessages: the refusals that name what is wrong say it as
// encoding/xml did.
func TestScannerMessages(t *testing.T) {
	for in, want := range map[string]string{
		`<a>&bogus;</a>`:                "invalid character entity &bogus;",
		"<a>\x01</a>":                   "illegal character code U+0001",
		"<a>\xff</a>":                   "invalid UTF-8",
		`<a></b>`:                       "element <a> closed by </b>",
		`<a>`:                           "unexpected EOF",
		`<a><!DOCTYPE x></a>`:           errDTD.Error(),
		`<a/><b/>`:                      "has a second root element <b>",
		`x<a/>`:                         "has text outside its root element",
		"<a>\n\n<b c='<'/></a>":         "line 3",
		`<?xml encoding="latin1"?><a/>`: `encoding "latin1" declared`,
	} {
		_, err := scannerTokens([]byte(in), 64<<10, false)
		if !strings.Contains(err, want) {
			t.Errorf("%q: %s, want %q", in, err, want)
		}
	}
}
