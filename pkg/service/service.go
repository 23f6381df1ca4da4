// Package service is the one setup path every admsync binary shares: it
// reads the environment, builds the logger and metrics registry, opens
// PostgreSQL, NATS and the Administrate client on demand, runs a service's
// consumer with everything around it (Serve), and closes everything in
// reverse order.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/term"

	"admsync/pkg/administrate"
	"admsync/pkg/config"
	"admsync/pkg/config/redact"
	"admsync/pkg/database"
	"admsync/pkg/messaging"
	"admsync/pkg/observability"
)

// Main is every binary's main: it runs run with a context that ends on
// SIGINT or SIGTERM, prints the error it returns (unless it was already
// reported), and exits with ExitCode.
func Main(name string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil && !errors.Is(err, ErrReported) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	}
	os.Exit(ExitCode(err))
}

// ErrReported marks a failure whose details a command already printed;
// Main exits 1 without repeating it.
var ErrReported = errors.New("already reported")

// UsageError marks a mistake in how a command was called (exit code 2).
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError.
func Usagef(format string, args ...any) error {
	return UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitCode maps a run's error to the process exit code: 0 ok, 2 usage, an
// error's own ExitCode() when it has one, 1 anything else.
func ExitCode(err error) int {
	var u UsageError
	var coded interface{ ExitCode() int }
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	case errors.As(err, &coded):
		// A command's own documented outcome, e.g. the syncer's 3 for
		// "completed with skipped records".
		return coded.ExitCode()
	default:
		return 1
	}
}

// Env is what a running command has to work with.
type Env struct {
	Name     string
	Config   *config.Config
	Logger   *slog.Logger
	Registry *prometheus.Registry

	mu        sync.Mutex
	pool      *pgxpool.Pool
	nc        *nats.Conn
	js        jetstream.JetStream
	admBudget administrate.Budget
	adm       *administrate.Client
	closers   []func()
}

// Setup reads the environment and builds the logger and the registry. It
// opens nothing else: commands ask for the database or NATS when they need
// them, so `--help` and offline commands work without either.
func Setup(name string, logOut io.Writer) (*Env, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	_, levelSet := os.LookupEnv("LOG_LEVEL")
	cfg.LogLevel = terminalLevel(cfg.LogLevel, levelSet, isTerminal(logOut))
	env := SetupWith(name, cfg, logOut)
	// Tracing follows the standard OTEL_* environment and is off without it.
	shutdown, err := observability.SetupTracing(context.Background(), name, env.Logger)
	if err != nil {
		return nil, err
	}
	env.closers = append(env.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			env.Logger.Warn("tracing: flush spans on exit", "error", err)
		}
	})
	return env, nil
}

