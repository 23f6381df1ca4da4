package workbook

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"admsync/pkg/match"
)

// Reader streams the data rows of the Import sheet.
type Reader struct {
	Name   string // file name used in messages
	Sheet  string
	Layout *Layout

	lim     Limits
	zf      *zip.ReadCloser
	budget  *budget
	sheet   *sheetStream
	pos     []Col // pos[i] = template column of file column i, or -1
	rowNum  int   // last Excel row handed out (blank rows included)
	pending struct {
		num   int
		cells []string
		ok    bool // a row was read ahead and not yet handed out
	}
	ended bool
	rec   Record
	blank int
	tmp   string // temp copy made by OpenReader
}

// Open checks path and opens it for streaming. Every refusal is a
// *FileError that says what is wrong and what to do.
func Open(path string, lim Limits) (r *Reader, err error) {
	return open(path, filepath.Base(path), lim)
}

// OpenReader copies src (at most the size limit) to a temporary file and
// opens that; name is used in messages.
func OpenReader(src io.Reader, name string, lim Limits) (*Reader, error) {
	lim = lim.withDefaults()
	tmp, err := os.CreateTemp(lim.TmpDir, "admsync-import-*.xlsx")
	if err != nil {
		return nil, fmt.Errorf("stage workbook: %w", err)
	}
	n, err := io.Copy(tmp, io.LimitReader(src, lim.MaxFileBytes+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("stage workbook: %w", err)
	}
	if n > lim.MaxFileBytes {
		os.Remove(tmp.Name())
		return nil, fileErr(name, "", fmt.Sprintf("the file is larger than %d MiB", lim.MaxFileBytes>>20), "split the workbook into smaller files")
	}
	r, err := open(tmp.Name(), name, lim)
	if err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	r.tmp = tmp.Name()
	return r, nil
}

func open(path, name string, lim Limits) (r *Reader, err error) {
	lim = lim.withDefaults()
	defer func() {
		// Whatever slips through becomes a refusal, not a crash.
		if p := recover(); p != nil {
			if r != nil {
				r.Close()
			}
			r, err = nil, fileErr(name, "", fmt.Sprintf("the workbook is damaged and could not be read (%v)", p), "re-save it from Excel")
		}
	}()
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open workbook: %w", err)
	}
	if st.IsDir() {
		return nil, fileErr(name, "", "is a directory, "+notXLSX, "")
	}
	if st.Size() > lim.MaxFileBytes {
		return nil, fileErr(name, "", fmt.Sprintf("the file is %d MiB; the limit is %d MiB", st.Size()>>20, lim.MaxFileBytes>>20), "split the workbook into smaller files")
	}
	head := make([]byte, 512)
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open workbook: %w", err)
	}
	n, _ := io.ReadFull(fh, head)
	fh.Close()
	if msg, hint := sniff(head[:n]); msg != "" {
		return nil, fileErr(name, "", msg, hint)
	}
	zf, err := zip.OpenReader(path)
	if err != nil {
		return nil, fileErr(name, "", notXLSX+": its zip structure is damaged ("+err.Error()+")", "re-save it from Excel as .xlsx")
	}
	r = &Reader{Name: name, lim: lim, zf: zf}
	if msg, hint := prescan(&zf.Reader, lim); msg != "" {
		r.Close()
		return nil, fileErr(name, "", msg, hint)
	}
	if err := r.readPackage(); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.readHeader(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// readPackage reads every part except the imported sheet in full and
// strictly (so damage anywhere refuses the file before a row is used),
// keeps the shared strings, and opens the sheet for streaming.
func (r *Reader) readPackage() error {
	b := &budget{left: r.lim.UnzipSizeLimit, limit: r.lim.UnzipSizeLimit}
	r.budget = b
	files := map[string]*zip.File{}
	for _, f := range r.zf.File {
		files[f.Name] = f
	}
	done := map[string]bool{}
	if err := checkXML(files["[Content_Types].xml"], b, nil); err != nil {
		return r.damaged(err)
	}
	done["[Content_Types].xml"] = true
	sheets, date1904, err := readWorkbookPart(files["xl/workbook.xml"], b)
	if err != nil {
		return r.damaged(err)
	}
	done["xl/workbook.xml"] = true
	r.Layout = &Layout{Date1904: date1904}
	var rels []rel
	if f := files["xl/_rels/workbook.xml.rels"]; f != nil {
		if rels, err = readRels(f, b); err != nil {
			return r.damaged(err)
		}
		done[f.Name] = true
	}
	sheetPart, sstPart, msg := pickSheet(sheets, rels, files, SheetName)
	if msg != "" {
		return fileErr(r.Name, "", msg, "rename the sheet to \""+SheetName+"\" or use the template (importer template OUT.xlsx)")
	}
	r.Sheet = sheetPart.sheet
	var sst []string
	if sstPart != nil {
		if sst, err = readSharedStrings(sstPart, b, r.lim.UnzipXMLSizeLimit); err != nil {
			var se *sstError
			if errors.As(err, &se) {
				if cells := cellsUsingString(files[sheetPart.part], se.index); len(cells) > 0 {
					se.msg += fmt.Sprintf(" (shared string #%d, used by cell %s)", se.index, strings.Join(cells, ", "))
				} else {
					se.msg += fmt.Sprintf(" (shared string #%d)", se.index)
				}
				return r.damaged(se.partError)
			}
			return r.damaged(err)
		}
		done[sstPart.Name] = true
	}
	done[sheetPart.part] = true
	for _, f := range r.zf.File {
		if done[f.Name] || strings.HasSuffix(f.Name, "/") {
			continue
		}
		switch {
		case isXMLPart(f.Name):
			err = checkXML(f, b, nil)
		case strings.HasSuffix(strings.ToLower(f.Name), ".vml"):
			err = checkVML(f, b)
		default:
			err = checkBinary(f, b)
		}
		if err != nil {
			return r.damaged(err)
		}
	}
	r.sheet, err = openSheet(files[sheetPart.part], b, sst, r.lim.MaxRows, r.lim.MaxColumns)
	if err != nil {
		return r.damaged(err)
	}
	return nil
}

// damaged turns a part's read error into the refusal of the whole file.
func (r *Reader) damaged(err error) error {
	var pe *partError
	if !errors.As(err, &pe) {
		if errors.Is(err, errTooManyRows) {
			return r.sheetErr(err)
		}
		var fe *FileError
		if errors.As(err, &fe) {
			return err
		}
		var le *limitError
		if errors.As(err, &le) {
			return fileErr(r.Name, "", "the workbook is too large to import: "+le.msg, "split the workbook; if it is genuine, raise the limit")
		}
		var fm *formulaError
		if errors.As(err, &fm) {
			return fileErr(r.Name, r.Sheet, fm.Error(), "copy the sheet and use Paste Special → Values, then import again")
		}
		var tw *tooWideError
		if errors.As(err, &tw) {
			return &FileError{File: r.Name, Sheet: r.Sheet, Problems: []Problem{{Row: tw.row, Msg: fmt.Sprintf("%s; at most %d columns are read", tw.Error(), r.lim.MaxColumns), Hint: "delete the stray cells to the right of the template"}}}
		}
		return fileErr(r.Name, r.Sheet, "the workbook cannot be read: "+err.Error(), "it is too large or damaged; re-save it from Excel or split it")
	}
	p := Problem{Row: pe.row, Msg: "the workbook is damaged: " + pe.Error(), Hint: "nothing was imported; re-save the workbook from Excel (File → Save As → Excel Workbook) and import again"}
	if strings.Contains(pe.msg, errDTD.Error()) {
		p.Msg, p.Hint = pe.Error(), "this file was crafted or damaged; nothing was imported; re-save it from Excel"
	}
	sheet := ""
	if r.sheet != nil || pe.row > 0 {
		sheet = r.Sheet
	}
	return &FileError{File: r.Name, Sheet: sheet, Problems: []Problem{p}}
}

// Date1904 reports whether the workbook counts dates from 1904.
func (r *Reader) Date1904() bool { return r.Layout.Date1904 }

// Close releases the file and any temporary copy.
func (r *Reader) Close() error {
	var errs []error
	if r.sheet != nil {
		errs = append(errs, r.sheet.Close())
		r.sheet = nil
	}
	if r.zf != nil {
		errs = append(errs, r.zf.Close())
		r.zf = nil
	}
	if r.tmp != "" {
		os.Remove(r.tmp)
		r.tmp = ""
	}
	return errors.Join(errs...)
}

// next returns the cells of the next Excel row, every row number in turn
// (rows the sheet leaves out are returned empty), or ok=false at the end.
func (r *Reader) next() (cells []string, ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, fmt.Errorf("the sheet is damaged near row %d (%v)", r.rowNum, p)
		}
	}()
	if !r.pending.ok && !r.ended {
		num, c, more, err := r.sheet.readRow()
		if err != nil {
			return nil, false, r.damaged(err)
		}
		if !more {
			r.ended = true
		} else {
			r.pending.num, r.pending.cells, r.pending.ok = num, c, true
		}
	}
	if !r.pending.ok {
		return nil, false, nil
	}
	r.rowNum++
	if r.rowNum < r.pending.num {
		return nil, true, nil
	}
	r.pending.ok = false
	return r.pending.cells, true, nil
}

