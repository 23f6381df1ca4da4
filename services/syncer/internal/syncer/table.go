package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A bridge table is planned and applied generically: every data column is
// carried as text (nil = NULL) and cast in SQL, and compared with a per-type
// equality, so "unchanged" means the stored data really equals what
// Administrate sent, whatever the column type.

type colType int

const (
	colText colType = iota
	colBigint
	colBool
	colJSON
	colNumeric
)

func (t colType) cast() string {
	switch t {
	case colBigint:
		return "::text::bigint"
	case colBool:
		return "::text::boolean"
	case colJSON:
		return "::text::jsonb"
	case colNumeric:
		return "::text::numeric"
	default:
		return "::text"
	}
}

func (t colType) equal(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch t {
	case colJSON:
		return jsonEqual(*a, *b)
	case colNumeric:
		x, okx := new(big.Rat).SetString(*a)
		y, oky := new(big.Rat).SetString(*b)
		if !okx || !oky {
			return *a == *b
		}
		return x.Cmp(y) == 0
	default:
		return *a == *b
	}
}

func jsonEqual(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	dx := json.NewDecoder(strings.NewReader(a))
	dx.UseNumber()
	dy := json.NewDecoder(strings.NewReader(b))
	dy.UseNumber()
	if dx.Decode(&x) != nil || dy.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

type column struct {
	name string
	typ  colType
}

// table describes one adm bridge (or mirror) table with an id primary key.
type table struct {
	name    string   // schema-qualified
	key     []string // identity columns as Administrate defines them
	cols    []column // data columns, compared and written
	altKey  []string // a natural unique key among cols, see diff
	touch   []string // timestamp columns set to now() whenever a row is written
	hasGone bool
	// labelCols name a stored row in reports (joined with spaces).
	labelCols []string
	// linkCol is the column linking a row to its tutorial record ("" when
	// the table is not matched).
	linkCol string
}

func (t *table) colIndex(name string) int {
	for i, c := range t.cols {
		if c.name == name {
			return i
		}
	}
	panic("syncer: unknown column " + name + " of " + t.name)
}

// row is one record as the table stores it.
type row struct {
	key   []string
	vals  []*string
	label string // how reports name it
}

func (r row) keyString() string { return strings.Join(r.key, "\x1f") }

func (t *table) altKeyString(vals []*string) string {
	var parts []string
	for _, c := range t.altKey {
		v := vals[t.colIndex(c)]
		if v == nil {
			return ""
		}
		parts = append(parts, *v)
	}
	return strings.Join(parts, "\x1f")
}

// stored is a row as loaded from the table.
type stored struct {
	id   int64
	row  row
	gone bool
}

func (t *table) load(ctx context.Context, q pgx.Tx) ([]stored, error) {
	sel := []string{"id"}
	sel = append(sel, t.key...)
	for _, c := range t.cols {
		sel = append(sel, c.name+"::text")
	}
	gone := "false"
	if t.hasGone {
		gone = "gone_at IS NOT NULL"
	}
	sql := fmt.Sprintf("SELECT %s, %s FROM %s", strings.Join(sel, ", "), gone, t.name)
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", t.name, err)
	}
	defer rows.Close()
	var out []stored
	for rows.Next() {
		s := stored{row: row{key: make([]string, len(t.key)), vals: make([]*string, len(t.cols))}}
		dest := []any{&s.id}
		for i := range s.row.key {
			dest = append(dest, &s.row.key[i])
		}
		for i := range s.row.vals {
			dest = append(dest, &s.row.vals[i])
		}
		dest = append(dest, &s.gone)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("load %s: %w", t.name, err)
		}
		var parts []string
		for _, c := range t.labelCols {
			if v := s.row.vals[t.colIndex(c)]; v != nil && *v != "" {
				parts = append(parts, *v)
			}
		}
		s.row.label = strings.Join(parts, " ")
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", t.name, err)
	}
	return out, nil
}

