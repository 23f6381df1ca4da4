package outbox

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	published prometheus.Counter
	backlog   prometheus.Gauge
	lag       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "admsync_outbox_published_total",
			Help: "Outbox rows published to JetStream and marked sent.",
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "admsync_outbox_backlog",
			Help: "Outbox rows not yet published.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "admsync_outbox_lag_seconds",
			Help: "Age of the oldest unpublished outbox row (0 when none).",
		}),
	}
	var err error
	if m.published, err = register(reg, m.published); err != nil {
		return nil, err
	}
	if m.backlog, err = register(reg, m.backlog); err != nil {
		return nil, err
	}
	if m.lag, err = register(reg, m.lag); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c or reuses the collector already registered under
// its name, so a second relay in one process (a test, a standby) does not
// fail. A nil registerer turns metrics off.
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register metric: %w", err)
	}
	return c, nil
}
