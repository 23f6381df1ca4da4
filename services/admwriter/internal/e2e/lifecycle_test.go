package e2e

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"admsync/pkg/admsim"
	"admsync/pkg/config"
	"admsync/pkg/sampledata"
	"admsync/pkg/service"
	"admsync/services/admwriter/internal/cli"
	"admsync/services/admwriter/internal/lifecycle"
)

// lifecycleEnv is b.env() with the simulator's credentials: the events
// commands read Administrate themselves.
func (b *bundle) lifecycleEnv() *service.Env {
	b.t.Helper()
	cfg, err := config.LoadWith(config.MapLookuper(map[string]string{
		"DATABASE_URL": b.db.URL, "NATS_URL": b.nats.URL(), "METRICS_ADDR": "", "LOG_LEVEL": "error", "LOG_FORMAT": "text",
		"ADMINISTRATE_API_URL": b.sim.APIURL, "ADMINISTRATE_TOKEN_URL": b.sim.TokenURL,
		"ADMINISTRATE_CLIENT_ID": b.sim.ClientID, "ADMINISTRATE_CLIENT_SECRET": b.sim.ClientSecret,
		"ADMINISTRATE_RATE_LIMIT": "200",
	}))
	if err != nil {
		b.t.Fatal(err)
	}
	return service.SetupWith("admwriter", cfg, io.Discard)
}

// events runs `admwriter events …` and returns its output and how many
// Administrate requests it caused (its own reads and the commands' writes).
func (b *bundle) events(args ...string) (string, int) {
	b.t.Helper()
	before := len(b.sim.Requests())
	root := cli.NewRoot(func() (*service.Env, error) { return b.lifecycleEnv(), nil })
	var out strings.Builder
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"events"}, args...))
	if err := root.ExecuteContext(b.ctx); err != nil {
		b.t.Fatalf("admwriter events %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	calls := len(b.sim.Requests()) - before
	b.t.Logf("calls: admwriter events %s: %d Administrate requests", strings.Join(args, " "), calls)
	return out.String(), calls
}

// startCommands runs the commands consumer as admwriter serve does.
func (b *bundle) startCommands() {
	b.t.Helper()
	env := b.lifecycleEnv()
	api, err := env.Administrate()
	if err != nil {
		b.t.Fatal(err)
	}
	h := &lifecycle.Handler{Pool: b.db.Pool, API: api, JS: b.js, Logger: testLogger()}
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx, 2, nil) }()
	b.t.Cleanup(func() { cancel(); <-done; env.Close() })
}

// seedPrices gives every course template two prices (per price level) in the
// bridges, and the tenant the price levels (its one active currency comes with
// admsimtest.SeedReference).
func (b *bundle) seedPrices() map[string][2]string {
	b.t.Helper()
	levels := []string{"Normal", "Retaker"}
	for i, name := range levels {
		id := sampledata.ExternalID("PriceLevel", i+1)
		if _, err := b.sim.AddPriceLevel(admsim.PriceLevelSeed{ID: id, Name: name}); err != nil {
			b.t.Fatal(err)
		}
		b.db.Exec(b.t, `INSERT INTO adm.pricelevels (external_id, name) VALUES ($1, $2)`, id, name)
	}
	want := map[string][2]string{}
	for i, ct := range b.ref.CourseTemplates {
		normal, retaker := fmt.Sprintf("%d.00", 500+i), fmt.Sprintf("%d.50", 300+i)
		want[ct.Code] = [2]string{normal, retaker}
		for j, amount := range []string{normal, retaker} {
			b.db.Exec(b.t, `
INSERT INTO adm.course_template_price_levels (course_template_id, price_level_id, external_id, amount)
SELECT ct.id, pl.id, $3, $4::numeric FROM adm.course_templates ct, adm.pricelevels pl
WHERE ct.code = $1 AND pl.external_id = $2`, ct.Code, sampledata.ExternalID("PriceLevel", j+1),
				fmt.Sprintf("ctp-%d-%d", i, j), amount)
		}
	}
	return want
}

