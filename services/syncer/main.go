// Command syncer keeps the adm bridge tables in step with Administrate; run
// it with --help for its commands.
package main

import (
	"context"
	"os"
	_ "time/tzdata" // zones must resolve even on images without tzdata

	"admsync/pkg/service"
	"admsync/services/syncer/internal/cli"
)

func main() { service.Main("syncer", run) }

func run(ctx context.Context) error {
	return cli.Execute(ctx, os.Args[1:], cli.OSDeps())
}
