package pipeline

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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
	m := &Metrics{
		Rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admsync_import_rows_total", Help: "Workbook data rows by outcome (accepted, rejected, duplicate).",
		}, []string{"outcome"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admsync_import_events_total", Help: "Workbook events by outcome (accepted, rejected, duplicate).",
		}, []string{"outcome"}),
		Stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "admsync_import_stage_duration_seconds", Help: "Time spent per import stage (parse, validate, write).",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"stage"}),
	}
	for _, o := range []string{"accepted", "rejected", "duplicate"} {
		m.Rows.WithLabelValues(o)
		m.Events.WithLabelValues(o)
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.Rows, err = register(reg, m.Rows); err != nil {
		return nil, err
	}
	if m.Events, err = register(reg, m.Events); err != nil {
		return nil, err
	}
	if m.Stage, err = register(reg, m.Stage); err != nil {
		return nil, err
	}
	return m, nil
}

func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
