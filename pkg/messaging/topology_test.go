package messaging_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging"
	"admsync/pkg/messaging/natstest"
)

func TestEnsureTopologyIsIdempotent(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	_, js := natstest.Connect(t, srv)
	ctx := natstest.Context(t)
	for i := range 2 {
		if err := messaging.EnsureTopology(ctx, js); err != nil {
			t.Fatalf("EnsureTopology run %d: %v", i+1, err)
		}
	}

	want := map[string]struct {
		subject   string
		retention jetstream.RetentionPolicy
		maxAge    time.Duration
		dupes     time.Duration
	}{
		messaging.StreamTutorialEvents: {"tutorial.event.>", jetstream.WorkQueuePolicy, 0, 10 * time.Minute},
		messaging.StreamAdmResults:     {"adm.event.>", jetstream.LimitsPolicy, 7 * 24 * time.Hour, 2 * time.Minute},
		messaging.StreamDLQ:            {"dlq.>", jetstream.LimitsPolicy, 30 * 24 * time.Hour, 10 * time.Minute},
		messaging.StreamSyncRequests:   {"sync.request.>", jetstream.WorkQueuePolicy, 0, 2 * time.Minute},
		messaging.StreamSyncResults:    {"sync.result.>", jetstream.LimitsPolicy, 30 * 24 * time.Hour, 2 * time.Minute},
		messaging.StreamImportRequests: {"import.request.>", jetstream.WorkQueuePolicy, 0, 2 * time.Minute},
		messaging.StreamImportResults:  {"import.result.>", jetstream.LimitsPolicy, 30 * 24 * time.Hour, 2 * time.Minute},
	}
	for name, w := range want {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		c := s.CachedInfo().Config
		if !slices.Equal(c.Subjects, []string{w.subject}) || c.Retention != w.retention || c.MaxAge != w.maxAge ||
			c.Duplicates != w.dupes || c.Storage != jetstream.FileStorage {
			t.Errorf("stream %s config = subjects %v retention %v max age %v dupes %v storage %v", name,
				c.Subjects, c.Retention, c.MaxAge, c.Duplicates, c.Storage)
		}
	}

	consumers := []struct {
		stream, durable, filter string
		ackWait                 time.Duration
		maxDeliver, maxAck      int
	}{
		{messaging.StreamTutorialEvents, "admwriter", "tutorial.event.>", 10 * time.Second, 20, 64},
		{messaging.StreamSyncRequests, "syncer", "sync.request.>", 2 * time.Minute, 3, 1},
		{messaging.StreamImportRequests, "importer", "import.request.>", 5 * time.Minute, 3, 1},
	}
	for _, w := range consumers {
		c, err := js.Consumer(ctx, w.stream, w.durable)
		if err != nil {
			t.Fatalf("consumer %s: %v", w.durable, err)
		}
		cfg := c.CachedInfo().Config
		if cfg.FilterSubject != w.filter || cfg.AckWait != w.ackWait || cfg.MaxDeliver != w.maxDeliver ||
			cfg.MaxAckPending != w.maxAck || len(cfg.BackOff) == 0 || cfg.AckPolicy != jetstream.AckExplicitPolicy {
			t.Errorf("consumer %s config = %+v", w.durable, cfg)
		}
	}
	// Work queues refuse a publish when full instead of dropping queued work.
	for _, name := range []string{messaging.StreamTutorialEvents, messaging.StreamSyncRequests, messaging.StreamImportRequests} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		c := s.CachedInfo().Config
		if c.Discard != jetstream.DiscardNew || c.MaxMsgs <= 0 || c.MaxBytes <= 0 {
			t.Errorf("work queue %s: discard %v max msgs %d max bytes %d, want DiscardNew with both limits", name, c.Discard, c.MaxMsgs, c.MaxBytes)
		}
	}
	// Each work consumer's max-deliveries advisories are kept and captured.
	for _, w := range consumers {
		s, err := js.Stream(ctx, messaging.MaxDeliveriesStreamName(w.stream))
		if err != nil {
			t.Fatalf("advisory stream of %s: %v", w.stream, err)
		}
		if subj := s.CachedInfo().Config.Subjects; !slices.Equal(subj, []string{"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + w.stream + ".>"}) {
			t.Errorf("advisory stream of %s binds %v", w.stream, subj)
		}
		c, err := js.Consumer(ctx, messaging.MaxDeliveriesStreamName(w.stream), w.durable+"-max-deliveries")
		if err != nil {
			t.Fatalf("capture consumer of %s: %v", w.durable, err)
		}
		if f := c.CachedInfo().Config.FilterSubject; f != "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+w.stream+"."+w.durable {
			t.Errorf("capture consumer of %s filters %s", w.durable, f)
		}
	}
	obs, err := js.ObjectStore(ctx, messaging.BucketWorkbooks)
	if err != nil {
		t.Fatalf("object store %s: %v", messaging.BucketWorkbooks, err)
	}
	st, err := obs.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != messaging.WorkbooksTTL || st.(*jetstream.ObjectBucketStatus).StreamInfo().Config.MaxBytes != messaging.WorkbooksMaxBytes {
		t.Errorf("workbooks bucket TTL %s max bytes %d, want %s and %d", st.TTL(),
			st.(*jetstream.ObjectBucketStatus).StreamInfo().Config.MaxBytes, messaging.WorkbooksTTL, messaging.WorkbooksMaxBytes)
	}
}

