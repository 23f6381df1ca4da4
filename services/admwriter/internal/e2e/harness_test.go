// Package e2e tests the admwriter end to end with real parts only: a cloned
// PostgreSQL database, an embedded nats-server, and the Administrate
// simulator over HTTP, driving the consumer the binary runs
// (writer.NewConsumer under service.Serve).
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
	"admsync/pkg/database/dbtest"
	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/outbox"
	"admsync/pkg/sampledata"
	"admsync/pkg/service"
	"admsync/pkg/testwait"
	"admsync/services/admwriter/internal/breaker"
	"admsync/services/admwriter/internal/failpoint"
	"admsync/services/admwriter/internal/writer"
)

// bundle is one test's world.
type bundle struct {
	t        testing.TB
	ctx      context.Context
	db       *dbtest.DB
	nats     *natstest.Server
	nc       *nats.Conn
	js       jetstream.JetStream
	sim      *admsimtest.Server
	ref      *sampledata.ReferenceData
	ids      *sampledata.IDs
	runID    int64
	spec     messaging.ConsumerSpec
	registry *prometheus.Registry

	mu       sync.Mutex
	breakers []string // breaker transitions, "from>to"
}

func testLogger() *slog.Logger {
	if os.Getenv("ADMWRITER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testConsumer is the production consumer with test-sized timers.
func testConsumer(ackWait time.Duration, maxDeliver int) messaging.ConsumerSpec {
	spec := messaging.AdmWriterConsumer()
	spec.Config.AckWait = ackWait
	spec.Config.BackOff = []time.Duration{ackWait}
	spec.Config.MaxDeliver = maxDeliver
	spec.RetryBackoff = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	return spec
}

func setup(t testing.TB, simOpts ...admsimtest.Option) *bundle {
	t.Helper()
	return setupWith(t, nil, simOpts...)
}

// setupWith lets a test change the reference data before it is seeded.
func setupWith(t testing.TB, change func(*sampledata.ReferenceData), simOpts ...admsimtest.Option) *bundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	b := &bundle{t: t, ctx: ctx, spec: testConsumer(2*time.Second, 5), registry: prometheus.NewRegistry()}
	b.db = dbtest.New(t)
	b.nats = natstest.Start(t)
	b.nc, b.js = natstest.Connect(t, b.nats)
	b.sim = admsimtest.Start(t, simOpts...)
	b.ref = sampledata.Reference(sampledata.Options{Seed: 7})
	if change != nil {
		change(b.ref)
	}
	var err error
	if b.ids, err = sampledata.Seed(ctx, b.db.Pool, b.ref); err != nil {
		t.Fatal(err)
	}
	if err := admsimtest.SeedReference(b.sim.Server, b.ref); err != nil {
		t.Fatal(err)
	}
	if err := b.db.Pool.QueryRow(ctx, `INSERT INTO admsync.import_runs (file_name, file_sha256) VALUES ('e2e.xlsx', 'x') RETURNING id`).Scan(&b.runID); err != nil {
		t.Fatal(err)
	}
	return b
}

// template returns the n-th course template of a learning mode.
func (b *bundle) template(mode string, n int) sampledata.CourseTemplate {
	for _, ct := range b.ref.CourseTemplates {
		if ct.LearningMode == mode {
			if n == 0 {
				return ct
			}
			n--
		}
	}
	b.t.Fatalf("no %s course template", mode)
	return sampledata.CourseTemplate{}
}

// eventSpec describes one imported event to seed.
type eventSpec struct {
	Template   sampledata.CourseTemplate
	Title      string
	Zone       string
	Location   string // tutorial location name
	Venue      string // "" for none
	FirstDay   time.Time
	Admins     []string
	WebSale    bool
	EventURL   string
	Days       int    // sessions (blended/classroom); 0 = template's count
	Instructor string // full name; default: the template's first approved
}

// seedEvent writes what the importer writes for one accepted event: the
// tutorial event, its sessions (Day = sequence, instants in the event's
// zone), session instructors and the import_events row.
func (b *bundle) seedEvent(s eventSpec) int64 {
	t, ctx, pool := b.t, b.ctx, b.db.Pool
	t.Helper()
	if s.Zone == "" {
		s.Zone = "Europe/London"
	}
	loc, err := time.LoadLocation(s.Zone)
	if err != nil {
		t.Fatal(err)
	}
	if s.FirstDay.IsZero() {
		s.FirstDay = time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)
	}
	wall := func(day time.Time, h, m int) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, time.UTC)
	}
	inZone := func(w time.Time) time.Time {
		return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), 0, 0, loc)
	}
	days := s.Days
	if days == 0 {
		days = s.Template.Sessions
	}
	subj, variation := sampledata.CodeParts(s.Template.Code)
	product := b.ids.Products[fmt.Sprintf("%s/%s/%s", subj, variation, "2026A")]
	var locID, venID *int64
	if s.Location != "" {
		id := b.ids.Locations[s.Location]
		locID = &id
	}
	if s.Venue != "" {
		id := b.ids.Venues[sampledata.VenueKey(s.Location, s.Venue)]
		venID = &id
	}
	lastDay := s.FirstDay.AddDate(0, 0, max(days-1, 0))
	var ev int64
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO acted.tutorial_events (code, venue_id, location_id, start_date, end_date, product_id, remain_space, finalisation_date)
			VALUES ($1, $2, $3, $4, $5, $6, 12, $7) RETURNING id`,
			s.Title, venID, locID, s.FirstDay, lastDay, product, s.FirstDay.AddDate(0, 0, -30)).Scan(&ev); err != nil {
			return err
		}
		mode := s.Template.LearningMode
		var cStart, cEnd *time.Time
		if mode != sampledata.LMS {
			a, z := wall(s.FirstDay, 9, 30), wall(lastDay, 17, 0)
			cStart, cEnd = &a, &z
		}
		lStart, lEnd := wall(s.FirstDay.AddDate(0, -6, 0), 16, 0), wall(lastDay.AddDate(0, 0, 10), 0, 0)
		var lS, lE *time.Time
		if mode != sampledata.Classroom {
			lS, lE = &lStart, &lEnd
		}
		var ocr *string
		if mode == sampledata.LMS {
			o := subj + " OC"
			ocr = &o
		}
		var url *string
		if s.EventURL != "" {
			url = &s.EventURL
		}
		fin := s.FirstDay.AddDate(0, 0, -30)
		var finPtr *time.Time
		if mode != sampledata.LMS {
			finPtr = &fin
		}
		var maxPlaces *int
		if mode != sampledata.LMS {
			m := 12
			maxPlaces = &m
		}
		if s.Admins == nil {
			s.Admins = []string{}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO admsync.import_events (tutorial_event_id, import_run_id, excel_row, natural_key,
				course_template_code, title, learning_mode, time_zone, classroom_start, classroom_end, lms_start, lms_end,
				max_places, sitting, web_sale, event_url, ocr_moodle_code, finalisation_date, administrator_ids)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, '2026A', $14, $15, $16, $17, $18)`,
			ev, b.runID, 4+ev, s.Template.Code+"|"+s.Title, s.Template.Code, s.Title, mode, s.Zone,
			cStart, cEnd, lS, lE, maxPlaces, s.WebSale, url, ocr, finPtr, s.Admins); err != nil {
			return err
		}
		if mode == sampledata.LMS {
			return nil
		}
		instructor := s.Instructor
		if instructor == "" && len(s.Template.Approved) > 0 {
			instructor = s.Template.Approved[0]
		}
		for d := 1; d <= days; d++ {
			day := s.FirstDay.AddDate(0, 0, d-1)
			var sid int64
			if err := tx.QueryRow(ctx, `INSERT INTO acted.tutorial_sessions (tutorial_event_id, title, venue_id, location_id, start_date, end_date, sequence, url)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
				ev, fmt.Sprintf("%s-%d", s.Title, d), venID, locID, inZone(wall(day, 9, 30)), inZone(wall(day, 17, 0)), d,
				fmt.Sprintf("https://example.test/%s/%d", s.Title, d)).Scan(&sid); err != nil {
				return err
			}
			if instructor != "" {
				if _, err := tx.Exec(ctx, `INSERT INTO acted.tutorial_session_instructors (tutorialsessions_id, tutorialinstructor_id) VALUES ($1, $2)`,
					sid, b.ids.Instructors[instructor]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed event %s: %v", s.Title, err)
	}
	return ev
}

// enqueue stages tutorial.event.created for each event in the outbox (as
// the importer does) and flushes it to JetStream with the outbox relay.
func (b *bundle) enqueue(events ...int64) {
	b.t.Helper()
	b.ensureStreams()
	err := pgx.BeginFunc(b.ctx, b.db.Pool, func(tx pgx.Tx) error {
		for _, ev := range events {
			if err := outbox.Enqueue(b.ctx, tx, messaging.SubjectTutorialEventCreated, uuid.New(),
				writer.Payload{TutorialEventID: ev, ImportRunID: b.runID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.t.Fatal(err)
	}
	relayFlush(b.t, b)
}

// ensureStreams declares the streams only: the consumer's test settings
// belong to service.Serve.
func (b *bundle) ensureStreams() {
	b.t.Helper()
	topo := messaging.DefaultTopology().Only(messaging.StreamTutorialEvents, messaging.StreamAdmResults, messaging.StreamDLQ)
	topo.Consumers = nil
	if err := topo.Ensure(b.ctx, b.js); err != nil {
		b.t.Fatal(err)
	}
}

func withLatency(d time.Duration) admsimtest.Option {
	return admsimtest.WithFaults(admsim.Faults{Latency: d})
}

// templateWithSessions returns a template of mode with exactly n sessions.
func (b *bundle) templateWithSessions(mode string, n int) sampledata.CourseTemplate {
	for _, ct := range b.ref.CourseTemplates {
		if ct.LearningMode == mode && ct.Sessions == n {
			return ct
		}
	}
	b.t.Fatalf("no %s course template with %d sessions", mode, n)
	return sampledata.CourseTemplate{}
}

// publishDeadLetterCopy puts a copy of dl back into the DLQ, as a second
// failure of the same event would.
func (b *bundle) publishDeadLetterCopy(dl messaging.DeadLetter) {
	b.t.Helper()
	h := nats.Header{}
	for k, v := range dl.Header {
		if !strings.HasPrefix(k, "Nats-") { // the direct-get response headers of the original
			h[k] = v
		}
	}
	if _, err := b.js.PublishMsg(b.ctx, &nats.Msg{Subject: dl.Subject, Header: h, Data: dl.Payload}, jetstream.WithMsgID(uuid.NewString())); err != nil {
		b.t.Fatal(err)
	}
}

// relayFlush publishes what the outbox holds.
func relayFlush(t testing.TB, b *bundle) {
	t.Helper()
	relay, err := outbox.NewRelay(b.db.Pool, b.js, outbox.RelayOptions{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	// A row becomes eligible once every older transaction in the cluster has
	// ended (parallel tests hold some), so flush until none is left.
	testwait.For(b.t, "the outbox to drain", func() bool {
		if _, err := relay.Flush(b.ctx); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM admsync.outbox WHERE published_at IS NULL`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		return left == 0
	})
}

