package cli

import (
	"context"

	"github.com/spf13/cobra"

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

// Serve runs the importer's consumer and, beside it, the outbox relay that
// hands the imported events to JetStream.
func Serve(ctx context.Context, e *service.Env, workers int) error {
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
	relay, err := outbox.NewRelay(pool, js, outbox.RelayOptions{Logger: e.Logger, Registerer: e.Registry})
	if err != nil {
		return err
	}
	srv := &server.Server{Pool: pool, JS: js, Metrics: m, Logger: e.Logger}
	return e.Serve(ctx, service.Service{
		Consumer: service.Consumer{
			// Only the importer's own streams: its NATS user may not declare
			// the admwriter's. Until the admwriter has declared
			// TUTORIAL_EVENTS the relay keeps its rows and retries.
			Streams: []string{messaging.StreamImportRequests, messaging.StreamImportResults,
				messaging.StreamDLQ, messaging.BucketWorkbooks},
			Spec:    messaging.ImporterConsumer(),
			Handler: srv.Handle,
			Workers: workers,
		},
		Tasks: []service.Task{{Name: "outbox relay", Run: relay.Run}},
	})
}
