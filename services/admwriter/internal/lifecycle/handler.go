package lifecycle

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
	"admsync/services/admwriter/internal/failpoint"
)

// Handler applies event.command.<action> messages, one event each. Every
// action is safe to repeat after a crash or an unknown outcome: an update
// sets a value (sending it twice changes nothing), a price already recorded
// in adm.event_prices is not sent again and one Administrate already has is
// recorded as added, and a delete reads the event first (gone: only the
// bridge is marked; no longer a draft: refused, never deleted).
//
// Under Run, the handlers of the commands in flight share requests: each
// event's writes (all its prices) are one group of fields, and the groups of
// several events go out as one document up to the client's cap (batcher.go).
type Handler struct {
	Pool   *pgxpool.Pool
	API    *administrate.Client
	JS     jetstream.JetStream
	Logger *slog.Logger
	// Failpoint, if set, is called after Administrate answered and before the
	// outcome is recorded (failpoint.AfterLifecycleWrite; chaos runs only).
	Failpoint failpoint.Func

	// batch is set by Run when the client batches (BatchMax > 1); without it
	// each handler sends its own event's writes as one request.
	batch *batcher
}

// Handle is the messaging.Handler of messaging.EventCommandsConsumer.
func (h *Handler) Handle(ctx context.Context, msg jetstream.Msg) error {
	var c messaging.EventCommand
	if err := json.Unmarshal(msg.Data(), &c); err != nil {
		return messaging.Malformed(fmt.Errorf("event command: %w", err))
	}
	if c.EventID <= 0 || c.AdmEventID == "" || c.RunID == "" {
		return messaging.Malformed(fmt.Errorf("event command without event, Administrate id or run id"))
	}
	// A redelivery may follow writes whose outcome was recorded, or unknown.
	redelivered := false
	if md, err := msg.Metadata(); err == nil {
		redelivered = md.NumDelivered > 1
	}
	outcome, detail, err := h.apply(ctx, c, redelivered)
	if err != nil {
		return classify(err)
	}
	return h.publish(ctx, c, outcome, detail)
}

// classify maps Administrate's errors onto the common policy: rejections are
// permanent (dead letter, with a failed result), the rest is retried. An
// unknown outcome (a request that failed as a whole, even with a
// request-level GraphQL error) is retried: the next delivery sends the event's
// writes again, which every action makes harmless.
func classify(err error) error {
	if errors.Is(err, administrate.ErrOutcomeUnknown) {
		return err
	}
	var me *administrate.MutationError
	var ge *administrate.GraphQLError
	if errors.As(err, &me) || errors.As(err, &ge) {
		return messaging.Permanent(err)
	}
	return err
}

// send sends one event's writes together (with other events' under Run) and
// returns each op's error.
func (h *Handler) send(ctx context.Context, ops ...administrate.BatchOp) []error {
	if h.batch != nil {
		return h.batch.write(ctx, ops)
	}
	return h.API.Batch(ctx, ops).Errors
}

// status reads an event's lifecycle fields (with other events' under Run).
func (h *Handler) status(ctx context.Context, id string) (administrate.EventStatus, error) {
	if h.batch != nil {
		return h.batch.status(ctx, id)
	}
	return h.API.EventStatusByID(ctx, id)
}

func (h *Handler) point() error {
	if h.Failpoint != nil {
		return h.Failpoint(failpoint.AfterLifecycleWrite)
	}
	return nil
}

func (h *Handler) apply(ctx context.Context, c messaging.EventCommand, redelivered bool) (outcome, detail string, err error) {
	var (
		in   administrate.EventUpdateInput
		what string
	)
	switch c.Action {
	case messaging.ActionPublish:
		st := administrate.EventLifecycleStatePublished
		in, what = administrate.EventUpdateInput{LifecycleState: &st}, "published"
	case messaging.ActionSoldOut:
		in, what = administrate.EventUpdateInput{IsSoldOut: &c.On}, "sold out "+onOff(c.On)
	case messaging.ActionWebSale:
		if c.WebSaleKey == "" {
			return "", "", messaging.Malformed(errors.New("websale command without the Web sale custom field key"))
		}
		in = administrate.EventUpdateInput{CustomFieldValues: []administrate.CustomFieldValueInput{
			{DefinitionKey: c.WebSaleKey, Value: administrate.WebSaleValue(c.On)}}}
		what = "web sale " + onOff(c.On)
	case messaging.ActionPrices:
		return h.prices(ctx, c, redelivered)
	case messaging.ActionDelete:
		return h.delete(ctx, c)
	default:
		return "", "", messaging.Malformed(fmt.Errorf("unknown event command action %q", c.Action))
	}
	if err := h.send(ctx, administrate.BatchUpdateEventLifecycle(c.AdmEventID, in))[0]; err != nil {
		return "", "", err
	}
	return messaging.OutcomeChanged, what, h.point()
}