// publish sends a message straight to the stream (msgID must be fresh).
func (b *bundle) publish(ev int64, msgID string) {
	b.t.Helper()
	b.ensureStreams()
	data, _ := json.Marshal(writer.Payload{TutorialEventID: ev, ImportRunID: b.runID})
	if _, err := b.js.Publish(b.ctx, messaging.SubjectTutorialEventCreated, data, jetstream.WithMsgID(msgID)); err != nil {
		b.t.Fatal(err)
	}
}

type runOpts struct {
	workers   int
	failpoint failpoint.Func
	breaker   breaker.Config
	client    func(*administrate.Options)
	logger    *slog.Logger // default the service environment's
}

// start runs the admwriter consumer until the test ends (or stop is called).
func (b *bundle) start(o runOpts) (stop func()) {
	b.t.Helper()
	copts := b.sim.ClientOptions()
	if o.client != nil {
		o.client(&copts)
	}
	c, err := administrate.New(copts)
	if err != nil {
		b.t.Fatal(err)
	}
	if o.breaker.Threshold == 0 {
		o.breaker = breaker.Config{Threshold: 3, Cooldown: 100 * time.Millisecond, MaxCooldown: 500 * time.Millisecond}
	}
	o.breaker.OnChange = func(from, to breaker.State) {
		b.mu.Lock()
		b.breakers = append(b.breakers, from.String()+">"+to.String())
		b.mu.Unlock()
	}
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan error, 1)
	// A restarted consumer is a new process: new metrics.
	env := b.env()
	if o.logger != nil {
		env.Logger = o.logger
	}
	b.registry = env.Registry
	consumer := writer.NewConsumer(writer.Config{
		Pool: b.db.Pool, JS: b.js, API: writer.NewClient(c), Logger: env.Logger, Registry: env.Registry,
		Workers: o.workers, Breaker: o.breaker, Failpoint: o.failpoint,
	}, b.spec)
	consumer.FetchWait, consumer.DrainTimeout, consumer.MonitorInterval = 200*time.Millisecond, 5*time.Second, 200*time.Millisecond
	go func() { done <- env.Serve(ctx, service.Service{Consumer: consumer}) }()
	// Ready, as /readyz says, once the consumer exists on the server.
	ready := func() bool {
		_, err := b.js.Consumer(b.ctx, b.spec.Stream, b.spec.Durable())
		return err == nil
	}
	for !ready() {
		select {
		case err := <-done:
			b.t.Fatalf("serve: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				b.t.Errorf("serve: %v", err)
			}
			env.Close()
		})
	}
	b.t.Cleanup(stop)
	return stop
}

