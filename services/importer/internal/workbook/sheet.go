package workbook

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// excelMaxRows and excelMaxCols are the grid Excel itself allows.
const (
	excelMaxRows = 1 << 20
	excelMaxCols = 16384
)

// sheetStream reads the rows of one worksheet part straight from the zip,
// strictly: nothing of the sheet is spilled to disk or kept after its row.
type sheetStream struct {
	p       *scanner
	sst     []string
	maxRows int
	maxCols int

	inData bool // inside <sheetData>
	done   bool // </sheetData> seen and the rest of the part checked
	row    int  // last row number returned by readRow
	cells  []string
	v      []byte
	inline []byte
	ref    []byte
}

// errNoData marks a sheet without <sheetData>.
var errNoData = errors.New("the sheet has no cell data")

// readRow returns the next <row> element's number and cells (values in
// column order, trailing blanks dropped, cells slice reused), or ok=false
// at the end of the sheet. Errors are *partError naming the row and cell.
func (s *sheetStream) readRow() (num int, cells []string, ok bool, err error) {
	if s.done {
		return 0, nil, false, nil
	}
	for {
		err := s.p.next()
		if err == io.EOF {
			return 0, nil, false, &partError{part: s.p.name, msg: errNoData.Error()}
		}
		if err != nil {
			return 0, nil, false, s.locate(err, s.row+1, "")
		}
		switch s.p.kind {
		case tokStart:
			switch {
			case !s.inData && string(s.p.local) == "sheetData":
				s.inData = true
			case s.inData && string(s.p.local) == "row":
				return s.rowElement()
			case s.inData:
				return 0, nil, false, &partError{part: s.p.name, line: s.p.line(), row: s.row + 1, msg: fmt.Sprintf("unexpected <%s> between rows", s.p.local)}
			}
		case tokEnd:
			if s.inData && string(s.p.local) == "sheetData" {
				s.inData = false
				if err := s.drain(); err != nil {
					return 0, nil, false, err
				}
				s.done = true
				return 0, nil, false, nil
			}
		}
	}
}

