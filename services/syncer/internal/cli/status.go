package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"admsync/pkg/service"
	"admsync/services/syncer/internal/syncer"
)

func statusCommand(d Deps) *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the latest sync runs, marking runs whose process died as abandoned",
		Long: `Lists the latest runs recorded in admsync.sync_runs, newest first: stage,
status (running, ok, failed, abandoned), plan-only, start, duration, counts and
message. A run still "running" whose process is gone (killed, OOM, lost node) is
found by its advisory lock being free and is marked abandoned first; a run that
is really in progress holds its lock and is shown as running. Every
"syncer run" does the same check before it starts.

Prerequisites: DATABASE_URL (migrated); Administrate is not called.

Exit codes:
  0  the runs were listed
  1  the database is unreachable
  2  usage`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return service.Usagef("--limit %d: want at least 1", limit)
			}
			ctx := cmd.Context()
			env, pool, err := service.OpenDB(ctx, d.Env)
			if err != nil {
				return err
			}
			defer env.Close()
			abandoned, err := syncer.MarkAbandoned(ctx, pool)
			if err != nil {
				return err
			}
			runs, err := syncer.RecentRuns(ctx, pool, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return service.WriteJSON(d.Stdout, struct {
					NewlyAbandoned []syncer.AbandonedRun `json:"newly_abandoned"`
					Runs           []syncer.RunRecord    `json:"runs"`
				}{append([]syncer.AbandonedRun{}, abandoned...), append([]syncer.RunRecord{}, runs...)})
			}
			for _, a := range abandoned {
				fmt.Fprintf(d.Stdout, "⚠ run %d (%s) was left running by a process that is gone: marked abandoned\n", a.ID, a.Stage)
			}
			if len(runs) == 0 {
				fmt.Fprintln(d.Stdout, "no sync runs recorded yet; start one with `syncer run all`")
				return nil
			}
			fmt.Fprintf(d.Stdout, "%-6s %-29s %-10s %-19s %9s  %s\n", "RUN", "STAGE", "STATUS", "STARTED", "DURATION", "RESULT")
			for _, r := range runs {
				stage := r.Stage
				if r.PlanOnly {
					stage += " (plan)"
				}
				dur := "-"
				if r.FinishedAt != nil && r.Status != "abandoned" { // an abandoned run's end is when it was found
					dur = r.FinishedAt.Sub(r.StartedAt).Round(100 * time.Millisecond).String()
				}
				result := r.Counts.Line()
				if r.Status == "running" || r.Status == "abandoned" {
					result = ""
				}
				if r.Message != "" {
					result = strings.TrimSpace(result + "  " + r.Message)
				}
				fmt.Fprintf(d.Stdout, "%-6d %-29s %-10s %-19s %9s  %s\n", r.ID, stage, r.Status,
					r.StartedAt.Local().Format("2006-01-02 15:04:05"), dur, result)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the runs as JSON")
	cmd.Flags().IntVar(&limit, "limit", 20, "how many runs to list")
	return cmd
}
