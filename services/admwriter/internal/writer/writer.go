// Package writer creates one tutorial event in Administrate exactly once.
//
// Per message (which carries only ids) it claims the event's bridge row
// (package bridge), loads the event from PostgreSQL, builds the call plan
// (package plan), reconciles with Administrate when a create may already
// have been sent, creates the event and stores its id at once, updates and
// staffs each session in Day order storing each session id as it completes,
// adds the event administrators, publishes adm.event.linked and marks the
// bridge done. Failures follow one policy: transient ones release the claim
// and are retried (and feed the circuit breaker), Administrate rejections and
// missing bridges mark the bridge failed and dead-letter the message. Local
// tutorial rows are only ever read.
package writer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
	"admsync/pkg/observability"
	"admsync/pkg/outbox"
	"admsync/services/admwriter/internal/breaker"
	"admsync/services/admwriter/internal/bridge"
	"admsync/services/admwriter/internal/failpoint"
	"admsync/services/admwriter/internal/plan"
)

// The message bodies are defined with the topology (pkg/messaging contracts.go).
type (
	// Payload is the body of tutorial.event.created.
	Payload = messaging.TutorialEventCreated
	// Linked is the body of adm.event.linked.
	Linked = messaging.AdmEventLinked
	// Failed is the body of adm.event.failed.
	Failed = messaging.AdmEventFailed
)

// Writer handles tutorial.event.created messages.
type Writer struct {
	Pool    *pgxpool.Pool
	API     API
	JS      jetstream.JetStream
	Breaker *breaker.Breaker
	Metrics *Metrics
	Logger  *slog.Logger
	Options plan.Options
	// Lease is how long a claim survives without a heartbeat (default
	// DefaultLease). The owner renews it every Lease/3 while it works, so it
	// only runs out when the worker died or stalled, and another worker takes
	// the event over that soon after.
	Lease time.Duration
	// Failpoint, if set, is called at the failpoint package's points.
	Failpoint failpoint.Func
}

// DefaultLease is the claim lease when none is configured: equal to the
// consumer's AckWait, so a killed writer's events are redelivered and
// claimable again within about ten seconds.
const DefaultLease = 10 * time.Second

func (w *Writer) store() *bridge.Store {
	lease := w.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	return &bridge.Store{Pool: w.Pool, Lease: lease}
}

// sessionsError is an event created in Administrate whose sessions were
// (partly) refused; byDay names them in adm.event.failed.
type sessionsError struct {
	err   error
	byDay map[string]string
}

func (e *sessionsError) Error() string { return e.err.Error() }
func (e *sessionsError) Unwrap() error { return e.err }

// errCrashed is what an in-process failpoint returns: the handler stops as
// if the process had died (no bridge write, no release).
var errCrashed = errors.New("failpoint: simulated crash")

// Handle is the messaging.Handler for tutorial.event.created and, through
// handleChange (change.go), tutorial.event.changed.
func (w *Writer) Handle(ctx context.Context, msg jetstream.Msg) error {
	if msg.Subject() == messaging.SubjectTutorialEventChanged {
		return w.handleChange(ctx, msg)
	}
	var p Payload
	return consume(ctx, msg, func(span trace.Span) error {
		if err := json.Unmarshal(msg.Data(), &p); err != nil {
			return err
		}
		if p.TutorialEventID <= 0 {
			return errors.New("tutorial_event_id missing")
		}
		span.SetAttributes(attribute.Int64("admsync.tutorial_event_id", p.TutorialEventID), attribute.Int64("admsync.import_run_id", p.ImportRunID))
		return nil
	}, func(ctx context.Context, delivered uint64) error { return w.Process(ctx, p, delivered) })
}

