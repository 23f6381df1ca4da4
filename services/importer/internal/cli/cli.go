// Package cli is the importer's command line: import, template, sample and
// serve.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"admsync/pkg/config"
	"admsync/pkg/sampledata"
	"admsync/pkg/service"
	"admsync/services/importer/internal/pipeline"
	"admsync/services/importer/internal/report"
	"admsync/services/importer/internal/workbook"
)

// IO is where commands read and write; tests substitute buffers.
type IO struct {
	Out, Err io.Writer
}

// EnvFunc builds the service environment on demand (config, logger,
// registry, database), so --help and offline commands need none of it.
type EnvFunc func() (*service.Env, error)

// Root builds the command tree.
func Root(env EnvFunc, stdio IO) *cobra.Command {
	root := service.NewRoot("importer", "Import event workbooks into the tutorial tables and hand the events to Administrate",
		`importer reads the "Import" sheet of an event workbook, validates every row against
the tutorial catalogue and the Administrate bridges, writes the valid events in one
transaction and queues one tutorial.event.created message per event.

`+config.Describe())
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	root.AddCommand(importCmd(env, stdio), templateCmd(stdio), sampleCmd(env, stdio), serveCmd(env))
	return root
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return service.Usagef("expected %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}

func importCmd(env EnvFunc, stdio IO) *cobra.Command {
	var dryRun, asJSON bool
	var reportPath string
	var maxRows int
	var maxMiB, maxInflatedMiB int64
	cmd := &cobra.Command{
		Use:   "import FILE.xlsx",
		Short: "Validate a workbook and import its valid events",
		Long: `Validates every row first, then writes the valid events (an invalid row rejects its whole
event) in one transaction with one outbox message per event. Re-importing a workbook skips
the events already imported unchanged, and corrects those whose rows changed: each changed
field is listed (old → new), the tutorial rows are updated in the same transaction and one
tutorial.event.changed message per event tells the admwriter to apply the correction in
Administrate. Changes Administrate cannot make in place (another number of Days, another
course template, learning mode, time zone or LMS window) are refused for that event. Events
imported earlier in the file's sittings that the file no longer has are listed, never deleted. Exit status: 0 when nothing was rejected, 1 otherwise, 2 for usage errors.`,
		Args: exactArgs(1, "one workbook path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, pool, err := service.OpenDB(cmd.Context(), env)
			if err != nil {
				return err
			}
			defer e.Close()
			m, err := pipeline.NewMetrics(e.Registry)
			if err != nil {
				return err
			}
			lim := workbook.Limits{MaxRows: maxRows, MaxFileBytes: maxMiB << 20, UnzipSizeLimit: maxInflatedMiB << 20}
			prog := newProgress(stdio.Err)
			out, err := pipeline.Import(cmd.Context(), pool, args[0], pipeline.Options{DryRun: dryRun, Limits: lim, Metrics: m, Progress: prog.update})
			prog.done(err == nil)
			if err != nil {
				return err
			}
			sum := out.Summary
			if reportPath != "" {
				if err := report.WriteWithMissing(reportPath, args[0], lim, out.Events, sum.Missing); err != nil {
					return fmt.Errorf("report: %w", err)
				}
			}
			if asJSON {
				if err := service.WriteJSON(stdio.Out, sum); err != nil {
					return err
				}
			} else {
				printProblems(stdio.Out, sum, reportPath)
				printCorrections(stdio.Out, sum)
				fmt.Fprintln(stdio.Out, sum.Line())
				if reportPath != "" {
					fmt.Fprintf(stdio.Out, "report written to %s\n", reportPath)
				}
				if !dryRun {
					printQueueState(cmd.Context(), stdio.Out, e, pool, sum.Imported)
				}
			}
			if sum.Failed() {
				return service.ErrReported
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate and report, write nothing")
	cmd.Flags().StringVar(&reportPath, "report", "", "write a report workbook with every row's status and messages")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	cmd.Flags().IntVar(&maxRows, "max-rows", 200_000, "refuse sheets with data beyond this Excel row")
	cmd.Flags().Int64Var(&maxMiB, "max-size", 64, "refuse files larger than this many MiB")
	cmd.Flags().Int64Var(&maxInflatedMiB, "max-inflated", 0, "refuse workbooks whose parts inflate to more than this many MiB together (default IMPORTER_MAX_INFLATED_MIB, else 256)")
	return cmd
}

const maxPrinted = 50

// printCorrections lists every corrected field (old → new) and every event
// of the file's sittings that the file no longer has.
func printCorrections(w io.Writer, sum *pipeline.Summary) {
	verb := "changed"
	if sum.DryRun {
		verb = "would change"
	}
	for _, c := range sum.Changes {
		fmt.Fprintf(w, "%s %s\n", verb, c.Text)
	}
	for _, m := range sum.Missing {
		fmt.Fprintf(w, "not in this file: %s (sitting %s, tutorial event %d, import run %d row %d); left as it is, nothing is deleted\n",
			m.Title, m.Sitting, m.TutorialEventID, m.ImportRunID, m.ExcelRow)
	}
}

func printProblems(w io.Writer, sum *pipeline.Summary, reportPath string) {
	for i, p := range sum.Problems {
		if i == maxPrinted {
			more := "; use --report OUT.xlsx to see them all"
			if reportPath != "" {
				more = "; the report lists them all"
			}
			fmt.Fprintf(w, "… and %d more problems%s\n", len(sum.Problems)-maxPrinted, more)
			break
		}
		fmt.Fprintln(w, p.Text)
	}
}

// progress draws on a terminal and prints plain stage lines otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	last  time.Time
	stage string
	rows  int
	start time.Time
	drawn bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) update(stage string, rows int) {
	if p.tty {
		if time.Since(p.last) < 100*time.Millisecond && stage == p.stage {
			return
		}
		p.last = time.Now()
		label := map[string]string{"read": "reading and validating", "write": "writing"}[stage]
		fmt.Fprintf(p.w, "\r\033[K%s… %d rows (%.1fs)", label, rows, time.Since(p.start).Seconds())
		p.drawn = true
	} else if stage != p.stage {
		if p.stage == "read" {
			fmt.Fprintf(p.w, "read %d rows\n", p.rows) // the count of the stage that ended
		}
		if stage == "write" {
			fmt.Fprintln(p.w, "writing")
		}
	}
	p.stage, p.rows = stage, rows
}

func (p *progress) done(ok bool) {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
	if ok && !p.tty && p.stage == "read" {
		fmt.Fprintf(p.w, "read %d rows\n", p.rows) // a dry run ends while reading
	}
}

func templateCmd(stdio IO) *cobra.Command {
	return &cobra.Command{
		Use:   "template OUT.xlsx",
		Short: "Write a blank import template (header, example and format rows)",
		Args:  exactArgs(1, "one output path"),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := checkXLSXPath(args[0]); err != nil {
				return err
			}
			b := &sampledata.Book{}
			if err := b.WriteFile(args[0]); err != nil {
				return fmt.Errorf("write template: %w", err)
			}
			fmt.Fprintf(stdio.Out, "template written to %s\n", args[0])
			return nil
		},
	}
}

func checkXLSXPath(p string) error {
	if !strings.HasSuffix(strings.ToLower(p), ".xlsx") {
		return service.Usagef("%s: the output must be an .xlsx path", p)
	}
	return nil
}

func sampleCmd(env EnvFunc, stdio IO) *cobra.Command {
	var events int
	var seed uint64
	var sitting string
	var date1904, seedDB bool
	cmd := &cobra.Command{
		Use:   "sample OUT.xlsx --events N",
		Short: "Write a realistic generated workbook (the project's own test data)",
		Long: `Writes N generated events (blended, LMS and classroom) in the template's layout. The same
seed gives the same workbook. --seed-db also inserts the tutorial records and Administrate
bridges the workbook refers to, so it can be imported at once.`,
		Args: exactArgs(1, "one output path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkXLSXPath(args[0]); err != nil {
				return err
			}
			if events < 1 {
				return service.Usagef("--events must be at least 1")
			}
			ref, err := sampledata.WriteFile(args[0], sampledata.Options{Events: events, Seed: seed, Sitting: sitting, Date1904: date1904})
			if err != nil {
				return fmt.Errorf("write sample: %w", err)
			}
			fmt.Fprintf(stdio.Out, "sample with %d events written to %s\n", events, args[0])
			if !seedDB {
				return nil
			}
			e, pool, err := service.OpenDB(cmd.Context(), env)
			if err != nil {
				return err
			}
			defer e.Close()
			if _, err := sampledata.Seed(cmd.Context(), pool, ref); err != nil {
				return err
			}
			fmt.Fprintln(stdio.Out, "reference data seeded")
			return nil
		},
	}
	cmd.Flags().IntVar(&events, "events", 10, "number of events")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().StringVar(&sitting, "sitting", "2026A", "exam sitting")
	cmd.Flags().BoolVar(&date1904, "date1904", false, "use the 1904 date system")
	cmd.Flags().BoolVar(&seedDB, "seed-db", false, "also seed the tutorial tables and bridges in DATABASE_URL")
	return cmd
}

// Run runs this process's command line with the real streams and
// environment: the importer's main.
func Run(ctx context.Context) error {
	// Keep a large import's heap near its live size (GC slack would
	// otherwise double it) unless the operator set GOMEMLIMIT.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20)
	}
	return Execute(ctx, os.Args[1:], service.EnvFromOS("importer"), IO{Out: os.Stdout, Err: os.Stderr})
}

// Execute runs the command line args and returns the error that decides
// the exit code (service.ExitCode); a failure already printed is
// service.ErrReported.
func Execute(ctx context.Context, args []string, env EnvFunc, stdio IO) error {
	return service.Execute(ctx, Root(env, stdio), args)
}
