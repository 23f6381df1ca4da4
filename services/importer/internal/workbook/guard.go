package workbook

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// Limits bound what a workbook may cost to open. The zero value of each
// field means its default.
type Limits struct {
	MaxFileBytes      int64   // size of the .xlsx itself; default 64 MiB
	MaxRows           int     // last Excel row that may hold data; default 200,000
	MaxColumns        int     // widest row accepted; default 1,024
	MaxZipEntries     int     // parts in the package; default 1,000
	UnzipSizeLimit    int64   // all parts inflated; default 1 GiB (large sheets spill to TmpDir)
	UnzipXMLSizeLimit int64   // a part kept in memory; default 16 MiB
	MaxRatio          float64 // inflated/compressed size of one part over 1 MiB; default 400
	TmpDir            string  // where excelize spills large sheets; default os.TempDir()
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 64 << 20
	}
	if l.MaxRows <= 0 {
		l.MaxRows = 200_000
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = 1024
	}
	if l.MaxZipEntries <= 0 {
		l.MaxZipEntries = 1000
	}
	if l.UnzipSizeLimit <= 0 {
		l.UnzipSizeLimit = 1 << 30
	}
	if l.UnzipXMLSizeLimit <= 0 {
		l.UnzipXMLSizeLimit = 16 << 20
	}
	if l.UnzipXMLSizeLimit > l.UnzipSizeLimit {
		l.UnzipXMLSizeLimit = l.UnzipSizeLimit
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = 400
	}
	return l
}

const notXLSX = "not an .xlsx workbook"

// sniff refuses files that are not zip packages, naming what they look like.
func sniff(head []byte) (msg, hint string) {
	switch {
	case len(head) == 0:
		return "the file is empty: " + notXLSX, "export the sheet from Excel as .xlsx and try again"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "", ""
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return notXLSX + ": it is an old Excel 97–2003 (.xls) file or an encrypted workbook", "open it in Excel and save it as Excel Workbook (.xlsx), without a password"
	default:
		kind := "binary data"
		if isText(head) {
			kind = "text (a CSV or similar file renamed to .xlsx?)"
		}
		return notXLSX + ": it holds " + kind, "open it in Excel and save it as Excel Workbook (.xlsx)"
	}
}

func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x09 || (c > 0x0d && c < 0x20) {
			return false
		}
	}
	return true
}

// pkgInfo is what the pre-scan learnt about the package.
type pkgInfo struct {
	sheetPart string // e.g. xl/worksheets/sheet1.xml
	sheetName string // as written in the workbook
	sstPart   string // shared strings part, "" when absent
	sheets    []string
}

// prescan walks the zip's central directory (no inflation) to refuse bombs,
// then reads the heads of the XML parts to refuse DTDs and entity
// declarations, and finds the sheet to import. Go's XML decoder would not
// expand entities anyway; this is defence in depth and a clear message.
func prescan(zr *zip.Reader, lim Limits, wantSheet string) (*pkgInfo, string, string) {
	if len(zr.File) > lim.MaxZipEntries {
		return nil, fmt.Sprintf("%s: the package has %d parts (at most %d are accepted)", notXLSX, len(zr.File), lim.MaxZipEntries), "save a copy with only the Import sheet and try again"
	}
	var total uint64
	have := map[string]*zip.File{}
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total > uint64(lim.UnzipSizeLimit) {
			return nil, fmt.Sprintf("the workbook would inflate to more than %d MiB", lim.UnzipSizeLimit>>20), "it is too large or a zip bomb; split the workbook"
		}
		if f.UncompressedSize64 > 1<<20 && float64(f.UncompressedSize64) > lim.MaxRatio*float64(max(f.CompressedSize64, 1)) {
			return nil, fmt.Sprintf("part %s inflates %.0f times (%d MiB): the file looks like a zip bomb", f.Name, float64(f.UncompressedSize64)/float64(max(f.CompressedSize64, 1)), f.UncompressedSize64>>20), "re-save the workbook from Excel"
		}
		have[f.Name] = f
	}
	if have["[Content_Types].xml"] == nil || have["xl/workbook.xml"] == nil {
		return nil, notXLSX + ": it is a zip file without a workbook part", "open it in Excel and save it as Excel Workbook (.xlsx)"
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".xml") || strings.HasSuffix(f.Name, ".rels") {
			if bad, err := hasDTD(f); err != nil {
				return nil, fmt.Sprintf("%s: part %s cannot be read (%v)", notXLSX, f.Name, err), "re-save the workbook from Excel"
			} else if bad {
				return nil, fmt.Sprintf("part %s declares a DTD or entities, which workbooks never need", f.Name), "this file was crafted or damaged; re-save it from Excel"
			}
		}
	}
	info, msg := findSheet(have, wantSheet)
	if msg != "" {
		return nil, msg, "rename the sheet to \"" + wantSheet + "\" or use the template (importer template OUT.xlsx)"
	}
	return info, "", ""
}

// hasDTD looks at the prolog of a part: a DTD must come before the root
// element, so the first few KiB are enough.
func hasDTD(f *zip.File) (bool, error) {
	rc, err := f.Open()
	if err != nil {
		return false, err
	}
	defer rc.Close()
	head := make([]byte, 4096)
	n, err := io.ReadFull(rc, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return false, err
	}
	head = bytes.ToUpper(head[:n])
	return bytes.Contains(head, []byte("<!DOCTYPE")) || bytes.Contains(head, []byte("<!ENTITY")), nil
}

