package writer

import (
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/observability"
	"admsync/services/admwriter/internal/breaker"
)

// Metrics are the admwriter's own series (the runner and the Administrate
// client register theirs separately).
type Metrics struct {
	Events         *prometheus.CounterVec
	SessionUpdates prometheus.Counter
	StaffAdded     prometheus.Counter
	BreakerState   prometheus.Gauge
	Duration       prometheus.Histogram
}

// NewMetrics registers the series on reg (nil: unregistered, for tests that
// do not scrape).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	s := observability.NewMetricSet(reg)
	m := &Metrics{
		Events: s.CounterVec("admsync_admwriter_events_total",
			"Tutorial events handled, by outcome: linked (written to Administrate), failed (dead-lettered), skipped (already done).", "outcome"),
		SessionUpdates: s.Counter("admsync_admwriter_sessions_updated_total",
			"Administrate sessions updated with a tutorial session's title, times and custom fields."),
		StaffAdded: s.Counter("admsync_admwriter_staff_added_total",
			"session.addStaff and event.addStaff calls that succeeded (or found the staff already there)."),
		BreakerState: s.Gauge("admsync_admwriter_breaker_state",
			"Administrate circuit breaker: 0 closed, 1 half-open, 2 open (not fetching)."),
		Duration: s.Histogram("admsync_admwriter_event_duration_seconds",
			"Time to handle one tutorial event message, from claim to result.",
			[]float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}),
	}
	if err := s.Err(); err != nil {
		panic(err) // a series named like another of a different kind: a programming error
	}
	for _, o := range []string{"linked", "changed", "failed", "skipped"} {
		m.Events.WithLabelValues(o)
	}
	return m
}

// BreakerChanged is a breaker.Config.OnChange that keeps the gauge current.
func (m *Metrics) BreakerChanged(_, to breaker.State) { m.BreakerState.Set(float64(to)) }