var errTooManyRows = errors.New("too many rows")

func (r *Reader) readHeader() error {
	cells, ok, err := r.next()
	if err != nil {
		return r.sheetErr(err)
	}
	if !ok {
		return fileErr(r.Name, r.Sheet, "the sheet is empty: row 1 must hold the template's column headers", "start from the template (importer template OUT.xlsx)")
	}
	byKey := map[string]int{}
	template := map[string]bool{}
	for _, col := range Columns {
		if col.Header != "" {
			template[match.Key(col.Header)] = true
		}
	}
	var dups []Problem
	for i, h := range cells {
		k := match.Key(h)
		if k == "" {
			continue
		}
		if first, dup := byKey[k]; dup {
			// Two columns with one template header: which one holds the
			// data is a guess, so neither is used.
			if template[k] {
				dups = append(dups, Problem{Row: 1, Msg: fmt.Sprintf("columns %s and %s are both headed %q", letter(first), letter(i), strings.TrimSpace(h)),
					Hint: "delete or rename one of them, so each template column appears once"})
			}
			continue
		}
		byKey[k] = i
	}
	if len(dups) > 0 {
		return &FileError{File: r.Name, Sheet: r.Sheet, Problems: dups}
	}
	r.pos = make([]Col, len(cells))
	for i := range r.pos {
		r.pos[i] = -1
	}
	var missing []Problem
	for c, col := range Columns {
		if col.Header == "" {
			continue
		}
		i, found := byKey[match.Key(col.Header)]
		if !found {
			if col.Required {
				have := ""
				if idx := columnIndex(col.Letter); idx < len(cells) && strings.TrimSpace(cells[idx]) != "" {
					have = fmt.Sprintf("; column %s is headed %q instead — renamed?", col.Letter, strings.TrimSpace(cells[idx]))
				}
				missing = append(missing, Problem{Row: 1, Msg: fmt.Sprintf("required column %q is missing (the template has it in column %s)%s", col.Header, col.Letter, have)})
			}
			continue
		}
		r.pos[i] = Col(c)
		r.Layout.Letters[c] = letter(i)
		r.Layout.Present[c] = true
	}
	if len(missing) > 0 {
		missing[len(missing)-1].Hint = "restore the header names in row 1 exactly as in the template (importer template OUT.xlsx)"
		return &FileError{File: r.Name, Sheet: r.Sheet, Problems: missing}
	}
	// Columns the template may lack still need a letter for messages.
	for c, col := range Columns {
		if r.Layout.Letters[c] == "" {
			r.Layout.Letters[c] = col.Letter
		}
	}
	return nil
}

