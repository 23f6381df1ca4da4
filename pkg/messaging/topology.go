package messaging

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream names. Streams are UPPERCASE nouns, as in the NATS docs.
const (
	StreamTutorialEvents = "TUTORIAL_EVENTS"
	StreamAdmResults     = "ADM_RESULTS"
	StreamDLQ            = "DLQ"
	StreamSyncRequests   = "SYNC_REQUESTS"
	StreamSyncResults    = "SYNC_RESULTS"
	StreamImportRequests = "IMPORT_REQUESTS"
	StreamImportResults  = "IMPORT_RESULTS"
)

// Subjects. Publishers use the concrete subjects; the ".>" forms are what
// the streams bind.
const (
	SubjectTutorialEvents       = "tutorial.event.>"
	SubjectTutorialEventCreated = "tutorial.event.created"

	SubjectAdmEvents      = "adm.event.>"
	SubjectAdmEventLinked = "adm.event.linked"
	SubjectAdmEventFailed = "adm.event.failed"

	// A dead letter of a message published on subject S is stored on
	// DLQSubjectPrefix+S, e.g. dlq.tutorial.event.created.
	SubjectDLQ       = "dlq.>"
	DLQSubjectPrefix = "dlq."

	// Sync requests are sync.request.<stage> or sync.request.all; results
	// are sync.result.<stage>.
	SubjectSyncRequests      = "sync.request.>"
	SubjectSyncRequestPrefix = "sync.request."
	SubjectSyncRequestAll    = "sync.request.all"
	SubjectSyncResults       = "sync.result.>"
	SubjectSyncResultPrefix  = "sync.result."

	SubjectImportRequests      = "import.request.>"
	SubjectImportRequestPrefix = "import.request."
	SubjectImportResults       = "import.result.>"
	SubjectImportResultPrefix  = "import.result."
)

// Durable consumer names: the consuming service.
const (
	ConsumerAdmWriter = "admwriter"
	ConsumerSyncer    = "syncer"
	ConsumerImporter  = "importer"
)

// BucketWorkbooks is the object store bucket that hands workbooks to the importer.
const BucketWorkbooks = "workbooks"

// Header names carried by dead letters (and read back by the DLQ helpers).
const (
	HeaderDLQReason        = "Admsync-Dlq-Reason"
	HeaderOriginalSubject  = "Admsync-Original-Subject"
	HeaderOriginalStream   = "Admsync-Original-Stream"
	HeaderOriginalSequence = "Admsync-Original-Sequence"
	HeaderDeliveries       = "Admsync-Deliveries"
	HeaderFailedAt         = "Admsync-Failed-At"
	// HeaderOriginalMsgID keeps the failed message's Nats-Msg-Id, because
	// the dead letter itself carries "dlq:<stream>:<seq>" and a replay
	// derives its fresh id from the original one.
	HeaderOriginalMsgID = "Admsync-Original-Msg-Id"
	// HeaderReplayOf marks a replayed message with the DLQ sequence it came from.
	HeaderReplayOf = "Admsync-Replay-Of"
)

// Retention settings.
const (
	// DuplicateWindow bounds Nats-Msg-Id dedupe on the streams that are fed
	// by retrying publishers (the outbox relay, dead-lettering). The relay's
	// retry span for one row must stay below it.
	DuplicateWindow    = 10 * time.Minute
	AdmResultsMaxAge   = 7 * 24 * time.Hour
	DLQMaxAge          = 30 * 24 * time.Hour
	ResultsMaxAge      = 30 * 24 * time.Hour
	defaultDupesWindow = 2 * time.Minute
)

// TutorialEventsStream carries tutorial.event.* work for the admwriter. It is
// a work queue: an acked or terminated message is deleted, which is why dead
// letters are copied to DLQ before Term.
func TutorialEventsStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamTutorialEvents,
		Description: "tutorial events imported from workbooks, to be written to Administrate",
		Subjects:    []string{SubjectTutorialEvents},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		Duplicates:  DuplicateWindow,
		Replicas:    1,
	}
}

// AdmResultsStream keeps the admwriter's per-event outcomes for a week.
func AdmResultsStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamAdmResults,
		Description: "admwriter outcomes: adm.event.linked / adm.event.failed",
		Subjects:    []string{SubjectAdmEvents},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      AdmResultsMaxAge,
		Duplicates:  defaultDupesWindow,
		Replicas:    1,
	}
}

// DLQStream holds dead letters for 30 days. Direct get is enabled so the
// operator helpers can walk it by sequence cheaply.
func DLQStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamDLQ,
		Description: "dead letters: dlq.<original subject>, with Admsync-* headers",
		Subjects:    []string{SubjectDLQ},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      DLQMaxAge,
		Duplicates:  DuplicateWindow,
		AllowDirect: true,
		Replicas:    1,
	}
}

// SyncRequestsStream queues sync.request.<stage> runs for the syncer.
func SyncRequestsStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamSyncRequests,
		Description: "requests to run a sync stage (sync.request.<stage>|all)",
		Subjects:    []string{SubjectSyncRequests},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		Duplicates:  defaultDupesWindow,
		Replicas:    1,
	}
}

