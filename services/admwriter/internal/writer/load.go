package writer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"admsync/pkg/match"
	"admsync/services/admwriter/internal/plan"
)

// ErrNotImported means the tutorial event has no admsync.import_events row:
// only events that came through the importer carry what Administrate needs.
var ErrNotImported = errors.New("tutorial event has no import record")

// Load reads one tutorial event with its sessions, instructors, bridges and
// the custom-field keys, in one read-only snapshot.
func Load(ctx context.Context, pool *pgxpool.Pool, tutorialEventID int64) (plan.Event, error) {
	e := plan.Event{TutorialEventID: tutorialEventID}
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var (
			mode                             string
			cStart, cEnd, lStart, lEnd       *time.Time
			maxPlaces                        *int32
			eventURL, ocr                    *string
			finalisation                     *time.Time
			locID, venID                     *int64
			locName, venName, locExt, venExt *string
			venParent                        *string
		)
		err := tx.QueryRow(ctx, `
SELECT ie.title, ie.course_template_code, ie.learning_mode, ie.time_zone,
       ie.classroom_start, ie.classroom_end, ie.lms_start, ie.lms_end,
       ie.max_places, ie.sitting, ie.web_sale, ie.event_url, ie.ocr_moodle_code,
       ie.finalisation_date, ie.administrator_ids,
       te.location_id, tl.name, al.external_id,
       te.venue_id, tv.name, av.external_id, av.location_id
FROM admsync.import_events ie
JOIN acted.tutorial_events te ON te.id = ie.tutorial_event_id
LEFT JOIN acted.tutorial_locations tl ON tl.id = te.location_id
LEFT JOIN acted.tutorial_venues tv ON tv.id = te.venue_id
LEFT JOIN LATERAL (SELECT external_id FROM adm.locations
                   WHERE tutorial_location_id = te.location_id AND gone_at IS NULL ORDER BY id LIMIT 1) al ON true
LEFT JOIN LATERAL (SELECT external_id, location_id FROM adm.venues
                   WHERE tutorial_venue_id = te.venue_id AND gone_at IS NULL ORDER BY id LIMIT 1) av ON true
WHERE ie.tutorial_event_id = $1`, tutorialEventID).Scan(
			&e.Title, &e.CourseTemplateCode, &mode, &e.TimeZone,
			&cStart, &cEnd, &lStart, &lEnd,
			&maxPlaces, &e.Sitting, &e.WebSale, &eventURL, &ocr,
			&finalisation, &e.Administrators,
			&locID, &locName, &locExt,
			&venID, &venName, &venExt, &venParent)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotImported
		}
		if err != nil {
			return fmt.Errorf("read import record: %w", err)
		}
		e.Mode = plan.Mode(mode)
		e.ClassroomStart, e.ClassroomEnd = deref(cStart), deref(cEnd)
		e.LMSStart, e.LMSEnd = deref(lStart), deref(lEnd)
		if maxPlaces != nil {
			e.MaxPlaces = int(*maxPlaces)
		}
		e.EventURL, e.OCRMoodleCode = str(eventURL), str(ocr)
		e.FinalisationDate = deref(finalisation)
		if locID != nil {
			e.Location = plan.Ref{LocalID: *locID, Name: str(locName), ExternalID: str(locExt)}
		}
		if venID != nil {
			e.Venue = plan.Ref{LocalID: *venID, Name: str(venName), ExternalID: str(venExt)}
			e.VenueLocationID = str(venParent)
		}
		if err := resolveTemplate(ctx, tx, &e); err != nil {
			return err
		}

		rows, err := tx.Query(ctx, `SELECT id, sequence, title, start_date, end_date, coalesce(url, '')
			FROM acted.tutorial_sessions WHERE tutorial_event_id = $1 ORDER BY sequence`, tutorialEventID)
		if err != nil {
			return fmt.Errorf("read sessions: %w", err)
		}
		index := map[int64]int{}
		for rows.Next() {
			var s plan.Session
			if err := rows.Scan(&s.TutorialSessionID, &s.Day, &s.Title, &s.Start, &s.End, &s.URL); err != nil {
				rows.Close()
				return fmt.Errorf("read sessions: %w", err)
			}
			index[s.TutorialSessionID] = len(e.Sessions)
			e.Sessions = append(e.Sessions, s)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read sessions: %w", err)
		}

		rows, err = tx.Query(ctx, `
SELECT si.tutorialsessions_id, ti.id, coalesce(trim(u.first_name || ' ' || u.last_name), ''), coalesce(ai.external_id, '')
FROM acted.tutorial_session_instructors si
JOIN acted.tutorial_sessions s ON s.id = si.tutorialsessions_id
JOIN acted.tutorial_instructors ti ON ti.id = si.tutorialinstructor_id
LEFT JOIN acted.staff st ON st.id = ti.staff_id
LEFT JOIN public.auth_user u ON u.id = st.user_id
LEFT JOIN LATERAL (SELECT external_id FROM adm.instructors
                   WHERE tutorial_instructor_id = ti.id AND gone_at IS NULL ORDER BY id LIMIT 1) ai ON true
WHERE s.tutorial_event_id = $1
ORDER BY si.id`, tutorialEventID)
		if err != nil {
			return fmt.Errorf("read session instructors: %w", err)
		}
		for rows.Next() {
			var sid int64
			var in plan.Instructor
			if err := rows.Scan(&sid, &in.TutorialInstructorID, &in.Name, &in.ExternalID); err != nil {
				rows.Close()
				return fmt.Errorf("read session instructors: %w", err)
			}
			if in.Name == "" {
				in.Name = fmt.Sprintf("tutorial instructor %d", in.TutorialInstructorID)
			}
			i := index[sid]
			e.Sessions[i].Instructors = append(e.Sessions[i].Instructors, in)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read session instructors: %w", err)
		}

		e.EventFields, e.SessionFields = map[string]string{}, map[string]string{}
		rows, err = tx.Query(ctx, `SELECT entity_type, label, external_id FROM adm.custom_fields
			WHERE entity_type IN ('Event', 'Session') AND gone_at IS NULL ORDER BY id`)
		if err != nil {
			return fmt.Errorf("read custom fields: %w", err)
		}
		for rows.Next() {
			var entity, label, key string
			if err := rows.Scan(&entity, &label, &key); err != nil {
				rows.Close()
				return fmt.Errorf("read custom fields: %w", err)
			}
			if entity == "Event" {
				e.EventFields[label] = key
			} else {
				e.SessionFields[label] = key
			}
		}
		return rows.Err()
	})
	return e, err
}

