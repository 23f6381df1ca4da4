package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
	"admsync/pkg/service"
	"admsync/services/admwriter/internal/lifecycle"
)

// eventsOpts are the flags every `events` command shares.
type eventsOpts struct {
	sel    lifecycle.Selection
	state  string
	plan   bool
	asJSON bool
	yes    bool
	wait   time.Duration
}

func (o *eventsOpts) selectionFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.sel.Sitting, "sitting", "", "only events of this sitting (e.g. 2026A)")
	f.Int64Var(&o.sel.ImportRunID, "import-run", 0, "only events of this import run")
	f.StringVar(&o.sel.Code, "code", "", "only events whose tutorial event code matches (% and _ are wildcards)")
	f.StringVar(&o.state, "state", "", "only events in this Administrate lifecycle state (draft, published, cancelled)")
	f.BoolVar(&o.asJSON, "json", false, "print JSON instead of a table")
}

func (o *eventsOpts) writeFlags(cmd *cobra.Command) {
	o.selectionFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.plan, "plan", false, "show what would change and write nothing")
	f.BoolVar(&o.yes, "yes", false, "do not ask for confirmation (needed when not on a terminal)")
	f.DurationVar(&o.wait, "wait", 10*time.Minute, "how long to wait for the admwriter's results")
}

func eventsCommand(env EnvFunc) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List, publish, price and tidy the events this system created in Administrate",
		Long: `Lifecycle commands for events this system created (events with an adm.events
bridge holding an Administrate id), selected with --sitting, --import-run,
--code and --state. Each write command first plans per event what would change
(--plan stops there), asks for confirmation on a terminal (--yes for
automation), then publishes one event.command.<action> message per event to
change; "admwriter serve" applies them on the shared Administrate rate budget
with the usual retries and dead letters, and answers on event.result.<run id>,
which this command waits for and prints. Running a command twice changes
nothing the second time.`,
		RunE: service.NeedsSubcommand("list, publish, websale, soldout, prices or delete-drafts"),
	}
	cmd.AddCommand(eventsListCommand(env), eventsPublishCommand(env), eventsToggleCommand(env, messaging.ActionWebSale),
		eventsToggleCommand(env, messaging.ActionSoldOut), eventsPricesCommand(env), eventsDeleteDraftsCommand(env))
	return cmd
}

// selected loads the selection and the Administrate state of each event
// (with --state, only the events in that state).
func selected(ctx context.Context, e *service.Env, o *eventsOpts) ([]lifecycle.Event, map[string]administrate.EventStatus, *administrate.Client, error) {
	switch administrate.EventLifecycleState(o.state) {
	case "", administrate.EventLifecycleStateDraft, administrate.EventLifecycleStatePublished, administrate.EventLifecycleStateCancelled:
	default:
		return nil, nil, nil, service.Usagef("--state %q: want draft, published or cancelled", o.state)
	}
	pool, err := e.DB(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	events, err := lifecycle.Select(ctx, pool, o.sel)
	if err != nil {
		return nil, nil, nil, err
	}
	api, err := sharedClient(ctx, e)
	if err != nil {
		return nil, nil, nil, err
	}
	states, err := lifecycle.States(ctx, api, events)
	if err != nil {
		return nil, nil, nil, err
	}
	if o.state != "" {
		kept := events[:0]
		for _, ev := range events {
			if s, ok := states[ev.AdmEventID]; ok && string(s.LifecycleState) == o.state {
				kept = append(kept, ev)
			}
		}
		events = kept
	}
	return events, states, api, nil
}

// sharedClient is the Administrate client on the budget every admwriter
// shares through NATS.
func sharedClient(ctx context.Context, e *service.Env) (*administrate.Client, error) {
	_, js, err := e.NATS(ctx)
	if err != nil {
		return nil, err
	}
	budget, err := administrate.NewSharedBudget(ctx, js, administrate.SharedBudgetOptions{Rate: e.Config.AdministrateRateLimit})
	if err != nil {
		return nil, err
	}
	e.ShareAdministrateBudget(budget)
	return e.Administrate()
}

func eventsListCommand(env EnvFunc) *cobra.Command {
	var o eventsOpts
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the selected events with their Administrate state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := env()
			if err != nil {
				return err
			}
			defer e.Close()
			ctx := cmd.Context()
			events, states, _, err := selected(ctx, e, &o)
			if err != nil {
				return err
			}
			pool, _ := e.DB(ctx)
			key, _ := lifecycle.WebSaleKey(ctx, pool) // no key: web sale shows as unknown
			type row struct {
				lifecycle.Event
				State   string `json:"state"`
				WebSale string `json:"web_sale"`
				SoldOut bool   `json:"sold_out"`
			}
			rows := make([]row, 0, len(events))
			for _, ev := range events {
				r := row{Event: ev, State: "gone", WebSale: "?"}
				if s, ok := states[ev.AdmEventID]; ok {
					r.State, r.SoldOut = string(s.LifecycleState), s.IsSoldOut
					if v, ok := s.CustomField(key); ok && key != "" {
						r.WebSale = onOff(administrate.IsWebSaleOn(v))
					} else if key != "" {
						r.WebSale = "off"
					}
				}
				rows = append(rows, r)
			}
			out := cmd.OutOrStdout()
			if o.asJSON {
				return json.NewEncoder(out).Encode(rows)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CODE\tSITTING\tRUN\tSTATE\tWEB SALE\tSOLD OUT\tADMINISTRATE ID\tTITLE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Code, r.Sitting, r.ImportRunID, r.State, r.WebSale,
					onOff(r.SoldOut), r.AdmEventID, r.Title)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "%s\n", plural(len(rows), "event", "events"))
			return nil
		},
	}
	o.selectionFlags(cmd)
	return cmd
}

