package observability

import "github.com/prometheus/client_golang/prometheus"

// MetricSet makes a package's Prometheus series and registers each one with
// Register as it is made: a series already registered under the same name is
// reused (two runners, relays or clients of one process share a registry), and
// a nil registerer leaves every series unregistered (metrics off). Err reports
// the first registration that failed.
//
//	s := observability.NewMetricSet(reg)
//	m := &metrics{published: s.Counter("admsync_outbox_published_total", "Outbox rows published.")}
//	return m, s.Err()
type MetricSet struct {
	reg prometheus.Registerer
	err error
}

// NewMetricSet registers the series it makes with reg.
func NewMetricSet(reg prometheus.Registerer) *MetricSet { return &MetricSet{reg: reg} }

// Err is the first registration error, nil when every series is registered.
func (s *MetricSet) Err() error { return s.err }

// Counter makes and registers a counter.
func (s *MetricSet) Counter(name, help string) prometheus.Counter {
	return add(s, prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help}))
}

// CounterVec makes and registers a counter with labels.
func (s *MetricSet) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return add(s, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
}

// Gauge makes and registers a gauge.
func (s *MetricSet) Gauge(name, help string) prometheus.Gauge {
	return add(s, prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help}))
}

// GaugeVec makes and registers a gauge with labels.
func (s *MetricSet) GaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return add(s, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels))
}

// Histogram makes and registers a histogram with these buckets.
func (s *MetricSet) Histogram(name, help string, buckets []float64) prometheus.Histogram {
	return add(s, prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}))
}

// HistogramVec makes and registers a histogram with these buckets and labels.
func (s *MetricSet) HistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return add(s, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels))
}

func add[T prometheus.Collector](s *MetricSet, c T) T {
	c, err := Register(s.reg, c)
	if err != nil && s.err == nil {
		s.err = err
	}
	return c
}
