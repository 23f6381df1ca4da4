package workbook

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// scanner is the sheet's strict XML reader: the same rules as partDecoder
// (encoding/xml in strict mode, plus a single root, no DTD, no text outside
// the root), token for token, but without encoding/xml's allocations (an
// interface value, a name string and an attribute slice per token, a copy
// of every text): the names, attribute values and texts it returns point
// into its buffer and are valid until the next call. On the 100,000-row
// benchmark workbook encoding/xml was two thirds of the importer's own CPU.
// FuzzScannerMatchesDecoder holds it to encoding/xml's verdicts.
type scanner struct {
	name string
	rc   io.ReadCloser
	r    io.Reader

	buf      []byte
	pos, end int
	eof      bool  // the reader reported io.EOF
	rerr     error // a read error, reported once the data before it is used
	lines    int   // newlines in the bytes dropped from the front of buf

	// Open elements: their qualified names, back to back.
	stack    []byte
	stackOff []int
	depth    int
	roots    int
	// A self-closing element's end is the next token.
	pendingEnd bool

	// The current token.
	kind  tokKind
	qname []byte // start and end elements: the name as written
	local []byte // qname without its prefix
	attrs []scanAttr
	text  []byte // character data, decoded
	tbuf  []byte
}

type tokKind uint8

const (
	tokStart tokKind = iota + 1
	tokEnd
	tokText
	tokOther // comment, processing instruction
)

type scanAttr struct {
	local []byte
	value []byte
}

// errShort asks for more input: the token does not end in the buffer.
var errShort = errors.New("short buffer")

func openScanner(f *zip.File, b *budget) (*scanner, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, &partError{part: f.Name, msg: "cannot be opened (" + err.Error() + ")"}
	}
	return newScanner(f.Name, rc, &countingReader{r: rc, b: b}, 64<<10), nil
}

func newScanner(name string, rc io.ReadCloser, r io.Reader, size int) *scanner {
	return &scanner{name: name, rc: rc, r: r, buf: make([]byte, size)}
}

func (s *scanner) Close() error {
	if s.rc == nil {
		return nil
	}
	return s.rc.Close()
}

// line is the line of the current position in the part.
func (s *scanner) line() int { return s.lineAt(s.pos) }

func (s *scanner) lineAt(pos int) int {
	return s.lines + bytes.Count(s.buf[:pos], []byte{'\n'}) + 1
}

func (s *scanner) syntax(pos int, msg string) error {
	return &partError{part: s.name, line: s.lineAt(pos), msg: msg}
}

// fill reads more input, keeping the unread bytes; it reports whether
// anything was added.
func (s *scanner) fill() bool {
	if s.eof || s.rerr != nil {
		return false
	}
	if s.pos > 0 {
		s.lines += bytes.Count(s.buf[:s.pos], []byte{'\n'})
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		// The buffer holds only the token being read (and what follows
		// it): one that does not fit in maxTokenBytes is refused here,
		// before it costs more memory or rescans.
		if s.end >= maxTokenBytes {
			s.rerr = &partError{part: s.name, line: s.line(), msg: errTokenTooLong.Error()}
			return false
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			s.rerr = err
		}
		if n > 0 || err != nil {
			return n > 0
		}
	}
	s.rerr = io.ErrNoProgress
	return false
}

// next reads the next token; io.EOF at a well-formed end of the part.
// Every other failure is a *partError (or the reader's error, which
// partDecoder.fail would turn into one).
func (s *scanner) next() error {
	if s.pendingEnd {
		s.pendingEnd = false
		s.kind = tokEnd
		s.pop()
		return nil
	}
	for {
		err := s.scan()
		if err != errShort {
			return err
		}
		if !s.fill() {
			if s.rerr != nil {
				return s.readErr()
			}
			// At the end of the input: scan again, knowing it is the end.
		}
	}
}

func (s *scanner) readErr() error {
	err := s.rerr
	var pe *partError
	if errors.As(err, &pe) {
		return err
	}
	msg := err.Error()
	switch {
	case errors.Is(err, zip.ErrChecksum):
		msg = "its checksum does not match: the file is damaged"
	case errors.Is(err, zip.ErrFormat), errors.Is(err, io.ErrUnexpectedEOF):
		msg = "is cut short or damaged (" + err.Error() + ")"
	}
	return &partError{part: s.name, line: s.line(), msg: msg}
}

// short is the answer when a token runs past the buffer: more input, or
// at the end of the input, encoding/xml's "unexpected EOF".
func (s *scanner) short() error {
	if s.eof {
		return s.syntax(s.end, "unexpected EOF")
	}
	return errShort
}

func (s *scanner) pop() {
	n := len(s.stackOff) - 1
	s.stack = s.stack[:s.stackOff[n]]
	s.stackOff = s.stackOff[:n]
	s.depth--
}

