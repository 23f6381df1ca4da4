package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"admsync/pkg/administrate"
)

// Sharing requests between commands. A lifecycle command is one message per
// event, and each event's writes are a field or two (a publish, a price per
// price level), so sent one by one they cost a request each: `prices add` sent
// 692 requests for the 346 events of the real season. The handlers of the
// commands in flight hand their writes to a batcher instead, which sends the
// writes of several events as aliased fields of one document (administrate.Batch)
// and gives each handler its own fields' answers; the reads before a delete go
// out together as one list of ids. Each handler then judges, records and
// answers its event exactly as before, so an event's failure policy (retry,
// dead letter, result) is still its own: a refused field fails its event only,
// and a request that fails as a whole leaves each of its events "outcome
// unknown", retried like any transient failure (every lifecycle write is safe
// to send again: see Handler).
//
// An event's writes always travel together (all its prices in one request,
// unless the tenant refuses a document that large and Batch splits it), and a
// request carries the writes of as many events as fit under the cap
// (ADMINISTRATE_BATCH fields). One request is in flight at a time: while it
// is (or while it waits for the shared rate budget), the next one fills up
// with the commands arriving meanwhile (Run handles twice the cap at once for
// that). A request that is not full goes once no call arrived for
// batchQuiet, or batchLinger after its oldest call.

const (
	// batchQuiet is how long a request that is not full waits for the next
	// call. The commands of one run arrive together (the CLI publishes them
	// at once; the runner fetches them as workers free up), a few
	// milliseconds apart.
	batchQuiet = 25 * time.Millisecond
	// batchLinger bounds the wait of the oldest call: a lone command loses
	// no more than this.
	batchLinger = 150 * time.Millisecond
	// batchSenders is how many requests the batcher has in flight at once.
	// One: more would send the commands arriving meanwhile in smaller
	// requests, and the tenant's budget counts requests.
	batchSenders = 1
	// readsPerRequest is the most event ids one read asks for (one page of
	// ListEventStatuses).
	readsPerRequest = 100
)

// batcher gathers the Administrate calls of concurrent handlers into shared
// requests. The zero value is not usable; see newBatcher.
type batcher struct {
	api           *administrate.Client
	log           *slog.Logger
	quiet, linger time.Duration

	mu     sync.Mutex
	writes []*writeCall
	reads  []*readCall
	wake   chan struct{}
	// closed is run's end: later calls are answered at once with it.
	closed error

	// requests and fields count what was sent (tests, logs).
	requests, fields int
}

type writeCall struct {
	ops   []administrate.BatchOp
	errs  []error
	since time.Time
	done  chan struct{}
}

type readCall struct {
	id    string
	st    administrate.EventStatus
	err   error
	since time.Time
	done  chan struct{}
}

func newBatcher(api *administrate.Client, log *slog.Logger) *batcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &batcher{api: api, log: log, quiet: batchQuiet, linger: batchLinger, wake: make(chan struct{}, 1)}
}

func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run sends what the handlers queue until ctx ends, with n senders; what is
// still queued then is answered with ctx's error.
func (b *batcher) run(ctx context.Context, n int) {
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Add(1)
		go func() { defer wg.Done(); b.sender(ctx) }()
	}
	wg.Wait()
	b.mu.Lock()
	b.closed = fmt.Errorf("lifecycle batch: stopped: %w", context.Cause(ctx))
	writes, reads := b.writes, b.reads
	b.writes, b.reads = nil, nil
	b.mu.Unlock()
	for _, c := range writes {
		for i := range c.errs {
			c.errs[i] = b.closed
		}
		close(c.done)
	}
	for _, c := range reads {
		c.err = b.closed
		close(c.done)
	}
}

func (b *batcher) sender(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		reads, writes, wait := b.take(time.Now())
		switch {
		case reads != nil:
			b.sendReads(ctx, reads)
			continue
		case writes != nil:
			b.sendWrites(ctx, writes)
			continue
		}
		var tick <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-ctx.Done():
		case <-b.wake:
		case <-tick:
		}
		if tick != nil && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// take returns the calls to send now (reads or writes, never both), or, when