// TestEventLifecycleCommands: on an imported season, prices add gives every
// event its course template's prices; publish, websale on and soldout on
// change exactly the selected events; delete-drafts on a second, mistaken
// import removes only its events; every command run twice changes nothing
// the second time (and sends no write).
func TestEventLifecycleCommands(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prices := b.seedPrices()
	lms0, lms1 := b.template(sampledata.LMS, 0), b.template(sampledata.LMS, 1)
	var season []int64
	for i := range 6 {
		ct := lms0
		if i%2 == 1 {
			ct = lms1
		}
		group := "A"
		if i >= 4 {
			group = "B"
		}
		season = append(season, b.seedEvent(eventSpec{Template: ct, Title: fmt.Sprintf("LC-%s-%d", group, i), Location: "Online"}))
	}
	firstRun := b.runID
	b.start(runOpts{workers: 2})
	b.enqueue(season...)
	b.waitState("done", len(season))
	b.startCommands()
	run := fmt.Sprint(firstRun)

	// prices add: every event gets its template's two prices, once.
	out, _ := b.events("prices", "add", "--import-run", run, "--plan")
	if !strings.Contains(out, "plan: 6 events would change") || len(b.sim.Events()[0].Prices) != 0 {
		t.Fatalf("prices add --plan:\n%s", out)
	}
	out, calls := b.events("prices", "add", "--import-run", run, "--yes")
	if !strings.Contains(out, "prices: 6 changed, 0 unchanged") {
		t.Fatalf("prices add:\n%s", out)
	}
	// Two reads (events, currency), then the 12 prices share requests: one
	// when the six commands arrive together (it was one request per price).
	if calls > 2+4 {
		t.Errorf("prices add for 6 events of 2 prices: %d requests, want at most 6 (2 reads, 4 writes)", calls)
	}
	byTitle := map[string]admsim.EventView{}
	for _, ev := range b.sim.Events() {
		byTitle[ev.Title] = ev
	}
	for _, ev := range b.sim.Events() {
		if len(ev.Prices) != 2 {
			t.Fatalf("%s has %d prices, want 2: %+v", ev.Title, len(ev.Prices), ev.Prices)
		}
		var ct string
		for _, c := range b.ref.CourseTemplates {
			if sampledata.ExternalID("CourseTemplate", templateIndex(b, c.Code)+1) == ev.CourseTemplateID {
				ct = c.Code
			}
		}
		want := prices[ct]
		if ev.Prices[0].Amount != want[0] || ev.Prices[1].Amount != want[1] {
			t.Errorf("%s (template %s) prices %+v, want %v", ev.Title, ct, ev.Prices, want)
		}
	}
	if out, calls := b.events("prices", "add", "--import-run", run, "--yes"); !strings.Contains(out, "nothing to change") || b.sim.CallCount("AddEventPrices") != 12 {
		t.Fatalf("second prices add (%d calls, %d AddEventPrices in all):\n%s", calls, b.sim.CallCount("AddEventPrices"), out)
	}

	// publish, websale, soldout change exactly the selected events, once.
	for _, cmd := range [][]string{
		{"publish", "--code", "LC-A-%"},
		{"websale", "on", "--code", "LC-A-1"},
		{"soldout", "on", "--code", "LC-A-2"},
	} {
		out, calls := b.events(append(cmd, "--yes")...)
		if !strings.Contains(out, "changed, 0 unchanged, 0 refused, 0 failed") {
			t.Fatalf("%v:\n%s", cmd, out)
		}
		if cmd[0] == "publish" && calls > 1+3 {
			t.Errorf("publish of 4 events: %d requests, want at most 4 (a read, the 4 writes sharing requests)", calls)
		}
		writes := b.sim.CallCount("UpdateEventLifecycle")
		out, _ = b.events(append(cmd, "--yes")...)
		if !strings.Contains(out, "nothing to change") || b.sim.CallCount("UpdateEventLifecycle") != writes {
			t.Fatalf("%v a second time:\n%s", cmd, out)
		}
	}
	webKey := sampledata.ExternalID("CustomFieldDefinition", webSaleIndex(b)+1)
	for _, ev := range b.sim.Events() {
		wantPublished := strings.HasPrefix(ev.Title, "LC-A-")
		if (ev.LifecycleState == "published") != wantPublished {
			t.Errorf("%s is %s", ev.Title, ev.LifecycleState)
		}
		if ws := ev.CustomFields[webKey] == "True"; ws != (ev.Title == "LC-A-1") {
			t.Errorf("%s web sale %q", ev.Title, ev.CustomFields[webKey])
		}
		if ev.IsSoldOut != (ev.Title == "LC-A-2") {
			t.Errorf("%s sold out %v", ev.Title, ev.IsSoldOut)
		}
	}
	out, _ = b.events("list", "--sitting", "2026A", "--state", "published")
	if !strings.Contains(out, "4 events") || !strings.Contains(out, "LC-A-1") || strings.Contains(out, "LC-B-4") {
		t.Fatalf("list published:\n%s", out)
	}

	// A second, mistaken import: delete-drafts removes only its events.
	if err := b.db.Pool.QueryRow(b.ctx, `INSERT INTO admsync.import_runs (file_name, file_sha256) VALUES ('mistake.xlsx', 'y') RETURNING id`).Scan(&b.runID); err != nil {
		t.Fatal(err)
	}
	var mistake []int64
	for i := range 3 {
		mistake = append(mistake, b.seedEvent(eventSpec{Template: lms0, Title: fmt.Sprintf("LC-M-%d", i), Location: "Online"}))
	}
	b.enqueue(mistake...)
	b.waitState("done", len(season)+len(mistake))
	out, calls = b.events("delete-drafts", "--import-run", fmt.Sprint(b.runID), "--yes")
	if !strings.Contains(out, "delete: 3 changed") {
		t.Fatalf("delete-drafts:\n%s", out)
	}
	if calls > 1+2+2 { // one read to plan; each event's read and delete shared
		t.Errorf("delete-drafts of 3 events: %d requests, want at most 5", calls)
	}
	if out, _ := b.events("delete-drafts", "--import-run", fmt.Sprint(b.runID), "--yes"); !strings.Contains(out, "nothing to change") {
		t.Fatalf("delete-drafts a second time:\n%s", out)
	}
	// On the season itself only the drafts would go, never the published ones.
	out, _ = b.events("delete-drafts", "--import-run", run, "--plan")
	// Four rows refused (the published events) and the summary counts them.
	if !strings.Contains(out, "plan: 2 events would change, 0 unchanged, 4 refused;") || strings.Count(out, "refused") != 5 {
		t.Fatalf("delete-drafts --plan on the season:\n%s", out)
	}
	if n := len(b.sim.Events()); n != len(season) {
		t.Fatalf("%d events in Administrate, want the season's %d", n, len(season))
	}
	var marked int
	if err := b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM adm.events WHERE deleted_at IS NOT NULL AND state = 'done'`).Scan(&marked); err != nil || marked != 3 {
		t.Fatalf("bridges marked deleted: %d, %v", marked, err)
	}
}

func templateIndex(b *bundle, code string) int {
	for i, c := range b.ref.CourseTemplates {
		if c.Code == code {
			return i
		}
	}
	return -1
}

func webSaleIndex(b *bundle) int {
	for i, cf := range b.ref.CustomFields {
		if cf.EntityType == "Event" && cf.Label == "Web sale" {
			return i
		}
	}
	b.t.Fatal("no Web sale custom field")
	return -1
}
