package validate

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"admsync/services/importer/internal/workbook"
)

// columnTargets names, per template column, the database columns its text
// ends up in (or, for names matched against reference data, the column it
// is compared with: longer text cannot match). The limit of a template
// column is the smallest character_maximum_length among them, read from
// the database itself, so a migration that changes a length changes what
// the importer accepts.
var columnTargets = map[workbook.Col][]string{
	workbook.ColCode:          {"admsync.import_events.course_template_code", "acted.tutorial_course_templates.code"},
	workbook.ColEventTitle:    {"acted.tutorial_events.code", "admsync.import_events.title"},
	workbook.ColSessionTitle:  {"acted.tutorial_sessions.title"},
	workbook.ColLocation:      {"acted.tutorial_locations.name"},
	workbook.ColVenue:         {"acted.tutorial_venues.name"},
	workbook.ColEventURL:      {"admsync.import_events.event_url"},
	workbook.ColSessionURL:    {"acted.tutorial_sessions.url"},
	workbook.ColSitting:       {"admsync.import_events.sitting", "acted.products.sitting"},
	workbook.ColOCRMoodleCode: {"admsync.import_events.ocr_moodle_code"},
}

// zoneTarget stores the time zone name derived from column G.
const zoneTarget = "admsync.import_events.time_zone"

// TextLimit is the most characters a column's text may have, and where
// that limit comes from.
type TextLimit struct {
	Max    int
	Target string // schema.table.column
}

// loadLimits reads character_maximum_length of every target column.
func loadLimits(ctx context.Context, q Querier) (map[workbook.Col]TextLimit, TextLimit, error) {
	var schemas, tables, columns []string
	add := func(target string) {
		p := strings.SplitN(target, ".", 3)
		schemas, tables, columns = append(schemas, p[0]), append(tables, p[1]), append(columns, p[2])
	}
	for _, ts := range columnTargets {
		for _, t := range ts {
			add(t)
		}
	}
	add(zoneTarget)
	max := map[string]int{}
	err := each(ctx, q, fmt.Sprintf(`
		SELECT c.table_schema || '.' || c.table_name || '.' || c.column_name, c.character_maximum_length
		FROM information_schema.columns c
		JOIN unnest(%s::text[], %s::text[], %s::text[]) AS t(s, tb, col)
		  ON c.table_schema = t.s AND c.table_name = t.tb AND c.column_name = t.col
		WHERE c.character_maximum_length IS NOT NULL`, sqlArray(schemas), sqlArray(tables), sqlArray(columns)), func(r pgx.Rows) error {
		var target string
		var n int
		if err := r.Scan(&target, &n); err != nil {
			return err
		}
		max[target] = n
		return nil
	})
	if err != nil {
		return nil, TextLimit{}, err
	}
	out := map[workbook.Col]TextLimit{}
	for col, ts := range columnTargets {
		for _, t := range ts {
			if n, ok := max[t]; ok && (out[col].Max == 0 || n < out[col].Max) {
				out[col] = TextLimit{Max: n, Target: t}
			}
		}
	}
	return out, TextLimit{Max: max[zoneTarget], Target: zoneTarget}, nil
}

// sqlArray renders identifiers as a text[] literal; they are the constants
// above, never input.
func sqlArray(ss []string) string {
	return "ARRAY['" + strings.Join(ss, "','") + "']"
}

// Limits returns the text limits read from the schema (for tests and docs).
func (r *Ref) Limits() map[workbook.Col]TextLimit { return r.limits }

// overLimit reports whether s has more than n characters, without counting
// far past n.
func overLimit(s string, n int) (int, bool) {
	if n <= 0 || len(s) <= n {
		return 0, false
	}
	if len(s) > 4*n {
		return utf8.RuneCountInString(s[:4*n+4]), true // enough to say "more than"
	}
	c := utf8.RuneCountInString(s)
	return c, c > n
}

// checkLengths refuses text longer than its database column before any
// other check looks at it, and blanks it so that nothing later hashes,
// caches or matches it.
func (p *rowCtx) checkLengths(row *workbook.Row) {
	for col := workbook.Col(0); col < workbook.NumCols; col++ {
		lim, ok := p.v.ref.limits[col]
		f := row.Text(col)
		if !ok || f == nil {
			continue
		}
		if n, over := overLimit(*f, lim.Max); over {
			what := fmt.Sprintf("is %d characters long", n)
			if n > 4*lim.Max {
				what = fmt.Sprintf("is more than %d characters long", 4*lim.Max)
			}
			p.add(col, *f, fmt.Sprintf("%s; at most %d fit (%s)", what, lim.Max, lim.Target), fmt.Sprintf("shorten it to %d characters", lim.Max))
			*f = ""
		}
	}
}
