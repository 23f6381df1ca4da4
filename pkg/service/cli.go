package service

import (
	"context"
	"encoding/json"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// NewRoot is a binary's root command with the conventions every admsync
// command tree shares: cobra prints neither the usage nor the error (Main
// prints the error, once), and a bad flag or flag value is a UsageError
// (exit code 2).
func NewRoot(use, short, long string) *cobra.Command {
	root := &cobra.Command{
		Use:           use,
		Short:         short,
		Long:          long,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return UsageError{Err: err} })
	return root
}

// Execute runs the command tree root on the command line args and returns
// the error that decides the exit code (ExitCode).
func Execute(ctx context.Context, root *cobra.Command, args []string) error {
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// EnvFromOS returns how a binary's commands build its Env on demand: from
// the process environment, logging to stderr. Nothing is read until a
// command calls it, so --help works anywhere.
func EnvFromOS(name string) func() (*Env, error) {
	return func() (*Env, error) { return Setup(name, os.Stderr) }
}

// WriteJSON writes v to w as indented JSON: the output of every command's
// --json.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// NeedsSubcommand is the RunE of a command that only groups others (named
// in which, e.g. "register or list"): run bare, it is a usage error that
// names them.
func NeedsSubcommand(which string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		return Usagef("%s needs a subcommand: %s", cmd.Name(), which)
	}
}