// consume runs one message inside its handler span: decode reads the body
// (an error makes the message malformed), then process gets the message's
// delivery count. The relay's span (from the traceparent header) is the
// span's parent, so the import, the relay and the Administrate calls share
// a trace.
func consume(ctx context.Context, msg jetstream.Msg, decode func(trace.Span) error,
	process func(ctx context.Context, delivered uint64) error) error {
	ctx, span := otel.Tracer("admsync/admwriter").Start(outbox.ExtractNATS(ctx, msg.Headers()), "handle "+msg.Subject(),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", msg.Subject())))
	defer span.End()
	if err := decode(span); err != nil {
		span.SetStatus(codes.Error, "malformed payload")
		return messaging.Malformed(fmt.Errorf("decode %s payload: %w", msg.Subject(), err))
	}
	delivered := uint64(1)
	if meta, err := msg.Metadata(); err == nil {
		delivered = meta.NumDelivered
	}
	err := process(ctx, delivered)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// Process writes one event; delivered is the message's delivery count.
// The returned error follows the messaging package's policy.
func (w *Writer) Process(ctx context.Context, p Payload, delivered uint64) error {
	start := time.Now()
	log := eventLogger(ctx, w.logger(), p).With("delivery", delivered)
	st := w.store()

	claim, err := st.Claim(ctx, p.TutorialEventID)
	if err != nil {
		return claimError(err, p.TutorialEventID, st.Lease, log, "")
	}
	if claim.State == bridge.Done {
		log.Info("event already written; skipping", "adm_event_id", claim.ExternalID)
		w.Metrics.Events.WithLabelValues("skipped").Inc()
		return nil
	}
	log = log.With("attempt", claim.Attempts, "state", string(claim.State))
	if claim.ExternalID != "" {
		log = log.With("adm_event_id", claim.ExternalID)
	}
	a := &attempt{w: w, st: st, claim: claim, payload: p, log: log, start: start, job: creation}
	if err := w.work(ctx, a, a.run); err != nil {
		return err
	}
	if w.Failpoint != nil {
		if ferr := w.Failpoint(failpoint.BeforeAck); ferr != nil {
			return messaging.RetryAfter(errCrashed, 0)
		}
	}
	return nil
}

// claimError answers a refused claim, alike for creations and corrections:
// a missing tutorial event is permanent; a busy one is retried when the
// other worker's lease would have run out (if it died, the event is taken
// over then; if it lives, it renewed the lease and this delivery looks
// again later); anything else is retried, wrapped as claiming the event
// (purpose, if set, says what for).
func claimError(err error, tutorialEventID int64, lease time.Duration, log *slog.Logger, purpose string) error {
	switch {
	case errors.Is(err, bridge.ErrNoEvent):
		return messaging.Permanent(fmt.Errorf("tutorial event %d: %w", tutorialEventID, err))
	case errors.Is(err, bridge.ErrBusy):
		wait := lease / 2
		var busy *bridge.BusyError
		if errors.As(err, &busy) {
			wait = busy.Left + 250*time.Millisecond
		}
		log.Info("event claimed by another worker; retrying when its lease ends", "retry_in", wait)
		return messaging.RetryAfter(err, wait)
	}
	if purpose != "" {
		purpose = " " + purpose
	}
	return fmt.Errorf("claim tutorial event %d%s: %w", tutorialEventID, purpose, err)
}

// job is what tells a creation's attempt from a correction's once they are
// settled: the outcome counted, the log lines, and the note the bridge row
// keeps with the error.
type job struct {
	outcome   string // Events label when it succeeded
	succeeded string // log message when it succeeded
	failed    string // log message for a permanent failure
	transient string // log message for a transient failure
	note      string // prefixes the error Release leaves in last_error
}

// creation is the job of tutorial.event.created; correction (change.go)
// that of tutorial.event.changed.
var creation = job{outcome: "linked", succeeded: "event linked", failed: "event failed permanently", transient: "transient failure"}

// work runs fn, the attempt's calls, while the claim is kept alive, and
// settles the result: the one path creations and corrections share after
// their claim.
func (w *Writer) work(ctx context.Context, a *attempt, fn func(context.Context) error) error {
	err := a.keepClaim(ctx, fn)
	w.Metrics.Duration.Observe(time.Since(a.start).Seconds())
	return w.settle(ctx, a, err)
}

// keepClaim runs fn while a heartbeat renews the claim's lease every
// Lease/3, so it holds however slowly Administrate answers. Losing the
// claim cancels fn's context, so a stale worker stops sending, and fn's
// error then wraps bridge.ErrFenced.
func (a *attempt) keepClaim(ctx context.Context, fn func(context.Context) error) error {
	st, claim := a.st, a.claim
	workCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(max(st.Lease/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-workCtx.Done():
				return
			case <-t.C:
				if err := st.Heartbeat(workCtx, claim); errors.Is(err, bridge.ErrFenced) {
					cancel(bridge.ErrFenced)
					return
				}
			}
		}
	}()
	err := fn(workCtx)
	cancel(nil)
	<-hbDone
	if cause := context.Cause(workCtx); errors.Is(cause, bridge.ErrFenced) && err != nil {
		err = fmt.Errorf("%w: %w", bridge.ErrFenced, err)
	}
	return err
}

// settle applies the failure policy to an attempt's result. Whether a
// failure is retried or dead-lettered is the runner's decision (it knows
// the consumer's MaxDeliver); a dead letter reaches OnDeadLetter.
func (w *Writer) settle(ctx context.Context, a *attempt, err error) error {
	log, st, claim := a.log, a.st, a.claim
	switch {
	case err == nil:
		w.Metrics.Events.WithLabelValues(a.job.outcome).Inc()
		log.Info(a.job.succeeded, "calls", a.calls, "took", time.Since(a.start))
		return nil
	case errors.Is(err, errCrashed):
		return messaging.RetryAfter(err, 0)
	case errors.Is(err, bridge.ErrFenced):
		// Another worker owns the event now; come back to see it done.
		log.Warn("claim lost to another worker; stopping", "error", err)
		return messaging.RetryAfter(err, st.Lease/2)
	}
	// Give the claim up, keeping the state, so the next delivery resumes
	// where this one stopped; a dead-lettered event is marked failed by
	// OnDeadLetter. Bookkeeping must happen even when shutdown cancelled ctx.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := st.Release(bctx, claim, a.job.note+err.Error()); rerr != nil && !errors.Is(rerr, bridge.ErrFenced) {
		log.Warn("could not release the claim; it expires with its lease", "error", rerr)
	}
	if messaging.IsPermanent(err) {
		log.Error(a.job.failed, "error", err)
	} else {
		log.Warn(a.job.transient, "error", err, "outcome_unknown", outcomeUnknown(err))
	}
	return err
}

