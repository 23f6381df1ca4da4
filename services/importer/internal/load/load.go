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
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"admsync/pkg/messaging"
	"admsync/pkg/outbox"
	"admsync/services/importer/internal/correct"
	"admsync/services/importer/internal/sqlarg"
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
	// RequestID is the `importer serve` request that asked for the import
	// (empty for the CLI), stored with the run so an operator can go from a
	// request to its run.
	RequestID string
}

// Result says what was written.
type Result struct {
	RunID    int64 // 0 when nothing was written (only duplicates)
	Events   int
	Sessions int
	// EventIDs are the tutorial event ids of the accepted events, in file order.
	EventIDs []int64
	// Changed counts the events an earlier import made that the file
	// corrects; ChangedIDs are their tutorial event ids.
	Changed    int
	ChangedIDs []int64
	// Missing are the events imported earlier in the file's sittings that
	// the file no longer has (reported, never deleted).
	Missing []validate.Missing
}

// Write stores the outcome of a validated file in one transaction; see
// Writer for the streaming form the pipeline uses.
func Write(ctx context.Context, pool *pgxpool.Pool, lay *workbook.Layout, run Run, events []*validate.Event) (*Result, error) {
	w, err := Begin(ctx, pool, lay, run)
	if err != nil {
		return nil, err
	}
	w.Add(events)
	return w.Finish(ctx, run.RowsTotal)
}

// Writer writes settled events in batches inside one transaction while the
// workbook is still being read, so PostgreSQL works on the second core while
// the parser keeps the first. Nothing is visible until Finish commits; Abort
// (or any error) rolls everything back. Duplicates against earlier imports
// are re-checked per batch under an advisory lock that serialises imports.
type Writer struct {
	tx     pgx.Tx
	lay    *workbook.Layout
	runID  int64
	batch  chan []*validate.Event
	done   chan error
	cancel context.CancelFunc

	res                                          Result
	accepted, rejected, dups, changed, nSessions int
	all                                          []*validate.Event
}

// Begin opens the transaction, takes the import lock and records the run.
func Begin(ctx context.Context, pool *pgxpool.Pool, lay *workbook.Layout, run Run) (*Writer, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin import: %w", err)
	}
	w := &Writer{tx: tx, lay: lay, batch: make(chan []*validate.Event, 4), done: make(chan error, 1)}
	fail := func(err error) (*Writer, error) {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
		return fail(fmt.Errorf("lock imports: %w", err))
	}
	var requestID *string
	if run.RequestID != "" {
		requestID = &run.RequestID
	}
	if err := tx.QueryRow(ctx, `INSERT INTO admsync.import_runs (file_name, file_sha256, request_id) VALUES ($1, $2, $3) RETURNING id`,
		run.FileName, run.SHA256, requestID).Scan(&w.runID); err != nil {
		return fail(fmt.Errorf("record import run: %w", err))
	}
	wctx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	go func() {
		var err error
		for b := range w.batch {
			if err == nil {
				err = w.write(wctx, b)
			}
		}
		w.done <- permanentIfData(err)
	}()
	return w, nil
}

// Add hands settled events to the writer (in file order).
func (w *Writer) Add(events []*validate.Event) {
	if len(events) > 0 {
		w.batch <- events
	}
}

func (w *Writer) write(ctx context.Context, events []*validate.Event) error {
	if err := validate.CheckExisting(ctx, w.tx, w.lay, events); err != nil {
		return err
	}
	if err := correct.Compare(ctx, w.tx, w.lay, events); err != nil {
		return err
	}
	w.all = append(w.all, events...)
	var accepted []*validate.Event
	n := 0
	for _, e := range events {
		switch e.Status {
		case validate.Accepted:
			accepted = append(accepted, e)
			n += len(e.Sessions)
		case validate.Rejected:
			w.rejected++
		case validate.Duplicate:
			w.dups++
		case validate.Changed:
			w.changed++
		}
	}
	if len(accepted) > 0 {
		if err := writeEvents(ctx, w.tx, w.runID, accepted, n, &w.res); err != nil {
			return err
		}
		w.accepted += len(accepted)
		w.nSessions += n
	}
	ids, err := correct.Apply(ctx, w.tx, w.runID, events)
	if err != nil {
		return err
	}
	w.res.ChangedIDs = append(w.res.ChangedIDs, ids...)
	w.res.Changed += len(ids)
	return writeRows(ctx, w.tx, w.runID, events)
}