func findSheet(have map[string]*zip.File, want string) (*pkgInfo, string) {
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			RID  string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
			Type   string `xml:"Type,attr"`
		} `xml:"Relationship"`
	}
	if err := decodePart(have["xl/workbook.xml"], &wb); err != nil {
		return nil, notXLSX + ": its workbook part is damaged (" + err.Error() + ")"
	}
	if f := have["xl/_rels/workbook.xml.rels"]; f != nil {
		if err := decodePart(f, &rels); err != nil {
			return nil, notXLSX + ": its relationships part is damaged (" + err.Error() + ")"
		}
	}
	info := &pkgInfo{}
	target := map[string]string{}
	for _, r := range rels.Rels {
		t := r.Target
		if strings.HasPrefix(t, "/") {
			t = strings.TrimPrefix(t, "/")
		} else {
			t = path.Join("xl", t)
		}
		target[r.ID] = t
		if strings.HasSuffix(r.Type, "/sharedStrings") {
			info.sstPart = t
		}
	}
	for _, s := range wb.Sheets {
		info.sheets = append(info.sheets, s.Name)
		if strings.EqualFold(strings.TrimSpace(s.Name), want) && info.sheetName == "" {
			info.sheetName = s.Name
			info.sheetPart = target[s.RID]
		}
	}
	if info.sheetName == "" {
		return nil, fmt.Sprintf("the workbook has no sheet named %q (its sheets: %s)", want, strings.Join(quoteAll(info.sheets), ", "))
	}
	if have[info.sheetPart] == nil {
		return nil, fmt.Sprintf("%s: sheet %q points at a missing part", notXLSX, info.sheetName)
	}
	if info.sstPart != "" && have[info.sstPart] == nil {
		info.sstPart = ""
	}
	return info, ""
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

func decodePart(f *zip.File, v any) error {
	if f == nil {
		return fmt.Errorf("missing")
	}
	if f.UncompressedSize64 > 8<<20 {
		return fmt.Errorf("part %s is too large", f.Name)
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return xml.NewDecoder(io.LimitReader(rc, 8<<20)).Decode(v)
}

// countSharedStrings counts <si> items so cell references can be checked.
func countSharedStrings(f *zip.File) (int, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	n := 0
	for {
		if _, err := br.ReadSlice('<'); err != nil {
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
		p, _ := br.Peek(3)
		if len(p) == 3 && p[0] == 's' && p[1] == 'i' && (p[2] == '>' || p[2] == ' ' || p[2] == '/') {
			n++
		}
	}
}

// scanSheet reads the sheet part once, in a goroutine beside excelize's
// parser, looking for what the row iterator hides: formulas (the iterator
// returns their cached results) and shared-string indexes outside the
// table (the iterator turns them into blank cells). It stops at the first
// finding.
func scanSheet(f *zip.File, sstCount int, sstKnown bool) *Problem {
	rc, err := f.Open()
	if err != nil {
		return &Problem{Msg: "the sheet cannot be read: " + err.Error()}
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 256<<10)
	var cellRef []byte
	sharedCell := false
	for {
		if _, err := br.ReadSlice('<'); err != nil {
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				return nil
			}
			return &Problem{Msg: "the sheet is damaged: " + err.Error()}
		}
		p, _ := br.Peek(2)
		if len(p) < 2 {
			continue
		}
		switch {
		case p[0] == 'c' && (p[1] == ' ' || p[1] == '>'):
			tag, err := br.ReadSlice('>')
			if err != nil {
				return &Problem{Msg: "the sheet is damaged: a cell tag is cut short"}
			}
			cellRef = append(cellRef[:0], attr(tag, "r")...)
			sharedCell = string(attr(tag, "t")) == "s"
		case p[0] == 'f' && (p[1] == ' ' || p[1] == '>' || p[1] == '/'):
			return &Problem{Msg: fmt.Sprintf("cell %s holds a formula; the importer reads values only", cellRef), Hint: "copy the sheet and use Paste Special → Values, then import again"}
		case p[0] == 'v' && p[1] == '>' && sharedCell && sstKnown:
			_, _ = br.Discard(2)
			v, err := br.ReadSlice('<')
			if err != nil {
				return &Problem{Msg: "the sheet is damaged: a value is cut short"}
			}
			idx, perr := strconv.Atoi(strings.TrimSpace(string(v[:len(v)-1])))
			if perr != nil || idx < 0 || idx >= sstCount {
				return &Problem{Msg: fmt.Sprintf("cell %s refers to shared string %q, which does not exist (the table has %d)", cellRef, v[:len(v)-1], sstCount), Hint: "the workbook is damaged; re-save it from Excel"}
			}
			sharedCell = false
			if err := br.UnreadByte(); err != nil {
				return nil
			}
		case p[0] == '!':
			q, _ := br.Peek(8)
			if u := bytes.ToUpper(q); bytes.HasPrefix(u, []byte("!DOCTYPE")) || bytes.HasPrefix(u, []byte("!ENTITY")) {
				return &Problem{Msg: "the sheet declares a DTD or entities", Hint: "this file was crafted or damaged; re-save it from Excel"}
			}
		}
	}
}

// attr extracts an attribute value from a start tag's bytes.
func attr(tag []byte, name string) []byte {
	for i := 0; i+len(name)+2 < len(tag); i++ {
		if (tag[i] == ' ' || tag[i] == '\t' || tag[i] == '\n' || tag[i] == '\r') && bytes.HasPrefix(tag[i+1:], []byte(name)) && tag[i+1+len(name)] == '=' {
			rest := tag[i+2+len(name):]
			if len(rest) == 0 {
				return nil
			}
			q := rest[0]
			if q != '"' && q != '\'' {
				return nil
			}
			if end := bytes.IndexByte(rest[1:], q); end >= 0 {
				return rest[1 : 1+end]
			}
			return nil
		}
	}
	return nil
}
