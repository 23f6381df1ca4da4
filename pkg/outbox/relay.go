package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/codes"

	"admsync/pkg/ctxtime"
	"admsync/pkg/defaults"
)

// DefaultLockKey is the pg_try_advisory_lock key that elects the active
// relay of a database ("admsync" in ASCII, plus 1).
const DefaultLockKey int64 = 0x61646d73796e6301

// ErrRelayActive is returned by Flush when another relay holds the lock;
// that relay will publish the rows.
var ErrRelayActive = errors.New("another outbox relay is active")

// RelayOptions configures a Relay. Zero values take the defaults noted.
type RelayOptions struct {
	// BatchSize is the number of rows read per query (default 100).
	BatchSize int
	// PollInterval is the longest the relay sleeps without a notification
	// (default 1s).
	PollInterval time.Duration
	// PublishTimeout bounds one publish and its PubAck (default 5s).
	PublishTimeout time.Duration
	// MaxRetryDelay caps the backoff after failed publishes (default 30s).
	// Keep the whole retry span of a row well under the stream's duplicate
	// window (10 minutes).
	MaxRetryDelay time.Duration
	// LockRetry is how often a standby relay tries for the lock (default 5s).
	LockRetry time.Duration
	// LockKey is the advisory lock key (default DefaultLockKey).
	LockKey    int64
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Hook observes the relay's steps; only tests set it.
	Hook Hook
}

// Hook observes a relay at its steps, so tests can wait for them and
// simulate a crash; production leaves RelayOptions.Hook nil.
type Hook interface {
	// LockTried follows every pg_try_advisory_lock with its answer.
	LockTried(locked bool)
	// Drained follows every drain pass of the active relay.
	Drained()
	// Published runs after a row's PubAck (duplicate: the stream already
	// had it) and before the row is marked sent. A non-nil error makes Run
	// return it at once, as if the process had died in that window.
	Published(ctx context.Context, id uuid.UUID, duplicate bool) error
}

// noHook is the production Hook.
type noHook struct{}

func (noHook) LockTried(bool)                                   {}
func (noHook) Drained()                                         {}
func (noHook) Published(context.Context, uuid.UUID, bool) error { return nil }

// Relay publishes committed outbox rows to JetStream.
type Relay struct {
	pool    *pgxpool.Pool
	js      jetstream.JetStream
	opts    RelayOptions
	logger  *slog.Logger
	metrics *metrics
}

// NewRelay prepares a relay; Run starts it. pool supplies the connection
// settings; the relay holds one dedicated connection of its own for the
// lock and LISTEN.
func NewRelay(pool *pgxpool.Pool, js jetstream.JetStream, opts RelayOptions) (*Relay, error) {
	if pool == nil || js == nil {
		return nil, errors.New("new outbox relay: pool and JetStream are required")
	}
	defaults.Positive(&opts.BatchSize, 100)
	defaults.Positive(&opts.PollInterval, time.Second)
	defaults.Positive(&opts.PublishTimeout, 5*time.Second)
	defaults.Positive(&opts.MaxRetryDelay, 30*time.Second)
	defaults.Positive(&opts.LockRetry, 5*time.Second)
	if opts.LockKey == 0 {
		opts.LockKey = DefaultLockKey
	}
	if opts.Hook == nil {
		opts.Hook = noHook{}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("new outbox relay: %w", err)
	}
	return &Relay{pool: pool, js: js, opts: opts, logger: logger.With("component", "outbox-relay"), metrics: m}, nil
}

// failpointError is the Published hook's simulated crash.
type failpointError struct {
	id  uuid.UUID
	err error
}

func (e *failpointError) Error() string {
	return fmt.Sprintf("outbox relay: failpoint after publishing %s: %v", e.id, e.err)
}
func (e *failpointError) Unwrap() error { return e.err }

// publishError is a failed publish of one row: back off, keep the session.
type publishError struct {
	id  uuid.UUID
	err error
}

func (e *publishError) Error() string {
	return fmt.Sprintf("outbox relay: publish %s: %v", e.id, e.err)
}
func (e *publishError) Unwrap() error { return e.err }

// Run publishes until ctx is cancelled, reconnecting to PostgreSQL as
// needed; it returns nil then. It returns early only with the error of the
// Hook's Published step.
func (r *Relay) Run(ctx context.Context) error {
	failures := 0
	for ctx.Err() == nil {
		err := r.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var fp *failpointError
		if errors.As(err, &fp) {
			return err
		}
		if err == nil {
			failures = 0
			continue
		}
		failures++
		delay := backoff(failures, r.opts.MaxRetryDelay)
		r.logger.Warn("outbox relay session ended; reconnecting", "error", err, "retry_in", delay)
		ctxtime.Sleep(ctx, delay)
	}
	return nil
}

