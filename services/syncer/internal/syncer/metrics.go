package syncer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"admsync/pkg/observability"
)

// Metrics are the syncer's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	records     *prometheus.CounterVec
	unmatched   *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
}

// NewMetrics registers the series with reg (nil: unregistered); a series
// already registered under its name is shared.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	s := observability.NewMetricSet(reg)
	m := &Metrics{
		runs: s.CounterVec("admsync_sync_runs_total",
			"Sync stage runs by stage and outcome (ok, partial, failed); stage=all counts `run all`.", "stage", "outcome"),
		duration: s.HistogramVec("admsync_sync_duration_seconds", "Wall time of a sync stage run, fetch included.",
			[]float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}, "stage"),
		records: s.CounterVec("admsync_sync_records_total",
			"Bridge records by stage and outcome (created, updated, unchanged, gone, skipped, error); plan-only runs are not counted.", "stage", "outcome"),
		unmatched: s.GaugeVec("admsync_sync_unmatched",
			"Records left unmatched by the last run of a stage, by side (tutorial, administrate).", "stage", "side"),
		lastSuccess: s.GaugeVec("admsync_sync_last_success_timestamp_seconds",
			"Unix time at which a stage last finished with outcome ok (plan-only runs excluded).", "stage"),
	}
	if err := s.Err(); err != nil {
		panic(err)
	}
	return m
}

func (m *Metrics) observe(res *StageResult) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(res.Stage, res.Outcome).Inc()
	m.duration.WithLabelValues(res.Stage).Observe(res.DurationSeconds)
	if res.PlanOnly || res.Outcome == OutcomeFailed {
		return
	}
	c := res.Counts
	for outcome, n := range map[string]int{"created": c.Created, "updated": c.Updated, "unchanged": c.Unchanged,
		"gone": c.Gone, "skipped": c.Skipped, "error": c.Errors} {
		m.records.WithLabelValues(res.Stage, outcome).Add(float64(n))
	}
	m.unmatched.WithLabelValues(res.Stage, "tutorial").Set(float64(len(res.UnmatchedTutorial)))
	m.unmatched.WithLabelValues(res.Stage, "administrate").Set(float64(len(res.UnmatchedAdministrate)))
	if res.OK() {
		m.lastSuccess.WithLabelValues(res.Stage).Set(float64(res.StartedAt.Add(secondsDuration(res.DurationSeconds)).Unix()))
	}
}

func (m *Metrics) observeAll(all *AllResult) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(All, all.Outcome).Inc()
	m.duration.WithLabelValues(All).Observe(all.DurationSeconds)
	if all.Outcome == OutcomeOK && !all.PlanOnly {
		m.lastSuccess.WithLabelValues(All).Set(float64(all.StartedAt.Add(secondsDuration(all.DurationSeconds)).Unix()))
	}
}

// RefreshLastSuccess sets admsync_sync_last_success_timestamp_seconds from
// the run records, so runs made by other processes — the CronJob's
// `syncer run all`, which serves no metrics — are seen too, and the value
// survives a restart of the serving pod.
func (m *Metrics) RefreshLastSuccess(ctx context.Context, db interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}) error {
	if m == nil {
		return nil
	}
	rows, err := db.Query(ctx, `SELECT stage, extract(epoch FROM max(finished_at))::float8
		FROM admsync.sync_runs WHERE status = 'ok' AND NOT plan_only AND finished_at IS NOT NULL GROUP BY stage`)
	if err != nil {
		return fmt.Errorf("read last successful sync runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var stage string
		var at float64
		if err := rows.Scan(&stage, &at); err != nil {
			return fmt.Errorf("read last successful sync runs: %w", err)
		}
		g := m.lastSuccess.WithLabelValues(stage)
		// Never move the gauge backwards: this process may have seen a
		// newer success than the one stored.
		if cur := gaugeValue(g); at > cur {
			g.Set(at)
		}
	}
	return rows.Err()
}

func gaugeValue(g prometheus.Gauge) float64 {
	var m dto.Metric
	if err := g.Write(&m); err != nil || m.Gauge == nil {
		return 0
	}
	return m.Gauge.GetValue()
}