// scan reads one token from buf[pos:end], or returns errShort with pos
// unchanged when the token is not all there.
func (s *scanner) scan() error {
	b := s.buf[s.pos:s.end]
	if len(b) == 0 {
		if !s.eof {
			return errShort
		}
		if len(s.stackOff) > 0 {
			return s.syntax(s.end, "unexpected EOF")
		}
		if s.roots == 0 {
			return &partError{part: s.name, msg: "holds no XML element"}
		}
		return io.EOF
	}
	if b[0] != '<' {
		i := bytes.IndexByte(b, '<')
		if i < 0 {
			if !s.eof {
				return errShort
			}
			i = len(b)
		}
		text, err := s.decode(b[:i], -1, s.pos, i == len(b) && s.eof)
		if err != nil {
			return err
		}
		if s.depth == 0 && len(bytes.TrimSpace(text)) > 0 {
			return &partError{part: s.name, line: s.lineAt(s.pos + i), msg: "has text outside its root element"}
		}
		s.kind, s.text = tokText, text
		s.pos += i
		return nil
	}
	if len(b) < 2 {
		return s.short()
	}
	switch b[1] {
	case '/':
		return s.endTag(b)
	case '?':
		return s.procInst(b)
	case '!':
		return s.bang(b)
	}
	return s.startTag(b)
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// readName returns the length of the name at b[i:] as encoding/xml reads
// it (name bytes and any non-ASCII byte), or -1 when the buffer ends first.
func readName(b []byte, i int) int {
	j := i
	for j < len(b) && (b[j] >= utf8.RuneSelf || isNameByte(b[j])) {
		j++
	}
	if j == len(b) {
		return -1
	}
	return j - i
}

// validName is encoding/xml's isName.
func validName(n []byte) bool {
	if len(n) == 0 {
		return false
	}
	ascii := true
	for _, c := range n {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		c := n[0]
		return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':'
	}
	// Not in a workbook Excel writes: ask encoding/xml itself.
	d := xml.NewDecoder(strings.NewReader("<" + strings.ReplaceAll(string(n), ":", "_") + "/>"))
	_, err := d.Token()
	return err == nil
}

// qname splits a name as encoding/xml's nsname does; ok is false for a
// name with more than one colon.
func qname(n []byte) (local []byte, ok bool) {
	i := bytes.IndexByte(n, ':')
	if i < 0 {
		return n, true
	}
	if bytes.IndexByte(n[i+1:], ':') >= 0 {
		return nil, false
	}
	if i == 0 || i == len(n)-1 {
		return n, true
	}
	return n[i+1:], true
}

func isSpace(c byte) bool { return c == ' ' || c == '\r' || c == '\n' || c == '\t' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func (s *scanner) endTag(b []byte) error {
	n := readName(b, 2)
	if n < 0 {
		return s.short()
	}
	name := b[2 : 2+n]
	if n == 0 {
		return s.syntax(s.pos+2, "expected element name after </")
	}
	if !validName(name) {
		return s.syntax(s.pos+2+n, "invalid XML name: "+string(name))
	}
	local, ok := qname(name)
	if !ok {
		return s.syntax(s.pos+2+n, "expected element name after </")
	}
	i := skipSpace(b, 2+n)
	if i == len(b) {
		return s.short()
	}
	if b[i] != '>' {
		return s.syntax(s.pos+i+1, "invalid characters between </"+string(local)+" and >")
	}
	top := len(s.stackOff) - 1
	if top < 0 {
		return s.syntax(s.pos+i+1, "unexpected end element </"+string(local)+">")
	}
	open := s.stack[s.stackOff[top]:]
	if !bytes.Equal(open, name) {
		openLocal, _ := qname(open)
		if !bytes.Equal(openLocal, local) {
			return s.syntax(s.pos+i+1, "element <"+string(openLocal)+"> closed by </"+string(local)+">")
		}
		return s.syntax(s.pos+i+1, "element <"+string(openLocal)+"> closed by </"+string(local)+"> in another name space")
	}
	s.kind, s.qname, s.local = tokEnd, name, local
	s.pop()
	s.pos += i + 1
	return nil
}

func (s *scanner) procInst(b []byte) error {
	n := readName(b, 2)
	if n < 0 {
		return s.short()
	}
	target := b[2 : 2+n]
	if n == 0 {
		return s.syntax(s.pos+2, "expected target name after <?")
	}
	if !validName(target) {
		return s.syntax(s.pos+2+n, "invalid XML name: "+string(target))
	}
	i := skipSpace(b, 2+n)
	if i == len(b) {
		return s.short()
	}
	j := bytes.Index(b[i:], []byte("?>"))
	if j < 0 {
		return s.short()
	}
	if string(target) == "xml" {
		content := string(b[i : i+j])
		if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
			return &partError{part: s.name, line: s.lineAt(s.pos + i + j + 2), msg: fmt.Sprintf("xml: unsupported version %q; only version 1.0 is supported", ver)}
		}
		if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			return &partError{part: s.name, line: s.lineAt(s.pos + i + j + 2), msg: fmt.Sprintf("xml: encoding %q declared but Decoder.CharsetReader is nil", enc)}
		}
	}
	s.kind = tokOther
	s.pos += i + j + 2
	return nil
}

