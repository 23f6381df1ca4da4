package cli

import (
	"github.com/spf13/cobra"

	"admsync/pkg/service"
	"admsync/services/syncer/internal/syncer"
)

// eventsCommand is `syncer run events`: not one of the seven reference stages,
// so `run all` runs it only with --with-events.
func eventsCommand(d Deps, f *runFlags) *cobra.Command {
	in := syncer.Infos[syncer.StageEvents]
	cmd := &cobra.Command{
		Use:     syncer.StageEvents,
		Aliases: []string{"sync_events", "sync-events"},
		Short:   "Bring tutorial events and sessions up to date with Administrate",
		Long: wrap(in.Summary, 80) + `

Examples:
  syncer run events --sitting 26A --plan      # what would change, nothing written
  syncer run events --sitting 26A             # apply; conflicts are reported, not applied
  syncer run events --sitting 26A --conflicts administrate
  syncer run events --adopt                   # also link Administrate events to tutorial events of the same code

Prerequisites: ` + in.Requires + `.

` + exitCodes,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := syncer.ValidConflicts(f.opts.Conflicts); err != nil {
				return service.UsageError{Err: err}
			}
			return execRun(cmd, d, syncer.StageEvents, f)
		},
	}
	addEventFlags(cmd, f)
	cmd.Flags().BoolVar(&f.opts.Adopt, "adopt", false, "link Administrate events with no bridge to the tutorial event whose code is their title")
	return cmd
}

func addEventFlags(cmd *cobra.Command, f *runFlags) {
	cmd.Flags().StringVar(&f.opts.Sitting, "sitting", "", "only the events of this sitting, e.g. 26A (Administrate titles carry it); default every event")
	cmd.Flags().StringVar(&f.opts.Conflicts, "conflicts", "", "which side wins a field changed both locally and in Administrate: administrate or local (default: report, change neither)")
}
