// Package cli is the admwriter's command tree: serve (the consumer), the
// dead-letter tools, retry and status. main only builds it and maps its
// error to an exit code.
package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"admsync/pkg/config"
	"admsync/pkg/messaging"
	"admsync/pkg/service"
	"admsync/services/admwriter/internal/failpoint"
	"admsync/services/admwriter/internal/lifecycle"
	"admsync/services/admwriter/internal/plan"
	"admsync/services/admwriter/internal/writer"
)

// EnvFunc builds the process environment (lazily: --help needs none).
type EnvFunc func() (*service.Env, error)

// Run runs this process's command line with the real environment: the
// admwriter's main.
func Run(ctx context.Context) error {
	return Execute(ctx, os.Args[1:], service.EnvFromOS("admwriter"))
}

// Execute runs the command line args and returns the error that decides
// the exit code (service.ExitCode).
func Execute(ctx context.Context, args []string, env EnvFunc) error {
	return service.Execute(ctx, NewRoot(env), args)
}

// NewRoot returns the admwriter command tree.
func NewRoot(env EnvFunc) *cobra.Command {
	root := service.NewRoot("admwriter", "Write imported tutorial events to Administrate, exactly once",
		`admwriter consumes tutorial.event.created, creates each tutorial event in
Administrate (event, sessions, instructors, administrators) exactly once, and
records the Administrate ids in adm.events and adm.sessions. Failures it cannot
fix by retrying go to the dead-letter queue; the dlq and retry commands bring
them back once the cause is fixed.

`+config.Describe())
	root.AddCommand(
		service.MigrateCommand(env),
		serveCommand(env),
		dlqCommand(env),
		retryCommand(env),
		statusCommand(env),
		eventsCommand(env),
	)
	return root
}

func serveCommand(env EnvFunc) *cobra.Command {
	var (
		workers      int
		taxType      string
		drainTimeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Consume tutorial.event.created and write each event to Administrate",
		Long: `Runs the durable pull consumer "admwriter" on stream TUTORIAL_EVENTS with
--workers concurrent handlers sharing one Administrate rate budget
(ADMINISTRATE_RATE_LIMIT requests/s for all replicas together, kept through the
NATS key-value bucket ADM_RATE). Per event: claim the adm.events row, reconcile with
Administrate if a create may already have been sent, create the event, then update
and staff its sessions and add the administrators in one batched request
(ADMINISTRATE_BATCH fields at most), publish adm.event.linked (or
adm.event.failed) and ack. Corrections (tutorial.event.changed, from a
re-import) take the same claim and send their writes as one batch too.

Transient Administrate failures (timeouts, 429, 5xx) are retried with backoff;
repeated ones open a circuit breaker that stops fetching until a probe
succeeds, so an outage does not use up deliveries. Validation errors and
missing bridges are dead-lettered with the reason.

It also consumes event.command.<action> (consumer "admwriter-commands" on
stream EVENT_COMMANDS): the lifecycle commands of "admwriter events", one
message per event, answered on event.result.<run id>.

Serves /metrics, /livez and /readyz on METRICS_ADDR. On SIGINT/SIGTERM it stops
fetching and waits up to --drain-timeout for events in flight.` + failpoint.Help,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workers < 1 {
				return service.Usagef("--workers must be at least 1")
			}
			crash, err := failpoint.FromEnv()
			if err != nil {
				return service.UsageError{Err: err}
			}
			ctx := cmd.Context()
			e, pool, err := service.OpenDB(ctx, env)
			if err != nil {
				return err
			}
			defer e.Close()
			_, js, err := e.NATS(ctx)
			if err != nil {
				return err
			}
			// ADMINISTRATE_RATE_LIMIT is the tenant's budget, shared by every
			// replica (and the syncer) through NATS, not a per-process allowance.
			if err := e.ShareAdministrateBudgetThroughNATS(ctx); err != nil {
				return err
			}
			adm, err := e.Administrate()
			if err != nil {
				return err
			}
			consumer := writer.NewConsumer(writer.Config{
				Pool: pool, JS: js, API: writer.NewClient(adm), Logger: e.Logger, Registry: e.Registry,
				Workers: workers, Plan: plan.Options{TaxTypeID: taxType}, Failpoint: crash,
			}, messaging.AdmWriterConsumer())
			consumer.DrainTimeout = drainTimeout
			// The lifecycle commands (admwriter events …) run as a second
			// consumer in the same process, on the same rate budget.
			commands := &lifecycle.Handler{Pool: pool, API: adm, JS: js, Logger: e.Logger, Failpoint: crash}
			return e.Serve(ctx, service.Service{Consumer: consumer, Tasks: []service.Task{{
				Name: "event commands", Run: func(ctx context.Context) error { return commands.Run(ctx, workers, e.Registry) },
			}}})
		},
	}
	cmd.Flags().IntVar(&workers, "workers", 4, "created and changed events handled concurrently (they share the Administrate rate budget); event commands use at least twice ADMINISTRATE_BATCH, so their writes share requests")
	cmd.Flags().StringVar(&taxType, "tax-type", "", "Administrate tax type id sent with event creates (omitted when empty)")
	cmd.Flags().DurationVar(&drainTimeout, "drain-timeout", 25*time.Second, "on shutdown, how long to wait for events in flight")
	return cmd
}

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 2*time.Minute)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
