package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"admsync/pkg/messaging"
	"admsync/pkg/service"
	"admsync/services/syncer/internal/syncer"
	"admsync/services/syncer/internal/webhook"
)

func webhooksCommand(d Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Register or list the Administrate webhooks that bring changes back",
		Long: `Administrate calls syncer serve's webhook intake whenever an event or a session
changes (see WEBHOOK_ADDR, WEBHOOK_ROUTE_TOKEN, WEBHOOK_SECRET).

  syncer webhooks register --public-url https://admsync.example.com
  syncer webhooks list`,
		Args: noArgs,
		RunE: service.NeedsSubcommand("register or list"),
	}
	var publicURL string
	var asJSON bool
	register := &cobra.Command{
		Use:   "register",
		Short: "Register (or update, matched by name) the event and session webhooks",
		Long: `Registers one webhook per type this system needs (Event Updated, Published,
Cancelled, Deleted; Session Created, Updated, Deleted), posting to
<--public-url>/webhooks/administrate/<WEBHOOK_ROUTE_TOKEN> with WEBHOOK_SECRET in
its configuration. A webhook of the same name is updated instead; a second run
changes nothing.

Prerequisites: the ADMINISTRATE_* settings, WEBHOOK_ROUTE_TOKEN, WEBHOOK_SECRET.

Exit codes:
  0  every webhook registered or already there
  1  Administrate refused or could not be reached, or a type is unavailable
  2  usage`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !strings.HasPrefix(publicURL, "https://") && !strings.HasPrefix(publicURL, "http://") {
				return service.Usagef("--public-url %q: want the intake's public base URL, e.g. https://admsync.example.com", publicURL)
			}
			env, err := d.Env()
			if err != nil {
				return err
			}
			defer env.Close()
			if err := env.Config.RequireWebhookIntake(); err != nil {
				return err
			}
			c, err := env.Administrate()
			if err != nil {
				return err
			}
			url := strings.TrimRight(publicURL, "/") + webhook.PathPrefix + env.Config.WebhookToken.Reveal()
			regs, err := webhook.Register(cmd.Context(), c, url, env.Config.WebhookSecret.Reveal())
			if asJSON {
				_ = service.WriteJSON(d.Stdout, regs)
			} else {
				for _, r := range regs {
					line := fmt.Sprintf("%-10s %s", r.Action, r.Name)
					if r.Note != "" {
						line += " (" + r.Note + ")"
					}
					fmt.Fprintln(d.Stdout, line)
				}
			}
			if err != nil {
				return err
			}
			for _, r := range regs {
				if r.Action == "unavailable" {
					return fmt.Errorf("webhook %q: %s", r.Name, r.Note)
				}
			}
			return nil
		},
	}
	register.Flags().StringVar(&publicURL, "public-url", "", "base URL Administrate reaches the intake at (required)")
	register.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the webhooks registered in Administrate (the route token is not shown)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, c, err := d.openAdministrate(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer env.Close()
			ws, err := webhook.List(cmd.Context(), c)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(d.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTYPE\tSTATE\tURL")
			for _, w := range ws {
				url := w.URL
				if t := env.Config.WebhookToken.Reveal(); t != "" {
					url = strings.ReplaceAll(url, t, "<WEBHOOK_ROUTE_TOKEN>")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", w.Name, w.TypeName, w.LifecycleState, url)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(register, list)
	return cmd
}

// webhookTasks are serve's webhook consumer and, with WEBHOOK_ADDR, the intake.
func webhookTasks(env *service.Env, pool *pgxpool.Pool, js jetstream.JetStream, src syncer.EventSource) ([]service.Task, error) {
	m := webhook.NewMetrics(env.Registry)
	spec := messaging.WebhooksConsumer()
	applier := &webhook.Applier{Metrics: m, Logger: env.Logger,
		Apply: func(ctx context.Context, d syncer.Delivery) (syncer.ApplyResult, error) {
			return syncer.ApplyDelivery(ctx, pool, src, d)
		}}
	tasks := []service.Task{{Name: "webhook consumer", Run: func(ctx context.Context) error {
		if _, err := messaging.EnsureConsumer(ctx, js, spec); err != nil {
			return fmt.Errorf("declare the webhook consumer: %w", err)
		}
		r, err := messaging.NewRunner(js, messaging.RunnerOptions{Consumer: spec, Handler: applier.Handle, Workers: 4,
			Logger: env.Logger})
		if err != nil {
			return err
		}
		return r.Run(ctx)
	}}}
	addr := env.Config.WebhookAddr
	if addr == "" {
		return tasks, nil
	}
	if err := env.Config.RequireWebhookIntake(); err != nil {
		return nil, err
	}
	intake := &webhook.Intake{Token: env.Config.WebhookToken, Secret: env.Config.WebhookSecret, JS: js, Metrics: m,
		Logger: env.Logger}
	mux := http.NewServeMux()
	mux.Handle(webhook.PathPrefix, intake)
	mux.Handle("/", intake) // wrong paths count as wrong tokens
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 15 * time.Second, ErrorLog: slog.NewLogLogger(env.Logger.Handler(), slog.LevelWarn)}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook intake: listen on %s: %w", addr, err)
	}
	env.Logger.Info("webhook intake listening", "addr", ln.Addr().String(), "path", webhook.PathPrefix+"<WEBHOOK_ROUTE_TOKEN>")
	return append(tasks, service.Task{Name: "webhook intake", Run: func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		}
	}}), nil
}
