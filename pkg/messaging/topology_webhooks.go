package messaging

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Administrate webhook deliveries: the syncer's intake publishes each
// accepted delivery on webhook.administrate.<kind> (event or session) with a
// Nats-Msg-Id derived from the delivery, so Administrate's retries (about 30 s,
// 1 min, 2 min) are dropped by the stream; its consumer "syncer-webhooks"
// applies them.
const (
	StreamWebhooks          = "WEBHOOKS"
	SubjectWebhooks         = "webhook.administrate.>"
	SubjectWebhookPrefix    = "webhook.administrate."
	ConsumerSyncerWebhooks  = "syncer-webhooks"
	WebhooksDuplicateWindow = time.Hour
	WebhooksMaxMsgs         = 1_000_000
	WebhooksMaxBytes        = 256 << 20
)

func init() {
	streamDefs = append(streamDefs, streamDef{
		name: StreamWebhooks, subject: SubjectWebhooks, workQueue: true,
		description: "Administrate webhook deliveries accepted by the syncer's intake (webhook.administrate.<kind>)",
		// Longer than Administrate's retry schedule, so its retries dedupe;
		// a delivery re-run by hand after that is still applied only once
		// (admsync.webhook_deliveries).
		duplicates: WebhooksDuplicateWindow, maxMsgs: WebhooksMaxMsgs, maxBytes: WebhooksMaxBytes,
	})
}

// WebhooksStream queues accepted webhook deliveries.
func WebhooksStream() jetstream.StreamConfig { return streamConfig(StreamWebhooks) }

// WebhooksConsumer applies webhook deliveries: a few at once (each reads one
// event from Administrate and writes one transaction), MaxDeliver 10 with
// RetryBackoff up to 5 minutes before a dead letter.
func WebhooksConsumer() ConsumerSpec {
	return consumerDef{
		stream:        StreamWebhooks,
		durable:       ConsumerSyncerWebhooks,
		description:   "syncer: apply Administrate webhook deliveries",
		filter:        SubjectWebhooks,
		ackWait:       30 * time.Second,
		maxDeliver:    10,
		maxAckPending: 8,
		retry:         []time.Duration{2 * time.Second, 10 * time.Second, 30 * time.Second, 2 * time.Minute, 5 * time.Minute},
	}.spec()
}