// NATS_REPLICAS sets every stream's and bucket's replicas; consumers
// inherit them; a bad value stops Ensure before anything is declared.
func TestTopologyReplicasFromEnvironment(t *testing.T) {
	t.Setenv(messaging.EnvReplicas, "3")
	topo := messaging.DefaultTopology()
	for _, s := range topo.Streams {
		if s.Replicas != 3 {
			t.Errorf("stream %s replicas %d, want 3", s.Name, s.Replicas)
		}
	}
	for _, o := range topo.ObjectStores {
		if o.Replicas != 3 {
			t.Errorf("bucket %s replicas %d, want 3", o.Bucket, o.Replicas)
		}
	}
	for _, c := range topo.Consumers {
		if c.Config.Replicas != 0 {
			t.Errorf("consumer %s replicas %d, want 0 (the stream's)", c.Durable(), c.Config.Replicas)
		}
	}
	t.Setenv(messaging.EnvReplicas, "")
	if s := messaging.DefaultTopology().Streams[0]; s.Replicas != 1 {
		t.Errorf("unset %s gives %d replicas, want 1", messaging.EnvReplicas, s.Replicas)
	}
	for _, bad := range []string{"two", "0", "2", "7", "-1"} {
		t.Setenv(messaging.EnvReplicas, bad)
		err := messaging.DefaultTopology().Only(messaging.StreamDLQ).Ensure(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), messaging.EnvReplicas) {
			t.Errorf("%s=%q: Ensure = %v, want an error naming the variable", messaging.EnvReplicas, bad, err)
		}
	}
}

func TestConsumerSpecValidate(t *testing.T) {
	t.Parallel()
	for _, spec := range messaging.DefaultTopology().Consumers {
		if err := spec.Validate(); err != nil {
			t.Errorf("production spec invalid: %v", err)
		}
	}
	cases := map[string]func(*messaging.ConsumerSpec){
		"MaxDeliver":    func(s *messaging.ConsumerSpec) { s.Config.MaxDeliver = 0 },
		"AckWait":       func(s *messaging.ConsumerSpec) { s.Config.AckWait = 0; s.Config.BackOff = nil },
		"MaxAckPending": func(s *messaging.ConsumerSpec) { s.Config.MaxAckPending = 0 },
		"BackOff must":  func(s *messaging.ConsumerSpec) { s.Config.BackOff = nil },
		"BackOff[0]":    func(s *messaging.ConsumerSpec) { s.Config.BackOff = []time.Duration{s.Config.AckWait + time.Second} },
		"RetryBackoff":  func(s *messaging.ConsumerSpec) { s.RetryBackoff = nil },
		"one entry":     func(s *messaging.ConsumerSpec) { s.Config.BackOff = append(s.Config.BackOff, 10*time.Minute) },
		"explicit":      func(s *messaging.ConsumerSpec) { s.Config.AckPolicy = jetstream.AckNonePolicy },
	}
	for want, mutate := range cases {
		s := messaging.AdmWriterConsumer()
		mutate(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate with bad %s = %v", want, err)
		}
	}
}

func TestTopologyOnly(t *testing.T) {
	t.Parallel()
	sub := messaging.DefaultTopology().Only(messaging.StreamSyncRequests, messaging.StreamSyncResults)
	if len(sub.Streams) != 2 || len(sub.Consumers) != 1 || sub.Consumers[0].Durable() != "syncer" || len(sub.ObjectStores) != 0 {
		t.Fatalf("Only = %+v", sub)
	}
}
