package workbook

import (
	"archive/zip"
	"encoding/xml"
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
	p       *partDecoder
	sst     []string
	maxRows int
	maxCols int

	inData bool // inside <sheetData>
	done   bool // </sheetData> seen and the rest of the part checked
	row    int  // last row number returned by readRow
	cells  []string
	text   []byte
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
		tok, err := s.p.token()
		if err == io.EOF {
			return 0, nil, false, &partError{part: s.p.name, msg: errNoData.Error()}
		}
		if err != nil {
			return 0, nil, false, s.locate(err, s.row+1, "")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case !s.inData && t.Name.Local == "sheetData":
				s.inData = true
			case s.inData && t.Name.Local == "row":
				return s.rowElement(t)
			case s.inData:
				return 0, nil, false, &partError{part: s.p.name, line: s.p.line(), row: s.row + 1, msg: fmt.Sprintf("unexpected <%s> between rows", t.Name.Local)}
			}
		case xml.EndElement:
			if s.inData && t.Name.Local == "sheetData" {
				s.inData = false
				if err := s.p.drain(); err != nil {
					return 0, nil, false, err
				}
				s.done = true
				return 0, nil, false, nil
			}
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

func (s *sheetStream) rowElement(start xml.StartElement) (int, []string, bool, error) {
	num := s.row + 1
	for _, a := range start.Attr {
		if a.Name.Local == "r" {
			n, err := strconv.Atoi(strings.TrimSpace(a.Value))
			if err == nil && n > excelMaxRows {
				return 0, nil, false, errTooManyRows
			}
			if err != nil || n < 1 {
				return 0, nil, false, &partError{part: s.p.name, line: s.p.line(), row: s.row + 1, msg: fmt.Sprintf("row number %q is not a row of a worksheet", a.Value)}
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
		tok, err := s.p.token()
		if err != nil {
			if err == io.EOF {
				err = &partError{part: s.p.name, msg: "ends inside a row"}
			}
			return 0, nil, false, s.locate(err, num, "")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "c" {
				if err := s.skip(); err != nil {
					return 0, nil, false, s.locate(err, num, "")
				}
				continue
			}
			c, ref, err := s.cell(t, num, col+1)
			if err != nil {
				return 0, nil, false, s.locate(err, num, ref)
			}
			if c <= col {
				return 0, nil, false, &partError{part: s.p.name, line: s.p.line(), row: num, cell: ref, msg: fmt.Sprintf("cell %s comes after column %s of the same row", ref, letter(col-1))}
			}
			col = c
		case xml.EndElement:
			// </row>: the decoder has matched it to our start tag.
			return num, s.cells, true, nil
		}
	}
}

// cell reads one <c> element and stores its value at its column. It
// returns the column (1-based) and the cell's reference.
func (s *sheetStream) cell(start xml.StartElement, row, nextCol int) (int, string, error) {
	col := nextCol
	typ := ""
	ref := ""
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "r":
			ref = a.Value
		case "t":
			typ = a.Value
		}
	}
	if ref != "" {
		c, r, ok := parseRef(ref)
		if !ok || r != row {
			return 0, ref, &partError{part: s.p.name, line: s.p.line(), row: row, cell: ref, msg: fmt.Sprintf("cell reference %q does not belong to row %d", ref, row)}
		}
		col = c
	} else {
		ref = letter(col-1) + strconv.Itoa(row)
	}
	if col > excelMaxCols {
		return 0, ref, &partError{part: s.p.name, line: s.p.line(), row: row, cell: ref, msg: "the cell is beyond Excel's last column"}
	}
	var v, inline []byte
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
		tok, err := s.p.token()
		if err != nil {
			if err == io.EOF {
				err = &partError{part: s.p.name, msg: "ends inside a cell"}
			}
			return 0, ref, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch t.Name.Local {
			case "f":
				return 0, ref, &formulaError{cell: ref}
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
		case xml.EndElement:
			if depth == 0 {
				break loop
			}
			depth--
			switch t.Name.Local {
			case "v", "t":
				target = none
			case "rPh":
				phonetic--
			}
		case xml.CharData:
			switch target {
			case inV:
				v = append(v, t...)
			case inT:
				inline = append(inline, t...)
			}
		}
	}
	var val string
	switch typ {
	case "s":
		if !hasV {
			break
		}
		idx, err := strconv.Atoi(strings.TrimSpace(string(v)))
		if err != nil || idx < 0 || idx >= len(s.sst) {
			return 0, ref, &partError{part: s.p.name, line: s.p.line(), row: row, cell: ref,
				msg: fmt.Sprintf("cell %s refers to shared string %q, which does not exist (the table has %d)", ref, v, len(s.sst))}
		}
		val = s.sst[idx]
	case "inlineStr":
		val = unescapeOOXML(string(inline))
	default:
		val = string(v)
	}
	if len(val) > maxCellChars && tooLong(val, maxCellChars) {
		return 0, ref, &partError{part: s.p.name, line: s.p.line(), row: row, cell: ref, msg: fmt.Sprintf("the cell holds more than Excel's limit of %d characters", maxCellChars)}
	}
	if val == "" {
		return col, ref, nil // a styled empty cell: not data
	}
	if col > s.maxCols {
		return 0, ref, &tooWideError{row: row, col: col}
	}
	for len(s.cells) < col-1 {
		s.cells = append(s.cells, "")
	}
	s.cells = append(s.cells, val)
	return col, ref, nil
}

// skip consumes the element just started (e.g. <extLst> inside a row).
func (s *sheetStream) skip() error {
	depth := 1
	for depth > 0 {
		tok, err := s.p.token()
		if err != nil {
			if err == io.EOF {
				return &partError{part: s.p.name, msg: "ends inside an element"}
			}
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
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
func parseRef(ref string) (col, row int, ok bool) {
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
	r, ok := digits(ref[i:])
	if !ok || r < 1 {
		return 0, 0, false
	}
	return col, r, true
}

// openSheet starts reading a sheet part.
func openSheet(f *zip.File, b *budget, sst []string, maxRows, maxCols int) (*sheetStream, error) {
	p, err := openPart(f, b)
	if err != nil {
		return nil, err
	}
	return &sheetStream{p: p, sst: sst, maxRows: maxRows, maxCols: maxCols}, nil
}

func (s *sheetStream) Close() error { return s.p.Close() }
