package sampledata

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what seeding needs: a *pgxpool.Pool, *pgx.Conn or pgx.Tx.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// IDs are the tutorial ids SeedTutorial created or found, by name.
type IDs struct {
	CourseTemplates map[string]int64 // by code
	Locations       map[string]int64 // by name
	Venues          map[string]int64 // by VenueKey(location, venue)
	Instructors     map[string]int64 // tutorial_instructors.id by full name
	Products        map[string]int64 // by product code
}

// VenueKey keys IDs.Venues.
func VenueKey(location, venue string) string { return location + "\x00" + venue }

// SeedTutorial inserts the tutorial rows ref names (users, staff,
// instructors, locations, venues, course templates, products), reusing rows
// that already exist, so seeding twice changes nothing.
func SeedTutorial(ctx context.Context, db DB, ref *ReferenceData) (*IDs, error) {
	ids := &IDs{CourseTemplates: map[string]int64{}, Locations: map[string]int64{}, Venues: map[string]int64{},
		Instructors: map[string]int64{}, Products: map[string]int64{}}
	one := func(what string, id *int64, sql string, args ...any) error {
		if err := db.QueryRow(ctx, sql, args...).Scan(id); err != nil {
			return fmt.Errorf("seed %s: %w", what, err)
		}
		return nil
	}
	for _, ct := range ref.CourseTemplates {
		var id int64
		if err := one("course template "+ct.Code, &id, `
			INSERT INTO acted.tutorial_course_templates (code, title, is_active) VALUES ($1, $2, true)
			ON CONFLICT (code) DO UPDATE SET title = EXCLUDED.title, is_active = true
			RETURNING id`, ct.Code, ct.Title); err != nil {
			return nil, err
		}
		ids.CourseTemplates[ct.Code] = id
	}
	for _, l := range ref.Locations {
		var id int64
		if err := one("location "+l.Name, &id, `
			WITH found AS (SELECT id FROM acted.tutorial_locations WHERE name = $1 ORDER BY id LIMIT 1),
			     made AS (INSERT INTO acted.tutorial_locations (name, is_active)
			              SELECT $1, true WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING id)
			SELECT id FROM found UNION ALL SELECT id FROM made`, l.Name); err != nil {
			return nil, err
		}
		ids.Locations[l.Name] = id
	}
	for _, v := range ref.Venues {
		loc, ok := ids.Locations[v.Location]
		if !ok {
			return nil, fmt.Errorf("seed venue %q: location %q is not in the reference data", v.Name, v.Location)
		}
		var id int64
		if err := one("venue "+v.Name, &id, `
			WITH found AS (SELECT id FROM acted.tutorial_venues WHERE name = $1 AND location_id = $2 ORDER BY id LIMIT 1),
			     made AS (INSERT INTO acted.tutorial_venues (name, location_id)
			              SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING id)
			SELECT id FROM found UNION ALL SELECT id FROM made`, v.Name, loc); err != nil {
			return nil, err
		}
		ids.Venues[VenueKey(v.Location, v.Name)] = id
	}
	for _, p := range ref.Instructors {
		var user, staff, inst int64
		username := "instructor_" + strings.ToLower(strings.Join(strings.Fields(p.FullName()), "_"))
		if err := one("user "+p.FullName(), &user, `
			INSERT INTO public.auth_user (username, first_name, last_name) VALUES ($1, $2, $3)
			ON CONFLICT (username) DO UPDATE SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name
			RETURNING id`, username, p.FirstName, p.LastName); err != nil {
			return nil, err
		}
		if err := one("staff "+p.FullName(), &staff, `
			INSERT INTO acted.staff (user_id) VALUES ($1)
			ON CONFLICT (user_id) DO UPDATE SET updated_at = now() RETURNING id`, user); err != nil {
			return nil, err
		}
		if err := one("instructor "+p.FullName(), &inst, `
			INSERT INTO acted.tutorial_instructors (staff_id, is_active) VALUES ($1, true)
			ON CONFLICT (staff_id) DO UPDATE SET is_active = true RETURNING id`, staff); err != nil {
			return nil, err
		}
		ids.Instructors[p.FullName()] = inst
	}
	for _, p := range ref.Products {
		var id int64
		if err := one("product "+p.Code, &id, `
			INSERT INTO acted.products (product_code, subject_code, sitting, variation_code, is_active)
			VALUES ($1, $2, $3, $4, true)
			ON CONFLICT (product_code) DO UPDATE SET subject_code = EXCLUDED.subject_code,
			    sitting = EXCLUDED.sitting, variation_code = EXCLUDED.variation_code, is_active = true
			RETURNING id`, p.Code, p.Subject, p.Sitting, p.Variation); err != nil {
			return nil, err
		}
		ids.Products[p.Code] = id
	}
	return ids, nil
}

