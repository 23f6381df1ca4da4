// Package chaos is admsync's fault-injection suite (`make chaos`): each
// scenario builds a fresh installation with the test harness (its own
// database, NATS and Administrate simulator, the real service binaries as
// child processes), pushes a workbook through it while injecting one kind of
// fault, heals the fault, waits for the system to recover by itself and
// then applies the end-to-end oracle (docs/architecture.md, "Exactly
// once"): lost (accepted and neither done nor dead-lettered), duplicated
// (extra events at the simulator for one natural key), unexpected (events
// at the simulator that no import explains) and dead letters. Everything
// runs on loopback and every wait is bounded, so a scenario always ends.
// After the count, each scenario plants one duplicate, one unexpected and
// one lost event and checks the oracle sees them, so a pass means
// something.
//
// Besides the named scenarios, `make chaos` runs randomized rounds
// (random.go): each seed generates a workbook of random size whose names
// are respelled in every way pkg/match accepts, with a few invalid events,
// and a random schedule of faults (dropped responses, 5xx, 429, outages,
// kills and pauses of every process, NATS and PostgreSQL restarts); the
// same oracle judges it. A failing round prints its seed.
//
// Run it with `make chaos`; `scripts/chaos.sh --only 'nats|pg' --keep`
// runs a subset and keeps the databases, logs and workbooks (a failed
// scenario keeps its directory anyway; its path is in the progress lines),
// and `scripts/chaos.sh --round SEED` reruns one round.
package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"admsync/pkg/defaults"
)

// Config is shared by every scenario.
type Config struct {
	// BinDir holds syncer, importer and admwriter (make build).
	BinDir string
	// NATSBin is the test/cmd/natsd binary, for the hard kill of the broker.
	NATSBin string
	// ServerURL is the PostgreSQL server on which each scenario creates (and
	// drops) its own database.
	ServerURL string
	// PrivatePGURL is a throw-away PostgreSQL cluster that the caller started
	// for this run, and PGRestart the command that restarts it with
	// `-m immediate`. Without both the PostgreSQL restart scenario is
	// skipped: it must never touch a shared cluster.
	PrivatePGURL string
	PGRestart    []string
	// Rate is ADMINISTRATE_RATE_LIMIT for the services (requests/s).
	Rate float64
	// Events scales the scenarios: most write this many events.
	Events int
	// Outage is how long Administrate is down in the outage scenario.
	Outage time.Duration
	// Pause is how long one admwriter is stopped in the pause scenario; it
	// must exceed the consumer's AckWait plus the claim lease handling.
	Pause time.Duration
	// Drain bounds the wait for recovery after the faults are healed.
	Drain time.Duration
	// Seed makes the workbooks and the fault timings repeatable.
	Seed uint64
	// Keep leaves each scenario's database and directory for inspection.
	Keep bool
	// Log receives progress lines (nil: discard).
	Log io.Writer
}

