package workbook

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"

	"admsync/pkg/match"
)

// Reader streams the data rows of the Import sheet.
type Reader struct {
	Name   string // file name used in messages
	Sheet  string
	Layout *Layout

	lim     Limits
	zf      *zip.ReadCloser
	f       *excelize.File
	rows    *excelize.Rows
	pos     []Col // pos[i] = template column of file column i, or -1
	rowNum  int
	rec     Record
	scan    chan *Problem
	scanned bool
	blank   int
	opts    excelize.Options
	tmp     string // temp copy made by OpenReader
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
		// excelize has panicked on crafted files before (CVE-2026-54063);
		// whatever slips through becomes a refusal, not a crash.
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
	info, msg, hint := prescan(&zf.Reader, lim, SheetName)
	if msg != "" {
		r.Close()
		return nil, fileErr(name, "", msg, hint)
	}
	r.Sheet = info.sheetName
	r.opts = excelize.Options{
		RawCellValue:      true,
		UnzipSizeLimit:    lim.UnzipSizeLimit,
		UnzipXMLSizeLimit: lim.UnzipXMLSizeLimit,
		TmpDir:            lim.TmpDir,
	}
	r.f, err = excelize.OpenFile(path, r.opts)
	if err != nil {
		r.Close()
		return nil, fileErr(name, "", notXLSX+": "+err.Error(), "re-save it from Excel as .xlsx")
	}
	props, err := r.f.GetWorkbookProps()
	if err != nil {
		r.Close()
		return nil, fileErr(name, "", "the workbook properties cannot be read: "+err.Error(), "re-save it from Excel")
	}
	r.Layout = &Layout{Date1904: props.Date1904 != nil && *props.Date1904}
	if r.rows, err = r.f.Rows(r.Sheet); err != nil {
		r.Close()
		return nil, fileErr(name, r.Sheet, "the sheet cannot be read: "+err.Error(), "re-save it from Excel")
	}
	// The scan runs beside the parser (the machine has a second core for
	// it); Next consults it and waits for it before reporting the end.
	sstCount, sstKnown := 0, false
	files := map[string]*zip.File{}
	for _, f := range zf.File {
		files[f.Name] = f
	}
	scan := make(chan *Problem, 1) // buffered: the scanner never blocks, even if nobody reads
	r.scan = scan
	go func() {
		defer func() {
			if p := recover(); p != nil {
				scan <- &Problem{Msg: fmt.Sprintf("the sheet is damaged (%v)", p)}
			}
		}()
		if info.sstPart != "" {
			n, err := countSharedStrings(files[info.sstPart])
			if err != nil {
				scan <- &Problem{Msg: "the shared strings part is damaged: " + err.Error(), Hint: "re-save the workbook from Excel"}
				return
			}
			sstCount, sstKnown = n, true
		} else {
			sstKnown = true // no table: any shared-string cell is broken
		}
		scan <- scanSheet(files[info.sheetPart], sstCount, sstKnown)
	}()
	if err := r.readHeader(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Date1904 reports whether the workbook counts dates from 1904.
func (r *Reader) Date1904() bool { return r.Layout.Date1904 }

// Close releases the file, the iterator and any temporary copies.
func (r *Reader) Close() error {
	var errs []error
	if r.rows != nil {
		errs = append(errs, r.rows.Close())
		r.rows = nil
	}
	if r.f != nil {
		errs = append(errs, r.f.Close())
		r.f = nil
	}
	if r.zf != nil {
		errs = append(errs, r.zf.Close())
		r.zf = nil
	}
	if r.scan != nil && !r.scanned {
		// Let the scanner finish on its own; it reads a closed file and ends.
		r.scanned = true
	}
	if r.tmp != "" {
		os.Remove(r.tmp)
		r.tmp = ""
	}
	return errors.Join(errs...)
}

func (r *Reader) columns() (cells []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the sheet is damaged near row %d (%v)", r.rowNum, p)
		}
	}()
	return r.rows.Columns(r.opts)
}

func (r *Reader) next() (cells []string, ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, fmt.Errorf("the sheet is damaged near row %d (%v)", r.rowNum, p)
		}
	}()
	if !r.rows.Next() {
		if err := r.rows.Error(); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	r.rowNum++
	if r.rowNum > r.lim.MaxRows {
		return nil, false, errTooManyRows
	}
	cells, err = r.columns()
	if err != nil {
		return nil, false, err
	}
	return cells, true, nil
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
	for i, h := range cells {
		k := match.Key(h)
		if _, dup := byKey[k]; !dup && k != "" {
			byKey[k] = i
		}
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
	if errors.Is(err, errTooManyRows) || errors.Is(err, excelize.ErrMaxRows) {
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
		if r.rowNum&1023 == 0 && !r.scanned {
			select {
			case p := <-r.scan:
				r.scanned = true
				if p != nil {
					return nil, &FileError{File: r.Name, Sheet: r.Sheet, Problems: []Problem{*p}}
				}
			default:
			}
		}
		cells, ok, err := r.next()
		if err != nil {
			return nil, r.sheetErr(err)
		}
		if !ok {
			if !r.scanned {
				r.scanned = true
				if p := <-r.scan; p != nil {
					return nil, &FileError{File: r.Name, Sheet: r.Sheet, Problems: []Problem{*p}}
				}
			}
			return nil, nil
		}
		if len(cells) > r.lim.MaxColumns {
			return nil, fileErr(r.Name, r.Sheet, fmt.Sprintf("row %d has cells as far as column %s; at most %d columns are read", r.rowNum, letter(len(cells)-1), r.lim.MaxColumns), "delete the stray cells to the right of the template")
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
	s, err := excelize.ColumnNumberToName(i + 1)
	if err != nil {
		return fmt.Sprintf("#%d", i+1)
	}
	return s
}

func columnIndex(l string) int {
	n, err := excelize.ColumnNameToNumber(l)
	if err != nil {
		return -1
	}
	return n - 1
}