// SyncResultsStream keeps structured sync results for 30 days.
func SyncResultsStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamSyncResults,
		Description: "sync stage results (sync.result.<stage>)",
		Subjects:    []string{SubjectSyncResults},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      ResultsMaxAge,
		Duplicates:  defaultDupesWindow,
		Replicas:    1,
	}
}

// ImportRequestsStream queues workbook imports for the importer.
func ImportRequestsStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamImportRequests,
		Description: "requests to import a workbook (import.request.>)",
		Subjects:    []string{SubjectImportRequests},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		Duplicates:  defaultDupesWindow,
		Replicas:    1,
	}
}

// ImportResultsStream keeps import results for 30 days.
func ImportResultsStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamImportResults,
		Description: "workbook import results (import.result.>)",
		Subjects:    []string{SubjectImportResults},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      ResultsMaxAge,
		Duplicates:  defaultDupesWindow,
		Replicas:    1,
	}
}

// WorkbooksBucket is the object store a workbook is put into before an
// import request names it.
func WorkbooksBucket() jetstream.ObjectStoreConfig {
	return jetstream.ObjectStoreConfig{
		Bucket:      BucketWorkbooks,
		Description: "uploaded workbooks awaiting or after import",
		Storage:     jetstream.FileStorage,
		Replicas:    1,
	}
}

// ConsumerSpec declares one durable pull consumer and the runner's retry
// schedule for it.
//
// Two schedules exist because JetStream has two kinds of redelivery:
//   - Config.BackOff governs redelivery after an ack timeout, i.e. a worker
//     that died or hung. nats-server replaces AckWait with BackOff[0]
//     (server/consumer.go, setConsumerConfigDefaults), so every spec here
//     sets BackOff[0] == AckWait, and Ensure rejects one that does not: the
//     declared AckWait is then the real one. BackOff[0] must exceed the
//     handler's p99; the runner's InProgress heartbeats (every AckWait/3)
//     cover handlers that run longer.
//     BackOff has that single entry: with more entries nats-server also
//     stretches every NakWithDelay by BackOff[n-1]-AckWait (measured on
//     2.15.2: AckWait 2s, BackOff [2s 6s], NakWithDelay(1s) redelivered
//     after 1s, 5s, 5s; with BackOff [2s] after 1s, 1s, 1s), which would
//     turn RetryBackoff's 30s into 90s and its 2m into 5m.
//   - RetryBackoff is what the runner passes to NakWithDelay after a
//     transient handler error, indexed by delivery count (the last entry
//     repeats): the escalating schedule lives here, not in BackOff.
type ConsumerSpec struct {
	Stream       string
	Config       jetstream.ConsumerConfig
	RetryBackoff []time.Duration
}

// Durable returns the consumer's durable name.
func (c ConsumerSpec) Durable() string { return c.Config.Durable }