// prices adds the event's prices, all in one request. On a redelivery,
// prices already in adm.event_prices (recorded by an earlier delivery) are
// not sent again (the plan left out those recorded before the command); a
// price Administrate answers it already has is recorded without its id.
// Every price that was added or already there is recorded, whatever happened
// to the others; then an error worth retrying (an unknown outcome: the next
// delivery sends the rest again) is returned before a rejection.
func (h *Handler) prices(ctx context.Context, c messaging.EventCommand, redelivered bool) (string, string, error) {
	amounts := make([]administrate.Decimal, len(c.Prices))
	for i, p := range c.Prices {
		amount, err := administrate.ParseDecimal(p.Amount)
		if err != nil {
			return "", "", messaging.Malformed(fmt.Errorf("price amount %q: %w", p.Amount, err))
		}
		amounts[i] = amount
	}
	var recorded map[int64]map[[2]string]bool
	if redelivered {
		var err error
		if recorded, err = AddedPrices(ctx, h.Pool, []int64{c.EventID}); err != nil {
			return "", "", err
		}
	}
	added, had := 0, 0
	var (
		todo []messaging.EventCommandPrice
		ops  []administrate.BatchOp
	)
	ids := make([]string, len(c.Prices))
	for i, p := range c.Prices {
		if recorded[c.EventID][[2]string{p.PriceLevelID, p.CurrencyID}] {
			had++ // recorded by an earlier delivery
			continue
		}
		todo = append(todo, p)
		ops = append(ops, administrate.BatchAddEventPrice(c.AdmEventID, administrate.EventPrice{
			PriceLevelID: p.PriceLevelID, CurrencyID: p.CurrencyID, Amount: amounts[i]}, &ids[len(ops)]))
	}
	errs := h.send(ctx, ops...)
	if len(ops) > 0 {
		if err := h.point(); err != nil {
			return "", "", err
		}
	}
	var retry, rejected error
	for i, p := range todo {
		switch err := errs[i]; {
		case administrate.IsPriceExists(err):
			had++ // added by an earlier delivery (or by hand): record it, send nothing more
		case err != nil:
			if messaging.IsPermanent(classify(err)) {
				rejected = cmp.Or(rejected, err)
			} else {
				retry = cmp.Or(retry, err)
			}
			continue
		default:
			added++
		}
		if err := recordPrice(ctx, h.Pool, c.EventID, p.PriceLevelID, p.CurrencyID, p.Amount, ids[i]); err != nil {
			return "", "", err
		}
	}
	if err := cmp.Or(retry, rejected); err != nil {
		return "", "", err
	}
	if added == 0 {
		return messaging.OutcomeUnchanged, fmt.Sprintf("%d prices were already there", had), nil
	}
	return messaging.OutcomeChanged, fmt.Sprintf("added %d prices (%d already there)", added, had), nil
}

func (h *Handler) delete(ctx context.Context, c messaging.EventCommand) (string, string, error) {
	st, err := h.status(ctx, c.AdmEventID)
	if errors.Is(err, administrate.ErrNotFound) {
		if err := markDeleted(ctx, h.Pool, c.EventID); err != nil {
			return "", "", err
		}
		return messaging.OutcomeUnchanged, "not in Administrate: bridge marked deleted", nil
	}
	if err != nil {
		return "", "", err
	}
	// Read right before the delete: an event published since the plan stays
	// (and Administrate deletes drafts only).
	if st.LifecycleState != administrate.EventLifecycleStateDraft {
		return messaging.OutcomeRefused, string(st.LifecycleState) + ": only drafts are deleted", nil
	}
	err = h.send(ctx, administrate.BatchDeleteEvent(c.AdmEventID))[0]
	if err != nil && !errors.Is(err, administrate.ErrNotFound) {
		return "", "", err
	}
	if err := h.point(); err != nil {
		return "", "", err
	}
	if err := markDeleted(ctx, h.Pool, c.EventID); err != nil {
		return "", "", err
	}
	return messaging.OutcomeChanged, "deleted", nil
}