// procInstParam is encoding/xml's procInst.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

func (s *scanner) bang(b []byte) error {
	if len(b) < 3 {
		return s.short()
	}
	switch b[2] {
	case '-':
		if len(b) < 4 {
			return s.short()
		}
		if b[3] != '-' {
			return s.syntax(s.pos+4, "invalid sequence <!- not part of <!--")
		}
		// The first "--" after <!-- must be followed by '>'.
		j := bytes.Index(b[4:], []byte("--"))
		if j < 0 || 4+j+2 >= len(b) {
			return s.short()
		}
		if b[4+j+2] != '>' {
			return s.syntax(s.pos+4+j+3, `invalid sequence "--" not allowed in comments`)
		}
		s.kind = tokOther
		s.pos += 4 + j + 3
		return nil
	case '[':
		for k := 0; k < 6; k++ {
			if 3+k >= len(b) {
				return s.short()
			}
			if b[3+k] != "CDATA["[k] {
				return s.syntax(s.pos+3+k+1, "invalid <![ sequence")
			}
		}
		j := bytes.Index(b[9:], []byte("]]>"))
		if j < 0 {
			if s.eof {
				return s.syntax(s.end, "unexpected EOF in CDATA section")
			}
			return errShort
		}
		text, err := s.decode(b[9:9+j], -2, s.pos+9, false)
		if err != nil {
			return err
		}
		if s.depth == 0 && len(bytes.TrimSpace(text)) > 0 {
			return &partError{part: s.name, line: s.lineAt(s.pos + 9 + j + 3), msg: "has text outside its root element"}
		}
		s.kind, s.text = tokText, text
		s.pos += 9 + j + 3
		return nil
	}
	return &partError{part: s.name, line: s.lineAt(s.pos + 2), msg: errDTD.Error()}
}

func (s *scanner) startTag(b []byte) error {
	n := readName(b, 1)
	if n < 0 {
		return s.short()
	}
	name := b[1 : 1+n]
	if n == 0 {
		return s.syntax(s.pos+1, "expected element name after <")
	}
	if !validName(name) {
		return s.syntax(s.pos+1+n, "invalid XML name: "+string(name))
	}
	local, ok := qname(name)
	if !ok {
		return s.syntax(s.pos+1+n, "expected element name after <")
	}
	s.attrs = s.attrs[:0]
	s.tbuf = s.tbuf[:0]
	i := 1 + n
	empty := false
	for {
		i = skipSpace(b, i)
		if i == len(b) {
			return s.short()
		}
		if b[i] == '/' {
			if i+1 == len(b) {
				return s.short()
			}
			if b[i+1] != '>' {
				return s.syntax(s.pos+i+2, "expected /> in element")
			}
			empty = true
			i += 2
			break
		}
		if b[i] == '>' {
			i++
			break
		}
		an := readName(b, i)
		if an < 0 {
			return s.short()
		}
		aname := b[i : i+an]
		if an == 0 {
			return s.syntax(s.pos+i, "expected attribute name in element")
		}
		if !validName(aname) {
			return s.syntax(s.pos+i+an, "invalid XML name: "+string(aname))
		}
		alocal, ok := qname(aname)
		if !ok {
			return s.syntax(s.pos+i+an, "expected attribute name in element")
		}
		i = skipSpace(b, i+an)
		if i == len(b) {
			return s.short()
		}
		if b[i] != '=' {
			return s.syntax(s.pos+i+1, "attribute name without = in element")
		}
		i = skipSpace(b, i+1)
		if i == len(b) {
			return s.short()
		}
		q := b[i]
		if q != '"' && q != '\'' {
			return s.syntax(s.pos+i+1, "unquoted or missing attribute value in element")
		}
		i++
		j := bytes.IndexByte(b[i:], q)
		if j < 0 {
			if k := bytes.IndexByte(b[i:], '<'); k >= 0 {
				return s.syntax(s.pos+i+k+1, "unescaped < inside quoted string")
			}
			return s.short()
		}
		v, err := s.decode(b[i:i+j], int(q), s.pos+i, false)
		if err != nil {
			return err
		}
		s.attrs = append(s.attrs, scanAttr{local: alocal, value: v})
		i += j + 1
	}
	if s.depth == 0 {
		s.roots++
		if s.roots > 1 {
			return &partError{part: s.name, line: s.lineAt(s.pos + i), msg: fmt.Sprintf("has a second root element <%s>", local)}
		}
	}
	if s.depth >= maxDepth {
		return &partError{part: s.name, line: s.lineAt(s.pos + i), msg: errTooDeep.Error()}
	}
	s.stackOff = append(s.stackOff, len(s.stack))
	s.stack = append(s.stack, name...)
	s.depth++
	s.kind, s.qname, s.local = tokStart, name, local
	s.pendingEnd = empty
	s.pos += i
	return nil
}

