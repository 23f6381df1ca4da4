// Package load writes a validated workbook in one transaction: the tutorial
// events, their sessions and session instructors, the import run with every
// row's outcome, the event details the Administrate writer needs, and one
// outbox message per accepted event. Bulk rows go through COPY with ids
// reserved from the tables' own sequences, so a 100,000-row file costs a
// few round trips rather than one per row.
package load

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"admsync/pkg/messaging"
	"admsync/pkg/outbox"
	"admsync/services/importer/internal/validate"
	"admsync/services/importer/internal/workbook"
)

// lockKey serialises imports so duplicate checks made inside the
// transaction see every committed import ("admsimpo").
const lockKey int64 = 0x61646d73696d706f

// Run describes the file being written.
type Run struct {
	FileName  string
	SHA256    string
	RowsTotal int // data rows read
}

// Result says what was written.
type Result struct {
	RunID    int64 // 0 when nothing was written (only duplicates)
	Events   int
	Sessions int
	// EventIDs are the tutorial event ids of the accepted events, in file order.
	EventIDs []int64
}

// Payload is the outbox message for one event: ids only; the writer reads
// the rows.
type Payload struct {
	TutorialEventID int64 `json:"tutorial_event_id"`
	ImportRunID     int64 `json:"import_run_id"`
}

