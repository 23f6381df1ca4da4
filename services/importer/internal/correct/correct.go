// Package correct handles corrections by re-import: it compares each event
// a workbook shares with an earlier import against the stored tutorial rows,
// lists what changed field by field, refuses what Administrate cannot change
// in place, writes the corrections (inside the import's transaction) with one
// tutorial.event.changed message each, and finds the earlier events of the
// same sittings that the workbook no longer has.
package correct

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"admsync/pkg/match"
	"admsync/pkg/messaging"
	"admsync/pkg/outbox"
	"admsync/services/importer/internal/sqlarg"
	"admsync/services/importer/internal/validate"
	"admsync/services/importer/internal/workbook"
)

// stored is an imported event as its rows hold it.
type stored struct {
	id, runID                        int64
	excelRow, revision               int
	title, code, mode, zone, sitting string
	classroomStart, classroomEnd     *time.Time // wall clock
	lmsStart, lmsEnd                 *time.Time // wall clock
	maxPlaces                        *int
	webSale                          bool
	url, ocr                         string
	finalisation                     *time.Time
	admins                           []string
	locationID, venueID              int64
	sessions                         []storedSession // by Day
}

type storedSession struct {
	id          int64
	day         int
	title       string
	start, end  time.Time
	url         string
	instructors []int64
}

// names renders ids for people: instructors, locations, venues.
type names struct {
	instructors, locations, venues map[int64]string
}

func (n names) of(m map[int64]string, id int64) string {
	if id == 0 {
		return "(none)"
	}
	if s, ok := m[id]; ok && s != "" {
		return s
	}
	return "#" + strconv.FormatInt(id, 10)
}