// OnDeadLetter is the runner's hook for a tutorial.event.created message it
// is about to dead-letter, however it got there (a permanent failure, the
// last allowed delivery, a panic): the bridge row is marked failed with the
// reason and adm.event.failed is published. A message whose payload cannot
// be read names no event; the dead letter alone records it.
func (w *Writer) OnDeadLetter(ctx context.Context, msg jetstream.Msg, reason string, herr error) {
	if msg.Subject() == messaging.SubjectTutorialEventChanged {
		w.changeDeadLetter(ctx, msg, reason)
		return
	}
	var p Payload
	if err := json.Unmarshal(msg.Data(), &p); err != nil || p.TutorialEventID <= 0 {
		return
	}
	log := eventLogger(ctx, w.logger(), p)
	f := Failed{TutorialEventID: p.TutorialEventID, ImportRunID: p.ImportRunID, Reason: reason}
	row, err := w.store().Abandon(ctx, p.TutorialEventID, reason)
	if err != nil {
		log.Error("could not mark the bridge failed", "error", err)
	}
	if row != nil {
		f.ExternalID, f.Attempts = row.ExternalID, row.Attempts
	}
	var se *sessionsError
	if errors.As(herr, &se) {
		f.SessionErrors = se.byDay
	}
	w.publishFailed(ctx, f)
	w.Metrics.Events.WithLabelValues("failed").Inc()
}

// eventLogger carries the fields that follow one event through every
// service's logs: its import run, its tutorial event id and the trace.
func eventLogger(ctx context.Context, l *slog.Logger, p Payload) *slog.Logger {
	l = l.With("tutorial_event_id", p.TutorialEventID)
	if p.ImportRunID != 0 {
		l = l.With("import_run_id", p.ImportRunID)
	}
	return l.With(observability.TraceAttrs(ctx)...)
}

// linked notes the Administrate event id in the attempt's log lines from
// here on.
func (a *attempt) linked(ctx context.Context, id string) {
	a.log = a.log.With("adm_event_id", id)
	trace.SpanFromContext(ctx).SetAttributes(attribute.String("admsync.adm_event_id", id))
}

func (w *Writer) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

// attempt is one claim's run through the plan.
type attempt struct {
	w       *Writer
	st      *bridge.Store
	claim   *bridge.Claim
	payload Payload
	log     *slog.Logger
	start   time.Time
	calls   int
	job     job
}

