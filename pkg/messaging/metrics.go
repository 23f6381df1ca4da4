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
	m := &metrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admsync_messages_handled_total",
			Help: "Messages handled by a runner, by consumer and outcome (ack, retry, dead_letter).",
		}, []string{"consumer", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "admsync_handler_duration_seconds",
			Help:    "Time spent in a message handler, by consumer.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"consumer"}),
		dlqMessages: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "admsync_dlq_messages",
			Help: "Messages in the DLQ stream, refreshed from stream info.",
		}),
		consumerPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "admsync_consumer_pending",
			Help: "Messages a consumer has not finished: num_pending + num_ack_pending.",
		}, []string{"consumer"}),
		maxDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admsync_max_deliveries_dead_lettered_total",
			Help: "Messages whose deliveries ran out without a handler answer (crash or ack timeout on each), moved to the DLQ, by consumer.",
		}, []string{"consumer"}),
	}
	var err error
	if m.handled, err = observability.Register(reg, m.handled); err != nil {
		return nil, err
	}
	if m.duration, err = observability.Register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.dlqMessages, err = observability.Register(reg, m.dlqMessages); err != nil {
		return nil, err
	}
	if m.consumerPending, err = observability.Register(reg, m.consumerPending); err != nil {
		return nil, err
	}
	if m.maxDeliveries, err = observability.Register(reg, m.maxDeliveries); err != nil {
		return nil, err
	}
	return m, nil
}
