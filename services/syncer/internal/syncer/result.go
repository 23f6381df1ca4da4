package syncer

import (
	"fmt"
	"time"
)

// Outcomes of a stage (also the outcome label of admsync_sync_runs_total).
const (
	OutcomeOK      = "ok"      // applied (or planned), no errors
	OutcomePartial = "partial" // applied, but some records or entity types failed
	OutcomeFailed  = "failed"  // nothing applied: prerequisite, fetch or database failure
)

// Counts are a stage's record counts.
type Counts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Gone      int `json:"gone"`
	Skipped   int `json:"skipped"`
	Errors    int `json:"errors"`
}

// Add sums c and o.
func (c Counts) Add(o Counts) Counts {
	return Counts{c.Created + o.Created, c.Updated + o.Updated, c.Unchanged + o.Unchanged,
		c.Gone + o.Gone, c.Skipped + o.Skipped, c.Errors + o.Errors}
}

// Line is the summary line of a stage.
func (c Counts) Line() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged, %d gone, %d skipped, %d errors",
		c.Created, c.Updated, c.Unchanged, c.Gone, c.Skipped, c.Errors)
}

// line is Line, or in a plan what would happen: nothing was written, so
// nothing was "created".
func (c Counts) line(plan bool) string {
	if !plan {
		return c.Line()
	}
	return fmt.Sprintf("would create %d, would update %d, would mark %d gone; %d unchanged, %d skipped, %d errors",
		c.Created, c.Updated, c.Gone, c.Unchanged, c.Skipped, c.Errors)
}

// Record identifies one record in a report.
type Record struct {
	ID          string `json:"id"`
	Description string `json:"description"`
}

// Ambiguous is a key shared by several records on one side or both; none of
// them was linked.
type Ambiguous struct {
	Key          string   `json:"key"`
	Tutorial     []Record `json:"tutorial"`
	Administrate []Record `json:"administrate"`
	Description  string   `json:"description"`
}

// Mirror counts the rows of a table a stage mirrors beside its bridge
// (approved instructors, administrators).
type Mirror struct {
	Name   string `json:"name"`
	Counts Counts `json:"counts"`
}

// Change is one planned or applied write, listed with --plan or --debug.
type Change struct {
	Action      string   `json:"action"` // create, update, gone
	Table       string   `json:"table"`
	ID          string   `json:"id"`
	Description string   `json:"description"`
	Fields      []string `json:"fields,omitempty"`
}

// StageResult is the structured result of one stage: printed with --json,
// published on sync.result.<stage> and stored in admsync.sync_runs.result.
type StageResult struct {
	Stage           string    `json:"stage"`
	Outcome         string    `json:"outcome"`
	Message         string    `json:"message,omitempty"`
	RunID           int64     `json:"run_id,omitempty"`
	PlanOnly        bool      `json:"plan_only"`
	StartedAt       time.Time `json:"started_at"`
	DurationSeconds float64   `json:"duration_seconds"`
	Fetched         int       `json:"fetched"`
	Counts          Counts    `json:"counts"`
	Mirrors         []Mirror  `json:"mirrors,omitempty"`
	// RowsApplied is how many rows were written (0 on a rerun with no change).
	RowsApplied int `json:"rows_applied"`
	// DBSeconds is the time spent in the stage's transaction (load, match,
	// plan, write, commit), lock wait excluded.
	DBSeconds   float64 `json:"db_seconds"`
	GoneBlocked string  `json:"gone_blocked,omitempty"`
	// Gone names each record marked gone (or, in a plan, that would be) and
	// the local events still using it.
	Gone                  []Gone      `json:"gone,omitempty"`
	UnmatchedTutorial     []Record    `json:"unmatched_tutorial"`
	UnmatchedAdministrate []Record    `json:"unmatched_administrate"`
	Ambiguous             []Ambiguous `json:"ambiguous"`
	Skipped               []Record    `json:"skipped"`
	Errors                []string    `json:"errors"`
	CreatedInAdministrate []Record    `json:"created_in_administrate,omitempty"`
	// Manual lists what a person has to do by hand, one entry per record that
	// could not be created through the API.
	Manual []Record `json:"manual,omitempty"`
	// Conflicts (events stage) are fields changed both locally and in
	// Administrate since the last sync, with both values.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	Changes   []Change   `json:"changes,omitempty"`
	// Truncated says the lists were shortened to fit a message; the full
	// result is in admsync.sync_runs (run_id).
	Truncated bool `json:"truncated,omitempty"`
}

