package e2e

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/admsim"
	"admsync/pkg/admsim/admsimtest"
	"admsync/pkg/sampledata"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// BenchmarkWriteEvents writes E blended events of S sessions (one
// instructor each) through the simulator, which answers after latency L and
// refuses more than R requests a second with 429, while the client's rate
// budget is 0.95 R. The floor is calls ÷ R: no writer can be faster without
// breaking the rate limit. Figures: Administrate requests per event (goal ≤
// 2: the create, then one batch of every session update and staff addition;
// 2S+1 with ADMINISTRATE_BATCH=1), 429s, wall time and wall ÷ floor (goal ≤ 1.15).
//
//	ADMSYNC_BENCH_WRITER_EVENTS (E, default 12), ADMSYNC_BENCH_WRITER_SESSIONS (S, 3),
//	ADMSYNC_BENCH_RATE (R requests/s, 20), ADMSYNC_BENCH_LATENCY (L, 20ms),
//	ADMSYNC_BENCH_WRITER_WORKERS (4)
func BenchmarkWriteEvents(b *testing.B) {
	events := envInt("ADMSYNC_BENCH_WRITER_EVENTS", 12)
	sessions := envInt("ADMSYNC_BENCH_WRITER_SESSIONS", 3)
	rate := envInt("ADMSYNC_BENCH_RATE", 20)
	latency := envDuration("ADMSYNC_BENCH_LATENCY", 20*time.Millisecond)
	workers := envInt("ADMSYNC_BENCH_WRITER_WORKERS", 4)

	var ct sampledata.CourseTemplate
	w := setupWith(b, func(ref *sampledata.ReferenceData) {
		ct = sampledata.CourseTemplate{Code: fmt.Sprintf("BENCH_LO_%d", sessions), Title: "benchmark", LearningMode: sampledata.Blended,
			Sessions: sessions, Approved: []string{ref.Instructors[0].FullName()}}
		ref.CourseTemplates = append(ref.CourseTemplates, ct)
		ref.Products = append(ref.Products, sampledata.Product{Code: fmt.Sprintf("BENCH/LO_%d/2026A", sessions), Subject: "BENCH",
			Sitting: "2026A", Variation: fmt.Sprintf("LO_%d", sessions)})
	}, admsimtest.WithFaults(admsim.Faults{Latency: latency, RateLimit: rate}))
	w.start(runOpts{workers: workers, client: func(o *administrate.Options) {
		// A hair under R: requests leave evenly spaced but arrive with
		// network jitter, and a sliding window must never see R+1.
		o.RateLimit, o.RateBurst = 0.95*float64(rate), 1
	}})

	var calls, throttled int
	var wall, head, tail time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ids := make([]int64, 0, events)
		for e := range events {
			ids = append(ids, w.seedEvent(eventSpec{Template: ct, Title: fmt.Sprintf("ELO-BENCH-%d-%d", i, e), Location: "London", Venue: "Central Training Centre"}))
		}
		before := len(w.sim.Requests())
		done := w.states()["done"]
		b.StartTimer()
		// Straight to the stream: the outbox relay's latency depends on every
		// transaction open in the cluster, which is not the writer's cost.
		start := time.Now()
		for _, id := range ids {
			w.publish(id, fmt.Sprintf("bench-%d-%d", i, id))
		}
		w.waitState("done", done+events)
		took := time.Since(start)
		wall += took
		b.StopTimer()
		reqs := w.sim.Requests()[before:]
		calls += len(reqs)
		if len(reqs) > 0 {
			// Before the first request and after the last answer: the writer's
			// own work that no request overlaps.
			head += reqs[0].Time.Sub(start)
			last := reqs[len(reqs)-1]
			tail += start.Add(took).Sub(last.Time.Add(last.Duration))
		}
		for _, r := range reqs {
			if r.Status == 429 {
				throttled++
			}
		}
	}
	n := float64(b.N)
	floor := time.Duration(float64(calls) / float64(rate) * float64(time.Second))
	b.ReportMetric(float64(calls)/n/float64(events), "calls/event")
	b.ReportMetric(2, "goal_calls/event")
	b.ReportMetric(float64(throttled)/n, "429s")
	b.ReportMetric(wall.Seconds()/n, "wall_s")
	b.ReportMetric(floor.Seconds()/n, "floor_s")
	b.ReportMetric(wall.Seconds()/floor.Seconds(), "wall/floor")
	b.ReportMetric(head.Seconds()/n, "head_s")
	b.ReportMetric(tail.Seconds()/n, "tail_s")
}