func eventsPublishCommand(env EnvFunc) *cobra.Command {
	var o eventsOpts
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Publish the selected draft events",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLifecycle(cmd, env, &o, lifecycle.Request{Action: messaging.ActionPublish})
		},
	}
	o.writeFlags(cmd)
	return cmd
}

func eventsToggleCommand(env EnvFunc, action string) *cobra.Command {
	var o eventsOpts
	what := map[string]string{messaging.ActionWebSale: "web sale", messaging.ActionSoldOut: "sold out"}[action]
	cmd := &cobra.Command{
		Use:   action + " on|off",
		Short: "Switch " + what + " on or off for the selected events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var on bool
			switch strings.ToLower(args[0]) {
			case "on":
				on = true
			case "off":
			default:
				return service.Usagef("%s %q: want on or off", action, args[0])
			}
			req := lifecycle.Request{Action: action, On: on}
			if action == messaging.ActionWebSale {
				e, pool, err := service.OpenDB(cmd.Context(), env)
				if err != nil {
					return err
				}
				req.WebSaleKey, err = lifecycle.WebSaleKey(cmd.Context(), pool)
				e.Close()
				if err != nil {
					return err
				}
			}
			return runLifecycle(cmd, env, &o, req)
		},
	}
	o.writeFlags(cmd)
	return cmd
}

func eventsPricesCommand(env EnvFunc) *cobra.Command {
	var (
		o             eventsOpts
		level, amount string
		currencyCode  string
	)
	add := &cobra.Command{
		Use:   "add",
		Short: "Add event prices: the course template's per price level, or --level/--amount",
		Long: `Adds prices to each selected event in the active financial unit (read once
from Administrate; --currency CODE when several are active). By default each
event gets its course template's price for every price level (from the
syncer's adm.course_template_price_levels); --level NAME|ID --amount N adds
that one price instead. Prices this system already added (adm.event_prices)
are not sent again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (level == "") != (amount == "") {
				return service.Usagef("give --level and --amount together")
			}
			if amount != "" {
				if _, err := administrate.ParseDecimal(amount); err != nil {
					return service.Usagef("--amount %q: %v", amount, err)
				}
			}
			req := lifecycle.Request{Action: messaging.ActionPrices}
			prepare := func(ctx context.Context, e *service.Env, api *administrate.Client, events []lifecycle.Event) error {
				pool, err := e.DB(ctx)
				if err != nil {
					return err
				}
				cur, err := api.ActiveCurrencies(ctx)
				if err != nil {
					return fmt.Errorf("active financial unit: %w", err)
				}
				req.CurrencyID, err = pickCurrency(cur, currencyCode)
				if err != nil {
					return err
				}
				if level != "" {
					id, name, err := lifecycle.PriceLevel(ctx, pool, level)
					if err != nil {
						return err
					}
					req.Explicit = &lifecycle.TemplatePrice{PriceLevelID: id, PriceLevelName: name, Amount: amount}
				} else if req.TemplatePrices, err = lifecycle.TemplatePrices(ctx, pool); err != nil {
					return err
				}
				ids := make([]int64, 0, len(events))
				for _, ev := range events {
					ids = append(ids, ev.ID)
				}
				req.Added, err = lifecycle.AddedPrices(ctx, pool, ids)
				return err
			}
			return runLifecycleWith(cmd, env, &o, &req, prepare)
		},
	}
	o.writeFlags(add)
	add.Flags().StringVar(&level, "level", "", "price level name or id (with --amount)")
	add.Flags().StringVar(&amount, "amount", "", "amount, e.g. 250.00 (with --level)")
	add.Flags().StringVar(&currencyCode, "currency", "", "financial unit code when several are active")
	cmd := &cobra.Command{Use: "prices", Short: "Event prices", RunE: service.NeedsSubcommand("add")}
	cmd.AddCommand(add)
	return cmd
}

func pickCurrency(cur []administrate.Currency, code string) (string, error) {
	var codes []string
	for _, c := range cur {
		if code == "" && len(cur) == 1 || strings.EqualFold(c.Code, code) && code != "" {
			return c.ID, nil
		}
		codes = append(codes, c.Code)
	}
	if len(cur) == 0 {
		return "", fmt.Errorf("Administrate has no active financial unit (currency)")
	}
	if code == "" {
		return "", service.Usagef("several financial units are active (%s): give --currency", strings.Join(codes, ", "))
	}
	return "", service.Usagef("--currency %s is not an active financial unit (%s)", code, strings.Join(codes, ", "))
}

func eventsDeleteDraftsCommand(env EnvFunc) *cobra.Command {
	var o eventsOpts
	cmd := &cobra.Command{
		Use:   "delete-drafts",
		Short: "Delete the selected draft events this system created (never published ones)",
		Long: `Deletes, in Administrate, the selected events that are still drafts and that
this system created (through its adm.events bridges); published or cancelled
events, and events created by anyone else, are never touched. Each event is
read again right before its delete. The bridge row is kept and marked deleted
(adm.events.deleted_at), so nothing creates the event again. Give a selection:
typically --import-run ID of the mistaken import.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.sel == (lifecycle.Selection{}) {
				return service.Usagef("give a selection (--import-run, --sitting or --code): delete-drafts never runs on everything")
			}
			return runLifecycle(cmd, env, &o, lifecycle.Request{Action: messaging.ActionDelete})
		},
	}
	o.writeFlags(cmd)
	return cmd
}

