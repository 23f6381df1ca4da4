package syncer

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Stages for data Administrate owns: mirrored as they are, never matched.

// EntityTypes are the SupportsCustomField values whose definitions are synced.
var EntityTypes = []string{"Account", "Achievement", "Company", "Contact", "Content", "Course",
	"CourseTemplate", "Event", "Learner", "LearningPath", "LearningPathLearner", "Opportunity",
	"OpportunityEventInterestLearner", "OpportunityPassInterestLearner", "OpportunityPathInterestLearner",
	"Session", "StockItem", "TokenIssue"}

var customFieldsTable = &table{
	name: "adm.custom_fields",
	key:  []string{"entity_type", "external_id"},
	cols: []column{{"label", colText}, {"field_type", colText}, {"description", colText},
		{"is_required", colBool}, {"roles", colJSON}},
	touch:     []string{"last_synced"},
	hasGone:   true,
	labelCols: []string{"label"},
}

type customFieldsStage struct {
	byType map[string][]CustomFieldDefinition
	failed map[string]error
}

func (s *customFieldsStage) info() Info { return Infos[StageCustomFields] }

func (s *customFieldsStage) prerequisites(context.Context, querier, *runContext) error { return nil }

// fetchConcurrency bounds the per-entity-type calls in flight; the client's
// rate budget still applies, this only hides latency.
const fetchConcurrency = 4

func (s *customFieldsStage) fetch(ctx context.Context, rc *runContext) error {
	s.byType = map[string][]CustomFieldDefinition{}
	s.failed = map[string]error{}
	var mu sync.Mutex
	sem := make(chan struct{}, fetchConcurrency)
	var wg sync.WaitGroup
	for _, et := range EntityTypes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defs, err := rc.source.CustomFieldDefinitions(ctx, et)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				s.failed[et] = err
				return
			}
			s.byType[et] = defs
		}()
	}
	wg.Wait()
	for _, et := range EntityTypes {
		if err, bad := s.failed[et]; bad {
			rc.printf("Error fetching custom fields for %s: %v\n", et, err)
		} else {
			rc.debugf("Retrieved %d custom fields for %s\n", len(s.byType[et]), et)
		}
	}
	if len(s.failed) == len(EntityTypes) {
		// Nothing usable came back: treat it as Administrate being unreachable.
		return fmt.Errorf("fetch custom fields: every entity type failed, e.g. %s: %w", EntityTypes[0], s.failed[EntityTypes[0]])
	}
	return nil
}

func (s *customFieldsStage) plan(ctx context.Context, tx pgx.Tx, rc *runContext) (*stagePlan, error) {
	existing, err := rc.load(ctx, tx, customFieldsTable)
	if err != nil {
		return nil, err
	}
	sp := &stagePlan{}
	in := rc.diffInput()
	for _, et := range EntityTypes {
		for _, d := range s.byType[et] {
			sp.fetched++
			if d.Key == "" {
				sp.skipped = append(sp.skipped, Record{ID: et + ": " + d.Label, Description: "definition has no key"})
				continue
			}
			r := row{key: []string{et, d.Key}, label: d.Label}
			if in.seen[r.keyString()] {
				sp.skipped = append(sp.skipped, Record{ID: d.Key, Description: et + ": key returned twice; first kept"})
				continue
			}
			in.seen[r.keyString()] = true
			roles := d.Roles
			if roles == nil {
				roles = []string{}
			}
			r.vals = []*string{str(d.Label), str(d.Type), strOrNil(d.Description), boolText(d.IsRequired), jsonText(roles)}
			in.desired = append(in.desired, r)
		}
	}
	if len(s.failed) > 0 {
		var types []string
		for et, err := range s.failed {
			types = append(types, et)
			sp.errors = append(sp.errors, fmt.Sprintf("custom fields of %s could not be fetched (its stored rows are left as they are): %v", et, err))
		}
		sort.Strings(types)
		sort.Strings(sp.errors)
		in.incomplete = "custom fields of " + strings.Join(types, ", ") + " could not be fetched"
	}
	sp.tables = []*tablePlan{diff(customFieldsTable, existing, in)}
	sp.describe = func(c change) string { return c.row.key[0] + ": " + c.row.label }
	return sp, nil
}

var priceLevelsTable = &table{
	name:      "adm.pricelevels",
	key:       []string{"external_id"},
	cols:      []column{{"name", colText}, {"description", colText}},
	touch:     []string{"last_synced"},
	hasGone:   true,
	labelCols: []string{"name"},
}

type priceLevelsStage struct {
	levels []PriceLevel
}

func (s *priceLevelsStage) info() Info { return Infos[StagePriceLevels] }

func (s *priceLevelsStage) prerequisites(context.Context, querier, *runContext) error { return nil }

func (s *priceLevelsStage) fetch(ctx context.Context, rc *runContext) error {
	var err error
	s.levels, err = rc.source.PriceLevels(ctx, rc.paging("price levels"))
	if err != nil {
		return fmt.Errorf("fetch price levels: %w", err)
	}
	return nil
}

func (s *priceLevelsStage) plan(ctx context.Context, tx pgx.Tx, rc *runContext) (*stagePlan, error) {
	existing, err := rc.load(ctx, tx, priceLevelsTable)
	if err != nil {
		return nil, err
	}
	sp := &stagePlan{fetched: len(s.levels)}
	in := rc.diffInput()
	for _, l := range s.levels {
		if l.ID == "" {
			sp.skipped = append(sp.skipped, Record{ID: l.Name, Description: "price level has no id"})
			continue
		}
		if in.seen[l.ID] {
			continue
		}
		in.seen[l.ID] = true
		in.desired = append(in.desired, row{key: []string{l.ID}, label: l.Name,
			vals: []*string{str(l.Name), strOrNil(l.Description)}})
	}
	sp.tables = []*tablePlan{diff(priceLevelsTable, existing, in)}
	return sp, nil
}
