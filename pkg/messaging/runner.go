package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/ctxtime"
	"admsync/pkg/defaults"
)

// Handler processes one message. Return nil to ack, Permanent(err) to
// dead-letter now, RetryAfter(err, d) to be redelivered after d; any other
// error is transient and retried with the consumer's RetryBackoff. ctx is
// not cancelled by shutdown until the drain timeout has passed.
//
// Handlers must be idempotent: JetStream delivers at least once.
type Handler func(ctx context.Context, msg jetstream.Msg) error

// RunnerOptions configures a Runner.
type RunnerOptions struct {
	// Consumer names the durable (Stream, Config.Durable) and supplies the
	// RetryBackoff; declare it first with EnsureConsumer or EnsureTopology.
	Consumer ConsumerSpec
	Handler  Handler
	// Workers is the number of messages handled at once (default 1). The
	// consumer's MaxAckPending caps it across all replicas.
	Workers int
	// Gate, if set, is called before every fetch; while it returns an
	// error nothing new is fetched, so an open circuit breaker pauses
	// consumption without burning deliveries. In-flight handlers carry on.
	Gate func(ctx context.Context) error
	// GateRetry is how long to wait after Gate refused (default 1s).
	GateRetry time.Duration
	// FetchWait is the longest one pull request waits for messages
	// (default 5s). It also bounds how long shutdown waits for an idle fetch.
	FetchWait time.Duration
	// DrainTimeout bounds how long Run waits for in-flight handlers after
	// ctx is cancelled before cancelling their context (default 25s, below
	// a typical 30s termination grace period).
	DrainTimeout time.Duration
	// AckTimeout bounds DoubleAck and the dead-letter publish (default 10s).
	AckTimeout time.Duration
	// OnDeadLetter, if set, is called right before a message is
	// dead-lettered, with the reason and the handler's error: a service
	// records its own state there (the admwriter marks its bridge row
	// failed), whichever way the message got there: a permanent error, the
	// last allowed delivery, a panic. It runs first so a crash cannot leave
	// a dead letter whose state says otherwise; should the DLQ publish fail,
	// the message is redelivered and handled again, so the state it records
	// must be one a later delivery can reopen. It runs under AckTimeout.
	OnDeadLetter func(ctx context.Context, msg jetstream.Msg, reason string, err error)
	Logger       *slog.Logger
	// Registerer receives admsync_messages_handled_total and
	// admsync_handler_duration_seconds; nil disables metrics.
	Registerer prometheus.Registerer
}

// Runner pulls from one durable consumer with N workers and applies the
// Policy to each handler result.
type Runner struct {
	js      jetstream.JetStream
	opts    RunnerOptions
	logger  *slog.Logger
	metrics *metrics
}

// NewRunner validates opts and registers metrics.
func NewRunner(js jetstream.JetStream, opts RunnerOptions) (*Runner, error) {
	if js == nil {
		return nil, errors.New("new runner: nil JetStream")
	}
	if opts.Handler == nil {
		return nil, errors.New("new runner: nil handler")
	}
	if opts.Consumer.Stream == "" || opts.Consumer.Durable() == "" {
		return nil, errors.New("new runner: consumer stream and durable are required")
	}
	defaults.Positive(&opts.Workers, 1)
	defaults.Positive(&opts.GateRetry, time.Second)
	defaults.Positive(&opts.FetchWait, 5*time.Second)
	defaults.Positive(&opts.DrainTimeout, 25*time.Second)
	defaults.Positive(&opts.AckTimeout, 10*time.Second)
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("new runner: %w", err)
	}
	return &Runner{
		js:      js,
		opts:    opts,
		logger:  logger.With("stream", opts.Consumer.Stream, "consumer", opts.Consumer.Durable()),
		metrics: m,
	}, nil
}

