package outbox

import (
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/observability"
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
	if m.published, err = observability.Register(reg, m.published); err != nil {
		return nil, err
	}
	if m.backlog, err = observability.Register(reg, m.backlog); err != nil {
		return nil, err
	}
	if m.lag, err = observability.Register(reg, m.lag); err != nil {
		return nil, err
	}
	return m, nil
}
