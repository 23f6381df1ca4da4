// Command importer validates event workbooks and imports them; run it with
// --help for its commands.
package main

import (
	"context"
	"os"
	"runtime/debug"
	_ "time/tzdata" // zones must resolve even on images without tzdata

	"admsync/pkg/service"
	"admsync/services/importer/internal/cli"
)

func main() { service.Main("importer", run) }

func run(ctx context.Context) error {
	// Keep a large import's heap near its live size (GC slack would
	// otherwise double it) unless the operator set GOMEMLIMIT.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20)
	}
	env := func() (*service.Env, error) { return service.Setup("importer", os.Stderr) }
	return cli.Execute(ctx, os.Args[1:], env, cli.IO{Out: os.Stdout, Err: os.Stderr})
}