// change is one planned write.
type change struct {
	action string // create, update, gone
	id     int64  // stored row id (update, gone)
	row    row
	fields []string // changed columns (update)
}

// tablePlan is the diff of one table.
type tablePlan struct {
	t           *table
	existing    []stored
	creates     []change
	updates     []change
	gone        []change
	unchanged   int
	goneBlocked string // why nothing is marked gone, when the guard held
	blockedGone int    // how many would have been marked gone
}

func (p *tablePlan) writes() int { return len(p.creates) + len(p.updates) + len(p.gone) }

// diffInput is what a stage hands to diff.
type diffInput struct {
	desired []row
	// seen holds the keys of every record Administrate returned, including
	// the ones skipped, so that a skipped record is never taken for gone.
	seen map[string]bool
	// incomplete, when set, says why the fetch cannot be trusted to be the
	// whole set; nothing is marked gone then.
	incomplete string
	forceGone  bool
	// noGone plans inserts and updates only (linking records just created).
	noGone bool
}

// diff plans the writes that make t hold in.desired. A desired row whose key
// is unknown takes over a stored row with the same natural key (altKey) that
// Administrate no longer returns: that is the same thing under a new id
// (Administrate replacing a price), updated in place rather than created next
// to a row that would collide on the natural key.
func diff(t *table, existing []stored, in diffInput) *tablePlan {
	p := &tablePlan{t: t, existing: existing}
	byKey := make(map[string]*stored, len(existing))
	byAlt := map[string]*stored{}
	for i := range existing {
		s := &existing[i]
		byKey[s.row.keyString()] = s
		if len(t.altKey) > 0 && !in.seen[s.row.keyString()] {
			if ak := t.altKeyString(s.row.vals); ak != "" {
				byAlt[ak] = s
			}
		}
	}
	taken := map[int64]bool{}
	for _, d := range in.desired {
		s := byKey[d.keyString()]
		keyChanged := false
		if s == nil && len(t.altKey) > 0 {
			if cand := byAlt[t.altKeyString(d.vals)]; cand != nil && !taken[cand.id] {
				s, keyChanged = cand, true
			}
		}
		if s == nil {
			p.creates = append(p.creates, change{action: "create", row: d})
			continue
		}
		taken[s.id] = true
		var fields []string
		if keyChanged {
			fields = append(fields, t.key...)
		}
		for i, c := range t.cols {
			if !c.typ.equal(s.row.vals[i], d.vals[i]) {
				fields = append(fields, c.name)
			}
		}
		if s.gone {
			fields = append(fields, "gone_at")
		}
		if len(fields) == 0 {
			p.unchanged++
			continue
		}
		p.updates = append(p.updates, change{action: "update", id: s.id, row: d, fields: fields})
	}
	if !t.hasGone || in.noGone {
		return p
	}
	active := 0
	var gone []change
	for i := range existing {
		s := &existing[i]
		if s.gone {
			continue
		}
		active++
		if in.seen[s.row.keyString()] || taken[s.id] {
			continue
		}
		gone = append(gone, change{action: "gone", id: s.id, row: s.row})
	}
	switch {
	case len(gone) == 0:
	case in.incomplete != "":
		p.goneBlocked = "nothing marked gone: " + in.incomplete
	case !in.forceGone && len(in.seen)*2 < active:
		p.goneBlocked = fmt.Sprintf("nothing marked gone: Administrate returned %d record(s) where %d are stored, a drop of more than half; "+
			"if that is real, rerun with --force-gone", len(in.seen), active)
	default:
		p.gone = gone
	}
	if p.goneBlocked != "" {
		p.blockedGone = len(gone)
	}
	return p
}