// Flush publishes every row committed before the call and reports how
// many rows it published, for a CLI that should not exit with its messages
// still staged. A row only becomes publishable once every older writing
// transaction in the cluster has ended, so Flush waits for that, bounded by
// ctx. It returns ErrRelayActive if a running relay holds the lock; that
// relay publishes the rows.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	conn, err := r.connect(ctx)
	if err != nil {
		return 0, err
	}
	defer closeConn(conn)
	locked, err := r.tryLock(ctx, conn)
	if err != nil {
		return 0, err
	}
	if !locked {
		return 0, ErrRelayActive
	}
	// Every transaction that committed before now has an xid below this.
	var horizon string
	if err := conn.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text`).Scan(&horizon); err != nil {
		return 0, fmt.Errorf("outbox relay: flush: read snapshot: %w", err)
	}
	total := 0
	for {
		n, err := r.drain(ctx, conn)
		total += n
		if err != nil {
			return total, err
		}
		var left int
		if err := conn.QueryRow(ctx, `
SELECT count(*) FROM admsync.outbox
WHERE published_at IS NULL AND created_xid < $1::text::xid8`, horizon).Scan(&left); err != nil {
			return total, fmt.Errorf("outbox relay: flush: count rows left: %w", err)
		}
		if left == 0 {
			r.refreshGauges(ctx, conn)
			return total, nil
		}
		ctxtime.Sleep(ctx, r.opts.PollInterval)
		if ctx.Err() != nil {
			return total, fmt.Errorf("outbox relay: flush: %d rows still wait for older transactions to end: %w", left, ctx.Err())
		}
	}
}

// session holds one dedicated connection: wait for the lock as a standby,
// then publish until an error or ctx ends. Closing the connection releases
// the lock, so a successor can take over.
func (r *Relay) session(ctx context.Context) error {
	conn, err := r.connect(ctx)
	if err != nil {
		return err
	}
	active := false
	defer func() {
		if active {
			r.logger.Info("outbox relay no longer active")
		}
		closeConn(conn)
	}()

	for {
		locked, err := r.tryLock(ctx, conn)
		if err != nil {
			return err
		}
		if locked {
			break
		}
		// Standby: keep the gauges meaningful on every replica.
		r.refreshGauges(ctx, conn)
		ctxtime.Sleep(ctx, r.opts.LockRetry)
		if ctx.Err() != nil {
			return nil
		}
	}
	active = true
	r.logger.Info("outbox relay active")
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return fmt.Errorf("outbox relay: listen: %w", err)
	}

	publishFailures := 0
	for {
		n, err := r.drain(ctx, conn)
		if n > 0 {
			r.logger.Debug("outbox rows published", "rows", n)
		}
		r.refreshGauges(ctx, conn)
		r.opts.Hook.Drained()
		if ctx.Err() != nil {
			return nil
		}
		var pe *publishError
		switch {
		case err == nil:
			publishFailures = 0
			if err := r.waitForWork(ctx, conn); err != nil {
				return err
			}
		case errors.As(err, &pe):
			// Keep the lock and the order: retry the same row after a pause.
			publishFailures++
			delay := backoff(publishFailures, r.opts.MaxRetryDelay)
			if streamFull(pe.err) {
				// The work queue refuses new messages until its consumer
				// makes room (DiscardNew); the row waits here, nothing is lost.
				r.logger.Warn("outbox publish refused: the stream is full; keeping the row and retrying",
					"id", pe.id, "error", pe.err, "retry_in", delay)
			} else {
				r.logger.Warn("outbox publish failed; retrying", "id", pe.id, "error", pe.err, "retry_in", delay)
			}
			ctxtime.Sleep(ctx, delay)
		default:
			return err
		}
	}
}

// selectEligible reads rows whose transactions are older than every
// running one, in commit-safe order: a row of a transaction still open is
// not visible yet, and nothing after it is skipped, because there is no
// high-water mark: published rows are excluded by published_at alone.
const selectEligible = `
SELECT id, subject, payload, headers, traceparent
FROM admsync.outbox
WHERE published_at IS NULL
  AND created_xid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY created_xid, created_at
