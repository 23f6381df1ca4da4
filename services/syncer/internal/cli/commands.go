package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
	"admsync/pkg/observability"
	"admsync/services/syncer/internal/admsource"
	"admsync/services/syncer/internal/server"
	"admsync/services/syncer/internal/syncer"
)

func doctorCommand(d Deps) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the Administrate tenant: credentials, token lifetime, supported operations",
		Long: `Fetches a token (credentials and token lifetime), introspects the tenant's live
schema and validates every operation admsync sends against it, looks up every
field, argument, input field and enum value those operations use (saying which
are not production-proven), then lists the supported and unsupported operations
and every missing field. A missing create operation
(location.create, venue.create, courseTemplate.create) means the sync prompt
prints what to do by hand instead of creating the record.

Prerequisites: the ADMINISTRATE_* settings; no database is needed.

Exit codes:
  0  credentials work, every operation is supported and every field present
  1  an operation is unsupported, a field is missing, the credentials were refused, Administrate is
     unreachable, or the configuration is incomplete
  2  usage`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := d.Env()
			if err != nil {
				return err
			}
			defer env.Close()
			c, err := newClient(env, administrate.Options{Registerer: env.Registry})
			if err != nil {
				return err
			}
			rep, err := c.Doctor(cmd.Context())
			if asJSON {
				enc := json.NewEncoder(d.Stdout)
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(rep); jerr != nil && err == nil {
					err = jerr
				}
			} else {
				fmt.Fprint(d.Stdout, rep.String())
			}
			if err != nil {
				return err
			}
			if n := len(rep.Unsupported()); n > 0 {
				return fmt.Errorf("%d operation(s) not supported by this tenant (see the MISSING lines)", n)
			}
			if !rep.OK() {
				return fmt.Errorf("doctor found a problem")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func serveCommand(d Deps) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run sync stages on request from NATS (sync.request.<stage>|all)",
		Long: `Consumes the SYNC_REQUESTS stream through the durable consumer "syncer"
(one run at a time across all replicas) and runs the stage named by the subject:
sync.request.<stage> or sync.request.all (Django names such as
sync.request.sync_locations work too). The body is optional JSON with the run
options, e.g. {"page_size": 100, "plan": false, "skip_errors": false,
"force_gone": false, "debug": false}; an empty body means the defaults. Service
runs never prompt. The structured result is published on sync.result.<stage>,
and for sync.request.all also on sync.result.all. A failed stage is reported in
its result and the request is acknowledged; only a result that cannot be
published is retried.

Serves /metrics, /livez and /readyz on METRICS_ADDR. Metrics:
admsync_sync_runs_total{stage,outcome}, admsync_sync_duration_seconds{stage},
admsync_sync_records_total{stage,outcome}, admsync_sync_unmatched{stage,side},
admsync_sync_last_success_timestamp_seconds{stage}.

Prerequisites: DATABASE_URL (migrated), NATS_URL, the ADMINISTRATE_* settings.

Exit codes:
  0  stopped cleanly (SIGTERM / SIGINT)
  1  could not start: database, NATS, streams or configuration
  2  usage`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			env, err := d.Env()
			if err != nil {
				return err
			}
			defer env.Close()
			log := env.Logger
			if err := env.Config.RequireAdministrate(); err != nil {
				return err
			}
			pool, err := env.DB(ctx)
			if err != nil {
				return err
			}
			nc, js, err := env.NATS(ctx)
			if err != nil {
				return err
			}
			topo := messaging.DefaultTopology().Only(messaging.StreamSyncRequests, messaging.StreamSyncResults, messaging.StreamDLQ)
			if err := topo.Ensure(ctx, js); err != nil {
				return err
			}
			base, err := newClient(env, administrate.Options{Registerer: env.Registry})
			if err != nil {
				return err
			}
			metrics := syncer.NewMetrics(env.Registry)
			go refreshFromRecords(ctx, log, func(ctx context.Context) error { return metrics.RefreshLastSuccess(ctx, pool) })
			monitor, err := messaging.NewMonitor(js, messaging.MonitorOptions{Consumers: []messaging.ConsumerSpec{messaging.SyncerConsumer()}, Registerer: env.Registry})
			if err != nil {
				return err
			}
			go monitor.Run(ctx)
			h := &server.Handler{Pool: pool, JS: js, Metrics: metrics, Logger: log,
				Source: admsource.New(base), MaxPayload: int(nc.MaxPayload())}
			runner, err := messaging.NewRunner(js, messaging.RunnerOptions{Consumer: messaging.SyncerConsumer(),
				Handler: h.Handle, Workers: 1, Logger: log, Registerer: env.Registry})
			if err != nil {
				return err
			}
			if _, err := env.StartHTTP(ctx, observability.Check{Name: "consumer", Fn: consumerCheck(js)}); err != nil {
				return err
			}
			log.Info("syncer serving sync requests", "stream", messaging.StreamSyncRequests, "consumer", messaging.ConsumerSyncer)
			return runner.Run(ctx)
		},
	}
}

// consumerCheck reports ready once the syncer's durable consumer exists.
func consumerCheck(js jetstream.JetStream) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := js.Consumer(ctx, messaging.StreamSyncRequests, messaging.ConsumerSyncer)
		return err
	}
}

// refreshFromRecords runs fn now and every 30 seconds until ctx ends; a
// failure is logged and retried on the next tick.
func refreshFromRecords(ctx context.Context, log *slog.Logger, fn func(context.Context) error) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			log.Warn("refresh sync metrics from run records", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
