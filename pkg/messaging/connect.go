package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"admsync/pkg/config/redact"
)

// Connect opens a NATS connection that never gives up reconnecting, logs
// every disconnect and reconnect, and returns once the first connection is
// up (or ctx ends). A NATS restart is then an interruption, not an outage
// that needs a pod restart. Extra options are applied after the defaults.
//
// The URL is never logged or returned in errors: it may carry credentials.
func Connect(ctx context.Context, url, name string, logger *slog.Logger, opts ...nats.Option) (*nats.Conn, error) {
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "nats", "client", name)
	base := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		// Start even if NATS is not up yet (pods start in any order).
		nats.RetryOnFailedConnect(true),
		nats.ConnectHandler(func(nc *nats.Conn) {
			logger.Info("nats connected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "error", err)
			} else {
				logger.Info("nats disconnected")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(_ *nats.Conn) {
			logger.Info("nats connection closed")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			logger.Error("nats async error", "subject", subject, "error", err)
		}),
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		// nats.go echoes a URL it cannot parse, password included.
		return nil, fmt.Errorf("connect to NATS as %s: %w", name, redact.Error(err, url))
	}
	// With RetryOnFailedConnect, Connect returns before the first connection
	// exists; wait for it so callers can declare streams straight away.
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !nc.IsConnected() {
		select {
		case <-ctx.Done():
			nc.Close()
			return nil, fmt.Errorf("connect to NATS as %s: %w", name, redact.Error(errors.Join(ctx.Err(), nc.LastError()), url))
		case <-t.C:
		}
	}
	return nc, nil
}

// InboxPrefix makes the connection's reply subjects (requests, JetStream
// API calls, ordered consumers) start with prefix instead of _INBOX, so that
// NATS permissions can give each user its own inbox: a user allowed to
// subscribe to _INBOX.> would receive every other user's replies and
// deliveries. An empty prefix keeps the default.
func InboxPrefix(prefix string) nats.Option {
	if prefix == "" {
		return func(*nats.Options) error { return nil }
	}
	return nats.CustomInboxPrefix(prefix)
}