// publish answers on event.result.<run id>; the message id makes a
// redelivered command's second answer a duplicate the stream drops.
func (h *Handler) publish(ctx context.Context, c messaging.EventCommand, outcome, detail string) error {
	r := messaging.EventResult{EventCommandRef: c.EventCommandRef, Outcome: outcome, Detail: detail}
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	m := nats.NewMsg(messaging.SubjectEventResultPrefix + c.RunID)
	m.Data = body
	m.Header.Set(nats.MsgIdHdr, "event-result-"+c.RunID+"-"+strconv.FormatInt(c.EventID, 10))
	if _, err := h.JS.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("publish event result: %w", err)
	}
	if h.Logger != nil {
		h.Logger.Info("event command applied", "action", c.Action, "event_id", c.EventID, "outcome", outcome, "detail", detail)
	}
	return nil
}

// OnDeadLetter answers a dead-lettered command with a failed result, so the
// CLI waiting for it stops waiting and says why.
func (h *Handler) OnDeadLetter(ctx context.Context, msg jetstream.Msg, reason string, herr error) {
	var c messaging.EventCommand
	if err := json.Unmarshal(msg.Data(), &c); err != nil || c.RunID == "" {
		return
	}
	detail := reason
	if herr != nil {
		detail = herr.Error()
	}
	if err := h.publish(ctx, c, messaging.OutcomeFailed, detail+" (dead letter on "+messaging.DLQSubjectPrefix+msg.Subject()+")"); err != nil && h.Logger != nil {
		h.Logger.Error("could not publish the failed result", "error", err)
	}
}

// Run runs the commands consumer next to the writer's (admwriter serve),
// declaring its streams and consumer first. When the client batches
// (ADMINISTRATE_BATCH above 1) it handles up to twice as many commands at
// once as a request has fields (within the consumer's MaxAckPending), so
// their writes share requests and the next request fills while one is in
// flight.
func (h *Handler) Run(ctx context.Context, workers int, reg prometheus.Registerer) error {
	if n := h.API.BatchMax(); n > 1 {
		workers = max(workers, 2*n)
		h.batch = newBatcher(h.API, h.Logger)
		// The batcher outlives ctx for the runner's drain; it stops once
		// the runner returned (no handler is left waiting on it).
		bctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); h.batch.run(bctx, batchSenders) }()
		defer func() {
			stop()
			<-done
			if h.Logger != nil {
				req, fields := h.batch.counts()
				h.Logger.Info("lifecycle commands: Administrate requests", "requests", req, "write_fields", fields)
			}
		}()
	}
	spec := messaging.EventCommandsConsumer()
	topo := messaging.DefaultTopology().Only(messaging.StreamEventCommands, messaging.StreamEventResults, messaging.StreamDLQ)
	topo.Consumers = []messaging.ConsumerSpec{spec}
	if err := topo.Ensure(ctx, h.JS); err != nil {
		return fmt.Errorf("declare the event command streams: %w", err)
	}
	r, err := messaging.NewRunner(h.JS, messaging.RunnerOptions{Consumer: spec, Handler: h.Handle,
		OnDeadLetter: h.OnDeadLetter, Workers: max(workers, 1), Logger: h.Logger, Registerer: reg})
	if err != nil {
		return err
	}
	// The monitor exports the backlog and moves commands that ran out of
	// deliveries without an answer (a crash on each) to the DLQ.
	mon, err := messaging.NewMonitor(h.JS, messaging.MonitorOptions{Consumers: []messaging.ConsumerSpec{spec},
		Registerer: reg, Logger: h.Logger})
	if err != nil {
		return err
	}
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	go mon.Run(mctx)
	return r.Run(ctx)
}
