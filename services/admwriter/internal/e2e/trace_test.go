package e2e

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"admsync/pkg/messaging"
	"admsync/pkg/observability"
	"admsync/pkg/observability/spantest"
	"admsync/pkg/outbox"
	"admsync/pkg/sampledata"
	"admsync/pkg/testwait"
	"admsync/services/admwriter/internal/writer"
)

// One imported event makes one connected trace: the import's span (the
// transaction staging the outbox row, as the importer's is) is the parent
// of the relay's publish, which is the parent of the writer's handling,
// which is the parent of every Administrate HTTP call; and the writer's log
// lines carry the import run, the tutorial event, the Administrate event
// and the trace id. Not parallel: the tracer provider is process-wide.
func TestOneEventOneTraceAcrossRelayWriterAndAdministrate(t *testing.T) {
	rec := spantest.Record(t)

	b := setup(t)
	ct := b.template(sampledata.Blended, 2)
	ev := b.seedEvent(eventSpec{Template: ct, Title: "ELO-TRACE-26A", Location: "London", Venue: "Riverside Rooms"})
	var logs testwait.Buffer
	b.start(runOpts{workers: 1, logger: observability.NewLogger(&logs, slog.LevelDebug, "json", "admwriter")})

	b.ensureStreams()
	ctx, imp := otel.Tracer("admsync/importer").Start(b.ctx, "import trace.xlsx")
	err := pgx.BeginFunc(ctx, b.db.Pool, func(tx pgx.Tx) error {
		return outbox.Enqueue(ctx, tx, messaging.SubjectTutorialEventCreated, uuid.New(),
			writer.Payload{TutorialEventID: ev, ImportRunID: b.runID})
	})
	imp.End()
	if err != nil {
		t.Fatal(err)
	}
	relayFlush(t, b)
	b.waitState("done", 1)
	ext, _ := b.bridge(ev)

	traceID := imp.SpanContext().TraceID()
	var relay, handle sdktrace.ReadOnlySpan
	var spans []sdktrace.ReadOnlySpan
	testwait.For(b.t, "the writer's span to end", func() bool {
		for _, s := range rec.Ended() {
			if strings.HasPrefix(s.Name(), "handle ") {
				return true
			}
		}
		return false
	})
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() != traceID {
			continue
		}
		spans = append(spans, s)
		switch {
		case strings.HasPrefix(s.Name(), "outbox publish "):
			relay = s
		case strings.HasPrefix(s.Name(), "handle "):
			handle = s
		}
	}
	if relay == nil || handle == nil {
		t.Fatalf("the import's trace has no relay or writer span: %v", names(spans))
	}
	if relay.Parent().SpanID() != imp.SpanContext().SpanID() {
		t.Errorf("relay span's parent %s, want the import span %s", relay.Parent().SpanID(), imp.SpanContext().SpanID())
	}
	if handle.Parent().SpanID() != relay.SpanContext().SpanID() {
		t.Errorf("writer span's parent %s, want the relay span %s", handle.Parent().SpanID(), relay.SpanContext().SpanID())
	}
	httpCalls := 0
	for _, s := range spans {
		if s.SpanKind() != trace.SpanKindClient {
			continue
		}
		httpCalls++
		if s.Parent().SpanID() != handle.SpanContext().SpanID() {
			t.Errorf("HTTP span %q's parent %s, want the writer span %s", s.Name(), s.Parent().SpanID(), handle.SpanContext().SpanID())
		}
	}
	if httpCalls == 0 {
		t.Errorf("no Administrate HTTP call in the trace; spans: %v", names(spans))
	}

	// The writer's lines about the event name it every way an operator
	// might search for it.
	var linked map[string]any
	for _, line := range strings.Split(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "event linked" {
			linked = m
		}
	}
	if linked == nil {
		t.Fatalf("no \"event linked\" line in:\n%s", logs.String())
	}
	want := map[string]any{"tutorial_event_id": float64(ev), "import_run_id": float64(b.runID), "adm_event_id": ext, "trace_id": traceID.String()}
	for k, v := range want {
		if linked[k] != v {
			t.Errorf("event linked: %s = %v, want %v (line %v)", k, linked[k], v, linked)
		}
	}
	if d, ok := linked["took"].(string); !ok || !strings.HasSuffix(d, "s") {
		t.Errorf("event linked: took = %v, want a readable duration", linked["took"])
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}
