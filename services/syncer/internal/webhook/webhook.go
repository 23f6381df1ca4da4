// Package webhook is the syncer's Administrate webhook intake: an HTTP endpoint
// that checks a delivery (route token, configuration secret, size), queues it
// on JetStream with a message id derived from the delivery and answers 200;
// a consumer that applies each queued delivery by reading the object from
// Administrate (syncer.ApplyDelivery); and the registration of the webhooks
// this system needs.
package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/config"
	"admsync/pkg/messaging"
	"admsync/pkg/observability"
	"admsync/services/syncer/internal/syncer"
)

// PathPrefix is where deliveries are posted: PathPrefix + <route token>.
const PathPrefix = "/webhooks/administrate/"

// MaxBody caps a delivery: Administrate posts the result of our small
// registered queries, a few kilobytes.
const MaxBody = 256 << 10

// Intake outcomes (admsync_webhook_received_total{outcome}).
const (
	OutcomeAccepted      = "accepted"
	OutcomeDuplicate     = "duplicate"
	OutcomeWrongToken    = "wrong_token"
	OutcomeWrongSecret   = "wrong_secret"
	OutcomeMalformed     = "malformed"
	OutcomeTooLarge      = "too_large"
	OutcomeIgnored       = "ignored"
	OutcomePublishFailed = "publish_failed"
)

// Metrics of the intake and the consumer.
type Metrics struct {
	Received *prometheus.CounterVec
	Applied  *prometheus.CounterVec
	Lag      prometheus.Histogram
	LastLag  prometheus.Gauge
}

// NewMetrics registers the webhook metrics in reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	s := observability.NewMetricSet(reg)
	m := &Metrics{
		Received: s.CounterVec("admsync_webhook_received_total",
			"Administrate webhook deliveries received by the intake, by outcome (accepted, duplicate, wrong_token, wrong_secret, malformed, too_large, ignored, publish_failed).", "outcome"),
		Applied: s.CounterVec("admsync_webhook_applied_total",
			"Webhook deliveries applied by the consumer, by outcome (applied, unchanged, stale, conflict, gone, unlinked, duplicate).", "outcome"),
		Lag: s.Histogram("admsync_webhook_intake_lag_seconds",
			"From Administrate's triggered_at to the delivery applied to the tutorial tables.",
			[]float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900}),
		LastLag: s.Gauge("admsync_webhook_last_intake_lag_seconds", "Intake lag of the last delivery applied (seconds)."),
	}
	if err := s.Err(); err != nil {
		panic(err)
	}
	for _, o := range []string{OutcomeAccepted, OutcomeDuplicate, OutcomeWrongToken, OutcomeWrongSecret, OutcomeMalformed,
		OutcomeTooLarge, OutcomeIgnored, OutcomePublishFailed} {
		m.Received.WithLabelValues(o)
	}
	return m
}

