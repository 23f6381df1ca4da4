package observability

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TracingEnabled reports whether the standard OpenTelemetry environment asks
// for traces: OTEL_TRACES_EXPORTER=otlp, or an OTLP endpoint without
// OTEL_TRACES_EXPORTER=none. OTEL_SDK_DISABLED=true turns it off.
func TracingEnabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))) {
	case "otlp":
		return true
	case "none":
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// SetupTracing installs the global tracer provider and the W3C trace-context
// propagator when the OTEL_* environment asks for traces (see
// TracingEnabled), exporting over OTLP/HTTP; the exporter reads the rest of
// OTEL_EXPORTER_OTLP_* and the sampler OTEL_TRACES_SAMPLER* itself. Off, it
// installs nothing, so every span is a no-op and no traceparent is written
// or sent. The returned shutdown flushes pending spans; call it on exit.
func SetupTracing(ctx context.Context, service string, log *slog.Logger) (shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if !TracingEnabled(os.Getenv) {
		return noop, nil
	}
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto != "" && proto != "http/protobuf" {
		return noop, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported: admsync exports traces over OTLP/HTTP; set it to http/protobuf (port 4318 on a collector)", proto)
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return noop, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", "admsync-"+service),
		attribute.String("service.version", BuildVersion()),
	))
	if err != nil && !errors.Is(err, resource.ErrPartialResource) && !errors.Is(err, resource.ErrSchemaURLConflict) {
		return noop, fmt.Errorf("tracing: resource: %w", err)
	}
	// resource.Default reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES;
	// an operator's OTEL_SERVICE_NAME still wins over ours.
	if name := os.Getenv("OTEL_SERVICE_NAME"); name != "" {
		res, _ = resource.Merge(res, resource.NewSchemaless(attribute.String("service.name", name)))
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	Install(tp)
	log.Info("tracing enabled", "exporter", "otlp", "protocol", "http/protobuf")
	return tp.Shutdown, nil
}

// Install makes tp the global tracer provider and W3C trace context (with
// baggage) the global propagator; tests call it with an in-memory exporter.
func Install(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
}

// TraceAttrs returns the trace_id log attribute of ctx's span, so a log line
// leads to its trace; nothing when ctx carries no sampled span.
func TraceAttrs(ctx context.Context) []any {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []any{"trace_id", sc.TraceID().String()}
}