// drain reads the rest of the part, so that damage after the rows still
// refuses the file.
func (s *sheetStream) drain() error {
	for {
		if err := s.p.next(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func (s *sheetStream) locate(err error, row int, cell string) error {
	var pe *partError
	if errors.As(err, &pe) {
		if pe.row == 0 {
			pe.row = row
		}
		if pe.cell == "" {
			pe.cell = cell
		}
		return pe
	}
	return err
}

func (s *sheetStream) rowElement() (int, []string, bool, error) {
	num := s.row + 1
	for _, a := range s.p.attrs {
		if string(a.local) == "r" {
			n, err := strconv.Atoi(string(bytes.TrimSpace(a.value)))
			if err == nil && n > excelMaxRows {
				return 0, nil, false, errTooManyRows
			}
			if err != nil || n < 1 {
				return 0, nil, false, &partError{part: s.p.name, line: s.p.line(), row: s.row + 1, msg: fmt.Sprintf("row number %q is not a row of a worksheet", a.value)}
			}
			num = n
		}
	}
	if num <= s.row {
		return 0, nil, false, &partError{part: s.p.name, line: s.p.line(), row: num, msg: fmt.Sprintf("row %d comes after row %d", num, s.row)}
	}
	if num > s.maxRows {
		return 0, nil, false, errTooManyRows
	}
	s.row = num
	s.cells = s.cells[:0]
	col := 0 // last column index written (1-based)
	for {
		if err := s.p.next(); err != nil {
			if err == io.EOF {
				err = &partError{part: s.p.name, msg: "ends inside a row"}
			}
			return 0, nil, false, s.locate(err, num, "")
		}
		switch s.p.kind {
		case tokStart:
			if string(s.p.local) != "c" {
				if err := s.skip(); err != nil {
					return 0, nil, false, s.locate(err, num, "")
				}
				continue
			}
			c, ref, err := s.cell(num, col)
			if err != nil {
				return 0, nil, false, s.locate(err, num, ref)
			}
			col = c
		case tokEnd:
			// </row>: the scanner has matched it to our start tag.
			return num, s.cells, true, nil
		}
	}
}

// cell reads one <c> element (just started) and stores its value at its
// column. It returns the column (1-based), and with an error the cell's
// reference. prev is the column of the cell before it in the row.
func (s *sheetStream) cell(row, prev int) (int, string, error) {
	col := prev + 1
	typ := cellNumber
	var refB []byte
	for _, a := range s.p.attrs {
		switch string(a.local) {
		case "r":
			refB = a.value
		case "t":
			switch string(a.value) {
			case "s":
				typ = cellShared
			case "inlineStr":
				typ = cellInline
			default:
				typ = cellOther
			}
		}
	}
	ref := func() string {
		if refB != nil {
			return string(refB)
		}
		return letter(col-1) + strconv.Itoa(row)
	}
	if refB != nil {
		c, r, ok := parseRef(refB)
		if !ok || r != row {
			rs := ref()
			return 0, rs, &partError{part: s.p.name, line: s.p.line(), row: row, cell: rs, msg: fmt.Sprintf("cell reference %q does not belong to row %d", rs, row)}
		}
		col = c
		s.ref = append(s.ref[:0], refB...) // the scanner's buffer moves on
		refB = s.ref
	}
	if col > excelMaxCols {
		rs := ref()
		return 0, rs, &partError{part: s.p.name, line: s.p.line(), row: row, cell: rs, msg: "the cell is beyond Excel's last column"}
	}
	if s.p.pendingEnd {
		// <c r="B2" s="3"/>: a styled empty cell.
		if err := s.p.next(); err != nil {
			return 0, ref(), err
		}
		if col <= prev {
			return 0, ref(), s.outOfOrder(row, prev, ref())
		}
		return col, "", nil
	}
	v, inline := s.v[:0], s.inline[:0]
	hasV := false
	depth := 0 // inside <c>
	target := 0
	const (
		none = iota
		inV
		inT
	)
	phonetic := 0
loop:
	for {
		if err := s.p.next(); err != nil {
			if err == io.EOF {
				err = &partError{part: s.p.name, msg: "ends inside a cell"}
			}
			return 0, ref(), err
		}
		switch s.p.kind {
		case tokStart:
			depth++
			switch string(s.p.local) {
			case "f":
				return 0, ref(), &formulaError{cell: ref()}
			case "v":
				if depth == 1 {
					target, hasV = inV, true
				}
			case "t":
				if phonetic == 0 {
					target = inT
				}
			case "rPh":
				phonetic++
			}
		case tokEnd:
			if depth == 0 {
				break loop
			}
			depth--
			switch string(s.p.local) {
			case "v", "t":
				target = none
			case "rPh":
				phonetic--
			}
		case tokText:
			switch target {
			case inV:
				v = append(v, s.p.text...)
			case inT:
				inline = append(inline, s.p.text...)
			}
		}
	}
	s.v, s.inline = v, inline
	var val string
	switch typ {
	case cellShared:
		if !hasV {
			break
		}
		idx, ok := digits(string(bytes.TrimSpace(v)))
		if !ok || idx >= len(s.sst) {
			idx, err := strconv.Atoi(strings.TrimSpace(string(v)))
			if err != nil || idx < 0 || idx >= len(s.sst) {
				rs := ref()
				return 0, rs, &partError{part: s.p.name, line: s.p.line(), row: row, cell: rs,
					msg: fmt.Sprintf("cell %s refers to shared string %q, which does not exist (the table has %d)", rs, v, len(s.sst))}
			}
			val = s.sst[idx]
		} else {
			val = s.sst[idx]
		}
	case cellInline:
		val = unescapeOOXML(string(inline))
	default:
		val = string(v)
	}
	if len(val) > maxCellChars && tooLong(val, maxCellChars) {
		rs := ref()
		return 0, rs, &partError{part: s.p.name, line: s.p.line(), row: row, cell: rs, msg: fmt.Sprintf("the cell holds more than Excel's limit of %d characters", maxCellChars)}
	}
	if val != "" { // else a styled empty cell: not data
		if col > s.maxCols {
			return 0, ref(), &tooWideError{row: row, col: col}
		}
		if col > prev {
			for len(s.cells) < col-1 {
				s.cells = append(s.cells, "")
			}
			s.cells = append(s.cells, val)
		}
	}
	if col <= prev {
		return 0, ref(), s.outOfOrder(row, prev, ref())
	}
	return col, "", nil
}

func (s *sheetStream) outOfOrder(row, prev int, ref string) error {
	return &partError{part: s.p.name, line: s.p.line(), row: row, cell: ref, msg: fmt.Sprintf("cell %s comes after column %s of the same row", ref, letter(prev-1))}
}

// Cell types (the t attribute).
const (
	cellNumber = iota // no t, or t="n"
	cellShared
	cellInline
	cellOther
)

// skip consumes the element just started (e.g. <extLst> inside a row).
func (s *sheetStream) skip() error {
	depth := 1
	for depth > 0 {
		if err := s.p.next(); err != nil {
			if err == io.EOF {
				return &partError{part: s.p.name, msg: "ends inside an element"}
			}
			return err
		}
		switch s.p.kind {
		case tokStart:
			depth++
		case tokEnd:
			depth--
		}
	}
	return nil
}

// formulaError: the importer reads values only, and a formula's cached
// result is not what the user sees typed.
type formulaError struct{ cell string }

func (e *formulaError) Error() string {
	return fmt.Sprintf("cell %s holds a formula; the importer reads values only", e.cell)
}

type tooWideError struct{ row, col int }

func (e *tooWideError) Error() string {
	return fmt.Sprintf("row %d has cells as far as column %s", e.row, letter(e.col-1))
}

// parseRef splits "AB12" into column 28 and row 12.
func parseRef[T ~string | ~[]byte](ref T) (col, row int, ok bool) {
	i := 0
	for i < len(ref) && i < 4 {
		c := ref[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c < 'A' || c > 'Z' {
			break
		}
		col = col*26 + int(c-'A'+1)
		i++
	}
	if i == 0 || i == len(ref) {
		return 0, 0, false
	}
	r, ok := digits(string(ref[i:]))
	if !ok || r < 1 {
		return 0, 0, false
	}
	return col, r, true
}

// openSheet starts reading a sheet part.
func openSheet(f *zip.File, b *budget, sst []string, maxRows, maxCols int) (*sheetStream, error) {
	p, err := openScanner(f, b)
	if err != nil {
		return nil, err
	}
	return &sheetStream{p: p, sst: sst, maxRows: maxRows, maxCols: maxCols}, nil
}

func (s *sheetStream) Close() error { return s.p.Close() }
