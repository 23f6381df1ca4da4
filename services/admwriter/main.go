// Command admwriter writes imported tutorial events to Administrate exactly
// once; run it with --help for its commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // zones must resolve even on images without tzdata

	"admsync/pkg/service"
	"admsync/services/admwriter/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "admwriter:", err)
	}
	os.Exit(service.ExitCode(err))
}

func run(ctx context.Context, args []string) error {
	root := cli.NewRoot(func() (*service.Env, error) { return service.Setup("admwriter", os.Stderr) })
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}
