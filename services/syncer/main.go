// Command syncer keeps the adm bridge tables in step with Administrate; run
// it with --help for its commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"admsync/pkg/service"
	"admsync/services/syncer/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncer:", err)
	}
	os.Exit(service.ExitCode(err))
}

func run(ctx context.Context) error {
	return cli.Execute(ctx, os.Args[1:], cli.OSDeps())
}
