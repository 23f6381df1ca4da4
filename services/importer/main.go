// Command importer validates event workbooks and imports them; run it with
// --help for its commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // time-zone rules even where the image has none

	"admsync/pkg/service"
	"admsync/services/importer/internal/cli"
)

func main() {
	// Keep a large import's heap near its live size (GC slack would
	// otherwise double it) unless the operator set GOMEMLIMIT.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	env := func() (*service.Env, error) { return service.Setup("importer", os.Stderr) }
	return cli.Run(ctx, args, env, cli.IO{Out: os.Stdout, Err: os.Stderr})
}
