package administrate

import (
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/observability"
)

// Metric names are a contract with the dashboards and alert rules; do not rename.
//
//	admsync_administrate_requests_total{operation,status}       one per HTTP attempt
//	admsync_administrate_request_duration_seconds{operation}    histogram per HTTP attempt
//	admsync_administrate_ratelimit_wait_seconds_total           time spent waiting for the rate budget or a Retry-After
//	admsync_administrate_retries_total{operation,reason}        attempts repeated, by reason
//
// status is the HTTP status code ("200", "401", "429", "503", ...), "graphql_error" for a
// 2xx answer carrying top-level GraphQL errors, "timeout" or "network_error" when no
// answer arrived, "token_error" when no token could be fetched (nothing was sent to the
// API). reason is one of rate_limited, server_error, timeout, network_error,
// unauthorized, token_error.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	wait     prometheus.Counter
	retries  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	// Several clients in one process may share a registry: MetricSet reuses what is registered.
	s := observability.NewMetricSet(reg)
	m := &metrics{
		requests: s.CounterVec("admsync_administrate_requests_total",
			"HTTP attempts to the Administrate GraphQL API by operation and status.", "operation", "status"),
		duration: s.HistogramVec("admsync_administrate_request_duration_seconds",
			"Duration of HTTP attempts to the Administrate GraphQL API.",
			[]float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}, "operation"),
		wait: s.Counter("admsync_administrate_ratelimit_wait_seconds_total",
			"Seconds spent waiting for the shared rate budget or a Retry-After before calling Administrate."),
		retries: s.CounterVec("admsync_administrate_retries_total",
			"Repeated attempts to the Administrate API by operation and reason.", "operation", "reason"),
	}
	return m, s.Err()
}
