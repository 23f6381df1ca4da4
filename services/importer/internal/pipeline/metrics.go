package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/observability"
)

// Metrics are the importer's Prometheus series.
type Metrics struct {
	Rows   *prometheus.CounterVec   // admsync_import_rows_total{outcome}
	Events *prometheus.CounterVec   // admsync_import_events_total{outcome}
	Stage  *prometheus.HistogramVec // admsync_import_stage_duration_seconds{stage}
}

// NewMetrics registers the importer's metrics on reg (nil: unregistered).
// Registering twice on one registry returns the existing collectors.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	s := observability.NewMetricSet(reg)
	m := &Metrics{
		Rows:   s.CounterVec("admsync_import_rows_total", "Workbook data rows by outcome (accepted, rejected, duplicate).", "outcome"),
		Events: s.CounterVec("admsync_import_events_total", "Workbook events by outcome (accepted, rejected, duplicate).", "outcome"),
		Stage: s.HistogramVec("admsync_import_stage_duration_seconds", "Time spent per import stage (parse, validate, write).",
			[]float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}, "stage"),
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	for _, o := range []string{"accepted", "rejected", "duplicate"} {
		m.Rows.WithLabelValues(o)
		m.Events.WithLabelValues(o)
	}
	return m, nil
}
