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
	s := observability.NewMetricSet(reg)
	m := &metrics{
		published: s.Counter("admsync_outbox_published_total", "Outbox rows published to JetStream and marked sent."),
		backlog:   s.Gauge("admsync_outbox_backlog", "Outbox rows not yet published."),
		lag:       s.Gauge("admsync_outbox_lag_seconds", "Age of the oldest unpublished outbox row (0 when none)."),
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
