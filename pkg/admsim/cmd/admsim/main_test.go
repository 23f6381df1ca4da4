package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"admsync/pkg/testwait"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--addr", addr, "--log-level", "error"}) }()
	testwait.For(t, "the simulator to answer", func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
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