// states counts adm.events rows by state.
func (b *bundle) states() map[string]int {
	rows, err := b.db.Pool.Query(b.ctx, `SELECT state, count(*) FROM adm.events GROUP BY 1`)
	if err != nil {
		b.t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			b.t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

func (b *bundle) waitState(state string, n int) {
	b.t.Helper()
	testwait.For(b.t, fmt.Sprintf("%d event(s) %s", n, state), func() bool { return b.states()[state] >= n })
}

// bridge returns an event's external id and state.
func (b *bundle) bridge(ev int64) (ext, state string) {
	var e *string
	if err := b.db.Pool.QueryRow(b.ctx, `SELECT external_id, state FROM adm.events WHERE tutorial_event_id = $1`, ev).Scan(&e, &state); err != nil {
		b.t.Fatalf("bridge of %d: %v", ev, err)
	}
	if e != nil {
		ext = *e
	}
	return ext, state
}

// deadLetters lists the DLQ (none if the stream has none).
func (b *bundle) deadLetters() []messaging.DeadLetter {
	dls, err := messaging.NewDLQ(b.js).List(b.ctx, messaging.ListOptions{OriginalSubject: messaging.SubjectTutorialEventCreated})
	if err != nil {
		b.t.Fatal(err)
	}
	return dls
}

// calls counts recorded simulator calls by operation name: a batched request
// counts each of its fields' operations.
func (b *bundle) calls() map[string]int {
	out := map[string]int{}
	for _, r := range b.sim.Requests() {
		for _, op := range r.Operations() {
			out[op]++
		}
	}
	return out
}

// results reads every message on ADM_RESULTS.
func (b *bundle) results(subject string) []map[string]any {
	b.t.Helper()
	s, err := b.js.Stream(b.ctx, messaging.StreamAdmResults)
	if err != nil {
		b.t.Fatal(err)
	}
	var out []map[string]any
	for seq := uint64(1); ; seq++ {
		raw, err := s.GetMsg(b.ctx, seq, jetstream.WithGetMsgSubject(subject))
		if err != nil {
			break
		}
		var m map[string]any
		_ = json.Unmarshal(raw.Data, &m)
		out = append(out, m)
		seq = raw.Sequence
	}
	return out
}

func (b *bundle) breakerHistory() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.breakers...)
}

