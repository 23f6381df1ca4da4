package outbox

import (
	"context"
	"net/textproto"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the relay's spans.
const tracerName = "admsync/pkg/outbox"

// TraceParent returns the W3C traceparent of ctx's span as the global
// propagator writes it, or nil when tracing is off or ctx has no span; the
// row's traceparent column stores it so the trace survives the outbox.
func TraceParent(ctx context.Context) *string {
	c := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, c)
	if tp := c.Get("traceparent"); tp != "" {
		return &tp
	}
	return nil
}

// publishSpan starts the relay's span for a row as a child of the
// transaction that staged it, and writes the span's own context into hdr,
// so the consumer's span is the relay's child.
func publishSpan(ctx context.Context, row outboxRow, hdr nats.Header) (context.Context, trace.Span) {
	if row.TraceParent != nil {
		ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{"traceparent": *row.TraceParent})
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		// A row staged without a trace starts none: the relay's own work is
		// not worth a trace per message.
		return ctx, trace.SpanFromContext(ctx)
	}
	ctx, span := otel.Tracer(tracerName).Start(ctx, "outbox publish "+row.Subject,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", row.Subject),
			attribute.String("messaging.message.id", row.ID.String()),
		))
	otel.GetTextMapPropagator().Inject(ctx, HeaderCarrier(hdr))
	return ctx, span
}

// ExtractNATS returns ctx with the trace context a message's headers carry
// (the relay's span), for a consumer to start its span under it.
func ExtractNATS(ctx context.Context, h nats.Header) context.Context {
	if len(h) == 0 {
		return ctx
	}
	return otel.GetTextMapPropagator().Extract(ctx, HeaderCarrier(h))
}

// HeaderCarrier adapts NATS headers to the propagator. NATS header keys are
// case-sensitive; the keys are written as the propagator names them
// (lowercase "traceparent"), and read in that form or canonical HTTP form.
type HeaderCarrier nats.Header

// Get returns the first value of key.
func (c HeaderCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	if v := c[textproto.CanonicalMIMEHeaderKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces key's values.
func (c HeaderCarrier) Set(key, value string) { c[key] = []string{value} }

// Keys lists the keys present.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
