package syncer

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

var pricesTable = &table{
	name: "adm.course_template_price_levels",
	key:  []string{"external_id"},
	cols: []column{{"course_template_id", colBigint}, {"price_level_id", colBigint}, {"amount", colNumeric}},
	// A price Administrate replaces under a new id for the same template and
	// level updates the stored row instead of colliding with it.
	altKey:  []string{"course_template_id", "price_level_id"},
	touch:   []string{"last_synced", "updated_at"},
	hasGone: true,
}

type pricesStage struct {
	records []CourseTemplate
}

func (s *pricesStage) info() Info { return Infos[StageCourseTemplatePrices] }

func (s *pricesStage) prerequisites(ctx context.Context, q querier, rc *runContext) error {
	if err := requireRows(ctx, q, rc, courseTemplatesTable, nil, StageCourseTemplatePrices, "synced course templates (adm.course_templates is empty)", StageCourseTemplates,
		`SELECT 1 FROM adm.course_templates WHERE gone_at IS NULL`); err != nil {
		return err
	}
	return requireRows(ctx, q, rc, priceLevelsTable, nil, StageCourseTemplatePrices, "synced price levels (adm.pricelevels is empty)", StagePriceLevels,
		`SELECT 1 FROM adm.pricelevels WHERE gone_at IS NULL`)
}

func (s *pricesStage) fetch(ctx context.Context, rc *runContext) error {
	if f := rc.shared.ctFetch; f != nil {
		// run all: the course-templates read carries every template's prices.
		select {
		case <-f.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if f.err != nil {
			return fmt.Errorf("fetch course template prices: %w", f.err)
		}
		s.records = rc.shared.courseTemplates
		rc.printf("Using the %d course templates read for the course-templates stage\n", len(s.records))
		return nil
	}
	if rc.shared.courseTemplates != nil {
		s.records = rc.shared.courseTemplates
		rc.printf("Using the %d course templates fetched by the course-templates stage\n", len(s.records))
		return nil
	}
	var err error
	s.records, err = rc.source.CourseTemplates(ctx, rc.paging("course templates"))
	if err != nil {
		return fmt.Errorf("fetch course template prices: %w", err)
	}
	return nil
}

type refRow struct {
	id    int64
	label string
}

// loadRefs maps a bridge's Administrate ids to its row ids and labels (the
// label tidied of padding): as stored, or in a plan of all stages as planned
// (labelCol naming the label column then).
func loadRefs(ctx context.Context, tx pgx.Tx, rc *runContext, t *table, labelCol, sql string) (map[string]refRow, map[int64]string, error) {
	byExt := map[string]refRow{}
	byID := map[int64]string{}
	if planned, ok := rc.shared.plannedTable(t.name); ok {
		for _, s := range planned {
			r := refRow{id: s.id, label: tidy(firstNonEmpty(deref(s.row.vals[t.colIndex(labelCol)]), s.row.key[0]))}
			byExt[s.row.key[0]] = r
			byID[r.id] = r.label
		}
		return byExt, byID, nil
	}
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, nil, fmt.Errorf("read bridge: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ext string
		var r refRow
		if err := rows.Scan(&r.id, &ext, &r.label); err != nil {
			return nil, nil, fmt.Errorf("read bridge: %w", err)
		}
		r.label = tidy(r.label)
		byExt[ext] = r
		byID[r.id] = r.label
	}
	return byExt, byID, rows.Err()
}

// amountText normalises an amount to the column's two decimals, so a value
// stored rounded compares equal on the next run.
func amountText(s string) (string, bool) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return "", false
	}
	return r.FloatString(2), true
}

