package administrate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/ctxtime"
	"admsync/pkg/defaults"
)

// Budget is what a Client waits on before every request it sends. A
// *rate.Limiter is one (per process); SharedBudget is one for the whole
// tenant, across processes.
type Budget interface {
	Wait(ctx context.Context) error
}

// Defaults of the shared budget's JetStream key-value entry.
const (
	DefaultBudgetBucket = "ADM_RATE"
	DefaultBudgetKey    = "tenant"
)

// DefaultBudgetTolerance is how much the arrivals of requests at
// Administrate may bunch (delay variation between release and arrival:
// scheduling, connection reuse, network) without R+1 of them landing in one
// second: R slots are spread over one second plus this.
const DefaultBudgetTolerance = 100 * time.Millisecond

// SharedBudget spaces the requests of every process that uses the same
// JetStream key-value entry at least 1/rate apart, so the tenant's requests
// per second stay within the rate however many replicas run. The entry
// holds the next free send time (a GCRA "theoretical arrival time"); a
// caller reserves the slot it gets with a compare-and-set on the entry's
// revision, then sleeps until that slot. Reserving costs two round trips to
// NATS (one when this process made the last reservation). Clocks of the
// processes are assumed synchronised (NTP), as slots are wall-clock times.
// If NATS cannot be reached the caller waits and retries: sending without a
// reservation could exceed the tenant's limit.
type SharedBudget struct {
	js       jetstream.JetStream
	opts     SharedBudgetOptions
	kv       jetstream.KeyValue
	key      string
	interval time.Duration

	mu   sync.Mutex // one reservation at a time per process: fewer CAS conflicts
	last jetstream.KeyValueEntry
}

// SharedBudgetOptions configures NewSharedBudget.
type SharedBudgetOptions struct {
	// Rate is the tenant's budget in requests/s, for all processes together.
	Rate float64
	// Bucket and Key name the entry (DefaultBudgetBucket, DefaultBudgetKey);
	// every process sharing a tenant must use the same ones.
	Bucket, Key string
	// Replicas of the bucket's stream (1 in development, 3 in production).
	Replicas int
	// Tolerance of arrival bunching (DefaultBudgetTolerance); it lowers the
	// sustained rate to Rate/(1s+Tolerance) per second.
	Tolerance time.Duration
}

// NewSharedBudget opens (creating it if missing) the key-value bucket that
// holds the tenant's budget.
func NewSharedBudget(ctx context.Context, js jetstream.JetStream, o SharedBudgetOptions) (*SharedBudget, error) {
	if o.Rate <= 0 {
		return nil, fmt.Errorf("administrate: shared budget rate %v must be positive", o.Rate)
	}
	if o.Bucket == "" {
		o.Bucket = DefaultBudgetBucket
	}
	if o.Key == "" {
		o.Key = DefaultBudgetKey
	}
	defaults.Positive(&o.Tolerance, DefaultBudgetTolerance)
	b := &SharedBudget{js: js, opts: o, key: o.Key, interval: time.Duration(float64(time.Second+o.Tolerance) / o.Rate)}
	if err := b.open(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// open binds b to the bucket, creating it when missing: at start, and again
// whenever the bucket has vanished (a NATS store lost with its node).
func (b *SharedBudget) open(ctx context.Context) error {
	o := b.opts
	kv, err := b.js.KeyValue(ctx, o.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = b.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      o.Bucket,
			Description: "admsync: next free Administrate request slot of the tenant",
			History:     1,
			Replicas:    max(o.Replicas, 1),
			// File storage: a memory bucket vanishes with every NATS
			// restart, and every writer would then wait on it for ever.
			Storage: jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = b.js.KeyValue(ctx, o.Bucket)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// NATS does not answer a JetStream request its permissions refuse.
		return fmt.Errorf("administrate: open the shared rate budget bucket %s: no answer (may this NATS user use the bucket?): %w", o.Bucket, err)
	}
	if err != nil {
		return fmt.Errorf("administrate: open the shared rate budget bucket %s: %w", o.Bucket, err)
	}
	b.kv = kv
	return nil
}

// Interval is the spacing between two requests of the tenant.
func (b *SharedBudget) Interval() time.Duration { return b.interval }

// Wait reserves the next free slot and sleeps until it.
func (b *SharedBudget) Wait(ctx context.Context) error {
	slot, err := b.reserve(ctx)
	if err != nil {
		return err
	}
	return ctxtime.Sleep(ctx, time.Until(slot))
}

func (b *SharedBudget) reserve(ctx context.Context) (time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	backoff := 10 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return time.Time{}, err
		}
		slot, err := b.try(ctx)
		if err == nil {
			return slot, nil
		}
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			b.last = nil // another process reserved first: read the entry again
			continue
		}
		// NATS unreachable or slow: never send unreserved.
		b.last = nil
		// A vanished bucket answers like a silent server ("no responders",
		// "no response from stream"): look it up, and make it again if it
		// is gone (its store was lost with a node or a restart).
		_ = b.open(ctx)
		if serr := ctxtime.Sleep(ctx, backoff); serr != nil {
			return time.Time{}, serr
		}
		backoff = min(backoff*2, time.Second)
	}
}

// try makes one reservation attempt from the entry last seen (read afresh
// when unknown).
func (b *SharedBudget) try(ctx context.Context) (time.Time, error) {
	if b.last == nil {
		e, err := b.kv.Get(ctx, b.key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return time.Time{}, err
		default:
			b.last = e
		}
	}
	now := time.Now()
	slot := now
	if b.last != nil && len(b.last.Value()) == 8 {
		if next := time.Unix(0, int64(binary.BigEndian.Uint64(b.last.Value()))); next.After(now) {
			slot = next
		}
	}
	val := binary.BigEndian.AppendUint64(nil, uint64(slot.Add(b.interval).UnixNano()))
	var rev uint64
	var err error
	if b.last == nil {
		rev, err = b.kv.Create(ctx, b.key, val)
	} else {
		rev, err = b.kv.Update(ctx, b.key, val, b.last.Revision())
	}
	if err != nil {
		return time.Time{}, err
	}
	b.last = budgetEntry{key: b.key, value: val, rev: rev}
	return slot, nil
}

// budgetEntry is the entry as this process last wrote it.
type budgetEntry struct {
	jetstream.KeyValueEntry
	key   string
	value []byte
	rev   uint64
}

func (e budgetEntry) Value() []byte    { return e.value }
func (e budgetEntry) Revision() uint64 { return e.rev }
