package workbook

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Limits bound what a workbook may cost to open. The zero value of each
// field means its default; the inflation budgets may also be set with
// IMPORTER_MAX_INFLATED_MIB and IMPORTER_MAX_SHARED_STRINGS_MIB.
type Limits struct {
	MaxFileBytes  int64 // size of the .xlsx itself; default 64 MiB
	MaxRows       int   // last Excel row that may hold data; default 200,000
	MaxColumns    int   // widest row accepted; default 1,024
	MaxZipEntries int   // parts in the package; default 1,000
	// UnzipSizeLimit is the budget of inflated bytes for all parts
	// together, checked on the zip's directory before anything is
	// inflated and counted again while reading. Default 256 MiB: the
	// real template takes about 1 KiB of sheet XML per row (1.35 MB for
	// 1,305 rows), so MaxRows rows fit with room for the other parts.
	UnzipSizeLimit int64
	// UnzipXMLSizeLimit caps the shared-string part, the only part held
	// in memory. Default 16 MiB: the real template's table takes about
	// 55 bytes per row (71 KB for 1,305 rows), 11 MB at MaxRows.
	UnzipXMLSizeLimit int64
	MaxRatio          float64 // inflated/compressed size of one part over 1 MiB; default 400
	TmpDir            string  // where an uploaded workbook is staged; default os.TempDir()
}

// Default inflation budgets (see Limits).
const (
	DefaultMaxInflated      = 256 << 20
	DefaultMaxSharedStrings = 16 << 20
)

func envMiB(name string) int64 {
	v, err := strconv.ParseInt(strings.TrimSpace(os.Getenv(name)), 10, 64)
	if err != nil || v <= 0 {
		return 0
	}
	return v << 20
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
		l.UnzipSizeLimit = envMiB("IMPORTER_MAX_INFLATED_MIB")
	}
	if l.UnzipSizeLimit <= 0 {
		l.UnzipSizeLimit = DefaultMaxInflated
	}
	if l.UnzipXMLSizeLimit <= 0 {
		l.UnzipXMLSizeLimit = envMiB("IMPORTER_MAX_SHARED_STRINGS_MIB")
	}
	if l.UnzipXMLSizeLimit <= 0 {
		l.UnzipXMLSizeLimit = DefaultMaxSharedStrings
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

// prescan walks the zip's central directory (no inflation) to refuse
// bombs: too many parts, more inflated bytes than the budget, a part that
// inflates implausibly. archive/zip holds every part to the size the
// directory declares, so the sum checked here bounds what reading costs.
func prescan(zr *zip.Reader, lim Limits) (string, string) {
	if len(zr.File) > lim.MaxZipEntries {
		return fmt.Sprintf("%s: the package has %d parts (at most %d are accepted)", notXLSX, len(zr.File), lim.MaxZipEntries), "save a copy with only the Import sheet and try again"
	}
	var total uint64
	have := map[string]bool{}
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total > uint64(lim.UnzipSizeLimit) {
			return fmt.Sprintf("the workbook would inflate to more than %d MiB (the import budget; IMPORTER_MAX_INFLATED_MIB or --max-inflated raise it)", lim.UnzipSizeLimit>>20), "it is too large or a zip bomb; split the workbook"
		}
		if f.UncompressedSize64 > 1<<20 && float64(f.UncompressedSize64) > lim.MaxRatio*float64(max(f.CompressedSize64, 1)) {
			return fmt.Sprintf("part %s inflates %.0f times (%d MiB): the file looks like a zip bomb", f.Name, float64(f.UncompressedSize64)/float64(max(f.CompressedSize64, 1)), f.UncompressedSize64>>20), "re-save the workbook from Excel"
		}
		if have[f.Name] {
			return fmt.Sprintf("%s: part %s appears twice in the package", notXLSX, f.Name), "re-save the workbook from Excel"
		}
		have[f.Name] = true
	}
	if !have["[Content_Types].xml"] || !have["xl/workbook.xml"] {
		return notXLSX + ": it is a zip file without a workbook part", "open it in Excel and save it as Excel Workbook (.xlsx)"
	}
	return "", ""
}

// sheetPart is the sheet to import.
type sheetPart struct{ sheet, part string }

// pickSheet finds the sheet named want (case-insensitively) and the
// shared-string part, from the workbook part and its relationships.
func pickSheet(sheets []sheetRef, rels []rel, have map[string]*zip.File, want string) (sheetPart, *zip.File, string) {
	target := map[string]string{}
	var sst *zip.File
	for _, r := range rels {
		target[r.id] = r.target
		if strings.HasSuffix(r.typ, "/sharedStrings") && have[r.target] != nil {
			sst = have[r.target]
		}
	}
	var names []string
	var found sheetPart
	for _, s := range sheets {
		names = append(names, s.name)
		if strings.EqualFold(strings.TrimSpace(s.name), want) && found.sheet == "" {
			found = sheetPart{sheet: s.name, part: target[s.rid]}
		}
	}
	if found.sheet == "" {
		return found, nil, fmt.Sprintf("the workbook has no sheet named %q (its sheets: %s)", want, strings.Join(quoteAll(names), ", "))
	}
	if have[found.part] == nil {
		return found, nil, fmt.Sprintf("%s: sheet %q points at a missing part", notXLSX, found.sheet)
	}
	return found, sst, ""
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}
