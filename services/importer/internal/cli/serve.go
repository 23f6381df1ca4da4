package cli

import (
	"context"
	"errors"

	"admsync/pkg/service"
	"github.com/spf13/cobra"
)

func serveCmd(env EnvFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Import workbooks handed over through NATS (bucket \"workbooks\", subject import.request.<id>)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := env()
			if err != nil {
				return err
			}
			defer e.Close()
			return Serve(cmd.Context(), e)
		},
	}
}

// Serve is filled in below.
func Serve(ctx context.Context, e *service.Env) error {
	return errors.New("serve: not implemented yet")
}