// Run consumes until ctx is cancelled, then drains: it stops fetching,
// hands back messages that arrive after cancellation, and waits for
// in-flight handlers up to DrainTimeout. It returns nil after a clean drain.
func (r *Runner) Run(ctx context.Context) error {
	spec := r.opts.Consumer
	cons, err := r.js.Consumer(ctx, spec.Stream, spec.Durable())
	if err != nil {
		return fmt.Errorf("runner %s/%s: look up consumer: %w", spec.Stream, spec.Durable(), err)
	}
	// The server's copy is authoritative: it is what decides redelivery.
	cfg := cons.CachedInfo().Config
	backoff := spec.RetryBackoff
	if len(backoff) == 0 {
		backoff = cfg.BackOff
	}
	policy := Policy{MaxDeliver: cfg.MaxDeliver, Backoff: backoff}
	heartbeat := heartbeatInterval(cfg)
	workers := r.opts.Workers
	if cfg.MaxAckPending > 0 && workers > cfg.MaxAckPending {
		// More would only wait on the server's limit while their messages' ack timers ran.
		workers = cfg.MaxAckPending
	}
	r.logger.Info("runner started", "workers", workers, "max_deliver", cfg.MaxDeliver,
		"ack_wait", cfg.AckWait, "heartbeat", heartbeat)

	// Handlers outlive ctx for the drain; hardCtx ends them after DrainTimeout.
	hardCtx, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hardCancel()

	slots := make(chan struct{}, workers)
	var inflight sync.WaitGroup
	gateClosed := false
	fetchFailures := 0

	for ctx.Err() == nil {
		// Wait for one free worker, then take every other free one.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		n := 1
	more:
		for n < workers {
			select {
			case slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		release := func(k int) {
			for range k {
				<-slots
			}
		}

		if r.opts.Gate != nil {
			if err := r.opts.Gate(ctx); err != nil {
				release(n)
				if !gateClosed {
					r.logger.Warn("gate closed: not fetching", "error", err)
					gateClosed = true
				}
				ctxtime.Sleep(ctx, r.opts.GateRetry)
				continue
			}
			if gateClosed {
				r.logger.Info("gate open: fetching again")
				gateClosed = false
			}
		}

		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(r.opts.FetchWait))
		if err != nil {
			release(n)
			fetchFailures++
			r.logger.Warn("fetch failed", "error", err, "failures", fetchFailures)
			ctxtime.Sleep(ctx, fetchBackoff(fetchFailures))
			continue
		}
		got := 0
		for msg := range batch.Messages() {
			if ctx.Err() != nil {
				// Shutting down: give it back now rather than after AckWait.
				if err := msg.Nak(); err != nil {
					r.logger.Warn("nak on shutdown failed", "error", err)
				}
				continue
			}
			got++
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				defer func() { <-slots }()
				r.handle(hardCtx, msg, policy, heartbeat)
			}()
		}
		release(n - got)
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			fetchFailures++
			r.logger.Warn("fetch ended with error", "error", err, "failures", fetchFailures)
			ctxtime.Sleep(ctx, fetchBackoff(fetchFailures))
			continue
		}
		fetchFailures = 0
	}

	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	select {
	case <-done:
		r.logger.Info("runner drained")
		return nil
	case <-time.After(r.opts.DrainTimeout):
	}
	hardCancel()
	// Handlers that honour ctx now return and their messages are handed
	// back; do not wait forever for ones that do not.
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return fmt.Errorf("runner %s/%s: handlers still running after drain timeout %s", spec.Stream, spec.Durable(), r.opts.DrainTimeout)
}

