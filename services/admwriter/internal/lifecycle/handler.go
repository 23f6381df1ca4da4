package lifecycle

import (
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
// action is safe to repeat after a crash: an update sets a value (sending it
// twice changes nothing), a price Administrate already has is recorded as
// added, and a delete reads the event first (gone: only the bridge is
// marked; no longer a draft: refused, never deleted).
type Handler struct {
	Pool   *pgxpool.Pool
	API    *administrate.Client
	JS     jetstream.JetStream
	Logger *slog.Logger
	// Failpoint, if set, is called after Administrate answered and before the
	// outcome is recorded (failpoint.AfterLifecycleWrite; chaos runs only).
	Failpoint failpoint.Func
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
	outcome, detail, err := h.apply(ctx, c)
	if err != nil {
		return classify(err)
	}
	return h.publish(ctx, c, outcome, detail)
}

// classify maps Administrate's errors onto the common policy: rejections are
// permanent (dead letter, with a failed result), the rest is retried.
func classify(err error) error {
	var me *administrate.MutationError
	var ge *administrate.GraphQLError
	if errors.As(err, &me) || errors.As(err, &ge) {
		return messaging.Permanent(err)
	}
	return err
}

func (h *Handler) point() error {
	if h.Failpoint != nil {
		return h.Failpoint(failpoint.AfterLifecycleWrite)
	}
	return nil
}

func (h *Handler) apply(ctx context.Context, c messaging.EventCommand) (outcome, detail string, err error) {
	switch c.Action {
	case messaging.ActionPublish:
		if _, err := h.API.PublishEvent(ctx, c.AdmEventID); err != nil {
			return "", "", err
		}
		return messaging.OutcomeChanged, "published", h.point()
	case messaging.ActionSoldOut:
		if _, err := h.API.SetSoldOut(ctx, c.AdmEventID, c.On); err != nil {
			return "", "", err
		}
		return messaging.OutcomeChanged, "sold out " + onOff(c.On), h.point()
	case messaging.ActionWebSale:
		if c.WebSaleKey == "" {
			return "", "", messaging.Malformed(errors.New("websale command without the Web sale custom field key"))
		}
		if _, err := h.API.SetWebSale(ctx, c.AdmEventID, c.WebSaleKey, c.On); err != nil {
			return "", "", err
		}
		return messaging.OutcomeChanged, "web sale " + onOff(c.On), h.point()
	case messaging.ActionPrices:
		return h.prices(ctx, c)
	case messaging.ActionDelete:
		return h.delete(ctx, c)
	}
	return "", "", messaging.Malformed(fmt.Errorf("unknown event command action %q", c.Action))
}

func (h *Handler) prices(ctx context.Context, c messaging.EventCommand) (string, string, error) {
	added, had := 0, 0
	for _, p := range c.Prices {
		amount, err := administrate.ParseDecimal(p.Amount)
		if err != nil {
			return "", "", messaging.Malformed(fmt.Errorf("price amount %q: %w", p.Amount, err))
		}
		id, err := h.API.AddEventPrice(ctx, c.AdmEventID, administrate.EventPrice{PriceLevelID: p.PriceLevelID,
			CurrencyID: p.CurrencyID, Amount: amount})
		switch {
		case administrate.IsPriceExists(err):
			had++ // added by an earlier delivery (or by hand): record it, send nothing more
		case err != nil:
			return "", "", err
		default:
			added++
		}
		if err := h.point(); err != nil {
			return "", "", err
		}
		if err := recordPrice(ctx, h.Pool, c.EventID, p.PriceLevelID, p.CurrencyID, p.Amount, id); err != nil {
			return "", "", err
		}
	}
	if added == 0 {
		return messaging.OutcomeUnchanged, fmt.Sprintf("%d prices were already there", had), nil
	}
	return messaging.OutcomeChanged, fmt.Sprintf("added %d prices (%d already there)", added, had), nil
}

func (h *Handler) delete(ctx context.Context, c messaging.EventCommand) (string, string, error) {
	st, err := h.API.EventStatusByID(ctx, c.AdmEventID)
	if errors.Is(err, administrate.ErrNotFound) {
		if err := markDeleted(ctx, h.Pool, c.EventID); err != nil {
			return "", "", err
		}
		return messaging.OutcomeUnchanged, "not in Administrate: bridge marked deleted", nil
	}
	if err != nil {
		return "", "", err
	}
	// Read right before the delete: an event published since the plan stays.
	if st.LifecycleState != administrate.EventLifecycleStateDraft {
		return messaging.OutcomeRefused, string(st.LifecycleState) + ": only drafts are deleted", nil
	}
	err = h.API.DeleteEvent(ctx, c.AdmEventID)
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
	r := messaging.EventResult{RunID: c.RunID, Action: c.Action, EventID: c.EventID, AdmEventID: c.AdmEventID,
		Code: c.Code, Outcome: outcome, Detail: detail}
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
// declaring its streams and consumer first.
func (h *Handler) Run(ctx context.Context, workers int, reg prometheus.Registerer) error {
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