// eventsTitled returns the simulator's events with this title.
// oneEvent is the one event titled title in Administrate; the test stops
// when there is not exactly one.
func (b *bundle) oneEvent(title string) admsim.EventView {
	b.t.Helper()
	evs := b.eventsTitled(title)
	if len(evs) != 1 {
		b.t.Fatalf("%d events titled %s in Administrate, want 1", len(evs), title)
	}
	return evs[0]
}

// createdOnce checks that tutorial event ev was created once: one event
// titled title in Administrate, one create sent, and ev's bridge on it.
func (b *bundle) createdOnce(ev int64, title string) {
	b.t.Helper()
	created := b.oneEvent(title)
	if got := b.calls()["CreateBlendedEvent"]; got != 1 {
		b.t.Errorf("CreateBlendedEvent calls = %d, want 1", got)
	}
	if ext, _ := b.bridge(ev); ext != created.ID {
		b.t.Errorf("bridge %s does not point at the created event %s", ext, created.ID)
	}
}

// noDeadLetters fails the test if the DLQ holds a message.
func (b *bundle) noDeadLetters() {
	b.t.Helper()
	if dls := b.deadLetters(); len(dls) != 0 {
		b.t.Errorf("%d dead letters: %+v", len(dls), dls)
	}
}

func (b *bundle) eventsTitled(title string) []admsim.EventView {
	var out []admsim.EventView
	for _, e := range b.sim.Events() {
		if e.Title == title {
			out = append(out, e)
		}
	}
	return out
}
