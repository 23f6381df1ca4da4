package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"admsync/pkg/admsim"
	"admsync/pkg/sampledata"
	"admsync/test/harness"
)

// A round is one randomized run: a generated workbook of random size whose
// names are respelled in every way the matcher accepts, with a few invalid
// events, imported in parts while a random schedule of faults hits the
// simulator, the processes, NATS and PostgreSQL. Everything about it comes
// from its seed, so a failing round is rerun alone with
// `scripts/chaos.sh --round SEED`. The oracle is the scenarios' one.

// RoundName is the table name of the round with that seed.
func RoundName(seed uint64) string { return fmt.Sprintf("round-%d", seed) }

// Round returns the round with that seed as a scenario.
func Round(seed uint64) Scenario {
	return Scenario{
		Name: RoundName(seed),
		What: "randomized round: respelled names, invalid rows, random faults",
		run:  func(ctx context.Context, r *run) error { return randomRound(ctx, r, seed) },
		cost: 45,
	}
}

// Rounds returns n rounds with the seeds first, first+1, ...
func Rounds(first uint64, n int) []Scenario {
	out := make([]Scenario, n)
	for i := range out {
		out[i] = Round(first + uint64(i))
	}
	return out
}

// roundPlan is what a seed decides before anything runs.
type roundPlan struct {
	events   int
	writers  int
	parts    int
	invalid  map[string]string // event title → how it was made invalid
	spelled  int
	faults   []string
	killedIn int // import (1-based part) killed mid-transaction, 0 none
	pausedIn int // import (1-based part) stopped mid-transaction for a while
	latency  time.Duration
}

// faultKinds are the faults a round draws from. Each is bounded in time.
var faultKinds = []string{
	"drop", "5xx", "429", "outage", "batch-fail",
	"kill-relay", "kill-admwriter", "pause-admwriter", "pause-relay",
	"kill-syncer", "pause-syncer", "nats-restart", "nats-kill", "pg-restart",
}

func planRound(rng *rand.Rand, pgRestart bool) roundPlan {
	p := roundPlan{
		events:  6 + rng.IntN(25),
		writers: 1 + rng.IntN(2),
		parts:   1 + rng.IntN(3),
		invalid: map[string]string{},
	}
	kinds := slices.Clone(faultKinds)
	if !pgRestart {
		kinds = slices.DeleteFunc(kinds, func(k string) bool { return k == "pg-restart" })
	}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	p.faults = kinds[:1+rng.IntN(3)]
	switch rng.IntN(6) {
	case 0:
		p.killedIn = 1 + rng.IntN(p.parts)
	case 1:
		p.pausedIn = 1 + rng.IntN(p.parts)
	}
	if rng.IntN(3) == 0 {
		p.latency = time.Duration(rng.IntN(30)) * time.Millisecond
	}
	return p
}

func (p roundPlan) has(k string) bool { return slices.Contains(p.faults, k) }

// spoil makes the events at the given indices invalid in one of the ways
// the importer must refuse, and returns title → reason.
func spoil(rng *rand.Rand, b *sampledata.Book, n int) map[string]string {
	out := map[string]string{}
	var starts []int
	for i, row := range b.Rows {
		if row.Get("A").Text != "" {
			starts = append(starts, i)
		}
	}
	rng.Shuffle(len(starts), func(i, j int) { starts[i], starts[j] = starts[j], starts[i] })
	for _, i := range starts[:min(n, len(starts))] {
		row := &b.Rows[i]
		lms := row.Get("D").Text == "Self Paced (LMS)"
		ways := []string{"unknown course template", "unknown location", "unknown time zone"}
		if !lms {
			ways = append(ways, "unknown instructor", "impossible start date")
		}
		way := ways[rng.IntN(len(ways))]
		switch way {
		case "unknown course template":
			row.Set("A", sampledata.Text("ZZ9_LO_9"))
		case "unknown location":
			row.Set("E", sampledata.Text("Atlantis"))
		case "unknown time zone":
			row.Set("G", sampledata.Text("Mars - Olympus Mons"))
		case "unknown instructor":
			row.Set("R", sampledata.Text("Nobody Atall"))
		case "impossible start date":
			row.Set("H", sampledata.Text("31/02/2026"))
		}
		out[row.Get("B").Text] = way
	}
	return out
}

