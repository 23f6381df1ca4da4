package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
	"admsync/pkg/config"
	"admsync/pkg/database/dbtest"
	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/metricstest"
	"admsync/pkg/service"
	"admsync/pkg/testwait"
	"admsync/services/syncer/internal/cli"
)

const (
	hookToken  = "tok-0123456789abcdef0123456789"
	hookSecret = "s3cret-webhook-value"
)

// A change made in Administrate (publish, sell out, move a session, change its
// staff, cancel) reaches the tutorial tables through the webhook intake of a
// running `syncer serve`; a repeated or out-of-order delivery changes nothing;
// a wrong token or secret is refused and counted.
func TestWebhooksBringAdministrateChangesBack(t *testing.T) {
	t.Parallel()
	sim := admsimtest.Start(t, admsimtest.WithOptions(func(o *admsim.Options) {
		o.WebhookRetryDelays = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	}))
	w := &world{t: t, db: dbtest.New(t), sim: sim}
	ns := natstest.Start(t)
	addr := testwait.FreeAddr(t)
	w.env = map[string]string{
		"DATABASE_URL": w.db.URL, "ADMINISTRATE_API_URL": sim.APIURL, "ADMINISTRATE_TOKEN_URL": sim.TokenURL,
		"ADMINISTRATE_CLIENT_ID": sim.ClientID, "ADMINISTRATE_CLIENT_SECRET": sim.ClientSecret,
		"ADMINISTRATE_RATE_LIMIT": "1000", "METRICS_ADDR": "", "LOG_LEVEL": "warn", "LOG_FORMAT": "text",
		"NATS_URL": ns.URL(), "WEBHOOK_ADDR": addr, "WEBHOOK_ROUTE_TOKEN": hookToken, "WEBHOOK_SECRET": hookSecret,
	}
	ctx := context.Background()
	db := w.db.Pool
	q := func(sql string, args ...any) string {
		t.Helper()
		var s *string
		if err := db.QueryRow(ctx, sql, args...).Scan(&s); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if s == nil {
			return "<nil>"
		}
		return *s
	}
	id := func(sql string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := db.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}

	// Reference data on both sides, synced; one event linked as the admwriter leaves it.
	london, leeds := sim.Location("London"), sim.Location("Leeds")
	hall, annex := sim.Venue("Hall", london), sim.Venue("Annex", leeds)
	ada, bob := sim.Instructor("Ada", "Lovelace"), sim.Instructor("Bob", "Babbage")
	sim.CustomField("Event", "Web sale")
	tLondon := id(`INSERT INTO acted.tutorial_locations (name) VALUES ('London') RETURNING id`)
	tLeeds := id(`INSERT INTO acted.tutorial_locations (name) VALUES ('Leeds') RETURNING id`)
	tHall := id(`INSERT INTO acted.tutorial_venues (name, location_id) VALUES ('Hall', $1) RETURNING id`, tLondon)
	tAnnex := id(`INSERT INTO acted.tutorial_venues (name, location_id) VALUES ('Annex', $1) RETURNING id`, tLeeds)
	var tAda, tBob int64
	for i, n := range [][2]string{{"Ada", "Lovelace"}, {"Bob", "Babbage"}} {
		u := id(`INSERT INTO public.auth_user (username, first_name, last_name) VALUES ($1, $2, $3) RETURNING id`, n[0], n[0], n[1])
		s := id(`INSERT INTO acted.staff (user_id) VALUES ($1) RETURNING id`, u)
		ti := id(`INSERT INTO acted.tutorial_instructors (staff_id) VALUES ($1) RETURNING id`, s)
		if i == 0 {
			tAda = ti
		} else {
			tBob = ti
		}
	}
	for _, st := range []string{"custom-fields", "locations", "venues", "instructors"} {
		if code := w.exec("run", st, "--no-prompt"); code != 0 {
			t.Fatalf("run %s: exit %d\n%s", st, code, w.output())
		}
	}
	evID := sim.SeedEvent(admsim.EventSeed{Title: "CB1-01-26A", Location: london, Venue: hall, MaxPlaces: 20,
		Sessions: []admsim.SessionSeed{
			{Title: "CB1-01-26A-1", Location: london, Venue: hall, Staff: []admsim.StaffSeed{{Contact: ada, StaffType: "instructor"}}},
			{Title: "CB1-01-26A-2", Location: london, Venue: hall, Staff: []admsim.StaffSeed{{Contact: ada, StaffType: "instructor"}}},
		}})
	sessions := sim.Sessions(evID)
	product := id(`INSERT INTO acted.products (product_code, subject_code, sitting, variation_code) VALUES ('CB1/26A', 'CB1', '26A', 'F2F') RETURNING id`)
	tut := id(`INSERT INTO acted.tutorial_events (code, venue_id, location_id, remain_space, start_date, end_date, product_id)
		VALUES ('CB1-01-26A', $1, $2, 20, '2026-09-01', '2026-09-02', $3) RETURNING id`, tHall, tLondon, product)
	bridge := id(`INSERT INTO adm.events (external_id, tutorial_event_id, state) VALUES ($1, $2, 'done') RETURNING id`, evID, tut)
	var tSess []int64
	for i, s := range sessions {
		ts := id(`INSERT INTO acted.tutorial_sessions (tutorial_event_id, title, venue_id, location_id, start_date, end_date, sequence)
			VALUES ($1, $2, $3, $4, '2026-09-01 09:00', '2026-09-01 17:00', $5) RETURNING id`, tut, s.Title, tHall, tLondon, i+1)
		if _, err := db.Exec(ctx, `INSERT INTO acted.tutorial_session_instructors (tutorialsessions_id, tutorialinstructor_id) VALUES ($1, $2)`, ts, tAda); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO adm.sessions (event_id, external_id, tutorial_session_id, day_number) VALUES ($1, $2, $3, $4)`, bridge, s.ID, ts, i+1); err != nil {
			t.Fatal(err)
		}
		tSess = append(tSess, ts)
	}
	if code := w.exec("run", "events", "--sitting", "26A", "--no-prompt"); code != 0 {
		t.Fatalf("run events: exit %d\n%s", code, w.output())
	}

	// syncer serve, logging to its own buffer.
	var serveLog testwait.Buffer
	reg := make(chan *prometheus.Registry, 1)
	deps := w.deps()
	deps.Stdout, deps.Stderr = &serveLog, &serveLog
	deps.Env = func() (*service.Env, error) {
		cfg, err := config.LoadWith(config.MapLookuper(w.env))
		if err != nil {
			return nil, err
		}
		e := service.SetupWith("syncer", cfg, &serveLog)
		reg <- e.Registry
		return e, nil
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cli.Execute(sctx, []string{"serve"}, deps) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("serve returned %v\n%s", err, serveLog.String())
			}
		case <-time.After(40 * time.Second):
			t.Error("serve did not stop")
		}
	})
	registry := <-reg
	_, js := natstest.Connect(t, ns)
	base := "http://" + addr
	testwait.For(t, "the webhook consumer and intake", func() bool {
		if _, err := js.Consumer(ctx, messaging.StreamWebhooks, messaging.ConsumerSyncerWebhooks); err != nil {
			return false
		}
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})

	if code := w.exec("webhooks", "register", "--public-url", base); code != 0 || strings.Count(w.stdout.String(), "created") != 7 {
		t.Fatalf("register: exit %d\n%s", code, w.output())
	}
	if code := w.exec("webhooks", "register", "--public-url", base); code != 0 || strings.Count(w.stdout.String(), "unchanged") != 7 {
		t.Fatalf("register again: exit %d\n%s", code, w.output())
	}
	if code := w.exec("webhooks", "list"); code != 0 || strings.Contains(w.stdout.String(), hookToken) || !strings.Contains(w.stdout.String(), "<WEBHOOK_ROUTE_TOKEN>") {
		t.Fatalf("list: exit %d (the route token must not be shown)\n%s", code, w.output())
	}

	change := func(kind, id string, v any) {
		t.Helper()
		b, _ := json.Marshal(v)
		var err error
		if kind == "event" {
			err = sim.ChangeEvent(id, b)
		} else {
			err = sim.ChangeSession(id, b)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	wait := func(what, sql, want string, args ...any) {
		t.Helper()
		testwait.For(t, what, func() bool { return q(sql, args...) == want })
	}
	change("event", evID, map[string]any{"lifecycleState": "published"})
	wait("published", `SELECT adm_lifecycle_state FROM adm.events WHERE id = $1`, "published", bridge)
	change("event", evID, map[string]any{"isSoldOut": true})
	wait("sold out", `SELECT is_soldout::text || '/' || remain_space FROM acted.tutorial_events WHERE id = $1`, "true/0", tut)
	change("session", sessions[1].ID, map[string]any{"locationId": leeds, "venueId": annex})
	wait("session moved", `SELECT venue_id || '/' || location_id FROM acted.tutorial_sessions WHERE id = $1`, fmt.Sprintf("%d/%d", tAnnex, tLeeds), tSess[1])
	change("session", sessions[1].ID, map[string]any{"instructors": []string{bob}})
	wait("staff changed", `SELECT string_agg(tutorialinstructor_id::text, ',') FROM acted.tutorial_session_instructors WHERE tutorialsessions_id = $1`, fmt.Sprint(tBob), tSess[1])
	change("event", evID, map[string]any{"lifecycleState": "cancelled"})
	wait("cancelled", `SELECT adm_lifecycle_state || '/' || (adm_cancelled_at IS NOT NULL)::text FROM adm.events WHERE id = $1`, "cancelled/true", bridge)
	testwait.For(t, "every delivery answered", func() bool {
		ds := sim.WebhookDeliveries()
		for _, d := range ds {
			if d.Status != http.StatusOK {
				return false
			}
		}
		return len(ds) >= 5
	})

	post := func(path string, body []byte) int {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	snapshot := func() string {
		return q(`SELECT row_to_json(x)::text FROM (SELECT e.is_soldout, e.remain_space, e.venue_id, b.adm_lifecycle_state,
			(SELECT array_agg(s.venue_id ORDER BY s.id) FROM acted.tutorial_sessions s WHERE s.tutorial_event_id = e.id) sv,
			(SELECT array_agg(si.tutorialinstructor_id ORDER BY si.id) FROM acted.tutorial_session_instructors si
				JOIN acted.tutorial_sessions s ON s.id = si.tutorialsessions_id WHERE s.tutorial_event_id = e.id) si
			FROM acted.tutorial_events e JOIN adm.events b ON b.tutorial_event_id = e.id WHERE e.id = $1) x`, tut)
	}
	applied := func() string { return q(`SELECT count(*)::text FROM admsync.webhook_deliveries`) }
	before, appliedBefore := snapshot(), applied()

	// Repeated: the last delivery again, exactly as Administrate retries it.
	ds := sim.WebhookDeliveries()
	last := ds[len(ds)-1].Body
	if code := post(webhookPath(hookToken), last); code != http.StatusOK {
		t.Fatalf("repeated delivery: %d", code)
	}
	// Out of order: the first (publish) delivery re-sent with an older trigger time.
	var old map[string]any
	if err := json.Unmarshal(ds[0].Body, &old); err != nil {
		t.Fatal(err)
	}
	old["metadata"].(map[string]any)["triggered_at"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	oldBody, _ := json.Marshal(old)
	if code := post(webhookPath(hookToken), oldBody); code != http.StatusOK {
		t.Fatalf("out-of-order delivery: %d", code)
	}
	testwait.For(t, "the out-of-order delivery applied", func() bool {
		n, _ := json.Number(applied()).Int64()
		m, _ := json.Number(appliedBefore).Int64()
		return n == m+1
	})
	if after := snapshot(); after != before {
		t.Fatalf("a repeated or out-of-order delivery changed the tutorial rows:\nbefore %s\nafter  %s", before, after)
	}
	if got := q(`SELECT outcome FROM admsync.webhook_deliveries ORDER BY applied_at DESC LIMIT 1`); got != "unchanged" {
		t.Errorf("out-of-order delivery outcome = %s, want unchanged", got)
	}

	// Wrong token, wrong secret: refused and counted; the secret is never logged.
	if code := post(webhookPath("not-the-token-0123456789"), last); code != http.StatusNotFound {
		t.Errorf("wrong token: %d, want 404", code)
	}
	bad := bytes.Replace(last, []byte(hookSecret), []byte("wrong-secret"), 1)
	if code := post(webhookPath(hookToken), bad); code != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d, want 401", code)
	}
	if code := post(webhookPath(hookToken), bytes.Repeat([]byte("x"), 300<<10)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", code)
	}
	counts := received(t, registry)
	if counts["wrong_token"] < 1 || counts["wrong_secret"] != 1 || counts["too_large"] != 1 || counts["duplicate"] != 1 || counts["accepted"] < 6 {
		t.Errorf("admsync_webhook_received_total = %v", counts)
	}
	if strings.Contains(serveLog.String(), hookSecret) || strings.Contains(serveLog.String(), hookToken) {
		t.Errorf("serve logged the webhook secret or route token:\n%s", serveLog.String())
	}
}

func webhookPath(token string) string { return "/webhooks/administrate/" + token }

// received reads admsync_webhook_received_total by outcome.
func received(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, o := range []string{"wrong_token", "wrong_secret", "too_large", "duplicate", "accepted"} {
		out[o] = metricstest.Value(t, reg, "admsync_webhook_received_total", map[string]string{"outcome": o})
	}
	return out
}
