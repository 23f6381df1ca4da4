package writer

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/messaging"
	"admsync/pkg/service"
	"admsync/services/admwriter/internal/breaker"
	"admsync/services/admwriter/internal/failpoint"
	"admsync/services/admwriter/internal/plan"
)

// Config is what the admwriter's consumer is built from.
type Config struct {
	Pool     *pgxpool.Pool
	JS       jetstream.JetStream
	API      API
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Workers handle events at once (they share the API's rate budget).
	Workers int
	Plan    plan.Options
	// Breaker tunes the circuit breaker; zero takes its defaults.
	Breaker breaker.Config
	// Failpoint is nil except in fault-injection runs.
	Failpoint failpoint.Func
	// Lease of a claim without heartbeat; zero means the consumer's AckWait.
	Lease time.Duration
}

// Streams are the streams the admwriter declares: the one it consumes, the
// one it publishes results to and the DLQ.
var Streams = []string{messaging.StreamTutorialEvents, messaging.StreamAdmResults, messaging.StreamDLQ}

// NewConsumer wires the writer as the handler of spec
// (messaging.AdmWriterConsumer() in production): claims last as long as the
// consumer's AckWait, the circuit breaker is the runner's gate, so nothing
// is fetched while Administrate is down and an outage burns no deliveries,
// and dead letters mark the bridge failed.
func NewConsumer(c Config, spec messaging.ConsumerSpec) service.Consumer {
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	m := NewMetrics(c.Registry)
	bcfg := c.Breaker
	onChange := bcfg.OnChange
	bcfg.OnChange = func(from, to breaker.State) {
		m.BreakerChanged(from, to)
		log.Warn("Administrate circuit breaker changed", "from", from.String(), "to", to.String())
		if onChange != nil {
			onChange(from, to)
		}
	}
	br := breaker.New(bcfg)
	w := &Writer{
		Pool: c.Pool, API: c.API, JS: c.JS, Breaker: br, Metrics: m, Logger: log,
		Options: c.Plan, Lease: cmp.Or(c.Lease, spec.Config.AckWait), Failpoint: c.Failpoint,
	}
	return service.Consumer{
		Streams:      Streams,
		Spec:         spec,
		Handler:      w.Handle,
		OnDeadLetter: w.OnDeadLetter,
		Workers:      max(c.Workers, 1),
		Gate:         func(ctx context.Context) error { return br.Wait(ctx, c.API.Probe) },
	}
}
