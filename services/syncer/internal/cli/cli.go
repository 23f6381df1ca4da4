// Package cli is the syncer's command tree: run <stage>|all, doctor, serve
// and migrate. Everything a command touches (streams, terminal, environment,
// Administrate client) comes through Deps, so tests drive the same code the
// binary runs.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"admsync/pkg/administrate"
	"admsync/pkg/config"
	"admsync/pkg/observability"
	"admsync/pkg/service"
	"admsync/services/syncer/internal/admsource"
	"admsync/services/syncer/internal/syncer"
)

// Deps is what the commands need from the outside world.
type Deps struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// IsTerminal reports whether stdin and stdout are both terminals; the
	// creation prompt is only offered then.
	IsTerminal func() bool
	// Env builds the process environment (config, logger, metrics registry).
	Env func() (*service.Env, error)
	// Administrate builds the Administrate client from env's configuration
	// (one per process: every read takes its own page size).
	Administrate func(env *service.Env) (*admsource.Source, error)
}

// OSDeps are the real streams, terminal and environment.
func OSDeps() Deps {
	return Deps{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		IsTerminal: func() bool {
			return term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
		},
		Env:          service.EnvFromOS("syncer"),
		Administrate: NewAdministrate,
	}
}

// NewAdministrate returns the process's Administrate client (its metrics
// in env's registry) as a source.
func NewAdministrate(env *service.Env) (*admsource.Source, error) {
	c, err := env.Administrate()
	if err != nil {
		return nil, err
	}
	return admsource.New(c), nil
}

// openAdministrate builds the environment and the process's Administrate
// client, for a command that talks to Administrate and not to the
// database. With sharedIfNATS the client spends the tenant's budget shared
// through NATS when NATS_URL is set (service.Env.ShareAdministrateBudgetIfNATS).
// The caller closes the Env.
func (d Deps) openAdministrate(ctx context.Context, sharedIfNATS bool) (*service.Env, *administrate.Client, error) {
	env, err := d.Env()
	if err != nil {
		return nil, nil, err
	}
	if sharedIfNATS {
		env.ShareAdministrateBudgetIfNATS(ctx)
	}
	c, err := env.Administrate()
	if err != nil {
		env.Close()
		return nil, nil, err
	}
	return env, c, nil
}

const exitCodes = `Exit codes:
  0  success
  1  failure: a stage failed or was partial, a prerequisite is not met,
     Administrate or the database is unreachable, or the configuration is incomplete
  2  usage: unknown command, stage or flag, or a bad flag value
  3  completed with skipped records: every stage ran and applied, but some
     records were skipped (each listed under ⚠ with its reason); the bridge
     lacks them until the cause is fixed`

// Run runs this process's command line with the real streams and
// environment: the syncer's main.
func Run(ctx context.Context) error { return Execute(ctx, os.Args[1:], OSDeps()) }

// Execute runs the command line args and returns the error that decides
// the exit code (service.ExitCode).
func Execute(ctx context.Context, args []string, d Deps) error {
	return service.Execute(ctx, Root(d), args)
}

// Root builds the command tree.
func Root(d Deps) *cobra.Command {
	root := service.NewRoot("syncer", "Sync Administrate reference data into the adm bridge tables",
		`syncer keeps the adm bridge tables in step with Administrate: seven stages
(custom-fields, price-levels, locations, venues, instructors, course-templates,
course-template-price-levels) each fetch every page from Administrate, match the
records against the tutorial tables, apply the difference in one transaction and
report what did not match. Run one stage or all of them (run), check the tenant
(doctor), list the latest runs (status), or serve sync requests from NATS (serve).

Prerequisites: DATABASE_URL (migrated with "syncer migrate") and the
ADMINISTRATE_* settings; serve also needs NATS_URL. Each stage has its own
(see syncer run <stage> --help).

`+exitCodes+`

`+config.Describe())
	root.SetIn(d.Stdin)
	root.SetOut(d.Stdout)
	root.SetErr(d.Stderr)
	migrate := service.MigrateCommand(d.Env)
	migrate.Long += `

Prerequisites: DATABASE_URL pointing at a PostgreSQL the role may create schemas in.

Exit codes:
  0  the schema is up to date
  1  the database is unreachable, a migration failed, or --existing found missing columns
  2  usage`
	root.AddCommand(migrate, runCommand(d), doctorCommand(d), serveCommand(d), statusCommand(d), webhooksCommand(d))
	// Unknown subcommands are usage errors too.
	root.Args = func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return service.Usagef("unknown command %q; see syncer --help", args[0])
		}
		return nil
	}
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		return service.Usagef("a command is required; see syncer --help")
	}
	return root
}

// runFlags are the flags of `run`.
type runFlags struct {
	opts syncer.Options
}

