// Package pipeline runs one import: read and parse the workbook, validate
// it against reference data loaded once, write it (unless dry run) and
// account for it in metrics and a summary. The CLI and the NATS server
// both call Import.
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"admsync/services/importer/internal/correct"
	"admsync/services/importer/internal/load"
	"admsync/services/importer/internal/validate"
	"admsync/services/importer/internal/workbook"
)

// Options tune one import.
type Options struct {
	DryRun   bool
	Name     string // file name in messages; default the base name of the path
	Limits   workbook.Limits
	Metrics  *Metrics
	Progress func(stage string, rows int) // called every few thousand rows and at stage ends
	// RequestID is the `importer serve` request being handled, stored with
	// the import run.
	RequestID string
}

// Summary is the outcome of an import, as printed and published.
type Summary struct {
	File       string `json:"file"`
	Sheet      string `json:"sheet"`
	SHA256     string `json:"sha256"`
	DryRun     bool   `json:"dry_run"`
	RunID      int64  `json:"import_run_id,omitempty"`
	Rows       int    `json:"rows"`
	Imported   int    `json:"imported_events"`
	Sessions   int    `json:"imported_sessions"`
	Rejected   int    `json:"rejected_events"`
	Duplicates int    `json:"duplicate_events"`
	// Changed counts events imported earlier that this file corrects;
	// Changes lists each corrected field.
	Changed   int                `json:"changed_events"`
	Changes   []ReportedChange   `json:"changes,omitempty"`
	Missing   []validate.Missing `json:"missing_events,omitempty"`
	Problems  []ReportedProblem  `json:"problems,omitempty"`
	Durations map[string]string  `json:"durations"`
}

// ReportedProblem is a problem with its rendering.
type ReportedProblem struct {
	workbook.Problem
	Text string `json:"text"`
}

// ReportedChange is one corrected field with its rendering.
type ReportedChange struct {
	validate.Change
	TutorialEventID int64  `json:"tutorial_event_id"`
	Event           string `json:"event"`
	Text            string `json:"text"`
}

// Line is the one-line summary.
func (s *Summary) Line() string {
	verb, changed := "imported", "changed"
	if s.DryRun {
		verb, changed = "would import", "would change"
	}
	line := fmt.Sprintf("%s %d events (%d sessions), rejected %d events, skipped %d duplicates", verb, s.Imported, s.Sessions, s.Rejected, s.Duplicates)
	if s.Changed > 0 {
		line += fmt.Sprintf(", %s %d events imported earlier (%d fields)", changed, s.Changed, len(s.Changes))
	}
	if len(s.Missing) > 0 {
		line += fmt.Sprintf("; %d events imported earlier in these sittings are not in this file (not deleted)", len(s.Missing))
	}
	return line
}

// Failed reports whether anything was rejected.
func (s *Summary) Failed() bool { return s.Rejected > 0 }

// Outcome is everything Import learnt, for the report workbook.
type Outcome struct {
	Summary *Summary
	Layout  *workbook.Layout
	Events  []*validate.Event
}

