// Package validate groups workbook rows into events and checks every rule
// before anything is written: cell formats, reference data resolved
// through the tutorial tables and then the Administrate bridges (loaded once
// into memory; no Administrate call), learning mode, time zone, product,
// session order and windows, and duplicates in the file and against
// earlier imports. An invalid row invalidates its whole event.
package validate

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"admsync/pkg/match"
	"admsync/services/importer/internal/workbook"
)

// OnePlan, passed before a query's arguments, has PostgreSQL plan the query
// for the values at hand each time (pgx's unnamed statement) instead of
// settling on a generic plan after five executions of a cached one. Use it
// for look-ups by a large array (= ANY($1)) of tables that grow between
// executions: a generic plan made while they were small scans them, and
// does not hash the array.
const OnePlan = pgx.QueryExecModeDescribeExec

// Querier is satisfied by *pgxpool.Pool, *pgx.Conn and pgx.Tx.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

type template struct {
	id         int64  // acted.tutorial_course_templates.id
	code       string // as stored
	admID      int64  // adm.course_templates.id, 0 when not linked
	external   string
	mode       string // adm event_learning_mode mapped to BLENDED/LMS/CLASSROOM, "" if unknown
	bridges    int    // >1: linked twice (ambiguous)
	approved   map[string]bool
	nameRecord string
}

type location struct {
	id       int64
	name     string
	external string
	bridges  int
}

type venue struct {
	id       int64
	name     string
	location int64
	external string
	bridges  int
}

type instructor struct {
	id       int64 // acted.tutorial_instructors.id
	name     string
	external string
	bridges  int
}

type administrator struct {
	external string
	name     string
}

type product struct {
	id   int64
	code string
}

// Ref is the reference data validation needs, read once per import.
type Ref struct {
	templates   map[string][]*template
	locations   map[string][]*location
	venues      map[string][]*venue // by venueKey
	instructors map[string][]*instructor
	admins      map[string][]*administrator
	products    map[string][]*product // by productKey

	// CustomFields maps "Event"/"Session" + label to the Administrate key.
	CustomFields map[string]string

	limits    map[workbook.Col]TextLimit // text limits from the schema
	zoneLimit TextLimit
}

func venueKey(loc int64, name string) string { return fmt.Sprintf("%d\x00%s", loc, match.Key(name)) }

func productKey(subject, sitting, variation string) string {
	return match.Key(subject) + "\x00" + match.Key(sitting) + "\x00" + match.Key(variation)
}

// RequiredCustomFields are the definitions the event writer needs.
var RequiredCustomFields = []struct{ Entity, Label string }{
	{"Event", "Sitting"}, {"Event", "Finalisation date"}, {"Event", "URL"}, {"Event", "Web sale"},
	{"Event", "OCR Moodle Code"}, {"Session", "Day"}, {"Session", "URL"},
}

// ErrCustomFields reports custom-field definitions missing from the bridges.
type ErrCustomFields struct{ Missing, Ambiguous []string }

func (e *ErrCustomFields) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "custom-field definitions missing from adm.custom_fields: "+strings.Join(e.Missing, ", "))
	}
	if len(e.Ambiguous) > 0 {
		parts = append(parts, "custom-field labels defined twice: "+strings.Join(e.Ambiguous, ", "))
	}
	return strings.Join(parts, "; ") + " (run `syncer run custom-fields` and try again)"
}

func modeFromAdm(s string) string {
	switch match.Key(s) {
	case "blended":
		return Blended
	case "lms":
		return LMS
	case "classroom":
		return Classroom
	}
	return ""
}