// call runs one Administrate call, feeding the breaker: an answer (even a
// rejection) closes it, a transient failure counts towards opening it.
func (a *attempt) call(fn func() error) error {
	a.calls++
	err := fn()
	if a.w.Breaker != nil {
		switch {
		case err == nil, messaging.IsPermanent(err):
			a.w.Breaker.Success()
		case errors.Is(err, context.Canceled), errors.Is(err, bridge.ErrFenced):
			// Not Administrate's fault.
		default:
			a.w.Breaker.Failure()
		}
	}
	return err
}

func (a *attempt) crash(point string) error {
	if a.w.Failpoint == nil {
		return nil
	}
	if err := a.w.Failpoint(point); err != nil {
		a.log.Warn("failpoint hit", "point", point)
		return errCrashed
	}
	return nil
}

// load reads the claimed event's tutorial rows and builds its call plan:
// an event that is not imported, or whose rows make no valid plan, fails
// permanently (a retry would read the same).
func (a *attempt) load(ctx context.Context) (plan.Event, *plan.Plan, error) {
	id := a.claim.TutorialEventID
	ev, err := Load(ctx, a.w.Pool, id)
	if errors.Is(err, ErrNotImported) {
		return ev, nil, messaging.Permanent(fmt.Errorf("tutorial event %d: %w", id, err))
	}
	if err != nil {
		return ev, nil, fmt.Errorf("load tutorial event %d: %w", id, err)
	}
	p, err := plan.Build(ev, a.w.Options)
	if err != nil {
		return ev, nil, messaging.Permanent(err)
	}
	return ev, p, nil
}

func (a *attempt) run(ctx context.Context) error {
	w, st, c := a.w, a.st, a.claim
	_, p, err := a.load(ctx)
	if err != nil {
		return err
	}

	// 1. Find or create the Administrate event.
	var sessionIDs []string
	sessionsKnown := false
	if c.ExternalID == "" && c.State == bridge.Creating {
		// A create may have been sent by an earlier attempt: look before creating.
		id, err := a.reconcile(ctx, p)
		if err != nil {
			return err
		}
		if id != "" {
			a.linked(ctx, id)
			a.log.Info("adopted the event an earlier attempt created")
			if err := st.Created(ctx, c, id); err != nil {
				return linkErr(err)
			}
		}
	}
	if c.ExternalID == "" {
		if err := st.BeginCreate(ctx, c); err != nil {
			return err
		}
		created, err := a.create(ctx, p)
		if outcomeUnknown(err) {
			// The create may have been applied: only Administrate can tell.
			a.log.Warn("create outcome unknown; reconciling", "error", err)
			id, rerr := a.reconcile(ctx, p)
			if rerr != nil {
				return rerr
			}
			if id == "" {
				// Not there (yet): stay in creating so the next attempt looks again.
				return err
			}
			created, err = Created{EventID: id}, nil
		}
		if err != nil {
			if messaging.IsPermanent(err) {
				if created.EventID != "" {
					// Administrate created it despite the errors: keep the id.
					if serr := st.Created(ctx, c, created.EventID); serr != nil {
						return serr
					}
				}
				return fmt.Errorf("%s rejected %q: %w", p.Create(), p.Title, err)
			}
			return err
		}
		if err := a.crash(failpoint.AfterCreate); err != nil {
			return err
		}
		// Stored before anything else can fail.
		a.linked(ctx, created.EventID)
		if err := st.Created(ctx, c, created.EventID); err != nil {
			return linkErr(err)
		}
		sessionIDs, sessionsKnown = created.SessionIDs, created.Complete
	}

	// 2. Sessions, in Day order, and the administrators: one batch, each session
	// stored as its fields complete (writeSessions).
	missing := false
	for _, s := range p.Sessions {
		if c.Sessions[s.Day].ExternalID == "" {
			missing = true
		}
	}
	var byDay map[int]string
	if missing {
		if !sessionsKnown {
			if err := a.call(func() (err error) { sessionIDs, err = w.API.EventSessions(ctx, c.ExternalID); return err }); err != nil {
				return a.classify(err, "read the event's sessions")
			}
		}
		if byDay, err = p.Assign(sessionIDs); err != nil {
			return messaging.Permanent(err)
		}
	}
	sessionErrors, err := a.writeSessions(ctx, p, byDay)
	if err != nil {
		return err
	}
	if len(sessionErrors) > 0 {
		days := make([]string, 0, len(sessionErrors))
		for _, s := range p.Sessions {
			if msg, ok := sessionErrors[strconv.Itoa(s.Day)]; ok {
				days = append(days, fmt.Sprintf("Day %d: %s", s.Day, msg))
			}
		}
		return messaging.Permanent(&sessionsError{
			err: fmt.Errorf("event %s was created but %d session(s) failed: %s",
				c.ExternalID, len(sessionErrors), strings.Join(days, "; ")),
			byDay: sessionErrors,
		})
	}

	// 3. The event administrators went with the sessions (writeSessions).

	// 4. Result, then done.
	var ids []string
	for _, s := range p.Sessions {
		ids = append(ids, c.Sessions[s.Day].ExternalID)
	}
	if err := w.publish(ctx, messaging.SubjectAdmEventLinked,
		fmt.Sprintf("linked:%d:%s", c.TutorialEventID, c.ExternalID),
		Linked{TutorialEventID: c.TutorialEventID, ImportRunID: a.payload.ImportRunID, ExternalID: c.ExternalID, SessionIDs: ids, Attempts: c.Attempts}); err != nil {
		return fmt.Errorf("publish %s: %w", messaging.SubjectAdmEventLinked, err)
	}
	if err := a.crash(failpoint.BeforeBridgeCommit); err != nil {
		return err
	}
	return st.Finish(ctx, c)
}

