package syncer_test

import (
	"admsync/pkg/testwait"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
	"admsync/pkg/database/dbtest"
	"admsync/pkg/service"
	"admsync/services/syncer/internal/admsource"
	"admsync/services/syncer/internal/syncer"
)

// bundle is one test's world: its own migrated database and simulator, and
// the report of the last run.
type bundle struct {
	t   *testing.T
	ctx context.Context
	db  *dbtest.DB
	sim *admsimtest.Server
	out *testwait.Buffer

	// transport, when set, wraps the client's HTTP transport (fault injection).
	transport func(http.RoundTripper) http.RoundTripper
	// clientOpts adjusts the client options before each run.
	clientOpts func(*administrate.Options)
}

func setup(t *testing.T, opts ...admsimtest.Option) *bundle {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return &bundle{t: t, ctx: ctx, db: dbtest.New(t), sim: admsimtest.Start(t, opts...), out: &testwait.Buffer{}}
}

// source builds an Administrate source over real HTTP to the simulator.
func (b *bundle) source(pageSize int) *admsource.Source {
	b.t.Helper()
	o := b.sim.ClientOptions()
	o.PageSize = pageSize
	if b.transport != nil {
		o.HTTPClient = &http.Client{Transport: b.transport(http.DefaultTransport)}
	}
	if b.clientOpts != nil {
		b.clientOpts(&o)
	}
	c, err := administrate.New(o)
	if err != nil {
		b.t.Fatalf("client: %v", err)
	}
	return admsource.New(c)
}

// runner builds a Runner for opts; answer is what the prompt reads, and a
// non-empty answer also makes the run interactive.
func (b *bundle) runner(opts syncer.Options, answer string) *syncer.Runner {
	if opts.PageSize == 0 {
		opts.PageSize = syncer.DefaultPageSize
	}
	src := b.source(opts.PageSize)
	r := &syncer.Runner{Pool: b.db.Pool, Source: src, Creator: src, Out: b.out}
	if answer != "" {
		r.Interactive = true
		r.In = strings.NewReader(answer)
	}
	return r
}

func (b *bundle) run(stage string, opts syncer.Options) (*syncer.StageResult, error) {
	b.t.Helper()
	b.out.Reset()
	return b.runner(opts, "").RunStage(b.ctx, stage, opts)
}

// mustRun runs a stage that has to succeed.
func (b *bundle) mustRun(stage string, opts syncer.Options) *syncer.StageResult {
	b.t.Helper()
	res, err := b.run(stage, opts)
	if err != nil {
		b.t.Fatalf("run %s: %v\n%s", stage, err, b.out.String())
	}
	return res
}

// mustRunCounts is mustRun that also checks the stage's counts.
func (b *bundle) mustRunCounts(stage string, opts syncer.Options, want syncer.Counts) *syncer.StageResult {
	b.t.Helper()
	res := b.mustRun(stage, opts)
	wantCounts(b.t, res, want)
	return res
}

// mustRunSkipping runs a stage that has to complete with skipped records:
// the error says so and exits 3, and the report flags it with ⚠.
func (b *bundle) mustRunSkipping(stage string, opts syncer.Options) *syncer.StageResult {
	b.t.Helper()
	res, err := b.run(stage, opts)
	var skipped *syncer.SkippedError
	if !errors.As(err, &skipped) || service.ExitCode(err) != 3 || skipped.Skipped != res.Counts.Skipped {
		b.t.Fatalf("run %s: err %v (exit %d), want completed with %d skipped, exit 3\n%s", stage, err, service.ExitCode(err), res.Counts.Skipped, b.out.String())
	}
	if out := b.out.String(); !strings.Contains(out, "⚠") || !strings.Contains(out, "skipped record(s)") {
		b.t.Fatalf("run %s: skips not flagged in the report:\n%s", stage, out)
	}
	return res
}

func (b *bundle) exec(sql string, args ...any) {
	b.t.Helper()
	if _, err := b.db.Pool.Exec(b.ctx, sql, args...); err != nil {
		b.t.Fatalf("exec %q: %v", sql, err)
	}
}

