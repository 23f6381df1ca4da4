package workbook

import (
	"archive/zip"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"strings"
)

const (
	nsMain = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	nsRel  = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
)

// sheetRef is a sheet as the workbook part lists it.
type sheetRef struct{ name, rid string }

// readWorkbookPart reads xl/workbook.xml: the sheets and the date system.
func readWorkbookPart(f *zip.File, b *budget) (sheets []sheetRef, date1904 bool, err error) {
	err = checkXML(f, b, func(tok xml.Token) error {
		se, ok := tok.(xml.StartElement)
		if !ok {
			return nil
		}
		switch se.Name.Local {
		case "sheet":
			var s sheetRef
			for _, a := range se.Attr {
				switch {
				case a.Name.Local == "name":
					s.name = a.Value
				case a.Name.Local == "id" && a.Name.Space == nsRel:
					s.rid = a.Value
				}
			}
			sheets = append(sheets, s)
		case "workbookPr":
			for _, a := range se.Attr {
				if a.Name.Local == "date1904" {
					v := strings.TrimSpace(a.Value)
					date1904 = v == "1" || strings.EqualFold(v, "true")
				}
			}
		}
		return nil
	})
	return sheets, date1904, err
}

// rel is one relationship of xl/_rels/workbook.xml.rels, its target
// resolved to a part name.
type rel struct{ id, typ, target string }

func readRels(f *zip.File, b *budget) ([]rel, error) {
	var rels []rel
	err := checkXML(f, b, func(tok xml.Token) error {
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" {
			return nil
		}
		var r rel
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "Id":
				r.id = a.Value
			case "Type":
				r.typ = a.Value
			case "Target":
				r.target = a.Value
			}
		}
		if strings.HasPrefix(r.target, "/") {
			r.target = strings.TrimPrefix(r.target, "/")
		} else {
			r.target = path.Join("xl", r.target)
		}
		rels = append(rels, r)
		return nil
	})
	return rels, err
}

// limitError is a budget the file exceeds (not damage).
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// sstError is a shared-string item that cannot be used; the reader then
// names the cells that refer to it.
type sstError struct {
	*partError
	index int
}

// readSharedStrings loads the shared-string table. Each item is its <t>
// text plus that of its rich-text runs (phonetic runs excluded), as Excel
// shows it. An item longer than Excel's cell limit is refused: Excel
// cannot have written it, and cells referring to it would multiply its cost.
func readSharedStrings(f *zip.File, b *budget, maxBytes int64) ([]string, error) {
	if maxBytes > 0 && f.UncompressedSize64 > uint64(maxBytes) {
		return nil, &limitError{fmt.Sprintf("its shared strings (part %s) inflate to %d MiB; at most %d MiB are read (IMPORTER_MAX_SHARED_STRINGS_MIB)", f.Name, f.UncompressedSize64>>20, maxBytes>>20)}
	}
	p, err := openPart(f, b)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	var (
		out      []string
		text     []byte
		inItem   bool
		inT      int // depth inside <t>
		phonetic int // depth inside <rPh>
	)
	for {
		tok, err := p.token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			if inItem {
				var pe *partError
				if asPartError(err, &pe) {
					return nil, &sstError{partError: pe, index: len(out)}
				}
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				inItem, text = true, text[:0]
			case "t":
				inT++
			case "rPh":
				phonetic++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				if inItem {
					out = append(out, unescapeOOXML(string(text)))
					inItem = false
				}
			case "t":
				inT--
			case "rPh":
				phonetic--
			}
		case xml.CharData:
			if inItem && inT > 0 && phonetic == 0 {
				text = append(text, t...)
				if len(text) > maxCellChars && tooLong(string(text), maxCellChars) {
					return nil, &sstError{partError: &partError{part: f.Name, line: p.line(),
						msg: fmt.Sprintf("a shared string is longer than Excel's limit of %d characters per cell", maxCellChars)}, index: len(out)}
				}
			}
		}
	}
}

func asPartError(err error, pe **partError) bool {
	p, ok := err.(*partError)
	if ok {
		*pe = p
	}
	return ok
}

// cellsUsingString names (at most a few of) the cells of a sheet part that
// refer to shared string idx, for a message about a broken item. It reads
// the sheet loosely: this runs only once the file is already refused.
func cellsUsingString(f *zip.File, idx int) []string {
	rc, err := f.Open()
	if err != nil {
		return nil
	}
	defer rc.Close()
	d := xml.NewDecoder(io.LimitReader(rc, 256<<20))
	d.Strict = false
	var cells []string
	var ref string
	shared, inV := false, false
	want := fmt.Sprint(idx)
	for len(cells) < 3 {
		tok, err := d.RawToken()
		if err != nil {
			return cells
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "c":
				ref, shared = "", false
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "r":
						ref = a.Value
					case "t":
						shared = a.Value == "s"
					}
				}
			case "v":
				inV = true
			}
		case xml.EndElement:
			if t.Name.Local == "v" {
				inV = false
			}
		case xml.CharData:
			if inV && shared && strings.TrimSpace(string(t)) == want && ref != "" {
				cells = append(cells, ref)
			}
		}
	}
	return cells
}
