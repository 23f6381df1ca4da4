// Package breaker is the admwriter's circuit breaker. Consecutive transient
// Administrate failures open it; while it is open the consumer stops
// fetching, so an outage costs no JetStream deliveries (and no dead letters).
// After a cool-down the next fetch first runs a cheap probe request; a probe
// that gets an answer half-opens the breaker, the next success closes it.
package breaker

import (
	"context"
	"sync"
	"time"

	"admsync/pkg/ctxtime"
)

// State is the breaker's position; the numbers are the metric values.
type State int

const (
	Closed   State = 0
	HalfOpen State = 1
	Open     State = 2
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	default:
		return "open"
	}
}

// Config tunes a Breaker. Zero values take the defaults noted.
type Config struct {
	// Threshold is how many transient failures in a row open it (5).
	Threshold int
	// Cooldown is how long it stays open before the first probe (1s); it
	// doubles after each failed probe up to MaxCooldown (30s).
	Cooldown    time.Duration
	MaxCooldown time.Duration
	// OnChange is called (outside the lock) on every state change.
	OnChange func(from, to State)

	// now and sleep are replaced by tests.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// Breaker is safe for concurrent use.
type Breaker struct {
	cfg Config

	mu       sync.Mutex
	state    State
	fails    int
	cooldown time.Duration
	until    time.Time // open: no probe before this
	probing  bool
	probeEnd chan struct{} // closed when the running probe finishes
}

// New returns a closed breaker.
func New(cfg Config) *Breaker {
	if cfg.Threshold <= 0 {
		cfg.Threshold = 5
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = time.Second
	}
	if cfg.MaxCooldown < cfg.Cooldown {
		cfg.MaxCooldown = 30 * time.Second
		if cfg.MaxCooldown < cfg.Cooldown {
			cfg.MaxCooldown = cfg.Cooldown
		}
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.sleep == nil {
		cfg.sleep = ctxtime.Sleep
	}
	return &Breaker{cfg: cfg, cooldown: cfg.Cooldown}
}

// State reports the current state.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Success records an answer from Administrate (including a validation
// error: the API is up). In half-open it closes the breaker.
func (b *Breaker) Success() {
	b.mu.Lock()
	from := b.state
	b.fails = 0
	if b.state != Closed {
		b.state = Closed
		b.cooldown = b.cfg.Cooldown
	}
	b.mu.Unlock()
	b.changed(from, Closed)
}

// Failure records a transient failure (timeout, connection error, 429,
// 5xx). In half-open one failure re-opens it with a longer cool-down.
func (b *Breaker) Failure() {
	b.mu.Lock()
	from := b.state
	b.fails++
	switch {
	case b.state == HalfOpen:
		b.openLocked(true)
	case b.state == Closed && b.fails >= b.cfg.Threshold:
		b.openLocked(false)
	}
	to := b.state
	b.mu.Unlock()
	b.changed(from, to)
}

func (b *Breaker) openLocked(backoff bool) {
	if backoff {
		b.cooldown *= 2
		if b.cooldown > b.cfg.MaxCooldown {
			b.cooldown = b.cfg.MaxCooldown
		}
	}
	b.state = Open
	b.until = b.cfg.now().Add(b.cooldown)
}

// Wait blocks until work may be fetched: at once when closed or half-open;
// when open, it sleeps out the cool-down and then runs probe (one caller
// probes, the others wait for its result). A probe error re-opens the
// breaker with a doubled cool-down. Wait returns only ctx's error.
func (b *Breaker) Wait(ctx context.Context, probe func(context.Context) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.mu.Lock()
		if b.state != Open {
			b.mu.Unlock()
			return nil
		}
		if b.probing {
			done := b.probeEnd
			b.mu.Unlock()
			select {
			case <-done:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if d := b.until.Sub(b.cfg.now()); d > 0 {
			b.mu.Unlock()
			if err := b.cfg.sleep(ctx, d); err != nil {
				return err
			}
			continue
		}
		b.probing = true
		b.probeEnd = make(chan struct{})
		done := b.probeEnd
		b.mu.Unlock()

		var err error
		if probe != nil {
			err = probe(ctx)
		}

		b.mu.Lock()
		b.probing = false
		close(done)
		from := b.state
		if ctx.Err() != nil && err != nil {
			// Shutting down: the probe's failure says nothing about Administrate.
			b.mu.Unlock()
			return ctx.Err()
		}
		if err != nil {
			b.openLocked(true)
		} else if b.state == Open {
			b.state = HalfOpen
			b.fails = 0
		}
		to := b.state
		b.mu.Unlock()
		b.changed(from, to)
	}
}

func (b *Breaker) changed(from, to State) {
	if from != to && b.cfg.OnChange != nil {
		b.cfg.OnChange(from, to)
	}
}