// Import runs the whole pipeline on path. A file that cannot be read at all
// returns a *workbook.FileError; per-row problems are in the summary.
func Import(ctx context.Context, pool *pgxpool.Pool, path string, opts Options) (*Outcome, error) {
	name := opts.Name
	if name == "" {
		name = baseName(path)
	}
	// The import's span is the root of every written event's trace: the
	// outbox rows carry its context to the relay and on to the writer.
	ctx, span := otel.Tracer("admsync/importer").Start(ctx, "import "+name,
		trace.WithAttributes(attribute.String("admsync.file", name), attribute.Bool("admsync.dry_run", opts.DryRun)))
	defer span.End()
	if opts.RequestID != "" {
		span.SetAttributes(attribute.String("admsync.request_id", opts.RequestID))
	}
	sum := &Summary{File: name, DryRun: opts.DryRun, Durations: map[string]string{}}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, int) {}
	}
	hash, err := fileSHA256(path)
	if err != nil {
		return nil, err
	}
	sum.SHA256 = hash

	// The workbook first: a file that is refused costs no database work.
	r, err := workbook.Open(path, opts.Limits)
	if err != nil {
		return nil, renamed(err, name)
	}
	defer r.Close()
	ref, err := validate.LoadRef(ctx, pool)
	if err != nil {
		return nil, fmt.Errorf("load reference data: %w", err)
	}
	r.Name = name
	sum.Sheet = r.Sheet
	v := validate.New(ref, r.Layout)
	var parseTime, validateTime time.Duration
	// Writing overlaps reading: settled events go to the writer in batches
	// inside one transaction that commits only after the whole file was read.
	var w *load.Writer
	var batch []*validate.Event
	var finish func() (*load.Result, error)
	// The first batch is small so that PostgreSQL, which does most of a
	// write's work (COPY and the foreign-key checks), starts on it while
	// the rest is read: with 2,000 events it waited about 0.4 s of a
	// 25 s import on a busy machine.
	const firstBatch, batchSize = 250, 2000
	flushAt := firstBatch
	if !opts.DryRun {
		if w, err = load.Begin(ctx, pool, r.Layout, load.Run{FileName: name, SHA256: hash, RequestID: opts.RequestID}); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
		committed := false
		defer func() {
			if !committed {
				w.Abort(ctx)
			}
		}()
		v.OnEvent(func(e *validate.Event) {
			batch = append(batch, e)
			if len(batch) >= flushAt {
				w.Add(batch)
				batch, flushAt = nil, batchSize
			}
		})
		finish = func() (*load.Result, error) {
			committed = true
			w.Add(batch)
			return w.Finish(ctx, v.Rows())
		}
	}
	for {
		t0 := time.Now()
		rec, err := r.Next()
		if err != nil {
			return nil, err
		}
		if rec == nil {
			parseTime += time.Since(t0)
			break
		}
		row, probs := r.Layout.Parse(rec)
		t1 := time.Now()
		parseTime += t1.Sub(t0)
		v.Add(row, probs)
		validateTime += time.Since(t1)
		if n := v.Rows(); n%2000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			progress("read", n)
		}
	}
	progress("read", v.Rows())
	t1 := time.Now()
	v.Finish()
	if opts.DryRun {
		if err := v.CheckExisting(ctx, pool); err != nil {
			return nil, err
		}
		if err := correct.Compare(ctx, pool, r.Layout, v.Events); err != nil {
			return nil, err
		}
		if sum.Missing, err = correct.Missing(ctx, pool, v.Events); err != nil {
			return nil, err
		}
	}
	validateTime += time.Since(t1)
	sum.Rows = v.Rows()
	observe(opts.Metrics, "parse", parseTime)
	observe(opts.Metrics, "validate", validateTime)
	sum.Durations["parse"] = parseTime.Round(time.Millisecond).String()
	sum.Durations["validate"] = validateTime.Round(time.Millisecond).String()

	if !opts.DryRun {
		progress("write", 0)
		tw := time.Now()
		res, err := finish()
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
		sum.RunID = res.RunID
		sum.Missing = res.Missing
		span.SetAttributes(attribute.Int64("admsync.import_run_id", res.RunID), attribute.Int("admsync.events", res.Events))
		observe(opts.Metrics, "write", time.Since(tw))
		sum.Durations["write"] = time.Since(tw).Round(time.Millisecond).String()
	}
	tally(sum, v.Events, r.Layout, opts.Metrics)
	return &Outcome{Summary: sum, Layout: r.Layout, Events: v.Events}, nil
}

func observe(m *Metrics, stage string, d time.Duration) {
	if m != nil {
		m.Stage.WithLabelValues(stage).Observe(d.Seconds())
	}
}

func tally(sum *Summary, events []*validate.Event, lay *workbook.Layout, m *Metrics) {
	for _, e := range events {
		switch e.Status {
		case validate.Accepted:
			sum.Imported++
			sum.Sessions += len(e.Sessions)
		case validate.Rejected:
			sum.Rejected++
			for _, r := range e.Rows {
				for _, p := range r.Problems {
					sum.Problems = append(sum.Problems, ReportedProblem{Problem: p, Text: p.Format(sum.File, sum.Sheet)})
				}
			}
		case validate.Duplicate:
			sum.Duplicates++
		case validate.Changed:
			sum.Changed++
			for _, c := range e.Changes {
				rc := ReportedChange{Change: c, TutorialEventID: e.Existing, Event: e.Title}
				rc.Text = fmt.Sprintf("%s, sheet %q, row %d, event %s: %s", sum.File, sum.Sheet, c.Row, e.Title, c.Text())
				sum.Changes = append(sum.Changes, rc)
			}
		}
		if m != nil {
			m.Events.WithLabelValues(string(e.Status)).Inc()
			m.Rows.WithLabelValues(string(e.Status)).Add(float64(len(e.Rows)))
		}
	}
}

func renamed(err error, name string) error {
	if fe, ok := err.(*workbook.FileError); ok {
		fe.File = name
	}
	return err
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' || p[i] == '\\' {
			return p[i+1:]
		}
	}
	return p
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open workbook: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read workbook: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
