// Package service is the one setup path every admsync binary shares: it
// reads the environment, builds the logger and metrics registry, opens
// PostgreSQL and NATS on demand, serves /metrics /livez /readyz, and closes
// everything in reverse order.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/config"
	"admsync/pkg/database"
	"admsync/pkg/observability"
)

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

	mu      sync.Mutex
	pool    *pgxpool.Pool
	nc      *nats.Conn
	js      jetstream.JetStream
	closers []func()
}

// Setup reads the environment and builds the logger and the registry. It
// opens nothing else: commands ask for the database or NATS when they need
// them, so `--help` and offline commands work without either.
func Setup(name string, logOut io.Writer) (*Env, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	return SetupWith(name, cfg, logOut), nil
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

// NATS connects (once) and returns the connection and its JetStream context.
// The connection reconnects forever: a NATS restart must not end a service.
func (e *Env) NATS(ctx context.Context) (*nats.Conn, jetstream.JetStream, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.nc != nil {
		return e.nc, e.js, nil
	}
	log := e.Logger
	nc, err := nats.Connect(e.Config.NATSURL,
		nats.Name("admsync-"+e.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.Timeout(5*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats disconnected", "error", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", "url", c.ConnectedUrlRedacted())
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w", redactURLs(e.Config.NATSURL), err)
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

// StartHTTP serves /metrics, /livez and /readyz on METRICS_ADDR until ctx
// ends; readiness checks whatever the command has opened. An empty
// METRICS_ADDR disables it.
func (e *Env) StartHTTP(ctx context.Context, extra ...observability.Check) (*observability.Server, error) {
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
	go func() {
		if err := srv.Serve(ctx); err != nil {
			e.Logger.Error("metrics server stopped", "error", err)
		}
	}()
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

func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
				parts[i] = p[:scheme+3] + "[redacted]@" + p[at+1:]
			}
		}
	}
	return strings.Join(parts, ",")
}
