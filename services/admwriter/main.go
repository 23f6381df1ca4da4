// Command admwriter is the admsync admwriter; run it with --help for its commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"admsync/pkg/config"
	"admsync/pkg/service"
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
	env := func() (*service.Env, error) { return service.Setup("admwriter", os.Stderr) }
	root := &cobra.Command{
		Use:           "admwriter",
		Short:         "admsync admwriter",
		Long:          config.Describe(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return service.UsageError{Err: err} })
	root.AddCommand(service.MigrateCommand(env))
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}