func randomRound(ctx context.Context, r *run, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0xc4a05))
	r.rng = rng
	r.supervised = true
	usePG := r.cfg.PrivatePGURL != "" && len(r.cfg.PGRestart) > 0
	p := planRound(rng, usePG)
	book, ref := sampledata.Generate(sampledata.Options{Events: p.events, Seed: seed})
	p.spelled = respellBook(rng, book, 0.6)
	if rng.IntN(2) == 0 {
		p.invalid = spoil(rng, book, 1+rng.IntN(2))
	}
	s := setup{book: book, ref: ref, natsChild: p.has("nats-kill"),
		faults: admsim.Faults{Latency: p.latency, Jitter: p.latency}}
	if p.has("pg-restart") {
		s.serverURL = r.cfg.PrivatePGURL
	}
	desc := fmt.Sprintf("seed %d: %d events (%d invalid), %d respelled cells, %d writer(s), %d part(s)",
		seed, p.events, len(p.invalid), p.spelled, p.writers, p.parts)
	if p.killedIn > 0 {
		desc += fmt.Sprintf(", import %d killed mid-write", p.killedIn)
	}
	if p.pausedIn > 0 {
		desc += fmt.Sprintf(", import %d stopped mid-write", p.pausedIn)
	}
	r.logf("%s; faults %s", desc, strings.Join(p.faults, ", "))
	r.res.notef("%s", desc)
	if err := r.up(ctx, s); err != nil {
		return err
	}
	relay, writers, err := r.services(p.writers)
	if err != nil {
		return err
	}
	syncer, err := r.spawn("syncer", "syncer", nil, "serve")
	if err != nil {
		return err
	}
	procs := map[string][]*harness.Proc{"relay": {relay}, "admwriter": writers, "syncer": {syncer}}

	parts := split(book, p.parts)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var done []string
	noted := func(s string) {
		mu.Lock()
		done = append(done, s)
		mu.Unlock()
	}
	start := time.Now()
	for _, f := range p.faults {
		at := time.Duration(rng.Int64N(int64(3 * time.Second)))
		frng := rand.New(rand.NewPCG(seed, rng.Uint64()))
		wg.Add(1)
		go func() {
			defer wg.Done()
			sleep(ctx, at-time.Since(start))
			noted(r.fault(ctx, frng, f, procs))
		}()
	}
	var importErr error
	for i, part := range parts {
		if i > 0 {
			sleep(ctx, r.jitter(0, 2*time.Second))
		}
		path, err := r.writeBook(part, fmt.Sprintf("part-%d", i+1))
		if err != nil {
			return err
		}
		valid, invalid := 0, 0
		for _, g := range groups(part) {
			if _, bad := p.invalid[g[0].Get("B").Text]; bad {
				invalid++
			} else {
				valid++
			}
		}
		if err := r.roundImport(ctx, path, valid, invalid, p.killedIn == i+1, p.pausedIn == i+1); err != nil {
			importErr = err
			break
		}
	}
	wg.Wait()
	// Heal what is still broken at the simulator (drops not yet spent stay:
	// they hit the recovery, which must cope as well).
	_ = r.st.Sim.UpdateFaults(func(f *admsim.Faults) {
		f.ErrorRatio, f.RateLimit, f.OutageUntil = 0, 0, time.Time{}
	})
	if importErr != nil {
		return importErr
	}
	healed := time.Now()
	slices.Sort(done)
	r.res.notef("faults: %s", strings.Join(done, ", "))
	err = r.finish(ctx, healed)
	if dropped := r.droppedResponses(); dropped > 0 {
		r.res.notef("%d responses dropped after apply", dropped)
	}
	return err
}

// droppedResponses counts the mutations the simulator applied and never
// answered.
func (r *run) droppedResponses() int {
	n := 0
	for _, q := range r.st.Sim.Requests() {
		if q.Outcome == admsim.OutcomeDropped {
			n++
		}
	}
	return n
}

