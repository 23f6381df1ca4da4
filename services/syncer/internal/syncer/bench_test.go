package syncer_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
	"admsync/pkg/database/dbtest"
	"admsync/services/syncer/internal/admsource"
	"admsync/services/syncer/internal/syncer"
)

// BenchmarkSyncAll runs `run all` twice against the simulator seeded with a
// large tenant, once with latency L per request and once with 100 ms: 10,000 course templates (3 prices each), 1,000 locations,
// 2,000 venues, 5,000 instructors and the 18 custom-field entity types, the
// tutorial tables holding the matching records. The client's rate budget is
// R requests/s and every request takes L. It reports the API calls, the wall
// time, its ratio to the floor (calls ÷ R, the least time R allows) at L
// (x_floor) and at 100 ms (x_floor_100ms), the database rows applied per
// second, and the rows the second run applied (which must be 0).
//
// Settings (environment): ADMSYNC_BENCH_SYNC_RATE (R, default 15, the production budget),
// ADMSYNC_BENCH_SYNC_LATENCY (L, default 20ms), ADMSYNC_BENCH_SYNC_PAGE_SIZE
// (default 100), ADMSYNC_BENCH_SYNC_SCALE (multiplies every count, default 1).
//
//	go test -run '^$' -bench SyncAll -benchtime 1x ./internal/syncer/
func BenchmarkSyncAll(b *testing.B) {
	rate := envFloat(b, "ADMSYNC_BENCH_SYNC_RATE", 15)
	latency := envDuration(b, "ADMSYNC_BENCH_SYNC_LATENCY", 20*time.Millisecond)
	pageSize := int(envFloat(b, "ADMSYNC_BENCH_SYNC_PAGE_SIZE", 100))
	scale := envFloat(b, "ADMSYNC_BENCH_SYNC_SCALE", 1)
	n := func(x int) int { return max(1, int(float64(x)*scale)) }
	sizes := benchSizes{templates: n(10000), locations: n(1000), venues: n(2000), instructors: n(5000), admins: n(100)}

	sim := admsimtest.Start(b, admsimtest.WithPageSizes(100, 500))
	if err := sim.Load(benchSeed(sizes)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	m := measureSyncAll(b, sim, sizes, rate, latency, pageSize)
	b.StopTimer()
	// The same at 100 ms per request: a slow Administrate must not push the
	// sync far above its floor (pages and stage reads overlap).
	slow := measureSyncAll(b, sim, sizes, rate, 100*time.Millisecond, pageSize)

	b.ReportMetric(float64(m.calls), "api_calls")
	b.ReportMetric(m.wall.Seconds(), "wall_s")
	b.ReportMetric(m.ratio(), "x_floor")
	b.ReportMetric(slow.ratio(), "x_floor_100ms")
	b.ReportMetric(float64(m.first.RowsApplied), "rows")
	b.ReportMetric(float64(m.first.RowsApplied)/m.first.DBSeconds, "rows/s")
	b.ReportMetric(float64(m.second.RowsApplied), "rerun_rows")
	b.ReportMetric(m.rerunWall.Seconds(), "rerun_wall_s")
	for _, x := range []syncMeasure{m, slow} {
		fmt.Printf("bench: sync-all R=%g/s L=%s page=%d templates=%d locations=%d venues=%d instructors=%d: "+
			"api_calls=%d wall=%.1fs floor=%.1fs ratio=%.2f rows_applied=%d db=%.1fs rows_per_s=%.0f | rerun: api_calls=%d wall=%.1fs rows_applied=%d\n",
			rate, x.latency, pageSize, sizes.templates, sizes.locations, sizes.venues, sizes.instructors,
			x.calls, x.wall.Seconds(), x.floor().Seconds(), x.ratio(), x.first.RowsApplied, x.first.DBSeconds,
			float64(x.first.RowsApplied)/x.first.DBSeconds, x.rerunCalls, x.rerunWall.Seconds(), x.second.RowsApplied)
	}
}

type syncMeasure struct {
	latency           time.Duration
	rate              float64
	calls, rerunCalls int
	wall, rerunWall   time.Duration
	first, second     *syncer.AllResult
}

// floor is the least time the rate budget allows for the calls.
func (m syncMeasure) floor() time.Duration {
	return time.Duration(float64(m.calls) / m.rate * float64(time.Second))
}

func (m syncMeasure) ratio() float64 { return m.wall.Seconds() / m.floor().Seconds() }

// measureSyncAll runs `run all` into a fresh database (tutorial side seeded)
// with every request taking latency, then once more, which must apply nothing.
func measureSyncAll(b *testing.B, sim *admsimtest.Server, sizes benchSizes, rate float64, latency time.Duration, pageSize int) syncMeasure {
	ctx := context.Background()
	db := dbtest.New(b)
	seedTutorialBench(b, db, sizes)
	sim.SetFaults(admsim.Faults{Latency: latency})
	o := sim.ClientOptions()
	o.RateLimit, o.RateBurst, o.Timeout = rate, 1, time.Minute
	c, err := administrate.New(o)
	if err != nil {
		b.Fatal(err)
	}
	src := admsource.New(c)
	r := &syncer.Runner{Pool: db.Pool, Source: src, Creator: src}
	opts := syncer.Options{NoPrompt: true, PageSize: pageSize}
	m := syncMeasure{latency: latency, rate: rate}

	sim.ResetRequests()
	start := time.Now()
	m.first, err = r.RunAll(ctx, opts)
	m.wall = time.Since(start)
	if err != nil {
		b.Fatalf("first run at %s: %v", latency, err)
	}
	m.calls = len(sim.Requests())
	sim.ResetRequests()
	start = time.Now()
	m.second, err = r.RunAll(ctx, opts)
	m.rerunWall = time.Since(start)
	if err != nil {
		b.Fatalf("second run at %s: %v", latency, err)
	}
	m.rerunCalls = len(sim.Requests())
	if m.second.RowsApplied != 0 {
		b.Errorf("the second run at %s applied %d rows, want 0", latency, m.second.RowsApplied)
	}
	if m.first.Totals.Created < sizes.templates*4 {
		b.Errorf("first run at %s created only %d rows: %+v", latency, m.first.Totals.Created, m.first.Totals)
	}
	return m
}

type benchSizes struct{ templates, locations, venues, instructors, admins int }

func benchSeed(s benchSizes) admsim.Seed {
	seed := admsim.Seed{CustomFields: map[string][]admsim.CustomFieldSeed{}}
	seed.Currencies = []admsim.CurrencySeed{{ID: "Currency:1", Code: "GBP"}}
	cf := 0
	for _, et := range syncer.EntityTypes {
		for _, label := range []string{"Sitting", "URL"} {
			cf++
			seed.CustomFields[et] = append(seed.CustomFields[et], admsim.CustomFieldSeed{ID: fmt.Sprintf("CustomFieldDefinition:%d", cf), Label: label, Type: "text"})
		}
	}
	ctDef := seed.CustomFields["CourseTemplate"][0].ID
	levels := []string{"Normal", "Retaker", "Additional"}
	for i, l := range levels {
		seed.PriceLevels = append(seed.PriceLevels, admsim.PriceLevelSeed{ID: fmt.Sprintf("PriceLevel:%d", i+1), Name: l})
	}
	for i := 1; i <= s.locations; i++ {
		seed.Locations = append(seed.Locations, admsim.LocationSeed{ID: fmt.Sprintf("Location:%d", i), Name: fmt.Sprintf("Location %05d", i)})
	}
	for i := 1; i <= s.venues; i++ {
		loc := (i-1)%s.locations + 1
		seed.Venues = append(seed.Venues, admsim.VenueSeed{ID: fmt.Sprintf("Venue:%d", i), Name: fmt.Sprintf("Room %05d", i),
			Location: fmt.Sprintf("Location:%d", loc)})
	}
	for i := 1; i <= s.instructors; i++ {
		seed.Contacts = append(seed.Contacts, admsim.ContactSeed{ID: fmt.Sprintf("Contact:%d", i), FirstName: fmt.Sprintf("First%05d", i),
			LastName: fmt.Sprintf("Last%05d", i), Instructor: true})
	}
	for i := 1; i <= s.admins; i++ {
		seed.Contacts = append(seed.Contacts, admsim.ContactSeed{ID: fmt.Sprintf("Contact:%d", s.instructors+i), FirstName: "Admin",
			LastName: fmt.Sprintf("Person%04d", i), Admin: true})
	}
	for i := 1; i <= s.templates; i++ {
		ct := admsim.CourseTemplateSeed{ID: fmt.Sprintf("CourseTemplate:%d", i), Code: fmt.Sprintf("CT%05d", i), Title: fmt.Sprintf("Template %d", i),
			ApprovedInstructors: []string{fmt.Sprintf("Contact:%d", (i-1)%s.instructors+1), fmt.Sprintf("Contact:%d", i%s.instructors+1)},
			CustomFieldValues:   []admsim.CustomFieldValueSeed{{Definition: ctDef, Value: strconv.Itoa(i % 7)}}}
		for j := range levels {
			ct.Prices = append(ct.Prices, admsim.PriceSeed{PriceLevel: fmt.Sprintf("PriceLevel:%d", j+1), Currency: "Currency:1",
				Amount: fmt.Sprintf("%d.%02d", 100+i%500, j*25)})
		}
		seed.CourseTemplates = append(seed.CourseTemplates, ct)
	}
	return seed
}

// seedTutorialBench writes the matching tutorial records with set-based SQL.
func seedTutorialBench(b *testing.B, db *dbtest.DB, s benchSizes) {
	ctx := context.Background()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO acted.tutorial_locations (id, name) SELECT i, 'Location ' || lpad(i::text, 5, '0') FROM generate_series(1, $1) i`, []any{s.locations}},
		{`INSERT INTO acted.tutorial_venues (name, location_id) SELECT 'Room ' || lpad(i::text, 5, '0'), (i - 1) % $2 + 1 FROM generate_series(1, $1) i`, []any{s.venues, s.locations}},
		{`INSERT INTO public.auth_user (id, username, first_name, last_name) SELECT i, 'user' || i, 'First' || lpad(i::text, 5, '0'), 'Last' || lpad(i::text, 5, '0') FROM generate_series(1, $1) i`, []any{s.instructors}},
		{`INSERT INTO acted.staff (id, user_id) SELECT i, i FROM generate_series(1, $1) i`, []any{s.instructors}},
		{`INSERT INTO acted.tutorial_instructors (staff_id) SELECT i FROM generate_series(1, $1) i`, []any{s.instructors}},
		{`INSERT INTO acted.tutorial_course_templates (code, title) SELECT 'CT' || lpad(i::text, 5, '0'), 'Template ' || i FROM generate_series(1, $1) i`, []any{s.templates}},
	} {
		if _, err := db.Pool.Exec(ctx, q.sql, q.args...); err != nil {
			b.Fatalf("seed tutorial tables: %v", err)
		}
	}
}

func envFloat(b *testing.B, name string, def float64) float64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return f
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		b.Fatalf("%s=%q: want a duration such as 20ms", name, v)
	}
	return d
}
