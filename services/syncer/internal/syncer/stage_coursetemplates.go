package syncer

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
)

var courseTemplatesTable = &table{
	name: "adm.course_templates",
	key:  []string{"external_id"},
	cols: []column{{"code", colText}, {"title", colText}, {"event_learning_mode", colText},
		{"custom_fields", colJSON}, {"tutorial_course_template_id", colBigint}},
	touch:     []string{"updated_at"},
	hasGone:   true,
	labelCols: []string{"code"},
	linkCol:   "tutorial_course_template_id",
}

type courseTemplatesStage struct {
	records []CourseTemplate
	tutorialRecords
}

func (s *courseTemplatesStage) info() Info { return Infos[StageCourseTemplates] }

func (s *courseTemplatesStage) prerequisites(ctx context.Context, q querier, rc *runContext) error {
	return requireRows(ctx, q, rc, customFieldsTable, func(r row) bool { return r.key[0] == "Event" }, StageCourseTemplates, "Event custom fields (adm.custom_fields has no Event rows)", StageCustomFields,
		`SELECT 1 FROM adm.custom_fields WHERE entity_type = 'Event' AND gone_at IS NULL`)
}

func (s *courseTemplatesStage) fetch(ctx context.Context, rc *runContext) error {
	cts, err := rc.source.CourseTemplates(ctx, rc.paging("course templates"))
	if err != nil {
		return fmt.Errorf("fetch course templates: %w", err)
	}
	s.records = cts
	// The price stage of the same `run all` reads the same list: keep it
	// rather than paging through every template again.
	rc.shared.courseTemplates = cts
	return nil
}

func (s *courseTemplatesStage) plan(ctx context.Context, tx pgx.Tx, rc *runContext) (*stagePlan, error) {
	existing, err := rc.load(ctx, tx, courseTemplatesTable)
	if err != nil {
		return nil, err
	}
	tut, err := s.read(ctx, tx, `SELECT id, code, title, is_active FROM acted.tutorial_course_templates`,
		func(r pgx.Rows, t *tutorialRow) error {
			var code, title string
			err := r.Scan(&t.id, &code, &title, &t.active)
			t.key = matchKey(code)
			t.label = code + ": " + title
			t.extra = map[string]string{"code": code, "title": title}
			return err
		})
	if err != nil {
		return nil, err
	}
	sp := &stagePlan{fetched: len(s.records)}
	in := rc.diffInput()
	keep := uniqueByID(in.seen, s.records, func(ct CourseTemplate) string { return ct.ID })
	var adm []item
	for _, ct := range keep {
		label := ct.Code
		if ct.Title != "" {
			label += ": " + ct.Title
		}
		it := item{ID: ct.ID, Key: matchKey(ct.Code), Label: label}
		if it.Key == "" {
			it.Note = "the template has no code"
		}
		adm = append(adm, it)
	}
	m := matchTutorial(tut, adm)
	pairs := &pairPlan{name: "approved instructors"}
	desiredPairs := map[[2]string]bool{}
	for _, ct := range keep {
		cf := map[string]any{}
		for _, v := range ct.CustomFields {
			if v.DefinitionKey == "" {
				continue
			}
			if v.Value == nil {
				cf[v.DefinitionKey] = nil
			} else {
				cf[v.DefinitionKey] = *v.Value
			}
		}
		in.desired = append(in.desired, row{key: []string{ct.ID}, label: ct.Code,
			vals: []*string{strOrNil(ct.Code), strOrNil(ct.Title), strOrNil(ct.EventLearningMode), jsonText(cf), linkOf(&m, ct.ID)}})
		for _, ins := range ct.ApprovedInstructorIDs {
			if ins != "" {
				desiredPairs[[2]string{ct.ID, ins}] = true
			}
		}
	}
	if err := pairs.plan(ctx, tx, in.seen, desiredPairs); err != nil {
		return nil, err
	}
	sp.link(&m, diff(courseTemplatesTable, existing, in))
	sp.pairs = []*pairPlan{pairs}
	return sp, nil
}

func (s *courseTemplatesStage) create(ctx context.Context, _ pgx.Tx, rc *runContext, items []item) (*creation, error) {
	cr := &creation{}
	ok, why := rc.supports(ctx, OpCreateCourseTemplate)
	for _, it := range items {
		t := s.tut[it.ID]
		if !ok {
			cr.byHand(it, "%s; create course template %q (%s) by hand in Administrate, then run `syncer run course-templates`", why, t.extra["code"], t.extra["title"])
			continue
		}
		ct, err := rc.creator.CreateCourseTemplate(ctx, t.extra["code"], t.extra["title"])
		if err != nil {
			cr.failed("create course template %q in Administrate: %v", t.extra["code"], err)
			continue
		}
		cr.linked(row{key: []string{ct.ID}, label: ct.Code,
			vals: []*string{strOrNil(ct.Code), strOrNil(ct.Title), strOrNil(ct.EventLearningMode), jsonText(map[string]any{}), str(it.ID)}},
			fmt.Sprintf("course template %s (tutorial #%s)", it.Label, it.ID))
	}
	return cr, nil
}

// pairPlan keeps a set of (course template, instructor) pairs equal to what
// Administrate returned, for the templates it returned; rows of templates it
// did not return are left alone.
type pairPlan struct {
	name      string
	inserts   [][2]string
	deletes   [][2]string
	unchanged int
}

func (p *pairPlan) plan(ctx context.Context, tx pgx.Tx, fetched map[string]bool, desired map[[2]string]bool) error {
	rows, err := tx.Query(ctx, `
		SELECT ct.external_id, cti.instructor_external_id
		FROM adm.course_template_instructors cti JOIN adm.course_templates ct ON ct.id = cti.course_template_id`)
	if err != nil {
		return fmt.Errorf("read adm.course_template_instructors: %w", err)
	}
	have := map[[2]string]bool{}
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			rows.Close()
			return fmt.Errorf("read adm.course_template_instructors: %w", err)
		}
		have[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read adm.course_template_instructors: %w", err)
	}
	for k := range desired {
		if have[k] {
			p.unchanged++
		} else {
			p.inserts = append(p.inserts, k)
		}
	}
	for k := range have {
		if fetched[k[0]] && !desired[k] {
			p.deletes = append(p.deletes, k)
		}
	}
	less := func(s [][2]string) func(i, j int) bool {
		return func(i, j int) bool { return s[i][0]+"\x00"+s[i][1] < s[j][0]+"\x00"+s[j][1] }
	}
	sort.Slice(p.inserts, less(p.inserts))
	sort.Slice(p.deletes, less(p.deletes))
	return nil
}

func (p *pairPlan) writes() int { return len(p.inserts) + len(p.deletes) }

func (p *pairPlan) apply(ctx context.Context, tx pgx.Tx) error {
	b := &pgx.Batch{}
	for _, k := range p.deletes {
		b.Queue(`DELETE FROM adm.course_template_instructors cti USING adm.course_templates ct
			WHERE ct.id = cti.course_template_id AND ct.external_id = $1 AND cti.instructor_external_id = $2`, k[0], k[1])
	}
	for _, k := range p.inserts {
		b.Queue(`INSERT INTO adm.course_template_instructors (course_template_id, instructor_external_id)
			SELECT id, $2 FROM adm.course_templates WHERE external_id = $1 ON CONFLICT DO NOTHING`, k[0], k[1])
	}
	return sendBatch(ctx, tx, b, "adm.course_template_instructors")
}

func (p *pairPlan) counts() Counts {
	return Counts{Created: len(p.inserts), Gone: len(p.deletes), Unchanged: p.unchanged}
}
