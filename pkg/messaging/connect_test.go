package messaging_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
	"admsync/pkg/testwait"
)

func TestConnectSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	var logs testwait.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	nc, err := messaging.Connect(natstest.Context(t), srv.URL(), "test-client", logger)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer nc.Close()

	if err := srv.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	testwait.For(t, "reconnect", func() bool { return nc.IsConnected() && strings.Contains(logs.String(), "nats reconnected") })
	if !strings.Contains(logs.String(), "nats disconnected") {
		t.Fatalf("no disconnect logged:\n%s", logs.String())
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush after reconnect: %v", err)
	}
}

func TestConnectGivesUpWhenContextEnds(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	url := srv.URL()
	srv.Shutdown()
	ctx, cancel := testContext(200 * time.Millisecond)
	defer cancel()
	if nc, err := messaging.Connect(ctx, url, "nobody-home", slog.New(slog.DiscardHandler)); err == nil {
		nc.Close()
		t.Fatal("Connect succeeded with no server")
	}
}
