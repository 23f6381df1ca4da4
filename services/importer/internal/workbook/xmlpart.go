package workbook

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Every part of the package is read strictly, by this file's reader
// (encoding/xml) or, for the imported sheet, by scan.go's scanner, which
// follows the same rules: the whole part, to its end, so that a damaged
// byte anywhere (a control character, bad UTF-8, an unclosed tag, a
// truncated stream, a CRC mismatch) refuses the file instead of ending it
// early. excelize's row iterator cannot be used for that: Rows.Next and
// Rows.Columns drop the XML decoder's error and report the end of the sheet.

// partError is a read or decode failure inside one part, located as well
// as the reader knows.
type partError struct {
	part string
	line int    // 0: unknown
	row  int    // Excel row, 0: unknown
	cell string // e.g. "B42", "" when unknown
	msg  string
}

func (e *partError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "part %s", e.part)
	if e.line > 0 {
		fmt.Fprintf(&b, " line %d", e.line)
	}
	if e.cell != "" {
		fmt.Fprintf(&b, " (cell %s)", e.cell)
	}
	b.WriteString(": ")
	b.WriteString(e.msg)
	return b.String()
}

// errDTD marks a DTD (and with it any entity declaration) found anywhere in
// a part: workbooks never carry one, and refusing it at the token level
// covers a declaration placed after any amount of leading comment.
var errDTD = errors.New("declares a DTD or entities, which workbooks never need")

// budget counts inflated bytes across every part of one package.
type budget struct {
	left  int64
	limit int64
}

func (b *budget) take(n int) error {
	b.left -= int64(n)
	if b.left < 0 {
		return fmt.Errorf("the workbook inflates to more than %d MiB", b.limit>>20)
	}
	return nil
}

// countingReader charges what it reads to a budget.
type countingReader struct {
	r io.Reader
	b *budget
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		if berr := c.b.take(n); berr != nil {
			return n, berr
		}
	}
	return n, err
}

// partDecoder is a strict, token-level reader of one XML part.
type partDecoder struct {
	name  string
	rc    io.ReadCloser
	d     *xml.Decoder
	guard *tokenGuard
	depth int
	roots int
}

func openPart(f *zip.File, b *budget) (*partDecoder, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, &partError{part: f.Name, msg: "cannot be opened (" + err.Error() + ")"}
	}
	guard := &tokenGuard{r: &countingReader{r: rc, b: b}}
	d := xml.NewDecoder(bufio.NewReaderSize(guard, 64<<10))
	d.Strict = true
	// No CharsetReader: a part declaring anything but UTF-8 is refused,
	// as Excel writes only UTF-8.
	return &partDecoder{name: f.Name, rc: rc, d: d, guard: guard}, nil
}

func (p *partDecoder) Close() error { return p.rc.Close() }

// line is the current line in the part.
func (p *partDecoder) line() int {
	l, _ := p.d.InputPos()
	return l
}

// token returns the next token, or io.EOF at a well-formed end. Every
// other failure is a *partError (or a budget error).
func (p *partDecoder) token() (xml.Token, error) {
	tok, err := p.d.Token()
	p.guard.read = 0
	if err != nil {
		if err == io.EOF {
			if p.roots == 0 {
				return nil, &partError{part: p.name, msg: "holds no XML element"}
			}
			return nil, io.EOF
		}
		return nil, p.fail(err)
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if p.depth == 0 {
			p.roots++
			if p.roots > 1 {
				return nil, &partError{part: p.name, line: p.line(), msg: fmt.Sprintf("has a second root element <%s>", t.Name.Local)}
			}
		}
		if p.depth >= maxDepth {
			return nil, &partError{part: p.name, line: p.line(), msg: errTooDeep.Error()}
		}
		p.depth++
	case xml.EndElement:
		p.depth--
	case xml.Directive:
		return nil, &partError{part: p.name, line: p.line(), msg: errDTD.Error()}
	case xml.CharData:
		if p.depth == 0 && len(bytes.TrimSpace(t)) > 0 {
			return nil, &partError{part: p.name, line: p.line(), msg: "has text outside its root element"}
		}
	}
	return tok, nil
}

func (p *partDecoder) fail(err error) error {
	var pe *partError
	if errors.As(err, &pe) {
		return err
	}
	msg := err.Error()
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		msg = se.Msg
		return &partError{part: p.name, line: se.Line, msg: msg}
	case errors.Is(err, zip.ErrChecksum):
		msg = "its checksum does not match: the file is damaged"
	case errors.Is(err, zip.ErrFormat), errors.Is(err, io.ErrUnexpectedEOF):
		msg = "is cut short or damaged (" + err.Error() + ")"
	}
	return &partError{part: p.name, line: p.line(), msg: msg}
}