// Abort rolls the import back.
func (w *Writer) Abort(ctx context.Context) {
	close(w.batch)
	<-w.done
	w.cancel()
	_ = w.tx.Rollback(context.WithoutCancel(ctx))
}

// Finish waits for the last batch and commits. A file whose events were all
// imported before (nothing accepted, nothing rejected) is rolled back: a
// re-import leaves no trace.
func (w *Writer) Finish(ctx context.Context, rowsTotal int) (*Result, error) {
	close(w.batch)
	err := <-w.done
	defer w.cancel()
	rollback := func() { _ = w.tx.Rollback(context.WithoutCancel(ctx)) }
	if err != nil {
		rollback()
		return nil, err
	}
	missing, err := correct.Missing(ctx, w.tx, w.all)
	if err != nil {
		rollback()
		return nil, err
	}
	if w.accepted == 0 && w.rejected == 0 && w.changed == 0 {
		rollback()
		return &Result{Missing: missing}, nil
	}
	if _, err := w.tx.Exec(ctx, `
		UPDATE admsync.import_runs SET finished_at = now(), rows_total = $2, accepted_events = $3,
		    accepted_sessions = $4, rejected_events = $5, duplicate_events = $6, changed_events = $7 WHERE id = $1`,
		w.runID, rowsTotal, w.accepted, w.nSessions, w.rejected, w.dups, w.changed); err != nil {
		rollback()
		return nil, fmt.Errorf("finish import run: %w", err)
	}
	if err := w.tx.Commit(ctx); err != nil {
		return nil, permanentIfData(fmt.Errorf("commit import: %w", err))
	}
	res := w.res
	res.RunID = w.runID
	res.Missing = missing
	return &res, nil
}

// permanentIfData marks PostgreSQL data exceptions (SQLSTATE class 22,
// e.g. a value too long) and integrity violations (class 23) as permanent:
// the same file fails the same way on every delivery, so retrying only
// delays the next request. Validation should have caught them; this is
// the backstop.
func permanentIfData(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23")) {
		return messaging.Permanent(err)
	}
	return err
}