// roundImport imports one part until the importer has answered for it:
// valid events imported (or already there, after a kill that landed after
// the commit or a PostgreSQL restart), the invalid ones rejected. With
// kill, the first attempt is SIGKILLed inside its write transaction; with
// pause, it is stopped there (SIGSTOP) for a few seconds, holding its
// transaction and locks, and then left to finish.
func (r *run) roundImport(ctx context.Context, path string, valid, invalid int, kill, pause bool) error {
	if pause {
		cmd := r.st.Command(ctx, []string{"LOG_LEVEL=warn"}, "importer", "import", path, "--json")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, io.Discard
		if err := cmd.Start(); err != nil {
			return err
		}
		d := r.jitter(time.Second, 5*time.Second)
		if r.waitImportLock(ctx, 20*time.Second) {
			_ = cmd.Process.Signal(syscall.SIGSTOP)
			sleep(ctx, d)
			_ = cmd.Process.Signal(syscall.SIGCONT)
		}
		_ = cmd.Wait()
		var sum harness.ImportSummary
		if err := json.Unmarshal(out.Bytes(), &sum); err == nil {
			return r.checkImport(path, &sum, out.Bytes(), valid, invalid)
		}
		// No summary (PostgreSQL restarted under it, say): import again.
	}
	if kill {
		cmd := r.st.Command(ctx, []string{"LOG_LEVEL=warn"}, "importer", "import", path, "--json")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return err
		}
		if r.waitImportLock(ctx, 20*time.Second) {
			sleep(ctx, r.jitter(0, 30*time.Millisecond))
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	var last string
	for attempt := 0; attempt < 30; attempt++ {
		sum, out, err := r.st.Import(ctx, path)
		if err != nil {
			// No summary: PostgreSQL restarting, say. Try again.
			last = err.Error()
			sleep(ctx, time.Second)
			continue
		}
		return r.checkImport(path, sum, out, valid, invalid)
	}
	return fmt.Errorf("import of %s never completed: %s", filepath.Base(path), last)
}

// problemsOf lists the first few problem texts of an import summary.
func problemsOf(out []byte) string {
	var s struct {
		Problems []struct {
			Text string `json:"text"`
		} `json:"problems"`
	}
	_ = json.Unmarshal(out, &s)
	var texts []string
	for i, p := range s.Problems {
		if i == 3 {
			texts = append(texts, fmt.Sprintf("and %d more", len(s.Problems)-3))
			break
		}
		texts = append(texts, oneLine(p.Text))
	}
	return strings.Join(texts, " | ")
}

// fault injects one fault of kind k and returns a short description of
// what it did. Every fault ends by itself within seconds.
func (r *run) fault(ctx context.Context, rng *rand.Rand, k string, procs map[string][]*harness.Proc) string {
	jit := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo))) }
	sim := r.st.Sim
	switch k {
	case "drop":
		n := 1 + rng.IntN(6)
		_ = sim.UpdateFaults(func(f *admsim.Faults) { f.DropAfterApply += n })
		return fmt.Sprintf("drop %d responses", n)
	case "batch-fail":
		// Batched session writes: the first k fields applied, then no usable answer.
		n, k, drop := 1+rng.IntN(4), rng.IntN(4), rng.IntN(2) == 0
		_ = sim.UpdateFaults(func(f *admsim.Faults) { f.BatchFailures += n; f.BatchApply, f.BatchDrop = k, drop })
		how := "500"
		if drop {
			how = "dropped"
		}
		return fmt.Sprintf("%d batched requests fail after %d fields (%s)", n, k, how)
	case "5xx":
		status := []int{500, 502, 503, 504}[rng.IntN(4)]
		ratio := 0.2 + 0.4*rng.Float64()
		d := jit(2*time.Second, 6*time.Second)
		_ = sim.UpdateFaults(func(f *admsim.Faults) { f.ErrorRatio, f.ErrorStatus = ratio, status })
		sleep(ctx, d)
		_ = sim.UpdateFaults(func(f *admsim.Faults) { f.ErrorRatio = 0 })
		return fmt.Sprintf("%d to %.0f%% for %.1fs", status, 100*ratio, d.Seconds())
	case "429":
		limit := 2 + rng.IntN(5)
		d := jit(3*time.Second, 8*time.Second)
		_ = sim.UpdateFaults(func(f *admsim.Faults) { f.RateLimit, f.RateWindow = limit, time.Second })
		sleep(ctx, d)
		_ = sim.UpdateFaults(func(f *admsim.Faults) { f.RateLimit = 0 })
		return fmt.Sprintf("429 above %d/s for %.1fs", limit, d.Seconds())
	case "outage":
		d := jit(2*time.Second, 8*time.Second)
		_ = sim.StartOutage(d)
		sleep(ctx, d)
		return fmt.Sprintf("outage %.1fs", d.Seconds())
	case "kill-relay", "kill-admwriter", "kill-syncer":
		name := strings.TrimPrefix(k, "kill-")
		p := procs[name][rng.IntN(len(procs[name]))]
		if name != "relay" {
			name = p.Name
		}
		n := 1 + rng.IntN(3)
		if k == "kill-admwriter" {
			n = 1 + rng.IntN(2)
		}
		if k == "kill-syncer" {
			_ = r.syncRequest(ctx, fmt.Sprintf("round-%d", rng.Uint32()))
		}
		for i := range n {
			sleep(ctx, jit(200*time.Millisecond, 1500*time.Millisecond))
			p.Kill()
			if err := p.Restart(); err != nil {
				r.res.problemf("restart %s: %v", name, err)
				return fmt.Sprintf("kill -9 %s x%d (restart failed)", name, i+1)
			}
		}
		return fmt.Sprintf("kill -9 %s x%d", name, n)
	case "pause-admwriter", "pause-relay", "pause-syncer":
		name := strings.TrimPrefix(k, "pause-")
		p := procs[name][rng.IntN(len(procs[name]))]
		if name != "relay" {
			name = p.Name
		}
		if k == "pause-syncer" {
			_ = r.syncRequest(ctx, fmt.Sprintf("round-%d", rng.Uint32()))
			sleep(ctx, jit(0, 500*time.Millisecond))
		}
		d := jit(time.Second, 8*time.Second)
		p.Pause()
		sleep(ctx, d)
		p.Resume()
		return fmt.Sprintf("SIGSTOP %s %.1fs", name, d.Seconds())
	case "nats-restart", "nats-kill":
		// Two restarts of the one broker at once would race on its process.
		r.natsMu.Lock()
		defer r.natsMu.Unlock()
		t := time.Now()
		if err := r.st.RestartNATS(ctx, k == "nats-restart"); err != nil {
			r.res.problemf("%s: %v", k, err)
		}
		verb := "graceful"
		if k == "nats-kill" {
			verb = "kill -9"
		}
		return fmt.Sprintf("nats-server %s restart (%.1fs)", verb, time.Since(t).Seconds())
	case "pg-restart":
		t := time.Now()
		if out, err := r.restartPG(ctx); err != nil {
			r.res.problemf("restart PostgreSQL: %v: %s", err, out)
		}
		return fmt.Sprintf("PostgreSQL restart -m immediate (%.1fs)", time.Since(t).Seconds())
	}
	return "unknown fault " + k
}

// RoundSeed is the seed of a round's table name, and whether name is one.
func RoundSeed(name string) (uint64, bool) {
	var seed uint64
	if _, err := fmt.Sscanf(name, "round-%d", &seed); err != nil {
		return 0, false
	}
	return seed, true
}

// checkImport compares an import's summary with what the part holds.
func (r *run) checkImport(path string, sum *harness.ImportSummary, out []byte, valid, invalid int) error {
	if sum.Rejected != invalid {
		r.res.problemf("%s: rejected %d events, want %d: %s", filepath.Base(path), sum.Rejected, invalid, problemsOf(out))
	}
	if sum.Imported+sum.Duplicates != valid {
		r.res.problemf("%s: imported %d and found %d already imported, want %d valid events", filepath.Base(path), sum.Imported, sum.Duplicates, valid)
	}
	return nil
}