// handle runs the handler for one message and acts on the policy's decision.
func (r *Runner) handle(ctx context.Context, msg jetstream.Msg, policy Policy, heartbeat time.Duration) {
	durable := r.opts.Consumer.Durable()
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream delivery; nothing sensible to do but let it time out.
		r.logger.Error("message without JetStream metadata", "subject", msg.Subject(), "error", err)
		return
	}
	log := r.logger.With("subject", msg.Subject(), "stream_seq", meta.Sequence.Stream,
		"num_delivered", meta.NumDelivered, "msg_id", msg.Headers().Get(jetstream.MsgIDHeader))

	start := time.Now()
	herr, panicReason := r.call(ctx, msg, heartbeat, log)
	r.metrics.duration.WithLabelValues(durable).Observe(time.Since(start).Seconds())

	var d Decision
	switch {
	case panicReason != "":
		d = Decision{Action: ActionDeadLetter, Reason: panicReason}
	case herr != nil && ctx.Err() != nil:
		// Cut off by shutdown: not the message's fault, retry at once
		// elsewhere (or dead-letter if this was the last delivery).
		d = policy.Decide(RetryAfter(herr, 0), meta.NumDelivered)
	default:
		d = policy.Decide(herr, meta.NumDelivered)
	}

	outcome := d.Action
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.AckTimeout)
	defer cancel()
	switch d.Action {
	case ActionAck:
		// DoubleAck: on a work queue the ack deletes the message; knowing it
		// landed avoids a redelivery in the common case (handlers stay idempotent anyway).
		if err := msg.DoubleAck(actx); err != nil {
			log.Warn("ack not confirmed; message may be redelivered", "error", err)
		}
	case ActionRetry:
		log.Warn("handler failed; will retry", "error", herr, "delay", d.Delay)
		if err := nak(msg, d.Delay); err != nil {
			log.Warn("nak failed; message will be redelivered after ack wait", "error", err)
		}
	case ActionDeadLetter:
		log.Error("dead-lettering message", "reason", d.Reason, "error", herr)
		if r.opts.OnDeadLetter != nil {
			r.opts.OnDeadLetter(actx, msg, d.Reason, herr)
		}
		if err := deadLetter(actx, r.js, msg, meta, d.Reason); err != nil {
			// Not in the DLQ, so keep it in the stream: retry later.
			log.Error("dead-lettering failed; will retry", "error", err)
			outcome = ActionRetry
			if err := nak(msg, policy.backoff(meta.NumDelivered)); err != nil {
				log.Warn("nak failed", "error", err)
			}
		}
	}
	r.metrics.handled.WithLabelValues(durable, outcome.String()).Inc()
}

// call runs the handler with InProgress heartbeats and turns a panic into a
// dead-letter reason.
func (r *Runner) call(ctx context.Context, msg jetstream.Msg, heartbeat time.Duration, log *slog.Logger) (err error, panicReason string) {
	hctx, cancel := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					log.Warn("in-progress heartbeat failed", "error", err)
				}
			}
		}
	}()
	// Stop the heartbeat before the caller acks, naks or terminates.
	defer func() { cancel(); <-hbDone }()
	defer func() {
		if p := recover(); p != nil {
			log.Error("handler panicked", "panic", p, "stack", string(debug.Stack()))
			panicReason = fmt.Sprintf("panic: %v", p)
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return r.opts.Handler(hctx, msg), ""
}

// heartbeatInterval is a third of the shortest ack deadline the server may
// apply: AckWait, or a BackOff entry (which replaces AckWait per delivery).
func heartbeatInterval(cfg jetstream.ConsumerConfig) time.Duration {
	shortest := cfg.AckWait
	for _, b := range cfg.BackOff {
		if b > 0 && (shortest <= 0 || b < shortest) {
			shortest = b
		}
	}
	if shortest <= 0 {
		shortest = 30 * time.Second // the server's default AckWait
	}
	return max(shortest/3, 10*time.Millisecond)
}

func nak(msg jetstream.Msg, delay time.Duration) error {
	if delay <= 0 {
		return msg.Nak()
	}
	return msg.NakWithDelay(delay)
}

func fetchBackoff(failures int) time.Duration {
	d := 250 * time.Millisecond << min(failures, 7)
	return min(d, 30*time.Second)
}
