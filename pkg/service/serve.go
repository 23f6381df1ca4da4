package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"admsync/pkg/messaging"
	"admsync/pkg/observability"
)

// Consumer is the durable consumer a service runs: the streams it declares,
// the consumer itself and what handles its messages.
type Consumer struct {
	// Streams names the streams and buckets of messaging.DefaultTopology()
	// the service declares, only its own: a service's NATS user may not be
	// allowed to declare the others.
	Streams []string
	// Spec is the durable consumer, declared with the streams.
	Spec    messaging.ConsumerSpec
	Handler messaging.Handler
	// OnDeadLetter is where the service records its own state for a
	// message the runner is about to dead-letter (optional).
	OnDeadLetter func(ctx context.Context, msg jetstream.Msg, reason string, err error)
	// Workers handle messages at once (default 1).
	Workers int
	// Gate pauses fetching while it returns an error (a circuit breaker).
	Gate func(ctx context.Context) error
	// FetchWait, DrainTimeout and MonitorInterval tune the runner and the
	// monitor; zero takes their defaults.
	FetchWait       time.Duration
	DrainTimeout    time.Duration
	MonitorInterval time.Duration
}

// Task is background work that runs beside the consumer (the outbox relay,
// a metrics refresh) until ctx ends.
type Task struct {
	Name string
	Run  func(ctx context.Context) error
}

// Service is what a `serve` command runs.
type Service struct {
	Consumer Consumer
	Tasks    []Task
}

// Serve runs a service the way every admsync binary does: it declares the
// streams and the consumer, serves /metrics, /livez and /readyz (ready once
// the consumer exists on the server), and runs the consumer, the gauges'
// monitor and the tasks in one group until ctx ends or one of them fails;
// then everything stops, the consumer after draining its messages in
// flight. It returns nil after a clean stop.
func (e *Env) Serve(ctx context.Context, s Service) error {
	c := s.Consumer
	_, js, err := e.NATS(ctx)
	if err != nil {
		return err
	}
	topo := messaging.DefaultTopology().Only(c.Streams...)
	topo.Consumers = []messaging.ConsumerSpec{c.Spec}
	if err := topo.Ensure(ctx, js); err != nil {
		return fmt.Errorf("declare streams and consumer: %w", err)
	}
	runner, err := messaging.NewRunner(js, messaging.RunnerOptions{
		Consumer: c.Spec, Handler: c.Handler, OnDeadLetter: c.OnDeadLetter,
		Workers: c.Workers, Gate: c.Gate, FetchWait: c.FetchWait, DrainTimeout: c.DrainTimeout,
		Logger: e.Logger, Registerer: e.Registry,
	})
	if err != nil {
		return err
	}
	monitor, err := messaging.NewMonitor(js, messaging.MonitorOptions{Consumers: []messaging.ConsumerSpec{c.Spec},
		Interval: c.MonitorInterval, Registerer: e.Registry, Logger: e.Logger})
	if err != nil {
		return err
	}
	srv, err := e.httpServer(observability.Check{Name: "consumer", Fn: func(ctx context.Context) error {
		_, err := js.Consumer(ctx, c.Spec.Stream, c.Spec.Durable())
		return err
	}})
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	if srv != nil {
		g.Go(func() error { return srv.Serve(gctx) })
	}
	g.Go(func() error { monitor.Run(gctx); return nil })
	for _, t := range s.Tasks {
		g.Go(func() error {
			if err := t.Run(gctx); err != nil && gctx.Err() == nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
			return nil
		})
	}
	g.Go(func() error { return runner.Run(gctx) })
	e.Logger.Info(e.Name+" serving", "stream", c.Spec.Stream, "consumer", c.Spec.Durable(),
		"subject", c.Spec.Config.FilterSubject, "workers", max(c.Workers, 1))
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Every returns a Task that runs fn now and then every interval until ctx
// ends; a failure is logged and retried on the next tick.
func (e *Env) Every(name string, interval time.Duration, fn func(context.Context) error) Task {
	return Task{Name: name, Run: func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				e.Logger.Warn(name+" failed; retrying on the next tick", "error", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}}
}
