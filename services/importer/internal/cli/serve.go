package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"admsync/pkg/messaging"
	"admsync/pkg/outbox"
	"admsync/pkg/service"
	"admsync/services/importer/internal/pipeline"
	"admsync/services/importer/internal/server"
)

func serveCmd(env EnvFunc) *cobra.Command {
	var workers int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Import workbooks handed over through NATS (bucket \"workbooks\", subject import.request.<id>)",
		Long: `Consumes import.request.<id>: the body names an object in the "workbooks" bucket
(JSON {"object": "...", "dry_run": false}, or the plain name, or nothing for an object named <id>).
The result is published on import.result.<id>. The process also relays the outbox to
JetStream, and serves /metrics, /livez and /readyz on METRICS_ADDR.

  nats object put workbooks events.xlsx
  nats pub import.request.r1 '{"object":"events.xlsx"}'
  nats sub 'import.result.>'`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := env()
			if err != nil {
				return err
			}
			defer e.Close()
			return Serve(cmd.Context(), e, workers)
		},
	}
	cmd.Flags().IntVar(&workers, "workers", 1, "workbooks imported at once")
	return cmd
}

// Serve wires the service in the shared order (config, logger, metrics,
// database, NATS, topology, HTTP, work) and runs until ctx ends.
func Serve(ctx context.Context, e *service.Env, workers int) error {
	log := e.Logger
	m, err := pipeline.NewMetrics(e.Registry)
	if err != nil {
		return err
	}
	pool, err := e.DB(ctx)
	if err != nil {
		return err
	}
	_, js, err := e.NATS(ctx)
	if err != nil {
		return err
	}
	// Only the importer's own streams: its NATS user may not declare the
	// admwriter's consumer. Until the admwriter has declared TUTORIAL_EVENTS
	// the relay keeps its rows and retries.
	topo := messaging.DefaultTopology().Only(messaging.StreamImportRequests, messaging.StreamImportResults,
		messaging.StreamDLQ, messaging.BucketWorkbooks)
	if err := topo.Ensure(ctx, js); err != nil {
		return fmt.Errorf("declare streams: %w", err)
	}
	if _, err := e.StartHTTP(ctx); err != nil {
		return err
	}
	srv := &server.Server{Pool: pool, JS: js, Metrics: m, Logger: log}
	runner, err := messaging.NewRunner(js, messaging.RunnerOptions{
		Consumer: messaging.ImporterConsumer(), Handler: srv.Handle, Workers: workers,
		Logger: log, Registerer: e.Registry,
	})
	if err != nil {
		return err
	}
	relay, err := outbox.NewRelay(pool, js, outbox.RelayOptions{Logger: log, Registerer: e.Registry})
	if err != nil {
		return err
	}
	monitor, err := messaging.NewMonitor(js, messaging.MonitorOptions{Consumers: []messaging.ConsumerSpec{messaging.ImporterConsumer()},
		Registerer: e.Registry, Logger: log})
	if err != nil {
		return err
	}
	log.Info("importer serving", "subject", messaging.SubjectImportRequests, "bucket", messaging.BucketWorkbooks)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { monitor.Run(gctx); return nil })
	g.Go(func() error { return runner.Run(gctx) })
	g.Go(func() error { return relay.Run(gctx) })
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
