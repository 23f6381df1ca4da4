package administrate

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admsync_administrate_requests_total",
			Help: "HTTP attempts to the Administrate GraphQL API by operation and status.",
		}, []string{"operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "admsync_administrate_request_duration_seconds",
			Help:    "Duration of HTTP attempts to the Administrate GraphQL API.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"operation"}),
		wait: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "admsync_administrate_ratelimit_wait_seconds_total",
			Help: "Seconds spent waiting for the shared rate budget or a Retry-After before calling Administrate.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admsync_administrate_retries_total",
			Help: "Repeated attempts to the Administrate API by operation and reason.",
		}, []string{"operation", "reason"}),
	}
	if reg == nil {
		return m, nil
	}
	// Several clients in one process may share a registry: reuse what is registered.
	var err error
	m.requests = register(reg, m.requests, &err)
	m.duration = register(reg, m.duration, &err)
	m.wait = register(reg, m.wait, &err)
	m.retries = register(reg, m.retries, &err)
	return m, err
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		if *errp == nil {
			*errp = err
		}
	}
	return c
}