func (n names) people(ids []int64) string {
	if len(ids) == 0 {
		return "(none)"
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, n.of(n.instructors, id))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Compare settles the events CheckExisting found in an earlier import
// (Existing set, status Duplicate): unchanged ones stay skipped; changed
// ones become Changed with their Changes, or Rejected with a problem saying
// why Administrate cannot take the change and what to do.
func Compare(ctx context.Context, q validate.Querier, lay *workbook.Layout, events []*validate.Event) error {
	var ids []int64
	for _, e := range events {
		if e.Status == validate.Duplicate && e.Existing != 0 {
			ids = append(ids, e.Existing)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	old, err := load(ctx, q, ids)
	if err != nil {
		return err
	}
	n, err := loadNames(ctx, q, events, old)
	if err != nil {
		return err
	}
	for _, e := range events {
		st := old[e.Existing]
		if e.Status != validate.Duplicate || st == nil {
			continue
		}
		changes, refusal := diff(lay, st, e, n)
		switch {
		case refusal != nil:
			e.Status, e.Changes = validate.Rejected, nil
			e.Rows[0].Problems = append(e.Rows[0].Problems, *refusal)
		case len(changes) > 0:
			e.Status, e.Changes = validate.Changed, changes
			e.Note = fmt.Sprintf("corrects tutorial event %d (imported by run %d)", st.id, st.runID)
		}
	}
	return nil
}

func load(ctx context.Context, q validate.Querier, ids []int64) (map[int64]*stored, error) {
	out := map[int64]*stored{}
	rows, err := q.Query(ctx, `
SELECT ie.tutorial_event_id, ie.import_run_id, ie.excel_row, ie.revision, ie.title, ie.course_template_code,
       ie.learning_mode, ie.time_zone, ie.sitting, ie.classroom_start, ie.classroom_end, ie.lms_start, ie.lms_end,
       ie.max_places, ie.web_sale, coalesce(ie.event_url, ''), coalesce(ie.ocr_moodle_code, ''),
       ie.finalisation_date::timestamp, ie.administrator_ids,
       coalesce(te.location_id, 0), coalesce(te.venue_id, 0)
FROM admsync.import_events ie JOIN acted.tutorial_events te ON te.id = ie.tutorial_event_id
WHERE ie.tutorial_event_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read imported events: %w", err)
	}
	for rows.Next() {
		s := &stored{}
		var places *int32
		if err := rows.Scan(&s.id, &s.runID, &s.excelRow, &s.revision, &s.title, &s.code, &s.mode, &s.zone, &s.sitting,
			&s.classroomStart, &s.classroomEnd, &s.lmsStart, &s.lmsEnd, &places, &s.webSale, &s.url, &s.ocr,
			&s.finalisation, &s.admins, &s.locationID, &s.venueID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read imported events: %w", err)
		}
		if places != nil {
			p := int(*places)
			s.maxPlaces = &p
		}
		out[s.id] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read imported events: %w", err)
	}
	rows, err = q.Query(ctx, `
SELECT s.tutorial_event_id, s.id, s.sequence, s.title, s.start_date, s.end_date, coalesce(s.url, ''),
       coalesce(array_agg(si.tutorialinstructor_id ORDER BY si.tutorialinstructor_id) FILTER (WHERE si.id IS NOT NULL), '{}')
FROM acted.tutorial_sessions s LEFT JOIN acted.tutorial_session_instructors si ON si.tutorialsessions_id = s.id
WHERE s.tutorial_event_id = ANY($1)
GROUP BY s.id ORDER BY s.tutorial_event_id, s.sequence`, ids)
	if err != nil {
		return nil, fmt.Errorf("read imported sessions: %w", err)
	}
	for rows.Next() {
		var ev int64
		var s storedSession
		if err := rows.Scan(&ev, &s.id, &s.day, &s.title, &s.start, &s.end, &s.url, &s.instructors); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read imported sessions: %w", err)
		}
		if e := out[ev]; e != nil {
			e.sessions = append(e.sessions, s)
		}
	}
	rows.Close()
	return out, rows.Err()
}

func loadNames(ctx context.Context, q validate.Querier, events []*validate.Event, old map[int64]*stored) (names, error) {
	n := names{instructors: map[int64]string{}, locations: map[int64]string{}, venues: map[int64]string{}}
	var people, places, venues []int64
	for _, e := range events {
		if st := old[e.Existing]; st != nil && e.Status == validate.Duplicate {
			places = append(places, e.LocationID, st.locationID)
			venues = append(venues, e.VenueID, st.venueID)
			for _, s := range e.Sessions {
				people = append(people, s.InstructorIDs...)
			}
			for _, s := range st.sessions {
				people = append(people, s.instructors...)
			}
		}
	}
	for _, x := range []struct {
		sql string
		ids []int64
		m   map[int64]string
	}{
		{`SELECT ti.id, coalesce(trim(u.first_name || ' ' || u.last_name), '') FROM acted.tutorial_instructors ti
			LEFT JOIN acted.staff st ON st.id = ti.staff_id LEFT JOIN public.auth_user u ON u.id = st.user_id
			WHERE ti.id = ANY($1)`, people, n.instructors},
		{`SELECT id, name FROM acted.tutorial_locations WHERE id = ANY($1)`, places, n.locations},
		{`SELECT id, name FROM acted.tutorial_venues WHERE id = ANY($1)`, venues, n.venues},
	} {
		rows, err := q.Query(ctx, x.sql, x.ids)
		if err != nil {
			return n, fmt.Errorf("read names: %w", err)
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return n, fmt.Errorf("read names: %w", err)
			}
			x.m[id] = name
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, fmt.Errorf("read names: %w", err)
		}
	}
	return n, nil
}

// deleteHint is what to do about a change Administrate cannot make in place.
const deleteHint = "correct the workbook back to what was imported; or, to make the event anew, delete the draft event in Administrate and its tutorial event, then import the row again"

func wallText(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "(none)"
	}
	return t.Format("2006-01-02 15:04")
}

func wallOf(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	w := validate.Wall(t)
	return &w
}

func sameWall(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// diff lists e's changes against st, or the first one Administrate cannot
// apply in place.
func diff(lay *workbook.Layout, st *stored, e *validate.Event, n names) ([]validate.Change, *workbook.Problem) {
	refuse := func(row int, col workbook.Col, value, msg string) ([]validate.Change, *workbook.Problem) {
		p := lay.Problem(row, col, value, fmt.Sprintf("event %s (tutorial event %d) was imported by run %d %s: Administrate cannot change that in place, so this correction is refused and nothing of the event is written", st.title, st.id, st.runID, msg), deleteHint)
		return nil, &p
	}
	if len(e.Sessions) != len(st.sessions) {
		row := e.Row
		if k := len(e.Sessions); k > 0 {
			row = e.Sessions[k-1].Row
		}
		return refuse(row, workbook.ColDay, strconv.Itoa(len(e.Sessions)), fmt.Sprintf("with %d Day(s) (course template %s), and the workbook now has %d (course template %s), and Administrate makes an event's sessions from its course template (it cannot add or remove them)", len(st.sessions), st.code, len(e.Sessions), e.Code))
	}
	if match.Key(e.Code) != match.Key(st.code) {
		return refuse(e.Row, workbook.ColCode, e.Code, fmt.Sprintf("with course template %s, and the workbook now says %s", st.code, e.Code))
	}
	if e.Mode != st.mode {
		return refuse(e.Row, workbook.ColLearningMode, e.Mode, fmt.Sprintf("as a %s event, and the workbook now makes it %s", strings.ToLower(st.mode), strings.ToLower(e.Mode)))
	}
	if e.ZoneName != st.zone {
		return refuse(e.Row, workbook.ColTimeZone, e.ZoneName, fmt.Sprintf("in time zone %s, and the workbook now says %s", st.zone, e.ZoneName))
	}
	if !sameWall(wallOf(e.LMSStart), st.lmsStart) || !sameWall(wallOf(e.LMSEnd), st.lmsEnd) {
		return refuse(e.Row, workbook.ColLMSStartDate, wallText(wallOf(e.LMSStart)), fmt.Sprintf("with the LMS window %s – %s, and the workbook now says %s – %s",
			wallText(st.lmsStart), wallText(st.lmsEnd), wallText(wallOf(e.LMSStart)), wallText(wallOf(e.LMSEnd))))
	}
	if st.maxPlaces != nil && !e.HasMaxPlaces {
		return refuse(e.Row, workbook.ColMaxPlaces, "", fmt.Sprintf("with Max places %d, and the workbook now leaves it blank (give the number of places instead)", *st.maxPlaces))
	}

	var out []validate.Change
	add := func(row, day int, field, old, new string) {
		if old != new {
			out = append(out, validate.Change{Row: row, Day: day, Field: field, Old: old, New: new})
		}
	}
	add(e.Row, 0, "Title", st.title, e.Title)
	oldPlaces, newPlaces := "(none)", "(none)"
	if st.maxPlaces != nil {
		oldPlaces = strconv.Itoa(*st.maxPlaces)
	}
	if e.HasMaxPlaces {
		newPlaces = strconv.Itoa(e.MaxPlaces)
	}
	add(e.Row, 0, "Max places", oldPlaces, newPlaces)
	add(e.Row, 0, "Location", n.of(n.locations, st.locationID), n.of(n.locations, e.LocationID))
	if st.venueID != e.VenueID {
		add(e.Row, 0, "Venue", n.of(n.venues, st.venueID), n.of(n.venues, e.VenueID))
	}
	add(e.Row, 0, "Sitting", st.sitting, e.Sitting)
	add(e.Row, 0, "Web sale", strconv.FormatBool(st.webSale), strconv.FormatBool(e.WebSale))
	add(e.Row, 0, "URL", orNone(st.url), orNone(e.EventURL))
	add(e.Row, 0, "OCR Moodle code", orNone(st.ocr), orNone(e.OCR))
	fin := "(none)"
	if !e.Finalisation.IsZero() {
		fin = e.Finalisation.Time().Format("2006-01-02")
	}
	oldFin := "(none)"
	if st.finalisation != nil {
		oldFin = st.finalisation.Format("2006-01-02")
	}
	add(e.Row, 0, "Finalisation date", oldFin, fin)
	oldAdmins, newAdmins := slices.Clone(st.admins), slices.Clone(e.AdministratorIDs)
	slices.Sort(oldAdmins)
	slices.Sort(newAdmins)
	add(e.Row, 0, "Administrators", orNone(strings.Join(slices.Compact(oldAdmins), ", ")), orNone(strings.Join(slices.Compact(newAdmins), ", ")))

	byDay := map[int]*validate.Session{}
	for _, s := range e.Sessions {
		byDay[s.Day] = s
	}
	for _, old := range st.sessions {
		s := byDay[old.day]
		if s == nil {
			return refuse(e.Row, workbook.ColDay, strconv.Itoa(old.day), fmt.Sprintf("with a Day %d, which the workbook no longer has", old.day))
		}
		d := old.day
		add(s.Row, d, fmt.Sprintf("Day %d title", d), old.title, s.Title)
		if !old.start.Equal(s.Start) {
			add(s.Row, d, fmt.Sprintf("Day %d start", d), wallText(wallOf(old.start.In(s.Start.Location()))), wallText(wallOf(s.Start)))
		}
		if !old.end.Equal(s.End) {
			add(s.Row, d, fmt.Sprintf("Day %d end", d), wallText(wallOf(old.end.In(s.End.Location()))), wallText(wallOf(s.End)))
		}
		add(s.Row, d, fmt.Sprintf("Day %d URL", d), orNone(old.url), orNone(s.URL))
		add(s.Row, d, fmt.Sprintf("Day %d instructors", d), n.people(old.instructors), n.people(uniq(s.InstructorIDs)))
	}
	return out, nil
}

func uniq(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// Apply writes the corrections of the Changed events inside the import's
// transaction and queues one tutorial.event.changed each; it returns the
// tutorial event ids it corrected.
func Apply(ctx context.Context, tx pgx.Tx, runID int64, events []*validate.Event) ([]int64, error) {
	var ids []int64
	for _, e := range events {
		if e.Status == validate.Changed {
			ids = append(ids, e.Existing)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	old, err := load(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	var msgs []outbox.Message
	for _, e := range events {
		st := old[e.Existing]
		if e.Status != validate.Changed || st == nil {
			continue
		}
		body, err := write(ctx, tx, runID, st, e)
		if err != nil {
			return nil, fmt.Errorf("correct tutorial event %d: %w", st.id, err)
		}
		payload, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, outbox.Message{
			// Stable per event and revision, so the stream drops a copy.
			ID:      uuid.NewSHA1(namespace, fmt.Appendf(nil, "tutorial-event-change:%d:%d", st.id, body.Revision)),
			Subject: messaging.SubjectTutorialEventChanged,
			Payload: json.RawMessage(payload),
		})
	}
	if err := outbox.EnqueueBatch(ctx, tx, msgs); err != nil {
		return nil, fmt.Errorf("enqueue corrections: %w", err)
	}
	return ids, nil
}

var namespace = uuid.MustParse("3b0d5c4e-8f1a-4f4e-9d2b-7c6a1e0f5d21")

// write updates one event's rows to what the workbook says and returns
// the message that tells the admwriter what to converge.
func write(ctx context.Context, tx pgx.Tx, runID int64, st *stored, e *validate.Event) (messaging.TutorialEventChanged, error) {
	body := messaging.TutorialEventChanged{TutorialEventID: st.id, ImportRunID: runID}
	var maxPlaces any
	if e.HasMaxPlaces {
		maxPlaces = e.MaxPlaces
	}
	var fin any
	if !e.Finalisation.IsZero() {
		fin = e.Finalisation.Time()
	}
	admins := e.AdministratorIDs
	if admins == nil {
		admins = []string{}
	}
	if err := tx.QueryRow(ctx, `
UPDATE admsync.import_events SET natural_key = $2, title = $3, classroom_start = $4, classroom_end = $5,
    max_places = $6, sitting = $7, web_sale = $8, event_url = $9, ocr_moodle_code = $10,
    finalisation_date = $11, administrator_ids = $12, excel_row = $13, revision = revision + 1
WHERE tutorial_event_id = $1 RETURNING revision`,
		st.id, e.NaturalKey, e.Title, sqlarg.Time(e.ClassroomStart), sqlarg.Time(e.ClassroomEnd), maxPlaces, e.Sitting,
		e.WebSale, sqlarg.Text(e.EventURL), sqlarg.Text(e.OCR), fin, admins, e.Row).Scan(&body.Revision); err != nil {
		return body, fmt.Errorf("update admsync.import_events: %w", err)
	}
	places := 0
	if e.HasMaxPlaces {
		places = e.MaxPlaces
	}
	if _, err := tx.Exec(ctx, `
UPDATE acted.tutorial_events SET code = $2, venue_id = $3, location_id = $4, finalisation_date = $5,
    remain_space = $6, start_date = $7, end_date = $8, updated_at = now()
WHERE id = $1`, st.id, e.Title, sqlarg.ID(e.VenueID), sqlarg.ID(e.LocationID), fin, places, e.StartDate(), e.EndDate()); err != nil {
		return body, fmt.Errorf("update acted.tutorial_events: %w", err)
	}
	placeChanged := st.locationID != e.LocationID || st.venueID != e.VenueID
	sessionDays := map[int]bool{}
	staffDays := map[int]bool{}
	for _, c := range e.Changes {
		body.Changes = append(body.Changes, messaging.FieldChange{Day: c.Day, Field: c.Field, Old: c.Old, New: c.New})
		if c.Day == 0 {
			if f := eventField(c.Field); f != "" {
				body.EventFields = append(body.EventFields, f)
			}
			if c.Field == "Administrators" {
				body.Administrators = true
			}
			continue
		}
		if strings.HasSuffix(c.Field, " instructors") {
			staffDays[c.Day] = true
		} else {
			sessionDays[c.Day] = true
		}
	}
	byDay := map[int]storedSession{}
	for _, s := range st.sessions {
		byDay[s.day] = s
		if placeChanged {
			sessionDays[s.day] = true // session.update carries the event's location and venue
		}
	}
	for _, s := range e.Sessions {
		old, ok := byDay[s.Day]
		if !ok {
			return body, fmt.Errorf("no stored session for Day %d", s.Day)
		}
		if sessionDays[s.Day] {
			if _, err := tx.Exec(ctx, `UPDATE acted.tutorial_sessions SET title = $2, start_date = $3, end_date = $4, url = $5,
				venue_id = $6, location_id = $7, updated_at = now() WHERE id = $1`,
				old.id, s.Title, s.Start, s.End, sqlarg.Text(s.URL), sqlarg.ID(e.VenueID), sqlarg.ID(e.LocationID)); err != nil {
				return body, fmt.Errorf("update session of Day %d: %w", s.Day, err)
			}
		}
		if staffDays[s.Day] {
			want := uniq(s.InstructorIDs)
			if _, err := tx.Exec(ctx, `DELETE FROM acted.tutorial_session_instructors
				WHERE tutorialsessions_id = $1 AND NOT (tutorialinstructor_id = ANY($2))`, old.id, want); err != nil {
				return body, fmt.Errorf("remove instructors of Day %d: %w", s.Day, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO acted.tutorial_session_instructors (tutorialsessions_id, tutorialinstructor_id)
				SELECT $1, x FROM unnest($2::bigint[]) x ON CONFLICT DO NOTHING`, old.id, want); err != nil {
				return body, fmt.Errorf("add instructors of Day %d: %w", s.Day, err)
			}
		}
	}
	body.SessionDays = sortedDays(sessionDays)
	body.StaffDays = sortedDays(staffDays)
	return body, nil
}

func sortedDays(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for d := range m {
		out = append(out, d)
	}
	sort.Ints(out)
	return out
}

// eventField maps a reported event field to the message's name for it.
func eventField(field string) string {
	switch field {
	case "Title":
		return messaging.ChangedFieldTitle
	case "Max places":
		return messaging.ChangedFieldMaxPlaces
	case "Location":
		return messaging.ChangedFieldLocation
	case "Venue":
		return messaging.ChangedFieldVenue
	case "Sitting":
		return messaging.ChangedFieldSitting
	case "Web sale":
		return messaging.ChangedFieldWebSale
	case "URL":
		return messaging.ChangedFieldURL
	case "OCR Moodle code":
		return messaging.ChangedFieldOCRMoodleCode
	case "Finalisation date":
		return messaging.ChangedFieldFinalisationDate
	}
	return ""
}

// Missing lists the events imported earlier in the sittings this workbook
// covers that the workbook no longer has (by title, the tutorial event
// code). They are reported, never deleted.
func Missing(ctx context.Context, q validate.Querier, events []*validate.Event) ([]validate.Missing, error) {
	var sittings, titles []string
	for _, e := range events {
		if e.Sitting != "" && !slices.Contains(sittings, e.Sitting) {
			sittings = append(sittings, e.Sitting)
		}
		if e.Title != "" {
			titles = append(titles, e.Title)
		}
	}
	if len(sittings) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT ie.tutorial_event_id, ie.import_run_id, ie.excel_row, ie.title, ie.sitting
		FROM admsync.import_events ie
		WHERE ie.sitting = ANY($1) AND NOT (ie.title = ANY($2))
		ORDER BY ie.sitting, ie.import_run_id, ie.excel_row`, validate.OnePlan, sittings, titles)
	if err != nil {
		return nil, fmt.Errorf("find events missing from the workbook: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (validate.Missing, error) {
		var m validate.Missing
		err := r.Scan(&m.TutorialEventID, &m.ImportRunID, &m.ExcelRow, &m.Title, &m.Sitting)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("find events missing from the workbook: %w", err)
	}
	return out, nil
}