func (b *bundle) id(sql string, args ...any) int64 {
	b.t.Helper()
	var id int64
	if err := b.db.Pool.QueryRow(b.ctx, sql, args...).Scan(&id); err != nil {
		b.t.Fatalf("query %q: %v", sql, err)
	}
	return id
}

// link is the tutorial id that the bridge row of Administrate record ext in
// adm.<kind>s (location, venue, instructor, course_template) links, 0 when
// it links none; the test fails when there is no such row.
func (b *bundle) link(kind, ext string) int64 {
	b.t.Helper()
	return b.id(`SELECT coalesce(tutorial_`+kind+`_id, 0) FROM adm.`+kind+`s WHERE external_id = $1`, ext)
}

// wantLinks checks the links of the bridge rows of the Administrate records
// in want: ext links want[ext], 0 for none.
func (b *bundle) wantLinks(kind string, want map[string]int64) {
	b.t.Helper()
	for ext, tut := range want {
		if got := b.link(kind, ext); got != tut {
			b.t.Errorf("%s %s linked to %d, want %d", kind, ext, got, tut)
		}
	}
}

func (b *bundle) count(sql string, args ...any) int {
	return int(b.id("SELECT count(*) FROM ("+sql+") q", args...))
}

// str reads one nullable text value ("<nil>" for NULL).
func (b *bundle) str(sql string, args ...any) string {
	b.t.Helper()
	var s *string
	if err := b.db.Pool.QueryRow(b.ctx, sql, args...).Scan(&s); err != nil {
		b.t.Fatalf("query %q: %v", sql, err)
	}
	if s == nil {
		return "<nil>"
	}
	return *s
}

// Tutorial-side seeding.

func (b *bundle) tutorialLocation(name string, active bool) int64 {
	return b.id(`INSERT INTO acted.tutorial_locations (name, is_active) VALUES ($1, $2) RETURNING id`, name, active)
}

func (b *bundle) tutorialVenue(name string, location int64) int64 {
	return b.id(`INSERT INTO acted.tutorial_venues (name, location_id) VALUES ($1, $2) RETURNING id`, name, location)
}

func (b *bundle) tutorialInstructor(first, last string, active bool) int64 {
	user := b.id(`INSERT INTO public.auth_user (username, first_name, last_name) VALUES ($1, $2, $3) RETURNING id`,
		strings.ToLower(first+"."+last+"."+time.Now().Format("150405.000000000")), first, last)
	staff := b.id(`INSERT INTO acted.staff (user_id) VALUES ($1) RETURNING id`, user)
	return b.id(`INSERT INTO acted.tutorial_instructors (staff_id, is_active) VALUES ($1, $2) RETURNING id`, staff, active)
}

func (b *bundle) tutorialCourseTemplate(code, title string, active bool) int64 {
	return b.id(`INSERT INTO acted.tutorial_course_templates (code, title, is_active) VALUES ($1, $2, $3) RETURNING id`, code, title, active)
}

// reseed replaces the simulator's state with edit applied to its dump, ids kept.
func (b *bundle) reseed(edit func(*admsim.Seed)) {
	b.t.Helper()
	seed := b.sim.Dump()
	edit(&seed)
	b.sim.Reset()
	if err := b.sim.Load(seed); err != nil {
		b.t.Fatalf("reseed: %v", err)
	}
}

func wantCounts(t *testing.T, res *syncer.StageResult, want syncer.Counts) {
	t.Helper()
	if res.Counts != want {
		t.Fatalf("%s counts = %+v, want %+v", res.Stage, res.Counts, want)
	}
}

// failTransport answers 503 to every GraphQL request whose body contains
// match, before it reaches the simulator: the simulator has no fault keyed on
// a variable value.
type failTransport struct {
	base  http.RoundTripper
	match string
}

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && strings.HasSuffix(r.URL.Path, admsim.GraphQLPath) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(f.match)) {
			return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
				Body: io.NopCloser(strings.NewReader("injected")), Header: http.Header{}, Request: r}, nil
		}
	}
	return f.base.RoundTrip(r)
}