// Write stores the outcome of a validated file. It re-checks duplicates
// under an advisory lock inside the transaction (another import may have
// committed since validation) and may turn accepted events into duplicates
// or rejections, which the caller sees in the events' Status.
func Write(ctx context.Context, pool *pgxpool.Pool, lay *workbook.Layout, run Run, events []*validate.Event) (*Result, error) {
	res := &Result{}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		*res = Result{}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
			return fmt.Errorf("lock imports: %w", err)
		}
		if err := validate.CheckExisting(ctx, tx, lay, events); err != nil {
			return err
		}
		var accepted, rejected, dups []*validate.Event
		nSessions := 0
		for _, e := range events {
			switch e.Status {
			case validate.Accepted:
				accepted = append(accepted, e)
				nSessions += len(e.Sessions)
			case validate.Rejected:
				rejected = append(rejected, e)
			case validate.Duplicate:
				dups = append(dups, e)
			}
		}
		if len(accepted) == 0 && len(rejected) == 0 {
			return nil // a re-import of known events: nothing new to record
		}
		var runID int64
		if err := tx.QueryRow(ctx, `
			INSERT INTO admsync.import_runs (file_name, file_sha256, rows_total, accepted_events, accepted_sessions, rejected_events, duplicate_events)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			run.FileName, run.SHA256, run.RowsTotal, len(accepted), nSessions, len(rejected), len(dups)).Scan(&runID); err != nil {
			return fmt.Errorf("record import run: %w", err)
		}
		res.RunID = runID
		if len(accepted) > 0 {
			if err := writeEvents(ctx, tx, runID, accepted, nSessions, res); err != nil {
				return err
			}
		}
		if err := writeRows(ctx, tx, runID, events); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE admsync.import_runs SET finished_at = now() WHERE id = $1`, runID); err != nil {
			return fmt.Errorf("finish import run: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func reserve(ctx context.Context, tx pgx.Tx, table string, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)`, table, n)
	if err != nil {
		return nil, fmt.Errorf("reserve %d ids in %s: %w", n, table, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("reserve %d ids in %s: %w", n, table, err)
	}
	return ids, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return validate.Wall(t)
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func writeEvents(ctx context.Context, tx pgx.Tx, runID int64, accepted []*validate.Event, nSessions int, res *Result) error {
	eventIDs, err := reserve(ctx, tx, "acted.tutorial_events", len(accepted))
	if err != nil {
		return err
	}
	sessionIDs, err := reserve(ctx, tx, "acted.tutorial_sessions", nSessions)
	if err != nil {
		return err
	}
	res.EventIDs = eventIDs
	res.Events = len(accepted)
	res.Sessions = nSessions

	now := time.Now()
	evRows := make([][]any, len(accepted))
	ieRows := make([][]any, len(accepted))
	sesRows := make([][]any, 0, nSessions)
	var instRows [][]any
	si := 0
	for i, e := range accepted {
		id := eventIDs[i]
		var fin any
		if !e.Finalisation.IsZero() {
			fin = e.Finalisation.Time()
		}
		places := 0
		var maxPlaces any
		if e.HasMaxPlaces {
			places, maxPlaces = e.MaxPlaces, e.MaxPlaces
		}
		evRows[i] = []any{id, e.Title, nullID(e.VenueID), nullID(e.LocationID), fin, places, e.StartDate(), e.EndDate(), e.ProductID, now, now}
		admins := e.AdministratorIDs
		if admins == nil {
			admins = []string{}
		}
		ieRows[i] = []any{id, runID, e.Row, e.NaturalKey, e.Code, e.Title, e.Mode, e.ZoneName,
			nullTime(e.ClassroomStart), nullTime(e.ClassroomEnd), nullTime(e.LMSStart), nullTime(e.LMSEnd),
			maxPlaces, e.Sitting, e.WebSale, nullStr(e.EventURL), nullStr(e.OCR), fin, admins}
		for _, s := range e.Sessions {
			sid := sessionIDs[si]
			si++
			sesRows = append(sesRows, []any{sid, id, s.Title, nullID(e.VenueID), nullID(e.LocationID), s.Start, s.End, s.Day, nullStr(s.URL), now, now})
			seen := map[int64]bool{}
			for _, in := range s.InstructorIDs {
				if !seen[in] {
					seen[in] = true
					instRows = append(instRows, []any{sid, in})
				}
			}
		}
	}
	copies := []struct {
		table []string
		cols  []string
		rows  [][]any
	}{
		{[]string{"acted", "tutorial_events"}, []string{"id", "code", "venue_id", "location_id", "finalisation_date", "remain_space", "start_date", "end_date", "product_id", "created_at", "updated_at"}, evRows},
		{[]string{"acted", "tutorial_sessions"}, []string{"id", "tutorial_event_id", "title", "venue_id", "location_id", "start_date", "end_date", "sequence", "url", "created_at", "updated_at"}, sesRows},
		{[]string{"acted", "tutorial_session_instructors"}, []string{"tutorialsessions_id", "tutorialinstructor_id"}, instRows},
		{[]string{"admsync", "import_events"}, []string{"tutorial_event_id", "import_run_id", "excel_row", "natural_key", "course_template_code", "title", "learning_mode", "time_zone",
			"classroom_start", "classroom_end", "lms_start", "lms_end", "max_places", "sitting", "web_sale", "event_url", "ocr_moodle_code", "finalisation_date", "administrator_ids"}, ieRows},
	}
	for _, c := range copies {
		if len(c.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier(c.table), c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return fmt.Errorf("write %s.%s: %w", c.table[0], c.table[1], err)
		}
	}
	return enqueue(ctx, tx, runID, eventIDs)
}

// enqueue stages one tutorial.event.created message per event. The message
// id is derived from the tutorial event id, so it is stable should the
// same event ever be enqueued again (the relay's dedupe then drops it).
func enqueue(ctx context.Context, tx pgx.Tx, runID int64, eventIDs []int64) error {
	for _, id := range eventIDs {
		msgID := uuid.NewSHA1(outboxNamespace, fmt.Appendf(nil, "tutorial-event:%d", id))
		if err := outbox.Enqueue(ctx, tx, messaging.SubjectTutorialEventCreated, msgID, Payload{TutorialEventID: id, ImportRunID: runID}); err != nil {
			return fmt.Errorf("enqueue tutorial event %d: %w", id, err)
		}
	}
	return nil
}

var outboxNamespace = uuid.MustParse("6f1d8a52-3c1e-4d7a-9b0e-2a5f4e8c7d10")

func writeRows(ctx context.Context, tx pgx.Tx, runID int64, events []*validate.Event) error {
	var rows [][]any
	for _, e := range events {
		for _, r := range e.Rows {
			kind := "session"
			if r.Kind == workbook.KindEvent {
				kind = "event"
			}
			msgs := RowMessages(e, r)
			b, err := json.Marshal(msgs)
			if err != nil {
				return fmt.Errorf("encode row messages: %w", err)
			}
			rows = append(rows, []any{runID, r.Row, kind, string(e.Status), json.RawMessage(b)})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"admsync", "import_rows"}, []string{"import_run_id", "excel_row", "kind", "status", "messages"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("write admsync.import_rows: %w", err)
	}
	return nil
}

// RowMessages is what a row's report and import_rows say: its own problems,
// or why it shares its event's fate.
func RowMessages(e *validate.Event, r validate.RowResult) []string {
	msgs := make([]string, 0, len(r.Problems)+1)
	for _, p := range r.Problems {
		msgs = append(msgs, p.Text())
	}
	switch e.Status {
	case validate.Rejected:
		if len(r.Problems) == 0 {
			msgs = append(msgs, fmt.Sprintf("not imported: the event starting at row %d has errors in other rows", e.Row))
		}
	case validate.Duplicate:
		msgs = append(msgs, e.Note)
	}
	return msgs
}