// Compact shortens every list to at most keep entries (for a size-limited
// message); the counts are untouched.
func (r *StageResult) Compact(keep int) {
	cut := func(n int) int {
		if n > keep {
			r.Truncated = true
			return keep
		}
		return n
	}
	r.Changes = r.Changes[:cut(len(r.Changes))]
	r.Gone = r.Gone[:cut(len(r.Gone))]
	r.UnmatchedTutorial = r.UnmatchedTutorial[:cut(len(r.UnmatchedTutorial))]
	r.UnmatchedAdministrate = r.UnmatchedAdministrate[:cut(len(r.UnmatchedAdministrate))]
	r.Ambiguous = r.Ambiguous[:cut(len(r.Ambiguous))]
	r.Skipped = r.Skipped[:cut(len(r.Skipped))]
	r.Errors = r.Errors[:cut(len(r.Errors))]
	r.CreatedInAdministrate = r.CreatedInAdministrate[:cut(len(r.CreatedInAdministrate))]
	r.Manual = r.Manual[:cut(len(r.Manual))]
}

// OK reports whether the stage succeeded.
func (r *StageResult) OK() bool { return r.Outcome == OutcomeOK }

// AllResult is the structured result of `run all`.
type AllResult struct {
	Stage           string        `json:"stage"` // "all"
	Outcome         string        `json:"outcome"`
	RunID           int64         `json:"run_id,omitempty"`
	PlanOnly        bool          `json:"plan_only"`
	StartedAt       time.Time     `json:"started_at"`
	DurationSeconds float64       `json:"duration_seconds"`
	Stages          []StageResult `json:"stages"`
	NotRun          []string      `json:"not_run,omitempty"`
	Totals          Counts        `json:"totals"`
	RowsApplied     int           `json:"rows_applied"`
	DBSeconds       float64       `json:"db_seconds"`
	Succeeded       int           `json:"succeeded"`
	Failed          int           `json:"failed"`
}

// Compact shortens the lists of every stage result.
func (a *AllResult) Compact(keep int) {
	for i := range a.Stages {
		a.Stages[i].Compact(keep)
	}
}

// StageError is returned when a stage did not succeed; the result holds the detail.
type StageError struct {
	Stage   string
	Outcome string
	Message string
}

func (e *StageError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s: %s", e.Stage, e.Outcome)
	}
	return fmt.Sprintf("%s: %s", e.Stage, e.Message)
}

// ExitSkipped is the exit code of a run that completed but skipped records.
const ExitSkipped = 3

// SkippedError is returned when every stage completed but some records were
// skipped (each listed, with its reason, in the report and the result): the
// bridge is short of them until the cause is fixed. Exit code 3.
type SkippedError struct {
	Skipped int
	Stages  []string
}

func (e *SkippedError) Error() string {
	return fmt.Sprintf("completed with %d skipped record(s) in %v; see the report for each reason", e.Skipped, e.Stages)
}

// ExitCode makes the process exit 3: completed with skips.
func (e *SkippedError) ExitCode() int { return ExitSkipped }

// AllError is returned by RunAll when any stage did not succeed.
type AllError struct {
	Failed []string
}

func (e *AllError) Error() string {
	return fmt.Sprintf("%d stage(s) failed: %v", len(e.Failed), e.Failed)
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