func (c *Config) defaults() {
	defaults.Positive(&c.Rate, 50)
	defaults.Positive(&c.Events, 100)
	defaults.Positive(&c.Outage, 2*time.Minute)
	defaults.Positive(&c.Pause, 165*time.Second)
	defaults.Positive(&c.Drain, 4*time.Minute)
	if c.Seed == 0 {
		c.Seed = 8
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// Result is one scenario's row.
type Result struct {
	Name         string
	Events       int // events accepted by imports
	Lost         int // accepted and neither done nor dead-lettered
	Duplicated   int // extra events at the simulator for one natural key
	Unexpected   int // simulator events no import explains
	DeadLettered int // bridges marked failed
	DLQ          uint64
	// ExpectedDLQ and ExpectedFailed are what the poison scenario plants;
	// everywhere else dead letters are a failure.
	ExpectedDLQ    int
	ExpectedFailed int
	// Recovery is from the moment the last fault was healed until every
	// accepted event was done or dead-lettered.
	Recovery time.Duration
	Wall     time.Duration
	Notes    []string
	// Problems are failed scenario-specific checks (e.g. a partial import).
	Problems []string
	Err      error
	Skipped  string
}

// OK reports whether the scenario met every expectation.
func (r *Result) OK() bool {
	if r.Skipped != "" {
		return true
	}
	return r.Err == nil && len(r.Problems) == 0 && r.Lost == 0 && r.Duplicated == 0 && r.Unexpected == 0 &&
		r.DLQ == uint64(r.ExpectedDLQ) && r.DeadLettered == r.ExpectedFailed
}

func (r *Result) notef(format string, a ...any) { r.Notes = append(r.Notes, fmt.Sprintf(format, a...)) }
func (r *Result) problemf(format string, a ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
}

// Scenario is one fault and its expectations.
type Scenario struct {
	Name string
	// What the scenario does, for --list and the log.
	What string
	run  func(ctx context.Context, r *run) error
	// cost is the rough duration in seconds measured here; parallel runs
	// start the longest first so the slots finish together.
	cost int
}

// Scenarios lists every scenario in the order `make chaos` runs them.
func Scenarios() []Scenario {
	return []Scenario{
		{"importer-kill", "kill -9 `importer import` inside its write transaction, file after file; each file all or nothing; re-import", importerKill, 25},
		{"relay-kill", "kill -9 `importer serve` (the outbox relay) 20 times at random 0.2-1 s while imports keep adding outbox rows", relayKill, 35},
		{"admwriter-kill", "kill -9 `admwriter serve` 20 times at random, plus one run each of the failpoints after_create, before_bridge_commit, before_ack", admwriterKill, 180},
		{"admwriter-kill-corrections", "import a season, then its corrections (places, a session time, an instructor); kill -9 the admwriter 6 times while it applies them, plus one run of the failpoint after_change_call; every correction once", admwriterKillCorrections, 120},
		{"admwriter-pause", "SIGSTOP an admwriter about to send a create, past AckWait and its claim lease; a second admwriter takes over; SIGCONT", admwriterPause, 200},
		{"nats-restart", "restart the embedded nats-server (graceful) 3 times while events flow", natsRestart, 30},
		{"nats-kill", "kill -9 nats-server (a child process) 3 times while events flow, restart on the same store", natsKill, 35},
		{"pg-restart", "pg_ctl restart -m immediate of a throw-away PostgreSQL cluster 3 times during imports and writes", pgRestart, 120},
		{"adm-outage", "Administrate answers 503 to everything for minutes mid-run; the breaker must hold the messages", admOutage, 170},
		{"adm-429", "the simulator's rate limit is below the services' rate: sustained 429 + Retry-After", adm429, 65},
		{"nats-leader-loss", "3-node JetStream cluster, R3: kill -9 the node leading TUTORIAL_EVENTS mid-run (imports, writes, a sync request), restart it", natsLeaderLoss, 60},
		{"nats-quorum-loss", "3-node JetStream cluster, R3: kill -9 two nodes; publishes refused, outbox keeps rows, not ready; nodes back, no loss", natsQuorumLoss, 60},
		{"crash-loop", "the syncer is killed -9 on every delivery of a sync request until MaxDeliver: the request lands in the DLQ (\"max deliveries reached without an answer\")", crashLoop, 420},
		{"adm-batch", "batched session writes refused above 4 fields (split) and failing part-way (first k fields applied, then 500 or a dropped connection); every session written once", admBatch, 60},
		{"webhook-burst", "60 changes made in Administrate fire webhooks while the syncer (intake and consumer) and nats-server are killed -9 twice each; every delivery answered 200 applied once, tutorial rows as in Administrate", webhookBurst, 60},
		{"lifecycle-kill", "admwriter killed during each lifecycle command (prices add, websale, soldout, delete-drafts, publish): a failpoint right after Administrate answered, then kill -9 twice; every change made exactly once", lifecycleKill, 150},
		{"poison", "1 % of the events refer to a course template Administrate no longer has, plus malformed messages: exactly those dead-lettered", poison, 40},
	}
}

// Run runs the selected scenarios, parallel at a time, and returns their
// results in scenario order. onDone is called as each one finishes.
func Run(ctx context.Context, cfg Config, selected []Scenario, parallel int, onDone func(*Result)) []*Result {
	cfg.defaults()
	if parallel < 1 {
		parallel = 1
	}
	results := make([]*Result, len(selected))
	order := make([]int, len(selected))
	for i := range order {
		order[i] = i
	}
	if parallel > 1 {
		sort.SliceStable(order, func(a, b int) bool { return selected[order[a]].cost > selected[order[b]].cost })
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, i := range order {
		sc := selected[i]
		sem <- struct{}{}
		if ctx.Err() != nil {
			// Interrupted: start nothing more; the rest have no row.
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res := runOne(ctx, cfg, sc, uint64(i))
			mu.Lock()
			results[i] = res
			if onDone != nil {
				onDone(res)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return results
}

func runOne(ctx context.Context, cfg Config, sc Scenario, n uint64) *Result {
	res := &Result{Name: sc.Name}
	start := time.Now()
	r := &run{
		cfg: cfg, res: res,
		rng: rand.New(rand.NewPCG(cfg.Seed, n)),
		log: newLogger(cfg.Log, sc.Name),
	}
	r.logf("start: %s", sc.What)
	func() {
		defer func() {
			if p := recover(); p != nil {
				res.Err = fmt.Errorf("panic: %v", p)
			}
		}()
		defer r.close()
		if err := sc.run(ctx, r); err != nil {
			res.Err = err
		}
	}()
	res.Wall = time.Since(start)
	r.logf("end after %s: ok=%v", res.Wall.Round(time.Second), res.OK())
	return res
}

// Header is the table's first line.
func Header() string {
	return fmt.Sprintf("%-16s %6s %5s %5s %5s %5s %9s %6s  %s",
		"scenario", "events", "lost", "dup", "unexp", "dlq", "recovery", "result", "notes")
}

// Summary is the table's last line, and whether every scenario passed.
func Summary(results []*Result) (string, bool) {
	ok := true
	n, lost, dup, unexp := 0, 0, 0, 0
	for _, r := range results {
		if r == nil || r.Skipped != "" {
			continue
		}
		n++
		lost += r.Lost
		dup += r.Duplicated
		unexp += r.Unexpected
		if !r.OK() {
			ok = false
		}
	}
	return fmt.Sprintf("chaos: %d scenarios, lost %d, duplicated %d, unexpected %d", n, lost, dup, unexp), ok
}

// Row formats one result as a table row.
func Row(r *Result) string {
	if r.Skipped != "" {
		return fmt.Sprintf("%-16s %6s %5s %5s %5s %5s %9s %6s  %s", r.Name, "-", "-", "-", "-", "-", "-", "skip", r.Skipped)
	}
	verdict := "ok"
	if !r.OK() {
		verdict = "FAIL"
	}
	notes := append([]string{}, r.Notes...)
	if r.Err != nil {
		notes = append(notes, "error: "+r.Err.Error())
	}
	for _, p := range r.Problems {
		notes = append(notes, "PROBLEM: "+p)
	}
	if r.DLQ != uint64(r.ExpectedDLQ) || r.DeadLettered != r.ExpectedFailed {
		notes = append(notes, fmt.Sprintf("dead letters %d (bridges failed %d), expected %d (%d)", r.DLQ, r.DeadLettered, r.ExpectedDLQ, r.ExpectedFailed))
	}
	return fmt.Sprintf("%-16s %6d %5d %5d %5d %5d %8.1fs %6s  %s", r.Name, r.Events, r.Lost, r.Duplicated, r.Unexpected,
		r.DLQ, r.Recovery.Seconds(), verdict, strings.Join(notes, "; "))
}

// logger prefixes a scenario's progress lines with its name and the time
// since the run started, and serialises parallel scenarios' writes.
type logger struct {
	w     io.Writer
	name  string
	start time.Time
}

var logMu sync.Mutex

func newLogger(w io.Writer, name string) *logger { return &logger{w: w, name: name, start: time.Now()} }

func (l *logger) printf(format string, a ...any) {
	logMu.Lock()
	defer logMu.Unlock()
	fmt.Fprintf(l.w, "%6.1fs %-16s %s\n", time.Since(l.start).Seconds(), l.name, fmt.Sprintf(format, a...))
}
