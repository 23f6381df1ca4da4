package workbook

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with the workbook, located as precisely as
// possible: Row is the real Excel row (1-based); Column, Header and Value are
// empty when the problem concerns a whole row or the file.
type Problem struct {
	Row    int    `json:"row,omitempty"`
	Column string `json:"column,omitempty"` // letter in the file, e.g. "H"
	Header string `json:"header,omitempty"`
	Value  string `json:"value,omitempty"`
	Msg    string `json:"message"`
	Hint   string `json:"hint,omitempty"` // what to do about it
}

// Cell returns "H125" or "" for a row-level problem.
func (p Problem) Cell() string {
	if p.Column == "" || p.Row == 0 {
		return ""
	}
	return fmt.Sprintf("%s%d", p.Column, p.Row)
}

// Text renders the problem without the file name: what the report workbook
// and import_rows store.
func (p Problem) Text() string {
	var b strings.Builder
	if p.Column != "" {
		fmt.Fprintf(&b, "column %s", p.Column)
		if p.Header != "" {
			fmt.Fprintf(&b, " (%s)", p.Header)
		}
		fmt.Fprintf(&b, " %q: ", clip(p.Value, 80))
	}
	b.WriteString(p.Msg)
	if p.Hint != "" {
		b.WriteString("; ")
		b.WriteString(p.Hint)
	}
	return b.String()
}

// Format renders the problem with its file and sheet, for terminals and logs.
func (p Problem) Format(file, sheet string) string {
	var b strings.Builder
	b.WriteString(file)
	if sheet != "" {
		fmt.Fprintf(&b, ", sheet %q", sheet)
	}
	if p.Row > 0 {
		fmt.Fprintf(&b, ", row %d", p.Row)
	}
	b.WriteString(", ")
	b.WriteString(p.Text())
	return b.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// FileError is a problem that stops the whole file from being read (not an
// xlsx, hostile content, wrong header). Problems lists every finding when
// there are several (e.g. all missing columns).
type FileError struct {
	File     string
	Sheet    string
	Problems []Problem
}

func (e *FileError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Format(e.File, e.Sheet)
	}
	return strings.Join(parts, "\n")
}

func fileErr(file, sheet, msg, hint string) *FileError {
	return &FileError{File: file, Sheet: sheet, Problems: []Problem{{Msg: msg, Hint: hint}}}
}
