package service

import (
	"fmt"

	"github.com/spf13/cobra"

	"admsync/pkg/database"
)

// MigrateCommand is the `migrate` subcommand of the syncer and the
// admwriter, so the Kubernetes migration Job can use either image.
func MigrateCommand(env func() (*Env, error)) *cobra.Command {
	var existing bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the admsync schemas in DATABASE_URL",
		Long: `Applies the embedded migrations (schemas acted, adm and admsync) under an
advisory lock; running it again applies nothing.

With --existing the database is a Django-created one: every acted table must
already exist with the columns admsync reads, and none of them is altered.
Missing columns are listed and nothing is changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, pool, err := OpenDB(cmd.Context(), env)
			if err != nil {
				return err
			}
			defer e.Close()
			res, err := database.Migrate(cmd.Context(), pool, database.MigrateOptions{Existing: existing, Logger: e.Logger})
			if err != nil {
				return err
			}
			if len(res.Applied) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "schema is up to date (version %d)\n", res.Version)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "applied %d migration(s), schema version %d\n", len(res.Applied), res.Version)
			return nil
		},
	}
	cmd.Flags().BoolVar(&existing, "existing", false, "the database was created by Django: verify the acted tables, never create or alter them")
	return cmd
}