func (r *Reader) sheetErr(err error) error {
	if errors.Is(err, errTooManyRows) {
		return fileErr(r.Name, r.Sheet, fmt.Sprintf("the sheet has rows beyond row %d, the most one import accepts", r.lim.MaxRows), "split the workbook, or delete the empty rows at its end")
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	return fileErr(r.Name, r.Sheet, "the workbook is damaged: "+err.Error(), "re-save the workbook from Excel")
}

// Stats counts what Next skipped.
type Stats struct {
	Rows      int // last Excel row seen
	BlankRows int
}

// Stats reports progress so far.
func (r *Reader) Stats() Stats { return Stats{Rows: r.rowNum, BlankRows: r.blank} }

// Next returns the next non-blank data row, or nil at the end of the sheet.
// Rows 2 and 3 are skipped when they hold the template's examples and
// format hints. The record is reused by the following call.
func (r *Reader) Next() (*Record, error) {
	for {
		cells, ok, err := r.next()
		if err != nil {
			return nil, r.sheetErr(err)
		}
		if !ok {
			return nil, nil
		}
		r.rec = Record{Row: r.rowNum}
		for i, v := range cells {
			if i < len(r.pos) && r.pos[i] >= 0 {
				r.rec.Cells[r.pos[i]] = v
			}
		}
		if r.rowNum <= 3 && isHintRow(&r.rec) {
			continue
		}
		if IsBlank(&r.rec) {
			r.blank++
			continue
		}
		return &r.rec, nil
	}
}

// isHintRow recognises the template's example row ("e.g. …") and format
// row ("DD/MM/YYYY", "HH:mm", …). A real event typed into row 2 is data.
func isHintRow(rec *Record) bool {
	for _, v := range rec.Cells {
		k := match.Key(v)
		if k == "" {
			continue
		}
		if strings.HasPrefix(k, "e.g") {
			return true
		}
		switch k {
		case "dd/mm/yyyy", "hh:mm", "free-text", "integer", "number", "y/n", "blended/classroom/lms", "url":
			return true
		}
	}
	return false
}

// letter converts a 0-based column index to its letters.
func letter(i int) string {
	if i < 0 {
		return "#"
	}
	var b [4]byte
	n := len(b)
	for i++; i > 0 && n > 0; i = (i - 1) / 26 {
		n--
		b[n] = byte('A' + (i-1)%26)
	}
	return string(b[n:])
}

func columnIndex(l string) int {
	c, _, ok := parseRef(l + "1")
	if !ok {
		return -1
	}
	return c - 1
}