func (s *pricesStage) plan(ctx context.Context, tx pgx.Tx, rc *runContext) (*stagePlan, error) {
	existing, err := rc.load(ctx, tx, pricesTable)
	if err != nil {
		return nil, err
	}
	cts, ctLabels, err := loadRefs(ctx, tx, rc, courseTemplatesTable, "code", `SELECT ct.id, ct.external_id, coalesce(t.code, ct.code, ct.external_id)
		FROM adm.course_templates ct LEFT JOIN acted.tutorial_course_templates t ON t.id = ct.tutorial_course_template_id`)
	if err != nil {
		return nil, err
	}
	pls, plLabels, err := loadRefs(ctx, tx, rc, priceLevelsTable, "name", `SELECT id, external_id, name FROM adm.pricelevels`)
	if err != nil {
		return nil, err
	}
	sp := &stagePlan{}
	in := rc.diffInput()
	type cand struct {
		r        row
		currency string
		label    string
	}
	byPair := map[string][]cand{}
	var pairOrder []string
	for _, ct := range s.records {
		for _, p := range ct.Prices {
			sp.fetched++
			what := fmt.Sprintf("price %s of %s", p.ID, firstNonEmpty(ct.Code, ct.ID))
			if p.ID == "" {
				sp.skipped = append(sp.skipped, Record{ID: ct.ID, Description: "a price of " + firstNonEmpty(ct.Code, ct.ID) + " has no id"})
				continue
			}
			if in.seen[p.ID] {
				continue
			}
			// Seen even when skipped: a skipped price is not a vanished one.
			in.seen[p.ID] = true
			t, okT := cts[ct.ID]
			l, okL := pls[p.PriceLevelID]
			amount, okA := amountText(p.Amount)
			switch {
			case p.PriceLevelID == "":
				sp.skipped = append(sp.skipped, Record{ID: p.ID, Description: what + " has no price level"})
				continue
			case p.Amount == "":
				sp.skipped = append(sp.skipped, Record{ID: p.ID, Description: what + " has no amount"})
				continue
			case !okA:
				sp.skipped = append(sp.skipped, Record{ID: p.ID, Description: fmt.Sprintf("%s has an amount that is not a number: %q", what, p.Amount)})
				continue
			case !okT:
				sp.skipped = append(sp.skipped, Record{ID: p.ID, Description: fmt.Sprintf(
					"%s: course template %s is not in adm.course_templates (run `syncer run course-templates`)", what, ct.ID)})
				continue
			case !okL:
				sp.skipped = append(sp.skipped, Record{ID: p.ID, Description: fmt.Sprintf(
					"%s: price level %s (%s) is not in adm.pricelevels (run `syncer run price-levels`)", what, p.PriceLevelID, p.PriceLevelName)})
				continue
			}
			label := fmt.Sprintf("%s - %s: %s", t.label, l.label, amount)
			r := row{key: []string{p.ID}, label: label, vals: []*string{idText(t.id), idText(l.id), str(amount)}}
			pair := strconv.FormatInt(t.id, 10) + "/" + strconv.FormatInt(l.id, 10)
			if _, ok := byPair[pair]; !ok {
				pairOrder = append(pairOrder, pair)
			}
			byPair[pair] = append(byPair[pair], cand{r: r, currency: p.Currency, label: t.label + " - " + l.label})
		}
	}
	for _, pair := range pairOrder {
		cs := byPair[pair]
		if len(cs) == 1 {
			in.desired = append(in.desired, cs[0].r)
			continue
		}
		// One row per (template, level) is all the bridge can hold, so with
		// several (one per currency) none can be chosen safely.
		var offers []string
		for _, c := range cs {
			offers = append(offers, fmt.Sprintf("%s %s (id %s)", firstNonEmpty(c.currency, "no currency"), deref(c.r.vals[2]), c.r.key[0]))
		}
		sort.Strings(offers)
		for _, c := range cs {
			sp.skipped = append(sp.skipped, Record{ID: c.r.key[0], Description: fmt.Sprintf(
				"%s has %d prices: %s. The bridge holds one price per course template and price level, so none is stored "+
					"(what is stored stays); keep one price per level in Administrate, e.g. a price level per currency",
				c.label, len(cs), strings.Join(offers, "; "))})
		}
	}
	sp.fetchedWhat = fmt.Sprintf("%d prices of %d course templates", sp.fetched, len(s.records))
	sp.tables = []*tablePlan{diff(pricesTable, existing, in)}
	sp.describe = func(c change) string {
		if c.row.label != "" {
			return c.row.label
		}
		ctID, _ := strconv.ParseInt(deref(c.row.vals[0]), 10, 64)
		plID, _ := strconv.ParseInt(deref(c.row.vals[1]), 10, 64)
		return fmt.Sprintf("%s - %s: %s", ctLabels[ctID], plLabels[plID], deref(c.row.vals[2]))
	}
	return sp, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// tidy collapses the padding and inner runs of whitespace a tutorial code or
// name may carry, for report labels (" cp1 " is reported as "cp1").
func tidy(s string) string { return strings.Join(strings.Fields(s), " ") }
