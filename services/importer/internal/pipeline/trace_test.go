package pipeline_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"admsync/pkg/observability/spantest"
	"admsync/services/importer/internal/pipeline"
)

// An import is a span, and every outbox row it stages carries that span's
// traceparent, so the relay and the writer continue the import's trace; the
// `importer serve` request id is stored with the run. Not parallel: the
// tracer provider is process-wide.
func TestImportTraceTravelsWithTheOutboxRows(t *testing.T) {
	rec := spantest.Record(t)

	b := setup(t)
	out, err := pipeline.Import(context.Background(), b.db.Pool, b.write(book(7)), pipeline.Options{RequestID: "req-trace-1"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Summary.Imported != 7 {
		t.Fatalf("imported: %s", out.Summary.Line())
	}
	var imp sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.InstrumentationScope().Name == "admsync/importer" {
			imp = s
		}
	}
	if imp == nil {
		t.Fatalf("no import span among %d spans", len(rec.Ended()))
	}

	var requestID string
	if err := b.db.Pool.QueryRow(context.Background(), `SELECT request_id FROM admsync.import_runs WHERE id = $1`, out.Summary.RunID).Scan(&requestID); err != nil {
		t.Fatal(err)
	}
	if requestID != "req-trace-1" {
		t.Errorf("import run %d has request_id %q", out.Summary.RunID, requestID)
	}

	rows, err := b.db.Pool.Query(context.Background(), `SELECT coalesce(traceparent, '') FROM admsync.outbox`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var tp string
		if err := rows.Scan(&tp); err != nil {
			t.Fatal(err)
		}
		n++
		sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": tp}))
		if sc.TraceID() != imp.SpanContext().TraceID() || sc.SpanID() != imp.SpanContext().SpanID() {
			t.Errorf("outbox row traceparent %q, want the import span %s/%s", tp, imp.SpanContext().TraceID(), imp.SpanContext().SpanID())
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 7 {
		t.Fatalf("%d outbox rows, want 7", n)
	}
}