func runLifecycle(cmd *cobra.Command, env EnvFunc, o *eventsOpts, req lifecycle.Request) error {
	return runLifecycleWith(cmd, env, o, &req, nil)
}

// runLifecycleWith plans, confirms, publishes one command per event to
// change and prints the results as they arrive.
func runLifecycleWith(cmd *cobra.Command, env EnvFunc, o *eventsOpts, req *lifecycle.Request,
	prepare func(context.Context, *service.Env, *administrate.Client, []lifecycle.Event) error) error {
	e, err := env()
	if err != nil {
		return err
	}
	defer e.Close()
	ctx := cmd.Context()
	events, states, api, err := selected(ctx, e, o)
	if err != nil {
		return err
	}
	if prepare != nil {
		if err := prepare(ctx, e, api, events); err != nil {
			return err
		}
	}
	runID := uuid.NewString()
	steps := lifecycle.Plan(runID, events, states, *req)
	out := cmd.OutOrStdout()
	var todo []lifecycle.Step
	for _, s := range steps {
		if s.Command != nil {
			todo = append(todo, s)
		}
	}
	if o.plan || len(todo) == 0 {
		if o.asJSON {
			return json.NewEncoder(out).Encode(map[string]any{"plan": steps, "to_change": len(todo)})
		}
		printPlan(out, steps)
		if len(todo) == 0 {
			fmt.Fprintf(out, "nothing to change (%s selected)\n", plural(len(steps), "event", "events"))
		} else {
			fmt.Fprintf(out, "plan: %s would change%s; nothing was written (--plan)\n", plural(len(todo), "event", "events"), planRest(steps))
		}
		return nil
	}
	if !o.yes {
		if !isTerminal(os.Stdin) || !isTerminal(os.Stdout) {
			return service.Usagef("%s would change: give --yes (no terminal to confirm on), or --plan to look first",
				plural(len(todo), "event", "events"))
		}
		printPlan(out, steps)
		fmt.Fprintf(out, "%s %s? [y/N] ", req.Action, plural(len(todo), "event", "events"))
		line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(out, "nothing written")
			return nil
		}
	}
	_, js, err := e.NATS(ctx)
	if err != nil {
		return err
	}
	results, err := sendCommands(ctx, js, runID, todo, o.wait, func(done, total int) {
		if !o.asJSON && total >= 20 && (done%max(total/10, 1) == 0 || done == total) {
			fmt.Fprintf(cmd.ErrOrStderr(), "%d/%d events done\n", done, total)
		}
	})
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Outcome]++
	}
	if o.asJSON {
		if jerr := json.NewEncoder(out).Encode(map[string]any{"run_id": runID, "results": results, "outcomes": counts}); jerr != nil {
			return jerr
		}
	} else {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		for _, r := range results {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Code, r.AdmEventID, r.Outcome, r.Detail)
		}
		_ = tw.Flush()
		fmt.Fprintf(out, "%s: %d changed, %d unchanged, %d refused, %d failed (run %s)\n", req.Action,
			counts[messaging.OutcomeChanged], counts[messaging.OutcomeUnchanged], counts[messaging.OutcomeRefused],
			counts[messaging.OutcomeFailed], runID)
	}
	if err != nil {
		return err
	}
	if counts[messaging.OutcomeFailed] > 0 {
		return fmt.Errorf("%s failed (each line says why; dead letters on dlq.event.command.*): fix the cause and run the command again, it plans afresh", plural(counts[messaging.OutcomeFailed], "event", "events"))
	}
	return nil
}

