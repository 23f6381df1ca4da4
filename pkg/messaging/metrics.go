package messaging

import (
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/observability"
)

// metrics are shared by every runner and monitor of a process: each
// constructor registers them or, if they already are, reuses the registered
// ones, so two runners on one registry do not collide.
type metrics struct {
	handled         *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	dlqMessages     prometheus.Gauge
	consumerPending *prometheus.GaugeVec
	maxDeliveries   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	s := observability.NewMetricSet(reg)
	m := &metrics{
		handled: s.CounterVec("admsync_messages_handled_total",
			"Messages handled by a runner, by consumer and outcome (ack, retry, dead_letter).", "consumer", "outcome"),
		duration: s.HistogramVec("admsync_handler_duration_seconds", "Time spent in a message handler, by consumer.",
			[]float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}, "consumer"),
		dlqMessages: s.Gauge("admsync_dlq_messages", "Messages in the DLQ stream, refreshed from stream info."),
		consumerPending: s.GaugeVec("admsync_consumer_pending",
			"Messages a consumer has not finished: num_pending + num_ack_pending.", "consumer"),
		maxDeliveries: s.CounterVec("admsync_max_deliveries_dead_lettered_total",
			"Messages whose deliveries ran out without a handler answer (crash or ack timeout on each), moved to the DLQ, by consumer.", "consumer"),
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
