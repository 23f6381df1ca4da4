package service

import (
	"context"
	"testing"

	"github.com/spf13/cobra"
)

// A command that only groups others, run bare, is a usage error (exit 2)
// naming the command and its subcommands.
func TestNeedsSubcommandIsAUsageError(t *testing.T) {
	t.Parallel()
	root := NewRoot("tool", "", "")
	group := &cobra.Command{Use: "dlq", Args: cobra.NoArgs, RunE: NeedsSubcommand("list or show")}
	group.AddCommand(&cobra.Command{Use: "list", RunE: func(*cobra.Command, []string) error { return nil }})
	root.AddCommand(group)
	err := Execute(context.Background(), root, []string{"dlq"})
	if ExitCode(err) != 2 || err.Error() != "dlq needs a subcommand: list or show" {
		t.Fatalf("bare group: err = %v (exit %d), want the usage error naming its subcommands", err, ExitCode(err))
	}
	if err := Execute(context.Background(), root, []string{"dlq", "list"}); err != nil {
		t.Fatalf("dlq list: %v", err)
	}
}
