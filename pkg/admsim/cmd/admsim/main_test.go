package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRunFlags(t *testing.T) {
	if err := run(context.Background(), []string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	var ue usageError
	if err := run(context.Background(), []string{"--no-such-flag"}); !errors.As(err, &ue) {
		t.Errorf("unknown flag: %v, want a usage error", err)
	}
	if err := run(context.Background(), []string{"--disable", "event.nothing"}); !errors.As(err, &ue) {
		t.Errorf("bad --disable: %v, want a usage error", err)
	}
	bad := filepath.Join(t.TempDir(), "seed.json")
	_ = os.WriteFile(bad, []byte(`{"locations": [{"name": "x", "colour": "red"}]}`), 0o600)
	if err := run(context.Background(), []string{"--seed", bad}); err == nil {
		t.Errorf("a seed with an unknown key was accepted")
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--log-level", "error"}) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancellation")
	}
}
