package messaging_test

import (
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
		{messaging.StreamTutorialEvents, "admwriter", "tutorial.event.created", 10 * time.Second, 20, 64},
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
	if _, err := js.ObjectStore(ctx, messaging.BucketWorkbooks); err != nil {
		t.Fatalf("object store %s: %v", messaging.BucketWorkbooks, err)
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