// Validate checks the settings admsync never leaves to server defaults.
func (c ConsumerSpec) Validate() error {
	cfg := c.Config
	var errs []error
	if c.Stream == "" {
		errs = append(errs, errors.New("stream is empty"))
	}
	if cfg.Durable == "" {
		errs = append(errs, errors.New("durable name is empty"))
	}
	if cfg.AckPolicy != jetstream.AckExplicitPolicy {
		errs = append(errs, errors.New("ack policy must be explicit"))
	}
	// Server defaults are unsafe here: MaxDeliver -1 retries a poison
	// message forever, MaxAckPending 1000 is not a concurrency limit anyone chose.
	if cfg.MaxDeliver <= 0 {
		errs = append(errs, errors.New("MaxDeliver must be set (> 0)"))
	}
	if cfg.AckWait <= 0 {
		errs = append(errs, errors.New("AckWait must be set"))
	}
	if cfg.MaxAckPending <= 0 {
		errs = append(errs, errors.New("MaxAckPending must be set (> 0)"))
	}
	if len(cfg.BackOff) == 0 {
		errs = append(errs, errors.New("BackOff must be set"))
	} else {
		if cfg.BackOff[0] != cfg.AckWait {
			errs = append(errs, fmt.Errorf("BackOff[0] (%s) must equal AckWait (%s): the server uses BackOff[0] as the ack wait", cfg.BackOff[0], cfg.AckWait))
		}
		if len(cfg.BackOff) > 1 {
			errs = append(errs, fmt.Errorf("BackOff has %d entries, want one entry equal to AckWait: more entries stretch every NakWithDelay (put the schedule in RetryBackoff)", len(cfg.BackOff)))
		}
	}
	if len(c.RetryBackoff) == 0 {
		errs = append(errs, errors.New("RetryBackoff must be set"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("consumer %s/%s: %w", c.Stream, cfg.Durable, err)
	}
	return nil
}

// AdmWriterConsumer feeds tutorial.event.created to the admwriter.
// MaxAckPending 64 caps in-flight events across all replicas; MaxDeliver 20
// with RetryBackoff 10s..5m spans roughly an hour and a half of transient
// failures before a dead letter (an outage longer than that should open the
// caller's breaker, which stops fetching without burning deliveries).
func AdmWriterConsumer() ConsumerSpec {
	return ConsumerSpec{
		Stream: StreamTutorialEvents,
		Config: jetstream.ConsumerConfig{
			Durable:       ConsumerAdmWriter,
			Description:   "admwriter: create events in Administrate",
			FilterSubject: SubjectTutorialEventCreated,
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckPolicy:     jetstream.AckExplicitPolicy,
			// Short, because it is how soon the events of a killed admwriter
			// are redelivered; a live handler keeps its message with InProgress
			// every AckWait/3, and its claim in PostgreSQL with a lease as long.
			AckWait:       10 * time.Second,
			MaxDeliver:    20,
			BackOff:       []time.Duration{10 * time.Second},
			MaxAckPending: 64,
		},
		RetryBackoff: []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute},
	}
}

// SyncerConsumer feeds sync requests to the syncer, one run at a time
// across all replicas (MaxAckPending 1).
func SyncerConsumer() ConsumerSpec {
	return ConsumerSpec{
		Stream: StreamSyncRequests,
		Config: jetstream.ConsumerConfig{
			Durable:       ConsumerSyncer,
			Description:   "syncer: one sync run at a time",
			FilterSubject: SubjectSyncRequests,
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       2 * time.Minute,
			MaxDeliver:    3,
			BackOff:       []time.Duration{2 * time.Minute},
			MaxAckPending: 1,
		},
		RetryBackoff: []time.Duration{30 * time.Second, 2 * time.Minute},
	}
}

// ImporterConsumer feeds import requests to the importer, one workbook at a time.
func ImporterConsumer() ConsumerSpec {
	return ConsumerSpec{
		Stream: StreamImportRequests,
		Config: jetstream.ConsumerConfig{
			Durable:       ConsumerImporter,
			Description:   "importer: one workbook at a time",
			FilterSubject: SubjectImportRequests,
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       5 * time.Minute,
			MaxDeliver:    3,
			BackOff:       []time.Duration{5 * time.Minute},
			MaxAckPending: 1,
		},
		RetryBackoff: []time.Duration{30 * time.Second, 2 * time.Minute},
	}
}

// Topology is a set of streams, consumers and object stores to declare.
type Topology struct {
	Streams      []jetstream.StreamConfig
	Consumers    []ConsumerSpec
	ObjectStores []jetstream.ObjectStoreConfig
}

// DefaultTopology is everything admsync uses.
func DefaultTopology() Topology {
	return Topology{
		Streams: []jetstream.StreamConfig{
			TutorialEventsStream(),
			AdmResultsStream(),
			DLQStream(),
			SyncRequestsStream(),
			SyncResultsStream(),
			ImportRequestsStream(),
			ImportResultsStream(),
		},
		Consumers:    []ConsumerSpec{AdmWriterConsumer(), SyncerConsumer(), ImporterConsumer()},
		ObjectStores: []jetstream.ObjectStoreConfig{WorkbooksBucket()},
	}
}

// Only keeps the streams, consumers (by stream) and buckets named, for a
// service whose credentials may only manage its own subset.
func (t Topology) Only(names ...string) Topology {
	var out Topology
	for _, s := range t.Streams {
		if slices.Contains(names, s.Name) {
			out.Streams = append(out.Streams, s)
		}
	}
	for _, c := range t.Consumers {
		if slices.Contains(names, c.Stream) {
			out.Consumers = append(out.Consumers, c)
		}
	}
	for _, o := range t.ObjectStores {
		if slices.Contains(names, o.Bucket) {
			out.ObjectStores = append(out.ObjectStores, o)
		}
	}
	return out
}

// Ensure creates or updates every stream, then every consumer, then every
// bucket. It is idempotent, so every service calls it at start; an
// incompatible change (e.g. retention of an existing stream) fails here, at
// start-up, rather than at the first publish.
func (t Topology) Ensure(ctx context.Context, js jetstream.JetStream) error {
	for _, c := range t.Consumers {
		if err := c.Validate(); err != nil {
			return err
		}
	}
	for _, s := range t.Streams {
		if _, err := EnsureStream(ctx, js, s); err != nil {
			return err
		}
	}
	for _, c := range t.Consumers {
		if _, err := EnsureConsumer(ctx, js, c); err != nil {
			return err
		}
	}
	for _, o := range t.ObjectStores {
		if _, err := js.CreateOrUpdateObjectStore(ctx, o); err != nil {
			return fmt.Errorf("ensure object store %s: %w", o.Bucket, err)
		}
	}
	return nil
}

// EnsureTopology declares DefaultTopology.
func EnsureTopology(ctx context.Context, js jetstream.JetStream) error {
	return DefaultTopology().Ensure(ctx, js)
}

// EnsureStream creates or updates one stream.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// EnsureConsumer validates and creates or updates one durable consumer.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, spec ConsumerSpec) (jetstream.Consumer, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	c, err := js.CreateOrUpdateConsumer(ctx, spec.Stream, spec.Config)
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s/%s: %w", spec.Stream, spec.Config.Durable, err)
	}
	return c, nil
}