// LoadRef reads the reference data in a handful of queries.
func LoadRef(ctx context.Context, q Querier) (*Ref, error) {
	ref := &Ref{templates: map[string][]*template{}, locations: map[string][]*location{}, venues: map[string][]*venue{},
		instructors: map[string][]*instructor{}, admins: map[string][]*administrator{}, products: map[string][]*product{},
		CustomFields: map[string]string{}}

	var err error
	if ref.limits, ref.zoneLimit, err = loadLimits(ctx, q); err != nil {
		return nil, fmt.Errorf("load column limits: %w", err)
	}

	// Course templates, their bridges and approved instructors.
	byID := map[int64]*template{}
	byAdm := map[int64]*template{}
	err = each(ctx, q, `
		SELECT t.id, t.code, COALESCE(ct.id, 0), COALESCE(ct.external_id, ''), COALESCE(ct.event_learning_mode, '')
		FROM acted.tutorial_course_templates t
		LEFT JOIN adm.course_templates ct ON ct.tutorial_course_template_id = t.id AND ct.gone_at IS NULL
		WHERE t.is_active ORDER BY t.id, ct.id`, func(r pgx.Rows) error {
		var id, admID int64
		var code, ext, mode string
		if err := r.Scan(&id, &code, &admID, &ext, &mode); err != nil {
			return err
		}
		t := byID[id]
		if t == nil {
			t = &template{id: id, code: code, approved: map[string]bool{}}
			byID[id] = t
			k := match.Key(code)
			ref.templates[k] = append(ref.templates[k], t)
		}
		if admID != 0 {
			t.bridges++
			if t.admID == 0 {
				t.admID, t.external, t.mode = admID, ext, modeFromAdm(mode)
			}
			byAdm[admID] = t
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load course templates: %w", err)
	}
	err = each(ctx, q, `SELECT course_template_id, instructor_external_id FROM adm.course_template_instructors`, func(r pgx.Rows) error {
		var ct int64
		var ext string
		if err := r.Scan(&ct, &ext); err != nil {
			return err
		}
		if t := byAdm[ct]; t != nil {
			t.approved[ext] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load approved instructors: %w", err)
	}

	locByID := map[int64]*location{}
	err = each(ctx, q, `
		SELECT l.id, l.name, COALESCE(al.external_id, '')
		FROM acted.tutorial_locations l
		LEFT JOIN adm.locations al ON al.tutorial_location_id = l.id AND al.gone_at IS NULL
		WHERE l.is_active ORDER BY l.id, al.id`, func(r pgx.Rows) error {
		var id int64
		var name, ext string
		if err := r.Scan(&id, &name, &ext); err != nil {
			return err
		}
		l := locByID[id]
		if l == nil {
			l = &location{id: id, name: name}
			locByID[id] = l
			k := match.Key(name)
			ref.locations[k] = append(ref.locations[k], l)
		}
		if ext != "" {
			l.bridges++
			if l.external == "" {
				l.external = ext
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load locations: %w", err)
	}

	venByID := map[int64]*venue{}
	err = each(ctx, q, `
		SELECT v.id, v.name, v.location_id, COALESCE(av.external_id, '')
		FROM acted.tutorial_venues v
		LEFT JOIN adm.venues av ON av.tutorial_venue_id = v.id AND av.gone_at IS NULL
		WHERE v.location_id IS NOT NULL ORDER BY v.id, av.id`, func(r pgx.Rows) error {
		var id, loc int64
		var name, ext string
		if err := r.Scan(&id, &name, &loc, &ext); err != nil {
			return err
		}
		v := venByID[id]
		if v == nil {
			v = &venue{id: id, name: name, location: loc}
			venByID[id] = v
			k := venueKey(loc, name)
			ref.venues[k] = append(ref.venues[k], v)
		}
		if ext != "" {
			v.bridges++
			if v.external == "" {
				v.external = ext
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load venues: %w", err)
	}

	instByID := map[int64]*instructor{}
	err = each(ctx, q, `
		SELECT ti.id, u.first_name, u.last_name, COALESCE(ai.external_id, '')
		FROM acted.tutorial_instructors ti
		JOIN acted.staff s ON s.id = ti.staff_id
		JOIN public.auth_user u ON u.id = s.user_id
		LEFT JOIN adm.instructors ai ON ai.tutorial_instructor_id = ti.id AND ai.gone_at IS NULL
		WHERE ti.is_active ORDER BY ti.id, ai.id`, func(r pgx.Rows) error {
		var id int64
		var first, last, ext string
		if err := r.Scan(&id, &first, &last, &ext); err != nil {
			return err
		}
		in := instByID[id]
		if in == nil {
			name := strings.TrimSpace(first + " " + last)
			in = &instructor{id: id, name: name}
			instByID[id] = in
			k := match.Key(name)
			ref.instructors[k] = append(ref.instructors[k], in)
		}
		if ext != "" {
			in.bridges++
			if in.external == "" {
				in.external = ext
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load instructors: %w", err)
	}

	err = each(ctx, q, `SELECT external_id, first_name, last_name FROM adm.administrators WHERE gone_at IS NULL ORDER BY id`, func(r pgx.Rows) error {
		var ext, first, last string
		if err := r.Scan(&ext, &first, &last); err != nil {
			return err
		}
		name := strings.TrimSpace(first + " " + last)
		k := match.Key(name)
		ref.admins[k] = append(ref.admins[k], &administrator{external: ext, name: name})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load administrators: %w", err)
	}

	err = each(ctx, q, `SELECT id, product_code, subject_code, sitting, variation_code FROM acted.products WHERE is_active ORDER BY id`, func(r pgx.Rows) error {
		var id int64
		var code, subj, sitting, variation string
		if err := r.Scan(&id, &code, &subj, &sitting, &variation); err != nil {
			return err
		}
		k := productKey(subj, sitting, variation)
		ref.products[k] = append(ref.products[k], &product{id: id, code: code})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load products: %w", err)
	}

	seen := map[string]int{}
	err = each(ctx, q, `SELECT entity_type, label, external_id FROM adm.custom_fields WHERE gone_at IS NULL ORDER BY id`, func(r pgx.Rows) error {
		var entity, label, ext string
		if err := r.Scan(&entity, &label, &ext); err != nil {
			return err
		}
		k := entity + "\x00" + match.Key(label)
		seen[k]++
		ref.CustomFields[k] = ext
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load custom fields: %w", err)
	}
	cfErr := &ErrCustomFields{}
	for _, cf := range RequiredCustomFields {
		switch seen[cf.Entity+"\x00"+match.Key(cf.Label)] {
		case 0:
			cfErr.Missing = append(cfErr.Missing, fmt.Sprintf("%s %q", cf.Entity, cf.Label))
		case 1:
		default:
			cfErr.Ambiguous = append(cfErr.Ambiguous, fmt.Sprintf("%s %q", cf.Entity, cf.Label))
		}
	}
	if len(cfErr.Missing) > 0 || len(cfErr.Ambiguous) > 0 {
		return ref, cfErr
	}
	return ref, nil
}

func each(ctx context.Context, q Querier, sql string, fn func(pgx.Rows) error) error {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func describeIDs[T any](items []T, f func(T) string) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = f(it)
	}
	sort.Strings(parts)
	return strings.Join(parts, " and ")
}
