package observability

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/metricstest"
)

// Two sets on one registry share their series; a clash of kinds is an error.
func TestMetricSetReusesRegisteredSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := NewMetricSet(reg)
	ca := a.CounterVec("test_things_total", "Things.", "kind")
	b := NewMetricSet(reg)
	cb := b.CounterVec("test_things_total", "Things.", "kind")
	if a.Err() != nil || b.Err() != nil {
		t.Fatalf("Err = %v, %v; want nil", a.Err(), b.Err())
	}
	ca.WithLabelValues("x").Inc()
	cb.WithLabelValues("x").Inc()
	if got := metricstest.Value(t, reg, "test_things_total", map[string]string{"kind": "x"}); got != 2 {
		t.Fatalf("shared counter = %v, want 2", got)
	}

	c := NewMetricSet(reg)
	c.Gauge("test_things_total", "Things.")
	c.Histogram("test_other_seconds", "Other.", []float64{1})
	if c.Err() == nil {
		t.Fatal("a gauge named like a registered counter vector: Err = nil, want the clash")
	}
}

// A nil registerer makes working series that nothing scrapes.
func TestMetricSetNilRegisterer(t *testing.T) {
	s := NewMetricSet(nil)
	s.GaugeVec("test_level", "Level.", "where").WithLabelValues("here").Set(3)
	s.HistogramVec("test_seconds", "Seconds.", []float64{1, 2}, "op").WithLabelValues("x").Observe(1.5)
	s.Counter("test_total", "Total.").Inc()
	if s.Err() != nil {
		t.Fatalf("Err = %v", s.Err())
	}
}