// planRest names what the plan leaves alone, so that a summary line never
// hides refused events among the rows above it.
func planRest(steps []lifecycle.Step) string {
	var unchanged, refused int
	for _, s := range steps {
		switch {
		case s.Command != nil:
		case s.Outcome == messaging.OutcomeRefused:
			refused++
		default:
			unchanged++
		}
	}
	return fmt.Sprintf(", %d unchanged, %d refused", unchanged, refused)
}

func printPlan(w io.Writer, steps []lifecycle.Step) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Code, s.AdmEventID, s.Outcome, s.Detail)
	}
	_ = tw.Flush()
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// sendCommands publishes one event.command.<action> per step and collects
// the results from event.result.<run id> until every event answered or wait
// ran out (the commands then stay queued for the admwriter).
func sendCommands(ctx context.Context, js jetstream.JetStream, runID string, steps []lifecycle.Step, wait time.Duration,
	progress func(done, total int)) ([]messaging.EventResult, error) {
	if err := messaging.DefaultTopology().Only(messaging.StreamEventCommands, messaging.StreamEventResults).Ensure(ctx, js); err != nil {
		return nil, err
	}
	cons, err := js.OrderedConsumer(ctx, messaging.StreamEventResults, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{messaging.SubjectEventResultPrefix + runID}})
	if err != nil {
		return nil, fmt.Errorf("wait for results: %w", err)
	}
	// Published without waiting for each acknowledgement, so the commands
	// reach the admwriter together and share its requests to Administrate;
	// then every one must have been stored (a retry of the command publishes
	// the same message ids, which the stream drops).
	acks := make([]jetstream.PubAckFuture, len(steps))
	for i, s := range steps {
		body, err := json.Marshal(s.Command)
		if err != nil {
			return nil, err
		}
		m := nats.NewMsg(messaging.SubjectEventCommandPrefix + s.Command.Action)
		m.Data = body
		m.Header.Set(nats.MsgIdHdr, "event-command-"+runID+"-"+strconv.FormatInt(s.ID, 10))
		if acks[i], err = js.PublishMsgAsync(m); err != nil {
			return nil, fmt.Errorf("publish the command for %s: %w", s.Code, err)
		}
	}
	ackWait := time.NewTimer(30 * time.Second)
	defer ackWait.Stop()
	for i, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return nil, fmt.Errorf("publish the command for %s: %w", steps[i].Code, err)
		case <-ackWait.C:
			return nil, fmt.Errorf("publish the command for %s: no acknowledgement from NATS within 30s; run the command again (it plans afresh, and the commands already stored are not sent twice)", steps[i].Code)
		case <-ctx.Done():
			return nil, fmt.Errorf("publish the commands: %w", ctx.Err())
		}
	}
	want := map[int64]bool{}
	for _, s := range steps {
		want[s.ID] = true
	}
	var results []messaging.EventResult
	deadline := time.Now().Add(wait)
	for len(want) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return results, fmt.Errorf("%s not answered within --wait %s: is admwriter serve running? The commands stay queued on EVENT_COMMANDS; results arrive on event.result.%s",
				plural(len(want), "event", "events"), wait, runID)
		}
		batch, err := cons.Fetch(len(want), jetstream.FetchMaxWait(min(left, 5*time.Second)))
		if err != nil {
			return results, fmt.Errorf("wait for results: %w", err)
		}
		for m := range batch.Messages() {
			var r messaging.EventResult
			if json.Unmarshal(m.Data(), &r) != nil || !want[r.EventID] {
				continue
			}
			delete(want, r.EventID)
			results = append(results, r)
			progress(len(results), len(steps))
		}
		if err := batch.Error(); err != nil && ctx.Err() != nil {
			return results, ctx.Err()
		}
	}
	return results, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
