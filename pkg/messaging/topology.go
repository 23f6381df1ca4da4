package messaging

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
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
	StreamEventCommands  = "EVENT_COMMANDS"
	StreamEventResults   = "EVENT_RESULTS"
)

// Subjects. Publishers use the concrete subjects; the ".>" forms are what
// the streams bind.
const (
	SubjectTutorialEvents       = "tutorial.event.>"
	SubjectTutorialEventCreated = "tutorial.event.created"
	SubjectTutorialEventChanged = "tutorial.event.changed"

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

	// event.command.<action> (publish, websale, soldout, prices, delete): one
	// message per Administrate event; event.result.<run id>: one per event.
	SubjectEventCommands      = "event.command.>"
	SubjectEventCommandPrefix = "event.command."
	SubjectEventResults       = "event.result.>"
	SubjectEventResultPrefix  = "event.result."
)

// Durable consumer names: the consuming service.
const (
	ConsumerAdmWriter = "admwriter"
	ConsumerSyncer    = "syncer"
	ConsumerImporter  = "importer"
	// ConsumerAdmWriterCommands is the admwriter's second consumer: the
	// lifecycle commands (admwriter events …).
	ConsumerAdmWriterCommands = "admwriter-commands"
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

// EnvReplicas names the environment variable that sets the replicas of
// every stream, consumer and bucket DefaultTopology declares: 1 (the
// default) on a single node, 3 on a production cluster.
const EnvReplicas = "NATS_REPLICAS"

// Work-queue limits. A full work queue refuses the publish (DiscardNew)
// rather than dropping queued work: the outbox relay keeps the row and
// retries until the consumer has made room, so nothing is lost.
const (
	TutorialEventsMaxMsgs  = 1_000_000
	TutorialEventsMaxBytes = 512 << 20
	RequestsMaxMsgs        = 10_000
	RequestsMaxBytes       = 64 << 20
)

// Workbooks bucket limits: a workbook is read within minutes of its upload;
// a week covers a stopped importer, and the cap bounds what uploads can take.
const (
	WorkbooksTTL      = 7 * 24 * time.Hour
	WorkbooksMaxBytes = 2 << 30
)

// streamDef is what differs between admsync's streams; config fills in the
// rest the same way for all of them.
type streamDef struct {
	name, subject, description string
	// workQueue streams delete a message once acked or terminated and
	// refuse publishes when full; the others keep history for maxAge and
	// drop the oldest when full.
	workQueue bool
	// dropOldest makes a full work queue drop its oldest message instead.
	dropOldest         bool
	maxAge, duplicates time.Duration
	maxMsgs, maxBytes  int64
	allowDirect        bool
}

func (d streamDef) config(replicas int) jetstream.StreamConfig {
	cfg := jetstream.StreamConfig{
		Name:        d.name,
		Description: d.description,
		Subjects:    []string{d.subject},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      d.maxAge,
		MaxMsgs:     d.maxMsgs,
		MaxBytes:    d.maxBytes,
		Duplicates:  d.duplicates,
		AllowDirect: d.allowDirect,
		Replicas:    max(replicas, 1),
	}
	if cfg.MaxMsgs == 0 {
		cfg.MaxMsgs = -1
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = -1
	}
	if d.workQueue {
		cfg.Retention = jetstream.WorkQueuePolicy
		if !d.dropOldest {
			cfg.Discard = jetstream.DiscardNew
		}
	}
	return cfg
}

// streamDefs are admsync's streams, in declaration order.
var streamDefs = []streamDef{{
	// A work queue: an acked or terminated message is deleted, which is why
	// dead letters are copied to DLQ before Term.
	name: StreamTutorialEvents, subject: SubjectTutorialEvents, workQueue: true,
	description: "tutorial events imported from workbooks, to be written to Administrate",
	duplicates:  DuplicateWindow, maxMsgs: TutorialEventsMaxMsgs, maxBytes: TutorialEventsMaxBytes,
}, {
	name: StreamAdmResults, subject: SubjectAdmEvents,
	description: "admwriter outcomes: adm.event.linked / adm.event.failed",
	maxAge:      AdmResultsMaxAge, duplicates: defaultDupesWindow,
}, {
	// Direct get lets the operator helpers walk it by sequence cheaply.
	name: StreamDLQ, subject: SubjectDLQ,
	description: "dead letters: dlq.<original subject>, with Admsync-* headers",
	maxAge:      DLQMaxAge, duplicates: DuplicateWindow, allowDirect: true,
}, {
	name: StreamSyncRequests, subject: SubjectSyncRequests, workQueue: true,
	description: "requests to run a sync stage (sync.request.<stage>|all)",
	duplicates:  defaultDupesWindow, maxMsgs: RequestsMaxMsgs, maxBytes: RequestsMaxBytes,
}, {
	name: StreamSyncResults, subject: SubjectSyncResults,
	description: "sync stage results (sync.result.<stage>)",
	maxAge:      ResultsMaxAge, duplicates: defaultDupesWindow,
}, {
	name: StreamImportRequests, subject: SubjectImportRequests, workQueue: true,
	description: "requests to import a workbook (import.request.>)",
	duplicates:  defaultDupesWindow, maxMsgs: RequestsMaxMsgs, maxBytes: RequestsMaxBytes,
}, {
	name: StreamImportResults, subject: SubjectImportResults,
	description: "workbook import results (import.result.>)",
	maxAge:      ResultsMaxAge, duplicates: defaultDupesWindow,
}, {
	name: StreamEventCommands, subject: SubjectEventCommands, workQueue: true,
	description: "lifecycle commands for the admwriter, one per event (event.command.<action>)",
	duplicates:  DuplicateWindow, maxMsgs: TutorialEventsMaxMsgs, maxBytes: TutorialEventsMaxBytes,
}, {
	name: StreamEventResults, subject: SubjectEventResults,
	description: "lifecycle command outcomes, one per event (event.result.<run id>)",
	maxAge:      ResultsMaxAge, duplicates: defaultDupesWindow,
}}

func streamConfig(name string) jetstream.StreamConfig {
	for _, d := range streamDefs {
		if d.name == name {
			return d.config(1)
		}
	}
	panic("messaging: no stream " + name)
}

// TutorialEventsStream carries tutorial.event.* work for the admwriter (one replica).
func TutorialEventsStream() jetstream.StreamConfig { return streamConfig(StreamTutorialEvents) }

// AdmResultsStream keeps the admwriter's per-event outcomes for a week.
func AdmResultsStream() jetstream.StreamConfig { return streamConfig(StreamAdmResults) }

// DLQStream holds dead letters for 30 days.
func DLQStream() jetstream.StreamConfig { return streamConfig(StreamDLQ) }

// SyncRequestsStream queues sync.request.<stage> runs for the syncer.
func SyncRequestsStream() jetstream.StreamConfig { return streamConfig(StreamSyncRequests) }

// SyncResultsStream keeps structured sync results for 30 days.
func SyncResultsStream() jetstream.StreamConfig { return streamConfig(StreamSyncResults) }

// ImportRequestsStream queues workbook imports for the importer.
func ImportRequestsStream() jetstream.StreamConfig { return streamConfig(StreamImportRequests) }

// ImportResultsStream keeps import results for 30 days.
func ImportResultsStream() jetstream.StreamConfig { return streamConfig(StreamImportResults) }

// WorkbooksBucket is the object store a workbook is put into before an
// import request names it.
func WorkbooksBucket() jetstream.ObjectStoreConfig {
	return jetstream.ObjectStoreConfig{
		Bucket:      BucketWorkbooks,
		Description: "uploaded workbooks awaiting or after import",
		Storage:     jetstream.FileStorage,
		TTL:         WorkbooksTTL,
		MaxBytes:    WorkbooksMaxBytes,
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

// consumerDef is what sets one consumer apart from another; spec fills in
// what every admsync consumer shares (Validate's rules): all messages,
// explicit acks, and BackOff of one step equal to ackWait.
type consumerDef struct {
	stream, durable, description, filter string
	ackWait                              time.Duration
	maxDeliver, maxAckPending            int
	retry                                []time.Duration // the runner's RetryBackoff
}

func (d consumerDef) spec() ConsumerSpec {
	return ConsumerSpec{
		Stream: d.stream,
		Config: jetstream.ConsumerConfig{
			Durable:       d.durable,
			Description:   d.description,
			FilterSubject: d.filter,
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       d.ackWait,
			MaxDeliver:    d.maxDeliver,
			BackOff:       []time.Duration{d.ackWait},
			MaxAckPending: d.maxAckPending,
		},
		RetryBackoff: d.retry,
	}
}

// AdmWriterConsumer feeds tutorial.event.created and tutorial.event.changed
// to the admwriter (one consumer: the change handler waits for the create).
// MaxAckPending 64 caps in-flight events across all replicas; MaxDeliver 20
// with RetryBackoff 10s..5m spans roughly an hour and a half of transient
// failures before a dead letter (an outage longer than that should open the
// caller's breaker, which stops fetching without burning deliveries).
func AdmWriterConsumer() ConsumerSpec {
	return consumerDef{
		stream:      StreamTutorialEvents,
		durable:     ConsumerAdmWriter,
		description: "admwriter: create and correct events in Administrate",
		filter:      SubjectTutorialEvents,
		// Short, because it is how soon the events of a killed admwriter
		// are redelivered; a live handler keeps its message with InProgress
		// every AckWait/3, and its claim in PostgreSQL with a lease as long.
		ackWait:       10 * time.Second,
		maxDeliver:    20,
		maxAckPending: 64,
		retry:         []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute},
	}.spec()
}

// SyncerConsumer feeds sync requests to the syncer, one run at a time
// across all replicas.
func SyncerConsumer() ConsumerSpec {
	return oneAtATime(StreamSyncRequests, ConsumerSyncer, SubjectSyncRequests,
		"syncer: one sync run at a time", 2*time.Minute)
}

// ImporterConsumer feeds import requests to the importer, one workbook at a time.
func ImporterConsumer() ConsumerSpec {
	return oneAtATime(StreamImportRequests, ConsumerImporter, SubjectImportRequests,
		"importer: one workbook at a time", 5*time.Minute)
}

// oneAtATime is the consumer of a request queue whose runs must not overlap (a
// sync run, a workbook import): one message in flight across all replicas
// (MaxAckPending 1) and three deliveries, retried after 30 s and 2 min; only
// the queue and its ack wait differ.
func oneAtATime(stream, durable, filter, description string, ackWait time.Duration) ConsumerSpec {
	return consumerDef{
		stream:        stream,
		durable:       durable,
		description:   description,
		filter:        filter,
		ackWait:       ackWait,
		maxDeliver:    3,
		maxAckPending: 1,
		retry:         []time.Duration{30 * time.Second, 2 * time.Minute},
	}.spec()
}

// EventCommandsConsumer feeds event.command.<action> to the admwriter. Each
// message is one event and one or a few Administrate calls; the policy is the
// writer's (short AckWait so a killed admwriter's commands come back soon,
// RetryBackoff up to 5m, then a dead letter).
func EventCommandsConsumer() ConsumerSpec {
	return consumerDef{
		stream:        StreamEventCommands,
		durable:       ConsumerAdmWriterCommands,
		description:   "admwriter: lifecycle commands per event",
		filter:        SubjectEventCommands,
		ackWait:       10 * time.Second,
		maxDeliver:    10,
		maxAckPending: 64,
		retry:         []time.Duration{5 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute},
	}.spec()
}

// Topology is a set of streams, consumers and object stores to declare.
type Topology struct {
	Streams      []jetstream.StreamConfig
	Consumers    []ConsumerSpec
	ObjectStores []jetstream.ObjectStoreConfig
	// err is a configuration error found while building it (a bad
	// NATS_REPLICAS), reported by Ensure.
	err error
}

// TopologyOptions shapes NewTopology.
type TopologyOptions struct {
	// Replicas of every stream and bucket (default 1). Consumers inherit
	// their stream's, which is what the server does for a replicas of 0.
	Replicas int
}

// NewTopology is everything admsync uses: the streams, the durable
// consumers, the max-deliveries capture of each work-queue consumer
// (advisory.go) and the workbooks bucket.
func NewTopology(opts TopologyOptions) Topology {
	r := max(opts.Replicas, 1)
	var t Topology
	for _, d := range streamDefs {
		t.Streams = append(t.Streams, d.config(r))
	}
	work := []ConsumerSpec{AdmWriterConsumer(), SyncerConsumer(), ImporterConsumer(), EventCommandsConsumer()}
	t.Consumers = append(t.Consumers, work...)
	for _, c := range work {
		s := MaxDeliveriesStream(c.Stream)
		s.Replicas = r
		t.Streams = append(t.Streams, s)
		t.Consumers = append(t.Consumers, MaxDeliveriesConsumer(c))
	}
	wb := WorkbooksBucket()
	wb.Replicas = r
	t.ObjectStores = []jetstream.ObjectStoreConfig{wb}
	return t
}

// DefaultTopology is NewTopology with the replicas NATS_REPLICAS asks for
// (1 when unset). An invalid value is returned by Ensure, so a service
// refuses to start rather than declaring streams it was not asked for.
func DefaultTopology() Topology {
	r, err := ReplicasFromEnv()
	t := NewTopology(TopologyOptions{Replicas: r})
	t.err = err
	return t
}

// ReplicasFromEnv reads NATS_REPLICAS: 1 when unset, else an odd number
// from 1 to 5 (JetStream's raft groups want a majority; 5 is its maximum).
func ReplicasFromEnv() (int, error) {
	return ParseReplicas(os.Getenv(EnvReplicas))
}

// ParseReplicas checks a NATS_REPLICAS value ("" means 1).
func ParseReplicas(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 5 || n%2 == 0 {
		return 1, fmt.Errorf("%s=%q: want 1, 3 or 5 (stream replicas; 3 on a production cluster)", EnvReplicas, v)
	}
	return n, nil
}

// Only keeps the streams, consumers (by stream) and buckets named, for a
// service whose credentials may only manage its own subset.
func (t Topology) Only(names ...string) Topology {
	out := Topology{err: t.err}
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
	if t.err != nil {
		return fmt.Errorf("declare streams: %w", t.err)
	}
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

// EnsureStream creates or updates one stream. It creates first: a create
// with the configuration the stream already has succeeds and changes
// nothing, so a service that shares a stream it does not own (DLQ) needs no
// right to update it; only a changed configuration is an update, which the
// deploy allows the owning service's NATS user alone.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		s, err = js.UpdateStream(ctx, cfg)
	}
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