// drain reads the rest of a part, so that damage after the elements the
// importer needs still refuses the file.
func (p *partDecoder) drain() error {
	for {
		if _, err := p.token(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// checkXML reads a whole XML part strictly; visit (optional) sees every token.
func checkXML(f *zip.File, b *budget, visit func(xml.Token) error) error {
	p, err := openPart(f, b)
	if err != nil {
		return err
	}
	defer p.Close()
	for {
		tok, err := p.token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if visit != nil {
			if err := visit(tok); err != nil {
				var pe *partError
				if errors.As(err, &pe) {
					return err
				}
				return &partError{part: f.Name, line: p.line(), msg: err.Error()}
			}
		}
	}
}

// checkBinary reads a non-XML part to its end, which verifies its CRC.
func checkBinary(f *zip.File, b *budget) error {
	rc, err := f.Open()
	if err != nil {
		return &partError{part: f.Name, msg: "cannot be opened (" + err.Error() + ")"}
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, &countingReader{r: rc, b: b}); err != nil {
		return &partError{part: f.Name, msg: "is damaged (" + err.Error() + ")"}
	}
	return nil
}

// checkVML reads a legacy VML drawing (markup, but not well-formed XML
// even from Excel) and refuses a DTD or entity declaration in it.
func checkVML(f *zip.File, b *budget) error {
	rc, err := f.Open()
	if err != nil {
		return &partError{part: f.Name, msg: "cannot be opened (" + err.Error() + ")"}
	}
	defer rc.Close()
	data, err := io.ReadAll(&countingReader{r: rc, b: b})
	if err != nil {
		return &partError{part: f.Name, msg: "is damaged (" + err.Error() + ")"}
	}
	up := bytes.ToUpper(data)
	if bytes.Contains(up, []byte("<!DOCTYPE")) || bytes.Contains(up, []byte("<!ENTITY")) {
		return &partError{part: f.Name, msg: errDTD.Error()}
	}
	return nil
}

// isXMLPart says which parts are read as XML. Legacy VML drawings are not
// well-formed XML even when Excel writes them, so they are read as bytes.
func isXMLPart(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".xml") || strings.HasSuffix(n, ".rels")
}

// maxCellChars is Excel's own limit on the text of one cell; longer text
// never comes from Excel.
const maxCellChars = 32767

// maxTokenBytes bounds one XML token of a part as read (a text, a tag with
// its attributes, a comment): both readers refuse the part once a single
// token runs past it, so a file cannot make them buffer one enormous cell,
// attribute or comment before any later check sees it (a 200 MiB cell in a
// 34 MiB file took 640 MiB of memory to refuse). No part Excel writes comes
// near: a cell holds at most 32,767 characters, at most 10 bytes each even
// written as character references.
const maxTokenBytes = 1 << 20

// errTokenTooLong is what both readers answer for a token past maxTokenBytes.
var errTokenTooLong = fmt.Errorf("holds one XML text, tag or comment longer than %d MiB, far beyond any cell (Excel's limit is %d characters): the file is damaged or was not written by a spreadsheet program", maxTokenBytes>>20, maxCellChars)

// maxDepth bounds how deeply a part's elements nest. Excel's parts nest
// about ten deep (worksheet, sheetData, row, c, is, r, t; extLst's
// extensions a few more); each open element costs both readers memory
// until it closes, so millions of them nested would cost hundreds of MiB.
const maxDepth = 100

var errTooDeep = fmt.Errorf("nests its XML elements more than %d deep, which no spreadsheet program writes: the file is damaged", maxDepth)

// tokenGuard sits under encoding/xml's reader and fails once more than
// maxTokenBytes were read since the last token it returned (the 64 KiB it
// reads ahead are well inside that).
type tokenGuard struct {
	r    io.Reader
	read int
}

func (g *tokenGuard) Read(p []byte) (int, error) {
	if g.read > maxTokenBytes {
		return 0, errTokenTooLong
	}
	n, err := g.r.Read(p)
	g.read += n
	return n, err
}

// tooLong reports whether s has more than n characters, in time
// proportional to n rather than to s.
func tooLong(s string, n int) bool {
	if len(s) <= n {
		return false
	}
	if len(s) > 4*n {
		return true
	}
	return utf8.RuneCountInString(s) > n
}

// unescapeOOXML decodes the _xHHHH_ escapes Excel writes for characters
// XML cannot carry (_x000D_ for CR; _x005F_ escapes an underscore).
func unescapeOOXML(s string) string {
	i := strings.Index(s, "_x")
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:]
		if len(s) >= 7 && s[6] == '_' && isHex(s[2:6]) {
			var r rune
			for _, c := range s[2:6] {
				r = r<<4 | rune(hexVal(byte(c)))
			}
			b.WriteRune(r)
			s = s[7:]
		} else {
			b.WriteString(s[:2])
			s = s[2:]
		}
		i = strings.Index(s, "_x")
	}
	b.WriteString(s)
	return b.String()
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if hexVal(s[i]) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
