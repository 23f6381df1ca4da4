package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// MonitorOptions configures a Monitor.
type MonitorOptions struct {
	// Consumers whose backlog is exported as admsync_consumer_pending.
	Consumers []ConsumerSpec
	// Interval between refreshes (default 15s, a typical scrape interval).
	Interval   time.Duration
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Monitor refreshes the gauges that come from the server rather than from
// this process: DLQ depth and consumer backlog. Polling on an interval,
// not on scrape, keeps a slow or absent NATS from stalling /metrics.
type Monitor struct {
	js      jetstream.JetStream
	opts    MonitorOptions
	logger  *slog.Logger
	metrics *metrics
}

// NewMonitor registers the gauges.
func NewMonitor(js jetstream.JetStream, opts MonitorOptions) (*Monitor, error) {
	if opts.Interval <= 0 {
		opts.Interval = 15 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("new monitor: %w", err)
	}
	return &Monitor{js: js, opts: opts, logger: logger.With("component", "jetstream-monitor"), metrics: m}, nil
}

// Refresh reads DLQ stream info and each consumer's info once.
func (m *Monitor) Refresh(ctx context.Context) error {
	var errs []error
	s, err := m.js.Stream(ctx, StreamDLQ)
	if err == nil {
		var info *jetstream.StreamInfo
		if info, err = s.Info(ctx); err == nil {
			m.metrics.dlqMessages.Set(float64(info.State.Msgs))
		}
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("dlq stream info: %w", err))
	}
	for _, c := range m.opts.Consumers {
		info, err := m.consumerInfo(ctx, c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.metrics.consumerPending.WithLabelValues(c.Durable()).Set(float64(info.NumPending + uint64(info.NumAckPending)))
	}
	return errors.Join(errs...)
}

func (m *Monitor) consumerInfo(ctx context.Context, c ConsumerSpec) (*jetstream.ConsumerInfo, error) {
	cons, err := m.js.Consumer(ctx, c.Stream, c.Durable())
	if err != nil {
		return nil, fmt.Errorf("consumer %s/%s: %w", c.Stream, c.Durable(), err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("consumer %s/%s info: %w", c.Stream, c.Durable(), err)
	}
	return info, nil
}

// Run refreshes every Interval until ctx ends. Failures are logged, not
// returned: stale gauges beat a crashed service.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, m.opts.Interval)
		if err := m.Refresh(rctx); err != nil && ctx.Err() == nil {
			m.logger.Warn("refresh jetstream gauges", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
