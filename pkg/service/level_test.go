package service

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns the terminal end of a new pseudo-terminal, so a test can
// hand Setup a real terminal.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("pty number: %v", err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pty: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty
}

// On a terminal the logs stay out of the report: warn and above, unless
// LOG_LEVEL asks for more. Anywhere else the configured level (info) holds.
func TestLogsAreQuietOnATerminal(t *testing.T) {
	tty := openPTY(t)
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()
	ctx := context.Background()
	if v, ok := os.LookupEnv("LOG_LEVEL"); ok {
		t.Cleanup(func() { os.Setenv("LOG_LEVEL", v) })
	}
	defer os.Unsetenv("LOG_LEVEL")
	for _, c := range []struct {
		name     string
		out      *os.File
		level    string // "" leaves LOG_LEVEL unset
		infoLogs bool
	}{
		{"terminal", tty, "", false},
		{"terminal, LOG_LEVEL=info", tty, "info", true},
		{"pipe", pipeW, "", true},
	} {
		if c.level == "" {
			os.Unsetenv("LOG_LEVEL")
		} else {
			os.Setenv("LOG_LEVEL", c.level)
		}
		e, err := Setup("leveltest", c.out)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Logger.Enabled(ctx, slog.LevelInfo); got != c.infoLogs {
			t.Errorf("%s: info logs %v, want %v", c.name, got, c.infoLogs)
		}
		if !e.Logger.Enabled(ctx, slog.LevelWarn) {
			t.Errorf("%s: warnings must always be logged", c.name)
		}
	}
}