// none is due yet, how long until the oldest is (0: nothing is queued).
func (b *batcher) take(now time.Time) ([]*readCall, []*writeCall, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer func() {
		if len(b.reads) > 0 || len(b.writes) > 0 {
			b.signal() // another sender may take the rest
		}
	}()
	var wait time.Duration
	// due: full, or quiet since the newest call, or the oldest waited long enough.
	due := func(oldest, newest time.Time, full bool) bool {
		left := min(oldest.Add(b.linger).Sub(now), newest.Add(b.quiet).Sub(now))
		if full || left <= 0 {
			return true
		}
		if wait == 0 || left < wait {
			wait = left
		}
		return false
	}
	if len(b.reads) > 0 && due(b.reads[0].since, b.reads[len(b.reads)-1].since, len(b.reads) >= readsPerRequest) {
		n := min(len(b.reads), readsPerRequest)
		out := b.reads[:n:n]
		b.reads = b.reads[n:]
		return out, nil, 0
	}
	if len(b.writes) > 0 {
		limit, fields := b.api.BatchMax(), 0
		for _, c := range b.writes {
			fields += len(c.ops)
		}
		if due(b.writes[0].since, b.writes[len(b.writes)-1].since, fields >= limit) {
			n, fields := 0, 0
			for n < len(b.writes) && (n == 0 || fields+len(b.writes[n].ops) <= limit) {
				fields += len(b.writes[n].ops)
				n++
			}
			out := b.writes[:n:n]
			b.writes = b.writes[n:]
			return nil, out, 0
		}
	}
	return nil, nil, wait
}

func (b *batcher) sendWrites(ctx context.Context, calls []*writeCall) {
	var ops []administrate.BatchOp
	for _, c := range calls {
		ops = append(ops, c.ops...)
	}
	res := administrate.BatchResult{Errors: make([]error, len(ops))}
	if len(ops) > 0 {
		res = b.api.Batch(ctx, ops)
	}
	b.mu.Lock()
	b.requests += res.Requests
	b.fields += len(ops)
	b.mu.Unlock()
	b.log.Debug("lifecycle writes sent", "events", len(calls), "fields", len(ops), "requests", res.Requests)
	i := 0
	for _, c := range calls {
		i += copy(c.errs, res.Errors[i:])
		close(c.done)
	}
}

func (b *batcher) sendReads(ctx context.Context, calls []*readCall) {
	ids := make([]string, 0, len(calls))
	seen := map[string]bool{}
	for _, c := range calls {
		if !seen[c.id] {
			seen[c.id] = true
			ids = append(ids, c.id)
		}
	}
	got, err := b.api.ListEventStatuses(ctx, administrate.EventFilter{IDs: ids}, administrate.WithPageSize(readsPerRequest))
	b.mu.Lock()
	b.requests++
	b.mu.Unlock()
	byID := make(map[string]administrate.EventStatus, len(got))
	for _, s := range got {
		byID[s.ID] = s
	}
	for _, c := range calls {
		st, ok := byID[c.id]
		switch {
		case err != nil:
			c.err = err
		case !ok:
			// Missing from the answer: gone, as States and EventStatusByID say it.
			c.err = fmt.Errorf("%w: event %s", administrate.ErrNotFound, c.id)
		default:
			c.st = st
		}
		close(c.done)
	}
}

// write queues ops (one event's writes) for the next request and returns
// each op's error, as administrate.Batch would. If ctx ends first, ops still
// queued are withdrawn (nothing is sent) and ops already on their way are
// "outcome unknown".
func (b *batcher) write(ctx context.Context, ops []administrate.BatchOp) []error {
	if len(ops) == 0 {
		return nil
	}
	c := &writeCall{ops: ops, errs: make([]error, len(ops)), since: time.Now(), done: make(chan struct{})}
	b.mu.Lock()
	if b.closed != nil {
		b.mu.Unlock()
		for i := range c.errs {
			c.errs[i] = b.closed
		}
		return c.errs
	}
	b.writes = append(b.writes, c)
	b.mu.Unlock()
	b.signal()
	select {
	case <-c.done:
		return c.errs
	case <-ctx.Done():
	}
	b.mu.Lock()
	withdrawn := remove(&b.writes, c)
	b.mu.Unlock()
	errs := make([]error, len(ops))
	for i, op := range ops {
		if withdrawn {
			errs[i] = fmt.Errorf("administrate %s not sent: %w", op.Name(), ctx.Err())
		} else {
			errs[i] = &administrate.OutcomeUnknownError{Operation: op.Name(), Err: ctx.Err()}
		}
	}
	return errs
}

// status reads one event's lifecycle fields with the other reads queued;
// ErrNotFound when it is gone.
func (b *batcher) status(ctx context.Context, id string) (administrate.EventStatus, error) {
	c := &readCall{id: id, since: time.Now(), done: make(chan struct{})}
	b.mu.Lock()
	if b.closed != nil {
		b.mu.Unlock()
		return administrate.EventStatus{}, b.closed
	}
	b.reads = append(b.reads, c)
	b.mu.Unlock()
	b.signal()
	select {
	case <-c.done:
		return c.st, c.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	remove(&b.reads, c)
	b.mu.Unlock()
	return administrate.EventStatus{}, ctx.Err()
}

func remove[T comparable](list *[]T, x T) bool {
	for i, y := range *list {
		if y == x {
			*list = append((*list)[:i:i], (*list)[i+1:]...)
			return true
		}
	}
	return false
}

// counts returns the requests sent and the write fields they carried.
func (b *batcher) counts() (requests, fields int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests, b.fields
}
