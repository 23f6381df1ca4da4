// Package natstest starts an embedded JetStream server per test, so tests
// run against a real server without any external process.
package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging/natsembed"
)

// Server is the handle Start returns: URL(), Shutdown(), Restart().
type Server = natsembed.Server

// Start runs a JetStream server on a free loopback port with its store in
// t.TempDir() and shuts it down when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := natsembed.Start(natsembed.Options{Dir: t.TempDir(), Port: -1, Name: "natstest"})
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// Connect opens a client to s that reconnects forever (so it survives
// Restart) and closes it when t ends.
func Connect(t testing.TB, s *Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(s.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("natstest: jetstream: %v", err)
	}
	return nc, js
}

// Context returns a context for test setup calls, bounded so a hung server
// fails the test instead of hanging it.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
