package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/defaults"
)

// MonitorOptions configures a Monitor.
type MonitorOptions struct {
	// Consumers whose backlog is exported as admsync_consumer_pending and
	// whose max-deliveries advisories Run captures into the DLQ.
	Consumers []ConsumerSpec
	// Replicas of the advisory streams Run declares (0: NATS_REPLICAS).
	Replicas int
	// Interval between refreshes (default 15s, a typical scrape interval).
	Interval   time.Duration
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Monitor watches a service's consumers from the server's side: it
// refreshes the gauges that come from the server rather than from this
// process (DLQ depth, consumer backlog), and Run also runs each consumer's
// max-deliveries Capture, which moves messages the consumer gave up on
// without an answer to the DLQ. Every serve command runs a Monitor for its
// own consumer, which is what puts the capture in every service. Polling
// on an interval, not on scrape, keeps a slow or absent NATS from stalling
// /metrics.
type Monitor struct {
	js      jetstream.JetStream
	opts    MonitorOptions
	logger  *slog.Logger
	metrics *metrics
}

// NewMonitor registers the gauges.
func NewMonitor(js jetstream.JetStream, opts MonitorOptions) (*Monitor, error) {
	defaults.Positive(&opts.Interval, 15*time.Second)
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

// Run refreshes every Interval and runs the max-deliveries captures until
// ctx ends. Failures are logged, not returned: stale gauges beat a crashed
// service.
func (m *Monitor) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	replicas := m.opts.Replicas
	if replicas <= 0 {
		r, err := ReplicasFromEnv()
		if err != nil {
			m.logger.Error("advisory streams declared with one replica", "error", err)
		}
		replicas = r
	}
	for _, c := range m.opts.Consumers {
		capture, err := NewCapture(m.js, CaptureOptions{Consumer: c, Replicas: replicas,
			Registerer: m.opts.Registerer, Logger: m.logger})
		if err != nil {
			m.logger.Error("max-deliveries capture not started", "consumer", c.Durable(), "error", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := capture.Run(ctx); err != nil {
				m.logger.Error("max-deliveries capture stopped", "consumer", c.Durable(), "error", err)
			}
		}()
	}
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
