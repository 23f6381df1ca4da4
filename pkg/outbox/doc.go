// Package outbox is the transactional outbox between PostgreSQL and
// JetStream. Enqueue writes a message row in the caller's own transaction,
// so the message exists if and only if the business change commits. A Relay
// publishes committed rows with Nats-Msg-Id = row id, waits for the PubAck,
// and only then marks the row sent; a crash in between republishes the row,
// and the stream's duplicate window drops the copy.
//
// # Commit order
//
// Rows are read only when their transaction is older than every transaction
// still running (created_xid < pg_snapshot_xmin(pg_current_snapshot())),
// ordered by (created_xid, created_at). A relay that remembered the highest
// id or timestamp it had published would skip a row whose transaction took
// longer to commit than a later one's; with the xid filter such a row is
// simply not eligible yet. The cost: any long-running writing transaction in
// the cluster (including an idle-in-transaction session) holds publication
// back until it ends; admsync_outbox_lag_seconds shows it, and
// idle_in_transaction_session_timeout bounds it.
//
// # One active relay
//
// Each relay takes a session advisory lock (pg_try_advisory_lock) on a
// dedicated connection and publishes only while it holds it; other replicas
// wait as hot standbys and take over within LockRetry when the connection of
// the active one drops. This was chosen over FOR UPDATE SKIP LOCKED because a
// single publisher keeps the stream in (created_xid, created_at) order and
// needs no row locks held across a network call; the throughput needed (at
// most a few hundred rows a second) is far below one relay's.
//
// # Wake-ups
//
// Enqueue also calls pg_notify, which PostgreSQL delivers at commit. The
// relay LISTENs on the lock connection and wakes at once, and polls every
// PollInterval as well, because a notification is lost while the relay is
// disconnected and a row held back by an older open transaction needs a
// later look.
//
// # Limits
//
// A row whose publish keeps failing is retried in place with backoff and
// blocks the rows after it (order is preserved); attempts and last_error say
// why. Sent rows are kept (published_at set) for audit and reconciliation;
// pruning them is a separate job. A row republished after the duplicate
// window (10 minutes) would be a second copy in the stream, so consumers stay
// idempotent.
package outbox