// linkErr makes a clash of natural keys permanent: retrying would adopt
// the same event again.
func linkErr(err error) error {
	if errors.Is(err, bridge.ErrLinkedElsewhere) {
		return messaging.Permanent(err)
	}
	return err
}

// classify names what a non-create call was doing; the error keeps its
// class (a rejection stays permanent).
func (a *attempt) classify(err error, what string) error {
	// Outcome unknown on an update or addStaff is safe to retry: both are
	// idempotent (addStaff's "already staff" counts as done).
	return fmt.Errorf("%s: %w", what, err)
}

func (a *attempt) create(ctx context.Context, p *plan.Plan) (Created, error) {
	// A create is the one call that must never go out twice. It can wait
	// long in the rate budget, and the process can be paused; re-check the
	// claim at the last moment so a worker whose lease another one took over
	// does not send it (the chaos scenario admwriter-pause).
	ctx = administrate.WithBeforeSend(ctx, func(ctx context.Context) error { return a.st.Heartbeat(ctx, a.claim) })
	var out Created
	err := a.call(func() (err error) {
		switch {
		case p.Blended != nil:
			out, err = a.w.API.CreateBlended(ctx, *p.Blended)
		case p.Classroom != nil:
			out, err = a.w.API.CreateClassroom(ctx, *p.Classroom)
		default:
			out, err = a.w.API.CreateLMS(ctx, *p.LMS)
		}
		return err
	})
	if err == nil && out.EventID == "" {
		return out, messaging.Permanent(fmt.Errorf("%s: no event in the response", p.Create()))
	}
	return out, err
}

// reconcile looks the event up by its natural key: its id when exactly one
// exists, "" when none does, a permanent error when several do.
func (a *attempt) reconcile(ctx context.Context, p *plan.Plan) (string, error) {
	var ids []string
	err := a.call(func() (err error) { ids, err = a.w.API.FindEvents(ctx, p.Title, p.CourseTemplateCode); return err })
	if err != nil {
		return "", a.classify(err, "look up existing events")
	}
	switch len(ids) {
	case 0:
		return "", nil
	case 1:
		return ids[0], nil
	default:
		return "", messaging.Permanent(fmt.Errorf("Administrate already has %d events titled %q for course template %q (%s): adopting none; remove the duplicates and replay",
			len(ids), p.Title, p.CourseTemplateCode, strings.Join(ids, ", ")))
	}
}

func (w *Writer) publish(ctx context.Context, subject, msgID string, body any) error {
	if w.JS == nil {
		return nil
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	_, err = w.JS.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: data}, jetstream.WithMsgID(msgID))
	return err
}

func (w *Writer) publishFailed(ctx context.Context, f Failed) {
	id := fmt.Sprintf("failed:%d:%d", f.TutorialEventID, f.Attempts)
	if err := w.publish(ctx, messaging.SubjectAdmEventFailed, id, f); err != nil {
		w.logger().Warn("could not publish the failure result (the dead letter still records it)",
			"tutorial_event_id", f.TutorialEventID, "error", err)
	}
}
