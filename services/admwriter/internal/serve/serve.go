// Package serve wires the admwriter's consumer: JetStream topology, the
// writer, the circuit breaker as the runner's gate, and the gauges refreshed
// from the server. The `serve` command and the end-to-end tests both run it,
// so what is tested is what is deployed.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/messaging"
	"admsync/services/admwriter/internal/breaker"
	"admsync/services/admwriter/internal/failpoint"
	"admsync/services/admwriter/internal/plan"
	"admsync/services/admwriter/internal/writer"
)

// Options configures Run. Zero values take production defaults.
type Options struct {
	Pool     *pgxpool.Pool
	JS       jetstream.JetStream
	API      writer.API
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Workers handle messages concurrently (default 4); they share the
	// API client's rate budget.
	Workers int
	// Consumer overrides messaging.AdmWriterConsumer() (tests shorten AckWait
	// and MaxDeliver).
	Consumer *messaging.ConsumerSpec
	// Lease of a claim without heartbeat (default: the consumer's AckWait).
	Lease     time.Duration
	Breaker   breaker.Config
	Plan      plan.Options
	Failpoint failpoint.Func
	// FetchWait, DrainTimeout and MonitorInterval tune the runner (tests).
	FetchWait       time.Duration
	DrainTimeout    time.Duration
	MonitorInterval time.Duration
	// Ready, if set, is called once the consumer is declared and the runner starts.
	Ready func()
}

// Run consumes tutorial.event.created until ctx ends, then drains.
func Run(ctx context.Context, o Options) error {
	if o.Pool == nil || o.JS == nil || o.API == nil {
		return errors.New("serve: database, JetStream and Administrate client are required")
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	spec := messaging.AdmWriterConsumer()
	if o.Consumer != nil {
		spec = *o.Consumer
	}
	topo := messaging.DefaultTopology().Only(messaging.StreamTutorialEvents, messaging.StreamAdmResults, messaging.StreamDLQ)
	topo.Consumers = []messaging.ConsumerSpec{spec}
	if err := topo.Ensure(ctx, o.JS); err != nil {
		return fmt.Errorf("declare streams and consumer: %w", err)
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	lease := o.Lease
	if lease <= 0 {
		lease = spec.Config.AckWait
	}

	m := writer.NewMetrics(o.Registry)
	bcfg := o.Breaker
	userChange := bcfg.OnChange
	bcfg.OnChange = func(from, to breaker.State) {
		m.BreakerChanged(from, to)
		log.Warn("Administrate circuit breaker changed", "from", from.String(), "to", to.String())
		if userChange != nil {
			userChange(from, to)
		}
	}
	br := breaker.New(bcfg)
	w := &writer.Writer{
		Pool: o.Pool, API: o.API, JS: o.JS, Breaker: br, Metrics: m, Logger: log,
		Options: o.Plan, Lease: lease, Failpoint: o.Failpoint,
	}
	runner, err := messaging.NewRunner(o.JS, messaging.RunnerOptions{
		Consumer:     spec,
		Handler:      w.Handle,
		OnDeadLetter: w.OnDeadLetter,
		Workers:      o.Workers,
		// While the breaker is open nothing is fetched, so an outage burns no deliveries.
		Gate:         func(ctx context.Context) error { return br.Wait(ctx, o.API.Probe) },
		FetchWait:    o.FetchWait,
		DrainTimeout: o.DrainTimeout,
		Logger:       log,
		Registerer:   o.Registry,
	})
	if err != nil {
		return err
	}
	mon, err := messaging.NewMonitor(o.JS, messaging.MonitorOptions{
		Consumers: []messaging.ConsumerSpec{spec}, Interval: o.MonitorInterval, Registerer: o.Registry, Logger: log})
	if err != nil {
		return err
	}
	mctx, stopMon := context.WithCancel(ctx)
	defer stopMon()
	go mon.Run(mctx)

	log.Info("admwriter consuming", "workers", o.Workers, "subject", spec.Config.FilterSubject,
		"ack_wait", spec.Config.AckWait, "max_deliver", spec.Config.MaxDeliver, "lease", lease)
	if o.Ready != nil {
		o.Ready()
	}
	return runner.Run(ctx)
}