// resolveTemplate finds the event's course template the way the importer
// accepted it: the workbook's spelling is compared with every active tutorial
// course template under match.Key, so a code typed in another case, with
// stray whitespace or in another Unicode form resolves to the same template.
// What the writer then sends and looks up in Administrate (the template's
// Administrate id and code) comes from the course-template bridge, never
// from the workbook text. Several candidates leave the id empty with the
// reason in TemplateProblem, so the plan refuses the event before any call.
func resolveTemplate(ctx context.Context, tx pgx.Tx, e *plan.Event) error {
	want := match.Key(e.CourseTemplateCode)
	rows, err := tx.Query(ctx, `
SELECT t.id, t.code, coalesce(c.external_id, ''), coalesce(c.code, '')
FROM acted.tutorial_course_templates t
LEFT JOIN adm.course_templates c ON c.tutorial_course_template_id = t.id AND c.gone_at IS NULL
WHERE t.is_active
ORDER BY t.id, c.id`)
	if err != nil {
		return fmt.Errorf("read course templates: %w", err)
	}
	type candidate struct {
		code    string
		bridges []string
		admCode string
	}
	found := map[int64]*candidate{}
	var order []int64
	for rows.Next() {
		var id int64
		var code, ext, admCode string
		if err := rows.Scan(&id, &code, &ext, &admCode); err != nil {
			rows.Close()
			return fmt.Errorf("read course templates: %w", err)
		}
		if match.Key(code) != want {
			continue
		}
		c := found[id]
		if c == nil {
			c = &candidate{code: code}
			found[id] = c
			order = append(order, id)
		}
		if ext != "" {
			if len(c.bridges) == 0 {
				c.admCode = admCode
			}
			c.bridges = append(c.bridges, ext)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read course templates: %w", err)
	}
	switch {
	case len(order) == 0:
		e.TemplateProblem = fmt.Sprintf("no active tutorial course template has the code %q", e.CourseTemplateCode)
	case len(order) > 1:
		var codes []string
		for _, id := range order {
			codes = append(codes, fmt.Sprintf("%d %q", id, found[id].code))
		}
		e.TemplateProblem = fmt.Sprintf("course template code %q matches several tutorial course templates (%s)", e.CourseTemplateCode, strings.Join(codes, ", "))
	default:
		c := found[order[0]]
		switch {
		case len(c.bridges) > 1:
			e.TemplateProblem = fmt.Sprintf("course template %q is linked to several Administrate course templates (%s)", c.code, strings.Join(c.bridges, ", "))
		case len(c.bridges) == 1:
			// Without Administrate's code a lost create could not be found
			// again; the plan refuses the event rather than guess.
			e.CourseTemplateID = c.bridges[0]
			e.TemplateCode = c.admCode
		}
		e.CourseTemplateCode = c.code
	}
	return nil
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