// decode is encoding/xml's text for raw (quote -1: character data ending
// at '<' or at the end of the input, atEOF; quote -2: a CDATA section's
// content; else a quoted attribute value): entities replaced, \r\n and \r
// made \n, "]]>" refused outside CDATA, every character checked. The
// result aliases raw when nothing needed replacing.
func (s *scanner) decode(raw []byte, quote int, at int, atEOF bool) ([]byte, error) {
	cdata := quote == -2
	plain := true
	for _, c := range raw {
		if c == '\r' || c == '&' && !cdata || c == ']' || c == '<' {
			plain = false
			break
		}
	}
	out := raw
	if !plain {
		start := len(s.tbuf)
		var b0, b1 byte
		for i := 0; i < len(raw); i++ {
			c := raw[i]
			if quote == -1 && b0 == ']' && b1 == ']' && c == '>' {
				return nil, s.syntax(at+i+1, "unescaped ]]> not in CDATA section")
			}
			if c == '<' && quote >= 0 {
				return nil, s.syntax(at+i+1, "unescaped < inside quoted string")
			}
			if c == '&' && !cdata {
				r, n, err := s.entity(raw[i:], at+i, atEOF && quote == -1)
				if err != nil {
					return nil, err
				}
				s.tbuf = utf8.AppendRune(s.tbuf, r)
				i += n - 1
				b0, b1 = 0, 0
				continue
			}
			switch {
			case c == '\r':
				s.tbuf = append(s.tbuf, '\n')
			case b1 == '\r' && c == '\n':
			default:
				s.tbuf = append(s.tbuf, c)
			}
			b0, b1 = b1, c
		}
		out = s.tbuf[start:]
	}
	// Every character must be UTF-8 and allowed in XML.
	for i := 0; i < len(out); {
		c := out[i]
		if c >= 0x20 && c < utf8.RuneSelf || c == '\n' || c == '\t' || c == '\r' {
			i++
			continue
		}
		r, size := utf8.DecodeRune(out[i:])
		if r == utf8.RuneError && size == 1 {
			return nil, s.syntax(at+len(raw), "invalid UTF-8")
		}
		if !inCharRange(r) {
			return nil, s.syntax(at+len(raw), fmt.Sprintf("illegal character code %U", r))
		}
		i += size
	}
	return out, nil
}

func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

var entities = map[string]rune{"lt": '<', "gt": '>', "amp": '&', "apos": '\'', "quot": '"'}

// entity reads the reference at b ("&…"): the character and the bytes it
// takes. The text ends where b ends: at the end of the input when atEOF,
// else at a '<' or a quote, which cannot be part of a reference.
func (s *scanner) entity(b []byte, at int, atEOF bool) (rune, int, error) {
	bad := func(i int, semi bool) (rune, int, error) {
		if !semi && i >= len(b) && atEOF {
			return 0, 0, s.syntax(at+i, "unexpected EOF")
		}
		ent := string(b[:min(i, len(b))])
		if semi {
			ent += ";"
		} else {
			ent += " (no semicolon)"
		}
		return 0, 0, s.syntax(at+i, "invalid character entity "+ent)
	}
	i := 1
	if i < len(b) && b[i] == '#' {
		i++
		base := 10
		if i < len(b) && b[i] == 'x' {
			base = 16
			i++
		}
		start := i
		for i < len(b) && ('0' <= b[i] && b[i] <= '9' || base == 16 && ('a' <= b[i] && b[i] <= 'f' || 'A' <= b[i] && b[i] <= 'F')) {
			i++
		}
		if i >= len(b) || b[i] != ';' {
			return bad(i, false)
		}
		n, err := strconv.ParseUint(string(b[start:i]), base, 64)
		if err != nil || n > utf8.MaxRune {
			return bad(i, true)
		}
		r := rune(n)
		if !utf8.ValidRune(r) {
			r = utf8.RuneError // as string(rune(n)) makes it
		}
		return r, i + 1, nil
	}
	j := i
	for j < len(b) && (b[j] >= utf8.RuneSelf || isNameByte(b[j])) {
		j++
	}
	if j >= len(b) || b[j] != ';' {
		return bad(j, false)
	}
	if r, ok := entities[string(b[i:j])]; ok {
		return r, j + 1, nil
	}
	return bad(j, true)
}
