package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"admsync/pkg/messaging"
	"admsync/pkg/service"
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
			env, c, err := d.openAdministrate(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer env.Close()
			rep, err := c.Doctor(cmd.Context())
			if asJSON {
				if jerr := service.WriteJSON(d.Stdout, rep); jerr != nil && err == nil {
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

With WEBHOOK_ADDR set it also runs the Administrate webhook intake, POST
/webhooks/administrate/<WEBHOOK_ROUTE_TOKEN>: a wrong token answers 404, a
delivery whose configuration secret is not WEBHOOK_SECRET 401, a body over
256 KiB 413; an accepted delivery is queued on WEBHOOKS
(webhook.administrate.<kind>, Nats-Msg-Id from the webhook, object and trigger
time, so Administrate's retries dedupe) and answered 200. The consumer
"syncer-webhooks" reads each object from Administrate and applies it like
"syncer run events" (see syncer webhooks register). It runs with or without
the intake.

Serves /metrics, /livez and /readyz on METRICS_ADDR. Metrics:
admsync_sync_runs_total{stage,outcome}, admsync_sync_duration_seconds{stage},
admsync_sync_records_total{stage,outcome}, admsync_sync_unmatched{stage,side},
admsync_sync_last_success_timestamp_seconds{stage},
admsync_webhook_received_total{outcome}, admsync_webhook_applied_total{outcome},
admsync_webhook_intake_lag_seconds.

Prerequisites: DATABASE_URL (migrated), NATS_URL, the ADMINISTRATE_* settings.
ADMINISTRATE_RATE_LIMIT is the tenant's budget, spent together with the
admwriter and every other replica through the NATS key-value bucket ADM_RATE.

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
			// ADMINISTRATE_RATE_LIMIT is the tenant's budget, spent together
			// with the admwriter's replicas through NATS.
			if err := env.ShareAdministrateBudgetThroughNATS(ctx); err != nil {
				return err
			}
			adm, err := env.Administrate()
			if err != nil {
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
			metrics := syncer.NewMetrics(env.Registry)
			src := admsource.New(adm)
			h := &server.Handler{Pool: pool, JS: js, Metrics: metrics, Logger: env.Logger,
				Source: src, MaxPayload: int(nc.MaxPayload())}
			hooks, err := webhookTasks(env, pool, js, src)
			if err != nil {
				return err
			}
			return env.Serve(ctx, service.Service{
				Consumer: service.Consumer{
					Streams: []string{messaging.StreamSyncRequests, messaging.StreamSyncResults, messaging.StreamDLQ, messaging.StreamWebhooks},
					Spec:    messaging.SyncerConsumer(),
					Handler: h.Handle,
					Workers: 1,
				},
				Tasks: append(hooks, env.Every("refresh sync metrics from run records", 30*time.Second,
					func(ctx context.Context) error { return metrics.RefreshLastSuccess(ctx, pool) })),
			})
		},
	}
}