// Seed makes a database ready to import ref's events: it inserts the tutorial
// rows (SeedTutorial), then the bridges a synced system would have for them
// (SeedBridges), and returns the tutorial ids.
func Seed(ctx context.Context, db DB, ref *ReferenceData) (*IDs, error) {
	ids, err := SeedTutorial(ctx, db, ref)
	if err != nil {
		return nil, err
	}
	if err := SeedBridges(ctx, db, ref, ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// SeedBridges inserts the adm bridges a synced system would have for ref:
// custom-field definitions, locations, venues, instructors, administrators,
// course templates and their approved instructors, with deterministic fake
// external ids (ExternalID("Location", n), …; n counts from 1 in ref order).
// It stands in for the syncer in tests and the demo.
func SeedBridges(ctx context.Context, db DB, ref *ReferenceData, ids *IDs) error {
	exec := func(what, sql string, args ...any) error {
		if _, err := db.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("seed bridge %s: %w", what, err)
		}
		return nil
	}
	for i, cf := range ref.CustomFields {
		if err := exec("custom field "+cf.Label, `
			INSERT INTO adm.custom_fields (external_id, label, field_type, entity_type) VALUES ($1, $2, $3, $4)
			ON CONFLICT (entity_type, external_id) DO UPDATE SET label = EXCLUDED.label, gone_at = NULL`,
			ExternalID("CustomFieldDefinition", i+1), cf.Label, cf.Type, cf.EntityType); err != nil {
			return err
		}
	}
	locExt := map[string]string{}
	for i, l := range ref.Locations {
		ext := ExternalID("Location", i+1)
		locExt[l.Name] = ext
		if err := exec("location "+l.Name, `
			INSERT INTO adm.locations (external_id, legacy_id, name, tutorial_location_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (external_id) DO UPDATE SET name = EXCLUDED.name, tutorial_location_id = EXCLUDED.tutorial_location_id, gone_at = NULL`,
			ext, fmt.Sprint(i+1), l.Name, ids.Locations[l.Name]); err != nil {
			return err
		}
	}
	for i, v := range ref.Venues {
		if err := exec("venue "+v.Name, `
			INSERT INTO adm.venues (external_id, location_id, name, tutorial_venue_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (external_id) DO UPDATE SET name = EXCLUDED.name, location_id = EXCLUDED.location_id,
			    tutorial_venue_id = EXCLUDED.tutorial_venue_id, gone_at = NULL`,
			ExternalID("Venue", i+1), locExt[v.Location], v.Name, ids.Venues[VenueKey(v.Location, v.Name)]); err != nil {
			return err
		}
	}
	instExt := map[string]string{}
	for i, p := range ref.Instructors {
		ext := ExternalID("Contact", i+1)
		instExt[p.FullName()] = ext
		if err := exec("instructor "+p.FullName(), `
			INSERT INTO adm.instructors (external_id, legacy_id, first_name, last_name, tutorial_instructor_id) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (external_id) DO UPDATE SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
			    tutorial_instructor_id = EXCLUDED.tutorial_instructor_id, gone_at = NULL`,
			ext, fmt.Sprint(i+1), p.FirstName, p.LastName, ids.Instructors[p.FullName()]); err != nil {
			return err
		}
	}
	for i, p := range ref.Administrators {
		if err := exec("administrator "+p.FullName(), `
			INSERT INTO adm.administrators (external_id, first_name, last_name) VALUES ($1, $2, $3)
			ON CONFLICT (external_id) DO UPDATE SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, gone_at = NULL`,
			ExternalID("Contact", 1000+i+1), p.FirstName, p.LastName); err != nil {
			return err
		}
	}
	for i, ct := range ref.CourseTemplates {
		var admID int64
		err := db.QueryRow(ctx, `
			INSERT INTO adm.course_templates (external_id, code, title, event_learning_mode, tutorial_course_template_id)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (external_id) DO UPDATE SET code = EXCLUDED.code, title = EXCLUDED.title,
			    event_learning_mode = EXCLUDED.event_learning_mode,
			    tutorial_course_template_id = EXCLUDED.tutorial_course_template_id, gone_at = NULL
			RETURNING id`,
			ExternalID("CourseTemplate", i+1), ct.Code, ct.Title, strings.ToLower(ct.LearningMode), ids.CourseTemplates[ct.Code]).Scan(&admID)
		if err != nil {
			return fmt.Errorf("seed bridge course template %s: %w", ct.Code, err)
		}
		for _, name := range ct.Approved {
			ext, ok := instExt[name]
			if !ok {
				return fmt.Errorf("seed bridge course template %s: approved instructor %q is not in the reference data", ct.Code, name)
			}
			if err := exec("approval", `
				INSERT INTO adm.course_template_instructors (course_template_id, instructor_external_id) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, admID, ext); err != nil {
				return err
			}
		}
	}
	return nil
}