// reserve takes n ids from table's own sequence. The sequence is looked up
// once per call (OFFSET 0 keeps the planner from pulling the lookup into
// every row): pg_get_serial_sequence per row cost PostgreSQL more than
// nextval itself, about a second of a 100,000-row import's write on a
// busy machine.
func reserve(ctx context.Context, tx pgx.Tx, table string, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT nextval(s.seq) FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS seq OFFSET 0) s, generate_series(1, $2)`, table, n)
	if err != nil {
		return nil, fmt.Errorf("reserve %d ids in %s: %w", n, table, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("reserve %d ids in %s: %w", n, table, err)
	}
	return ids, nil
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
	res.EventIDs = append(res.EventIDs, eventIDs...)
	res.Events += len(accepted)
	res.Sessions += nSessions

	now := time.Now()
	// Rows are produced on demand for COPY rather than built up front: a
	// 100,000-row workbook would otherwise hold every table's rows at once.
	sessionID := make([][]int64, len(accepted)) // per event, per session
	si := 0
	for i, e := range accepted {
		sessionID[i] = sessionIDs[si : si+len(e.Sessions)]
		si += len(e.Sessions)
	}
	fin := func(e *validate.Event) any {
		if e.Finalisation.IsZero() {
			return nil
		}
		return e.Finalisation.Time()
	}
	i := 0
	events := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= len(accepted) {
			return nil, nil
		}
		e := accepted[i]
		places := 0
		if e.HasMaxPlaces {
			places = e.MaxPlaces
		}
		row := []any{eventIDs[i], e.Title, sqlarg.ID(e.VenueID), sqlarg.ID(e.LocationID), fin(e), places, e.StartDate(), e.EndDate(), e.ProductID, now, now}
		i++
		return row, nil
	})
	if err := copyInto(ctx, tx, "tutorial_events", []string{"id", "code", "venue_id", "location_id", "finalisation_date", "remain_space", "start_date", "end_date", "product_id", "created_at", "updated_at"}, events); err != nil {
		return err
	}
	ev, s := 0, 0
	sessions := pgx.CopyFromFunc(func() ([]any, error) {
		for ev < len(accepted) && s >= len(accepted[ev].Sessions) {
			ev, s = ev+1, 0
		}
		if ev >= len(accepted) {
			return nil, nil
		}
		e, x := accepted[ev], accepted[ev].Sessions[s]
		row := []any{sessionID[ev][s], eventIDs[ev], x.Title, sqlarg.ID(e.VenueID), sqlarg.ID(e.LocationID), x.Start, x.End, x.Day, sqlarg.Text(x.URL), now, now}
		s++
		return row, nil
	})
	if err := copyInto(ctx, tx, "tutorial_sessions", []string{"id", "tutorial_event_id", "title", "venue_id", "location_id", "start_date", "end_date", "sequence", "url", "created_at", "updated_at"}, sessions); err != nil {
		return err
	}
	ev, s = 0, 0
	k := 0
	instructors := pgx.CopyFromFunc(func() ([]any, error) {
		for ev < len(accepted) {
			ss := accepted[ev].Sessions
			for s < len(ss) {
				ids := ss[s].InstructorIDs
				for k < len(ids) {
					in := ids[k]
					k++
					if slices.Contains(ids[:k-1], in) {
						continue // the same name twice in one cell
					}
					return []any{sessionID[ev][s], in}, nil
				}
				s, k = s+1, 0
			}
			ev, s = ev+1, 0
		}
		return nil, nil
	})
	if err := copyInto(ctx, tx, "tutorial_session_instructors", []string{"tutorialsessions_id", "tutorialinstructor_id"}, instructors); err != nil {
		return err
	}
	i = 0
	details := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= len(accepted) {
			return nil, nil
		}
		e := accepted[i]
		var maxPlaces any
		if e.HasMaxPlaces {
			maxPlaces = e.MaxPlaces
		}
		admins := e.AdministratorIDs
		if admins == nil {
			admins = []string{}
		}
		row := []any{eventIDs[i], runID, e.Row, e.NaturalKey, e.Code, e.Title, e.Mode, e.ZoneName,
			sqlarg.Time(e.ClassroomStart), sqlarg.Time(e.ClassroomEnd), sqlarg.Time(e.LMSStart), sqlarg.Time(e.LMSEnd),
			maxPlaces, e.Sitting, e.WebSale, sqlarg.Text(e.EventURL), sqlarg.Text(e.OCR), fin(e), admins}
		i++
		return row, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"admsync", "import_events"}, []string{"tutorial_event_id", "import_run_id", "excel_row", "natural_key", "course_template_code", "title", "learning_mode", "time_zone",
		"classroom_start", "classroom_end", "lms_start", "lms_end", "max_places", "sitting", "web_sale", "event_url", "ocr_moodle_code", "finalisation_date", "administrator_ids"}, details); err != nil {
		return fmt.Errorf("write admsync.import_events: %w", err)
	}
	return enqueue(ctx, tx, runID, eventIDs)
}

func copyInto(ctx context.Context, tx pgx.Tx, table string, cols []string, src pgx.CopyFromSource) error {
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"acted", table}, cols, src); err != nil {
		return fmt.Errorf("write acted.%s: %w", table, err)
	}
	return nil
}

// enqueue stages one tutorial.event.created message per event with the
// outbox's batch form (one COPY, one relay notification at commit). The
// message id is derived from the tutorial event id, so it is stable should
// the same event ever be enqueued again.
func enqueue(ctx context.Context, tx pgx.Tx, runID int64, eventIDs []int64) error {
	msgs := make([]outbox.Message, len(eventIDs))
	for i, id := range eventIDs {
		payload, err := json.Marshal(messaging.TutorialEventCreated{TutorialEventID: id, ImportRunID: runID})
		if err != nil {
			return fmt.Errorf("enqueue tutorial event %d: %w", id, err)
		}
		msgs[i] = outbox.Message{
			ID:      uuid.NewSHA1(outboxNamespace, fmt.Appendf(nil, "tutorial-event:%d", id)),
			Subject: messaging.SubjectTutorialEventCreated,
			Payload: json.RawMessage(payload),
		}
	}
	if err := outbox.EnqueueBatch(ctx, tx, msgs); err != nil {
		return fmt.Errorf("enqueue tutorial events: %w", err)
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
	case validate.Changed:
		if r.Row == e.Row {
			msgs = append(msgs, e.Note)
		}
		for _, c := range e.Changes {
			if c.Row == r.Row {
				msgs = append(msgs, "changed "+c.Text())
			}
		}
	}
	return msgs
}