// terminalLevel is the log level on a terminal: there the command's report
// is what the reader follows, so logs only say that something is wrong
// (warn) unless LOG_LEVEL asks for more (or the command's --debug does).
// Elsewhere (a service's log collector, a pipe) the configured level holds.
func terminalLevel(level slog.Level, explicit, tty bool) slog.Level {
	if tty && !explicit && level < slog.LevelWarn {
		return slog.LevelWarn
	}
	return level
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// SetupWith builds an Env from an already loaded configuration (tests).
func SetupWith(name string, cfg *config.Config, logOut io.Writer) *Env {
	return &Env{
		Name:     name,
		Config:   cfg,
		Logger:   observability.NewLogger(logOut, cfg.LogLevel, cfg.LogFormat, name),
		Registry: observability.NewRegistry(name),
	}
}

// DB opens (once) and returns the PostgreSQL pool.
func (e *Env) DB(ctx context.Context) (*pgxpool.Pool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pool != nil {
		return e.pool, nil
	}
	pool, err := database.Open(ctx, e.Config.DatabaseURL.Reveal())
	if err != nil {
		return nil, err
	}
	e.pool = pool
	e.closers = append(e.closers, pool.Close)
	return pool, nil
}

// OpenDB builds the environment with env and opens its database: how every
// command that works on the database starts. The caller closes the Env.
func OpenDB(ctx context.Context, env func() (*Env, error)) (*Env, *pgxpool.Pool, error) {
	e, err := env()
	if err != nil {
		return nil, nil, err
	}
	pool, err := e.DB(ctx)
	if err != nil {
		e.Close()
		return nil, nil, err
	}
	return e, pool, nil
}

// natsConnectWait bounds the wait for the first NATS connection, so a
// command run while NATS is down fails with a clear error instead of hanging.
const natsConnectWait = 10 * time.Second

// NATS connects (once, through messaging.Connect) and returns the
// connection and its JetStream context. The connection reconnects forever:
// a NATS restart must not end a service.
func (e *Env) NATS(ctx context.Context) (*nats.Conn, jetstream.JetStream, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.nc != nil {
		return e.nc, e.js, nil
	}
	cctx, cancel := context.WithTimeout(ctx, natsConnectWait)
	defer cancel()
	opts := []nats.Option{messaging.InboxPrefix(e.Config.NATSInboxPrefix)}
	if ca := e.Config.NATSTLSCA; ca != "" {
		opts = append(opts, nats.RootCAs(ca))
	}
	nc, err := messaging.Connect(cctx, e.Config.NATSURL, "admsync-"+e.Name, e.Logger, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w", redact.Text(e.Config.NATSURL, e.Config.NATSURL), redact.Error(err, e.Config.NATSURL))
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	e.nc, e.js = nc, js
	e.closers = append(e.closers, func() {
		// Drain flushes pending acks and publishes before closing.
		if err := nc.Drain(); err != nil {
			nc.Close()
		}
	})
	return nc, js, nil
}

// AdministrateOptions are the client options from the ADMINISTRATE_*
// settings, with the Env's logger and registry.
func (e *Env) AdministrateOptions() (administrate.Options, error) {
	cfg := e.Config
	if err := cfg.RequireAdministrate(); err != nil {
		return administrate.Options{}, err
	}
	return administrate.Options{
		APIURL: cfg.AdministrateAPIURL, TokenURL: cfg.AdministrateTokenURL,
		ClientID: cfg.AdministrateClientID, ClientSecret: cfg.AdministrateClientSecret.Reveal(),
		RateLimit: cfg.AdministrateRateLimit, Budget: e.admBudget, Timeout: cfg.AdministrateTimeout,
		BatchMax: cfg.AdministrateBatch, Registerer: e.Registry, Logger: e.Logger,
	}, nil
}

// ShareAdministrateBudget makes the Administrate client that Administrate
// builds wait on b (a budget shared by every replica) instead of a
// per-process rate limit. Call it before the first Administrate.
func (e *Env) ShareAdministrateBudget(b administrate.Budget) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.admBudget = b
}

// ShareAdministrateBudgetThroughNATS makes the Administrate client wait on
// the tenant's rate budget shared through NATS (key-value bucket ADM_RATE,
// administrate.SharedBudget): ADMINISTRATE_RATE_LIMIT is then the budget of
// every process that shares it, not this process's own. The bucket gets
// NATS_REPLICAS replicas when this process creates it. Call it before the
// first Administrate.
func (e *Env) ShareAdministrateBudgetThroughNATS(ctx context.Context) error {
	_, js, err := e.NATS(ctx)
	if err != nil {
		return err
	}
	b, err := administrate.NewSharedBudget(ctx, js, administrate.SharedBudgetOptions{
		Rate: e.Config.AdministrateRateLimit, Replicas: e.Config.NATSReplicas,
	})
	if err != nil {
		return err
	}
	e.ShareAdministrateBudget(b)
	return nil
}

// ShareAdministrateBudgetIfNATS is ShareAdministrateBudgetThroughNATS for
// one-shot commands, which also run where there is no NATS: it shares the
// budget when NATS_URL is configured and reports whether it did. When NATS
// is configured but cannot be reached, the command keeps its own
// per-process limit and logs a warning: failing would stop a nightly sync
// for a NATS outage, and the processes that share the budget cannot
// reserve from it either while NATS is down.
func (e *Env) ShareAdministrateBudgetIfNATS(ctx context.Context) bool {
	if !e.Config.NATSConfigured {
		return false
	}
	if err := e.ShareAdministrateBudgetThroughNATS(ctx); err != nil {
		e.Logger.Warn("the shared Administrate rate budget is unavailable; this command keeps its own limit",
			"rate_limit", e.Config.AdministrateRateLimit, "error", err)
		return false
	}
	return true
}

// Administrate builds (once) the process's Administrate client: one per
// process, so every caller shares its rate budget and its metrics.
func (e *Env) Administrate() (*administrate.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.adm != nil {
		return e.adm, nil
	}
	opts, err := e.AdministrateOptions()
	if err != nil {
		return nil, err
	}
	c, err := administrate.New(opts)
	if err != nil {
		return nil, fmt.Errorf("administrate client: %w", err)
	}
	e.adm = c
	return c, nil
}

// httpServer listens on METRICS_ADDR for /metrics, /livez and /readyz
// (nil when METRICS_ADDR is empty); readiness checks whatever the command
// has opened, plus extra.
func (e *Env) httpServer(extra ...observability.Check) (*observability.Server, error) {
	if e.Config.MetricsAddr == "" {
		return nil, nil
	}
	checks := []observability.Check{{Name: "postgres", Fn: func(ctx context.Context) error {
		e.mu.Lock()
		p := e.pool
		e.mu.Unlock()
		if p == nil {
			return nil
		}
		return p.Ping(ctx)
	}}, {Name: "nats", Fn: func(ctx context.Context) error {
		e.mu.Lock()
		nc, js := e.nc, e.js
		e.mu.Unlock()
		if nc == nil {
			return nil
		}
		if !nc.IsConnected() {
			return errors.New(nc.Status().String())
		}
		// Connected is not enough: a cluster node that lost its JetStream
		// quorum keeps the connection but refuses every publish and fetch.
		if _, err := js.AccountInfo(ctx); err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
		return nil
	}}}
	srv, err := observability.NewServer(e.Config.MetricsAddr, e.Registry, append(checks, extra...)...)
	if err != nil {
		return nil, err
	}
	e.Logger.Info("serving metrics and health", "addr", srv.Addr())
	return srv, nil
}

// Close releases what was opened, in reverse order.
func (e *Env) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}