// after returns the table as it would stand once the plan is applied; rows
// the plan would create get negative ids, which nothing ever writes.
func (p *tablePlan) after() []stored {
	out := make([]stored, len(p.existing))
	copy(out, p.existing)
	at := make(map[int64]int, len(out))
	for i, s := range out {
		at[s.id] = i
	}
	for _, u := range p.updates {
		i := at[u.id]
		out[i].row, out[i].gone = u.row, false
	}
	for _, g := range p.gone {
		out[at[g.id]].gone = true
	}
	for i, c := range p.creates {
		out = append(out, stored{id: -int64(i + 1), row: c.row})
	}
	return out
}

// apply writes the plan in tx, pipelined in batches.
func (p *tablePlan) apply(ctx context.Context, tx pgx.Tx) error {
	t := p.t
	b := &pgx.Batch{}
	touchSet := ""
	for _, c := range t.touch {
		touchSet += ", " + c + " = now()"
	}
	for _, u := range p.updates {
		var sets []string
		var args []any
		for i, k := range t.key {
			args = append(args, u.row.key[i])
			sets = append(sets, fmt.Sprintf("%s = $%d", k, len(args)))
		}
		for i, c := range t.cols {
			args = append(args, u.row.vals[i])
			sets = append(sets, fmt.Sprintf("%s = $%d%s", c.name, len(args), c.typ.cast()))
		}
		if t.hasGone {
			sets = append(sets, "gone_at = NULL")
		}
		args = append(args, u.id)
		b.Queue(fmt.Sprintf("UPDATE %s SET %s%s WHERE id = $%d", t.name, strings.Join(sets, ", "), touchSet, len(args)), args...)
	}
	if len(p.creates) > 0 {
		names := append(append([]string{}, t.key...), colNames(t.cols)...)
		names = append(names, t.touch...)
		for _, c := range p.creates {
			var ph []string
			var args []any
			for _, k := range c.row.key {
				args = append(args, k)
				ph = append(ph, fmt.Sprintf("$%d", len(args)))
			}
			for i, col := range t.cols {
				args = append(args, c.row.vals[i])
				ph = append(ph, fmt.Sprintf("$%d%s", len(args), col.typ.cast()))
			}
			for range t.touch {
				ph = append(ph, "now()")
			}
			b.Queue(fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", t.name, strings.Join(names, ", "), strings.Join(ph, ", ")), args...)
		}
	}
	if len(p.gone) > 0 {
		ids := make([]int64, len(p.gone))
		for i, g := range p.gone {
			ids[i] = g.id
		}
		b.Queue(fmt.Sprintf("UPDATE %s SET gone_at = now() WHERE id = ANY($1) AND gone_at IS NULL", t.name), ids)
	}
	return sendBatch(ctx, tx, b, t.name)
}

// batchChunk bounds one pipelined round trip: small enough that neither side's
// socket buffers fill while the other is still writing.
const batchChunk = 500

// sendBatch sends b in chunks of batchChunk statements.
func sendBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch, what string) error {
	qs := b.QueuedQueries
	for start := 0; start < len(qs); start += batchChunk {
		end := min(start+batchChunk, len(qs))
		chunk := &pgx.Batch{QueuedQueries: qs[start:end]}
		if err := tx.SendBatch(ctx, chunk).Close(); err != nil {
			return fmt.Errorf("write %s: %w", what, err)
		}
	}
	return nil
}

func colNames(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

// Helpers that build text values for rows.

func str(s string) *string { return &s }

// strOrNil stores "" as NULL (Administrate sends null and "" alike through the client).
func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func boolText(b bool) *string {
	if b {
		return str("true")
	}
	return str("false")
}

func idText(id int64) *string { return str(fmt.Sprint(id)) }

func idOrNil(id int64, ok bool) *string {
	if !ok {
		return nil
	}
	return idText(id)
}

// jsonText marshals v compactly (map keys sorted, so it is stable).
func jsonText(v any) *string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only plain maps and slices of strings reach here
	}
	return str(strings.TrimSpace(buf.String()))
}