// Intake receives Administrate's deliveries.
type Intake struct {
	Token, Secret config.Secret
	JS            jetstream.JetStream
	Metrics       *Metrics
	Logger        *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// envelope is the part of a delivery the intake reads.
type envelope struct {
	Metadata struct {
		WebhookID   string `json:"webhook_id"`
		TriggeredAt string `json:"triggered_at"`
		IsRetry     bool   `json:"is_retry"`
	} `json:"metadata"`
	Payload struct {
		Node *struct {
			ID string `json:"id"`
		} `json:"node"`
	} `json:"payload"`
	Configuration json.RawMessage `json:"configuration"`
}

func equalSecret(got string, want config.Secret) bool {
	// Hashing first makes the comparison independent of the lengths.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want.Reveal()))
	return want.IsSet() && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (in *Intake) count(outcome string) {
	if in.Metrics != nil {
		in.Metrics.Received.WithLabelValues(outcome).Inc()
	}
}

func (in *Intake) reply(w http.ResponseWriter, status int, outcome, msg string) {
	in.count(outcome)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": outcome, "message": msg})
}

// ServeHTTP implements http.Handler for PathPrefix + <token>.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.URL.Path, PathPrefix)
	if !ok || !equalSecret(token, in.Token) {
		in.reply(w, http.StatusNotFound, OutcomeWrongToken, "not found")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		in.reply(w, http.StatusMethodNotAllowed, OutcomeMalformed, "POST only")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			in.reply(w, http.StatusRequestEntityTooLarge, OutcomeTooLarge, fmt.Sprintf("body over %d bytes", MaxBody))
			return
		}
		in.reply(w, http.StatusBadRequest, OutcomeMalformed, "unreadable body")
		return
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		in.reply(w, http.StatusBadRequest, OutcomeMalformed, "body is not a webhook delivery")
		return
	}
	var cfg struct {
		Secret string `json:"secret"`
	}
	// The configuration is an object, or (as registered) JSON text.
	raw := env.Configuration
	var text string
	if json.Unmarshal(raw, &text) == nil {
		raw = json.RawMessage(text)
	}
	_ = json.Unmarshal(raw, &cfg)
	if !equalSecret(cfg.Secret, in.Secret) {
		in.reply(w, http.StatusUnauthorized, OutcomeWrongSecret, "wrong secret")
		return
	}
	if env.Payload.Node == nil || env.Payload.Node.ID == "" || env.Metadata.WebhookID == "" {
		in.reply(w, http.StatusBadRequest, OutcomeMalformed, "no metadata.webhook_id or payload.node.id")
		return
	}
	kind := objectKind(env.Payload.Node.ID)
	if kind == "" {
		in.reply(w, http.StatusOK, OutcomeIgnored, "not an event or session")
		return
	}
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	triggered, _ := time.Parse(time.RFC3339Nano, env.Metadata.TriggeredAt)
	d := syncer.Delivery{ID: DeliveryID(env.Metadata.WebhookID, env.Payload.Node.ID, env.Metadata.TriggeredAt),
		WebhookID: env.Metadata.WebhookID, Kind: kind, ObjectID: env.Payload.Node.ID, TriggeredAt: triggered, ReceivedAt: now().UTC()}
	msg, _ := json.Marshal(d)
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	ack, err := in.JS.Publish(ctx, messaging.SubjectWebhookPrefix+kind, msg, jetstream.WithMsgID(d.ID))
	if err != nil {
		// Administrate retries a 5xx: nothing is lost while NATS is away.
		in.Logger.Warn("webhook delivery not queued", "delivery_id", d.ID, "object_id", d.ObjectID, "error", err)
		in.reply(w, http.StatusServiceUnavailable, OutcomePublishFailed, "could not queue the delivery; retry")
		return
	}
	if ack.Duplicate {
		in.reply(w, http.StatusOK, OutcomeDuplicate, "already queued")
		return
	}
	in.Logger.Debug("webhook delivery queued", "delivery_id", d.ID, "object_id", d.ObjectID, "kind", kind, "retry", env.Metadata.IsRetry)
	in.reply(w, http.StatusOK, OutcomeAccepted, "queued")
}

// DeliveryID identifies a delivery the way Administrate's retries repeat it:
// the webhook, the object and the trigger time.
func DeliveryID(webhookID, objectID, triggeredAt string) string {
	h := sha256.Sum256([]byte(webhookID + "\x1f" + objectID + "\x1f" + triggeredAt))
	return "wh-" + hex.EncodeToString(h[:16])
}

// objectKind tells an event id (internal type Course) from a session id.
func objectKind(id string) string {
	b, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return ""
	}
	switch {
	case bytes.HasPrefix(b, []byte("Course:")):
		return "event"
	case bytes.HasPrefix(b, []byte("Session:")):
		return "session"
	}
	return ""
}

// Applier is the consumer's handler.
type Applier struct {
	Apply   func(ctx context.Context, d syncer.Delivery) (syncer.ApplyResult, error)
	Metrics *Metrics
	Logger  *slog.Logger
}

// Handle is a messaging.Handler: a malformed message is dead-lettered, an
// Administrate or database error retried.
func (a *Applier) Handle(ctx context.Context, msg jetstream.Msg) error {
	var d syncer.Delivery
	dec := json.NewDecoder(bytes.NewReader(msg.Data()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil || d.ID == "" || d.ObjectID == "" {
		return messaging.Malformed(fmt.Errorf("webhook delivery: %v", err))
	}
	res, err := a.Apply(ctx, d)
	if err != nil {
		return err
	}
	if a.Metrics != nil {
		a.Metrics.Applied.WithLabelValues(res.Outcome).Inc()
		if !d.TriggeredAt.IsZero() && res.Outcome != syncer.DeliveryDuplicate {
			lag := time.Since(d.TriggeredAt).Seconds()
			a.Metrics.Lag.Observe(lag)
			a.Metrics.LastLag.Set(lag)
		}
	}
	a.Logger.Info("webhook delivery applied", "delivery_id", d.ID, "object_id", d.ObjectID, "event_id", res.EventID,
		"code", res.Code, "outcome", res.Outcome, "fields", res.Fields, "conflicts", len(res.Conflicts))
	for _, c := range res.Conflicts {
		a.Logger.Warn("conflict left alone: changed locally and in Administrate", "event", c.Event, "field", c.Field,
			"local", c.Local, "administrate", c.Administrate, "hint", "syncer run events --conflicts administrate|local")
	}
	return nil
}