func runCommand(d Deps) *cobra.Command {
	f := &runFlags{}
	run := &cobra.Command{
		Use:   "run <stage>|all",
		Short: "Run one sync stage, or all of them in dependency order",
		Long: `Runs a sync stage: check its prerequisites, fetch every page from Administrate
(if any page fails, nothing changes), match against the active tutorial records,
apply the difference in one transaction under the stage's advisory lock (a second
run of the same stage waits for the first), and report. Records Administrate no
longer returns are marked gone, never deleted; nothing is marked gone when the
fetch was incomplete or fell by more than half. Every run is recorded in
admsync.sync_runs and admsync.sync_discrepancies.

Stages, in the order "all" runs them (Django names such as sync_locations and
sync_all are accepted too):
` + stageTable() + `
Prerequisites: each stage's own, listed above (run checks them before calling
Administrate); DATABASE_URL migrated; the ADMINISTRATE_* settings.

At the end of a stage, unmatched tutorial records can be created in Administrate:
one [y/N] question, only when stdin and stdout are a terminal and --no-prompt is
not given. Otherwise the command behaves as --no-prompt and says so.

` + exitCodes,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return service.Usagef("run needs exactly one stage: %s, events or all", strings.Join(syncer.Order, ", "))
			}
			name, err := syncer.ParseStage(args[0])
			if err != nil {
				return service.UsageError{Err: err}
			}
			return execRun(cmd, d, name, f)
		},
	}
	pf := run.PersistentFlags()
	pf.BoolVar(&f.opts.NoPrompt, "no-prompt", false, "never ask; unmatched tutorial records are only reported (cron, CI)")
	pf.BoolVar(&f.opts.Debug, "debug", false, "debug logging and every change listed")
	pf.IntVar(&f.opts.PageSize, "page-size", syncer.DefaultPageSize, "records per Administrate page (1-500)")
	pf.BoolVar(&f.opts.Plan, "plan", false, "show the changes and write no bridge row (the run itself is recorded, plan_only)")
	pf.BoolVar(&f.opts.JSON, "json", false, "print the structured result as JSON on stdout (the report goes to stderr; implies --no-prompt)")
	pf.BoolVar(&f.opts.ForceGone, "force-gone", false, "mark records gone even when more than half of them disappeared at once")
	for _, name := range syncer.Order {
		run.AddCommand(stageCommand(d, f, name))
	}
	run.AddCommand(eventsCommand(d, f))
	all := &cobra.Command{
		Use:     syncer.All,
		Aliases: []string{"sync_all", "sync-all"},
		Short:   "Run every stage in dependency order",
		Long: `Runs the seven stages in order: ` + strings.Join(syncer.Order, " → ") + `.
The flags are passed to every stage. Every stage's reads start at once (pages
concurrently, within the rate budget); each stage writes in its own transaction
once the stages it needs are done (venues after locations, course templates
after custom fields, prices after course templates and price levels). A failed
stage stops the stages that need it unless --skip-errors is given. It prints
one block per stage in this order and the totals, and exits 1 if any stage
failed, 3 if all completed but records were skipped. The course-templates fetch
is reused by the course-template-price-levels stage.

Prerequisites: none beyond each stage's own (which the earlier stages provide).

` + exitCodes,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return execRun(cmd, d, syncer.All, f) },
	}
	all.Flags().BoolVar(&f.opts.SkipErrors, "skip-errors", false, "run the stages that need a failed stage anyway")
	all.Flags().BoolVar(&f.opts.WithEvents, "with-events", false, "also run the events stage at the end (see syncer run events --help)")
	addEventFlags(all, f)
	run.AddCommand(all)
	return run
}

func stageTable() string {
	var b strings.Builder
	for i, name := range syncer.Order {
		in := syncer.Infos[name]
		fmt.Fprintf(&b, "  %d. %-29s requires: %s\n", i+1, name, in.Requires)
	}
	return b.String()
}

// wrap breaks s into lines of at most width columns.
func wrap(s string, width int) string {
	var b strings.Builder
	col := 0
	for _, w := range strings.Fields(s) {
		if col > 0 && col+1+len(w) > width {
			b.WriteByte('\n')
			col = 0
		} else if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return service.Usagef("unexpected argument %q", args[0])
	}
	return nil
}

func stageCommand(d Deps, f *runFlags, name string) *cobra.Command {
	in := syncer.Infos[name]
	under := strings.ReplaceAll(name, "-", "_")
	aliases := []string{"sync_" + under, "sync-" + name}
	if under != name {
		aliases = append(aliases, under)
	}
	return &cobra.Command{
		Use:     name,
		Aliases: aliases,
		Short:   "Sync " + in.Display,
		Long: wrap(in.Summary, 80) + `

Prerequisites: ` + in.Requires + `.

` + exitCodes,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return execRun(cmd, d, name, f) },
	}
}

// execRun runs a stage or all stages and prints the result.
func execRun(cmd *cobra.Command, d Deps, name string, f *runFlags) error {
	opts := f.opts
	if opts.PageSize < 1 || opts.PageSize > 500 {
		return service.Usagef("--page-size %d: want 1 to 500", opts.PageSize)
	}
	ctx := cmd.Context()
	env, err := d.Env()
	if err != nil {
		return err
	}
	defer env.Close()
	if opts.Debug {
		env.Logger = observability.NewLogger(d.Stderr, slog.LevelDebug, env.Config.LogFormat, "syncer")
	}
	if err := env.Config.RequireAdministrate(); err != nil {
		return err
	}
	pool, err := env.DB(ctx)
	if err != nil {
		return err
	}
	// With NATS configured (the nightly CronJob), spend the tenant's shared
	// Administrate budget rather than a budget of its own.
	env.ShareAdministrateBudgetIfNATS(ctx)
	src, err := d.Administrate(env)
	if err != nil {
		return err
	}
	out := d.Stdout
	if opts.JSON {
		out = d.Stderr
	}
	r := &syncer.Runner{Pool: pool, Source: src, Creator: src, Out: out, In: d.Stdin,
		Interactive: d.IsTerminal != nil && d.IsTerminal(), Logger: env.Logger, Metrics: syncer.NewMetrics(env.Registry)}
	var result any
	if name == syncer.All {
		result, err = r.RunAll(ctx, opts)
	} else {
		result, err = r.RunStage(ctx, name, opts)
	}
	if opts.JSON {
		if jerr := service.WriteJSON(d.Stdout, result); jerr != nil && err == nil {
			err = fmt.Errorf("write JSON result: %w", jerr)
		}
	}
	return err
}
