package docrefs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Every command that only groups others (admwriter dlq, admwriter events,
// syncer run, …), run without a subcommand, is a usage error: exit 2, and
// the message names each of its subcommands, so an administrator who types
// the group alone learns what to type next instead of meeting help text
// and exit 0 in one tree and an error in another.
func TestEveryGroupCommandRunBareNamesItsSubcommands(t *testing.T) {
	tr := buildTrees(t, "")
	groups := 0
	var walk func(path []string)
	walk = func(path []string) {
		c := tr.help(path)
		subs := tr.ownSubs(c)
		if len(subs) == 0 {
			return
		}
		if len(path) > 1 { // a binary run bare prints its help: that is its own rule
			groups++
			tr.checkBare(path, subs)
		}
		for _, s := range subs {
			walk(append(slices.Clone(path), s))
		}
	}
	for _, b := range binaries {
		walk([]string{b})
	}
	if groups < 4 {
		t.Fatalf("found %d group commands; the walk missed the trees (want at least admwriter dlq, events, events prices, syncer run, syncer webhooks)", groups)
	}
}

// ownSubs lists c's subcommands without cobra's own help and completion.
func (tr *trees) ownSubs(c *command) []string {
	var subs []string
	for _, s := range c.children {
		if s != "help" && s != "completion" {
			subs = append(subs, s)
		}
	}
	slices.Sort(subs)
	return subs
}

func (tr *trees) checkBare(path, subs []string) {
	tr.t.Helper()
	cmd := exec.Command(filepath.Join(tr.dir, path[0]), path[1:]...)
	// No database, NATS or Administrate: a group must refuse before it
	// needs any of them.
	cmd.Env = append(os.Environ(), "LOG_LEVEL=error", "DATABASE_URL=", "NATS_URL=nats://127.0.0.1:1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		tr.t.Errorf("%s (bare): %v, want exit 2 (usage error); output:\n%s", strings.Join(path, " "), err, out)
		return
	}
	for _, s := range subs {
		if !strings.Contains(string(out), s) {
			tr.t.Errorf("%s (bare) does not name its subcommand %q:\n%s", strings.Join(path, " "), s, out)
		}
	}
}
