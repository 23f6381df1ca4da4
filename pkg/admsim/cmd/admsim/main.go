// Command admsim runs the Administrate simulator (package admsim) as an HTTP server for
// demos and manual testing: GraphQL at /graphql, OAuth2 client credentials at
// /oauth/token, and the fault/inspection control endpoint at /_control.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"admsync/pkg/admsim"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "admsim:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admsim", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: admsim [flags]

Serves a simulated Administrate GraphQL API for tests and demos:
  POST /graphql       GraphQL (bearer token required)
  POST /oauth/token   OAuth2 client credentials (form body)
  /_control           faults, recorded requests, state dump/load (see package admsim)

Flags:
`)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	seedPath := fs.String("seed", "", "JSON seed file (default: the built-in demo tenant)")
	empty := fs.Bool("empty", false, "start with an empty tenant instead of the built-in seed")
	clientID := fs.String("client-id", envOr("ADMSIM_CLIENT_ID", "admsim-client"), "accepted OAuth client id (env ADMSIM_CLIENT_ID)")
	clientSecret := fs.String("client-secret", envOr("ADMSIM_CLIENT_SECRET", "admsim-secret"), "accepted OAuth client secret (env ADMSIM_CLIENT_SECRET)")
	tokenTTL := fs.Duration("token-ttl", time.Hour, "access token lifetime")
	rateLimit := fs.Int("rate-limit", 0, "requests allowed per --rate-window before 429 (0 = unlimited; Administrate allows 6000 per 5m)")
	rateWindow := fs.Duration("rate-window", time.Second, "sliding window of --rate-limit")
	latency := fs.Duration("latency", 0, "added latency per request")
	jitter := fs.Duration("jitter", 0, "random extra latency in [0, jitter)")
	errorRatio := fs.Float64("error-ratio", 0, "share of requests answered with a 503 before executing (0..1)")
	disable := fs.String("disable", "", "comma-separated schema fields or operation names to disable, e.g. event.createBlended,locations")
	pageSize := fs.Int("page-size", 100, "default page size when first is not given")
	maxPage := fs.Int("max-page-size", 500, "largest page served")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level: %w", err)}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	var seed *admsim.Seed
	switch {
	case *seedPath != "":
		s, err := admsim.LoadSeedFile(*seedPath)
		if err != nil {
			return err
		}
		seed = &s
	case !*empty:
		s := admsim.DefaultSeed()
		seed = &s
	}
	var disabled []string
	for _, d := range strings.Split(*disable, ",") {
		if d = strings.TrimSpace(d); d != "" {
			disabled = append(disabled, d)
		}
	}
	sim, err := admsim.New(admsim.Options{
		ClientID: *clientID, ClientSecret: *clientSecret, TokenTTL: *tokenTTL, Seed: seed,
		DefaultPageSize: *pageSize, MaxPageSize: *maxPage, Logger: log,
		Faults: admsim.Faults{Latency: *latency, Jitter: *jitter, RateLimit: *rateLimit, RateWindow: *rateWindow,
			ErrorRatio: *errorRatio, Disabled: disabled},
	})
	if err != nil {
		return usageError{err}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("admsim listening", "graphql", "http://"+ln.Addr().String()+admsim.GraphQLPath,
		"token", "http://"+ln.Addr().String()+admsim.TokenPath, "client_id", *clientID)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("admsim shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