LIMIT $1`

type outboxRow struct {
	ID      uuid.UUID
	Subject string
	Payload []byte
	Headers []byte // decoded per row, so one malformed row cannot stall the batch read
	// TraceParent is the W3C trace context of the staging transaction.
	TraceParent *string
}

// drain publishes eligible rows batch by batch until a batch comes back short.
func (r *Relay) drain(ctx context.Context, conn *pgx.Conn) (int, error) {
	published := 0
	for {
		rows, err := conn.Query(ctx, selectEligible, r.opts.BatchSize)
		if err != nil {
			return published, fmt.Errorf("outbox relay: select rows: %w", err)
		}
		batch, err := pgx.CollectRows(rows, pgx.RowToStructByPos[outboxRow])
		if err != nil {
			return published, fmt.Errorf("outbox relay: read rows: %w", err)
		}
		for _, row := range batch {
			if err := r.publish(ctx, conn, row); err != nil {
				return published, err
			}
			published++
		}
		if len(batch) < r.opts.BatchSize || ctx.Err() != nil {
			return published, nil
		}
	}
}

// publish sends one row and marks it sent only after the PubAck.
func (r *Relay) publish(ctx context.Context, conn *pgx.Conn, row outboxRow) error {
	hdr, err := decodeHeaders(row.Headers)
	if err != nil {
		r.recordFailure(ctx, conn, row.ID, err)
		return &publishError{id: row.ID, err: err}
	}
	if hdr == nil {
		hdr = nats.Header{}
	}
	sctx, span := publishSpan(ctx, row, hdr)
	defer span.End()
	msg := &nats.Msg{Subject: row.Subject, Data: row.Payload, Header: hdr}
	pctx, cancel := context.WithTimeout(sctx, r.opts.PublishTimeout)
	ack, err := r.js.PublishMsg(pctx, msg, jetstream.WithMsgID(row.ID.String()))
	cancel()
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		if ctx.Err() == nil { // a shutdown is not the row's failure
			r.recordFailure(ctx, conn, row.ID, err)
		}
		return &publishError{id: row.ID, err: err}
	}
	if ack.Duplicate {
		// Expected after a crash between PubAck and mark: the stream kept
		// the first copy, this one was dropped.
		r.logger.Info("outbox row already in stream; marking it sent", "id", row.ID, "stream", ack.Stream, "seq", ack.Sequence)
	}
	if err := r.opts.Hook.Published(ctx, row.ID, ack.Duplicate); err != nil {
		return &failpointError{id: row.ID, err: err}
	}
	// The PubAck is in hand: mark the row even if shutdown has begun, since
	// an unmarked row would be published again.
	mctx, mcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer mcancel()
	tag, err := conn.Exec(mctx, `
UPDATE admsync.outbox
SET published_at = now(), attempts = attempts + 1, last_error = NULL
WHERE id = $1 AND published_at IS NULL`, row.ID)
	if err != nil {
		return fmt.Errorf("outbox relay: mark %s sent: %w", row.ID, err)
	}
	if tag.RowsAffected() == 1 {
		r.metrics.published.Inc()
	}
	return nil
}

// streamFull reports whether a publish was refused because the stream hit
// its MaxMsgs or MaxBytes with DiscardNew (JetStream error 10077, "maximum
// messages exceeded" / "maximum bytes exceeded").
func streamFull(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.ErrorCode(10077) {
		return false
	}
	return strings.Contains(apiErr.Description, "maximum messages") || strings.Contains(apiErr.Description, "maximum bytes")
}

// decodeHeaders reads the headers column: {"Key": ["v1", "v2"]} as Enqueue
// writes it, or {"Key": "v"} as a hand-written row might.
func decodeHeaders(raw []byte) (nats.Header, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("headers column is not a JSON object: %w", err)
	}
	h := nats.Header{}
	for k, v := range fields {
		var many []string
		if err := json.Unmarshal(v, &many); err == nil {
			h[k] = many
			continue
		}
		var one string
		if err := json.Unmarshal(v, &one); err != nil {
			return nil, fmt.Errorf("header %q is neither a string nor a list of strings", k)
		}
		h[k] = []string{one}
	}
	return h, nil
}

// recordFailure notes a failed attempt on the row for operators; failing
// to record it is logged, not fatal.
func (r *Relay) recordFailure(ctx context.Context, conn *pgx.Conn, id uuid.UUID, perr error) {
	msg := perr.Error()
	if len(msg) > 1000 {
		msg = strings.ToValidUTF8(msg[:1000], "")
	}
	if _, err := conn.Exec(ctx, `UPDATE admsync.outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, id, msg); err != nil {
		r.logger.Warn("outbox relay: record failed attempt", "id", id, "error", err)
	}
}

// refreshGauges updates backlog and lag; a failure leaves them stale.
func (r *Relay) refreshGauges(ctx context.Context, conn *pgx.Conn) {
	var backlog int64
	var lag float64
	err := conn.QueryRow(ctx, `
SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
FROM admsync.outbox WHERE published_at IS NULL`).Scan(&backlog, &lag)
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Warn("outbox relay: read backlog", "error", err)
		}
		return
	}
	r.metrics.backlog.Set(float64(backlog))
	r.metrics.lag.Set(max(lag, 0))
}

// waitForWork returns on a notification or after PollInterval.
func (r *Relay) waitForWork(ctx context.Context, conn *pgx.Conn) error {
	wctx, cancel := context.WithTimeout(ctx, r.opts.PollInterval)
	defer cancel()
	_, err := conn.WaitForNotification(wctx)
	switch {
	case err == nil, ctx.Err() != nil:
		return nil
	case wctx.Err() != nil:
		return nil // poll interval elapsed; the connection stays usable
	default:
		return fmt.Errorf("outbox relay: wait for notification: %w", err)
	}
}

func (r *Relay) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, r.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("outbox relay: connect: %w", err)
	}
	return conn, nil
}

func (r *Relay) tryLock(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, r.opts.LockKey).Scan(&locked); err != nil {
		r.opts.Hook.LockTried(false)
		return false, fmt.Errorf("outbox relay: try advisory lock: %w", err)
	}
	r.opts.Hook.LockTried(locked)
	return locked, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

func backoff(failures int, limit time.Duration) time.Duration {
	d := 250 * time.Millisecond << min(failures-1, 10)
	return min(d, limit)
}
