package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"admsync/pkg/messaging"
	"admsync/pkg/service"
	"admsync/services/admwriter/internal/bridge"
	"admsync/services/admwriter/internal/writer"
)

func dlqCommand(env EnvFunc) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List, inspect, replay or delete the dead letters of every admsync service",
		Long: `Dead letters are messages a service gave up on. Most are the admwriter's:
tutorial events (tutorial.event.created and .changed) and lifecycle commands
(event.command.<action>, sent by admwriter events publish|websale|soldout|
prices add|delete-drafts). The DLQ stream is shared, so the syncer's and the
importer's letters are here too: sync and import requests (sync.request.<stage>,
import.request.<id>) and Administrate webhook deliveries (webhook.administrate.*);
each is safe to replay once its cause is fixed. Administrate rejected the event or the command, a
bridge was missing, transient failures outlasted every delivery, or the
admwriter crashed or hung on every delivery ("max deliveries reached without
an answer"). Each is kept in the DLQ stream (subject dlq.<original subject>)
with the reason, the delivery count and the original stream sequence. Fix
the cause, then replay. The SUBJECT column (kind and subject in --json) tells
them apart; a command's letter names its action, event and run.

Letters that failed for a reason in the message itself (a malformed message,
an event that was never imported, a request Administrate refused) are marked
"poison": replay skips them unless --force, since nothing has changed.
Letters whose event is done in Administrate (e.g. after admwriter retry) need
nothing more: replay removes them, and dlq delete --done removes them all.
--done only judges tutorial events: whether a command's event has reached its
wanted state is not recorded locally. For a command's letter, either replay
it (every command is safe to send twice) or run the same admwriter events
command again (it plans afresh) and then dlq delete the letter.`,
		Args: cobra.NoArgs,
		RunE: service.NeedsSubcommand("list, show, replay or delete"),
	}
	cmd.AddCommand(dlqListCommand(env), dlqShowCommand(env), dlqReplayCommand(env), dlqDeleteCommand(env))
	return cmd
}

// Kinds of dead letters, by their original subject.
const (
	kindTutorialEvent = "tutorial event" // tutorial.event.>
	kindEventCommand  = "event command"  // event.command.<action>
	kindSyncRequest   = "sync request"   // sync.request.<stage>
	kindImportRequest = "import request" // import.request.<id>
	kindWebhook       = "webhook"        // webhook.administrate.*
	kindOther         = "other"
)

// otherKinds names the letters of the syncer and the importer by their
// original subject's prefix.
var otherKinds = []struct{ prefix, kind string }{
	{messaging.SubjectSyncRequestPrefix, kindSyncRequest},
	{messaging.SubjectImportRequestPrefix, kindImportRequest},
	{messaging.SubjectWebhookPrefix, kindWebhook},
}

// deadLetterRow is one dead letter as list and show print it.
type deadLetterRow struct {
	ID              uint64    `json:"id"`
	When            time.Time `json:"when"`
	TutorialEventID int64     `json:"tutorial_event_id"`
	ImportRunID     int64     `json:"import_run_id,omitempty"`
	// Kind is one of the kind constants; Subject the original subject.
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	// A command's letter: its action, event (the adm.events bridge id), the
	// Administrate event id, the event code and the run that sent it.
	Action           string `json:"action,omitempty"`
	EventID          int64  `json:"event_id,omitempty"`
	AdmEventID       string `json:"adm_event_id,omitempty"`
	EventCode        string `json:"event_code,omitempty"`
	RunID            string `json:"run_id,omitempty"`
	Reason           string `json:"reason"`
	Cause            string `json:"cause"`
	Poison           bool   `json:"poison"`
	EventState       string `json:"event_state,omitempty"`
	Deliveries       uint64 `json:"deliveries"`
	OriginalStream   string `json:"original_stream"`
	OriginalSequence uint64 `json:"original_sequence"`
	OriginalMsgID    string `json:"original_msg_id,omitempty"`
	Payload          string `json:"payload"`
}

func rowOf(dl messaging.DeadLetter) deadLetterRow {
	r := deadLetterRow{ID: dl.Sequence, When: dl.FailedAt, Reason: dl.Reason, Cause: string(dl.Cause), Poison: Poison(dl),
		Deliveries: dl.Deliveries, OriginalStream: dl.OriginalStream, OriginalSequence: dl.OriginalSequence,
		OriginalMsgID: dl.OriginalMsgID, Payload: string(dl.Payload)}
	if r.When.IsZero() {
		r.When = dl.Time
	}
	r.Subject = dl.OriginalSubject
	if isCommand(dl.OriginalSubject) {
		r.Kind = kindEventCommand
		r.Action = strings.TrimPrefix(dl.OriginalSubject, commandPrefix)
		var c messaging.EventCommand
		if json.Unmarshal(dl.Payload, &c) == nil {
			r.EventID, r.AdmEventID, r.EventCode, r.RunID = c.EventID, c.AdmEventID, c.Code, c.RunID
			if c.Action != "" {
				r.Action = c.Action
			}
		}
		return r
	}
	if !strings.HasPrefix(dl.OriginalSubject, tutorialEventPrefix) {
		r.Kind = kindOther
		for _, k := range otherKinds {
			if strings.HasPrefix(dl.OriginalSubject, k.prefix) {
				r.Kind = k.kind
			}
		}
		return r
	}
	r.Kind = kindTutorialEvent
	var p messaging.TutorialEventCreated
	if json.Unmarshal(dl.Payload, &p) == nil {
		r.TutorialEventID, r.ImportRunID = p.TutorialEventID, p.ImportRunID
	}
	return r
}

// commandPrefix is event.command.<action> without the action.
const commandPrefix = messaging.SubjectEventCommandPrefix

// tutorialEventPrefix is tutorial.event.<created|changed> without the verb.
var tutorialEventPrefix = strings.TrimSuffix(messaging.SubjectTutorialEvents, ">")

func isCommand(subject string) bool { return strings.HasPrefix(subject, commandPrefix) }

// command describes a command's letter in a few words ("soldout event 12
// CODE run ops-1"), or "-" for a tutorial event's.
func (r deadLetterRow) command() string {
	if r.Kind != kindEventCommand {
		return "-"
	}
	s := fmt.Sprintf("%s event %d", r.Action, r.EventID)
	if r.EventCode != "" {
		s += " " + r.EventCode
	}
	if r.RunID != "" {
		s += " run " + r.RunID
	}
	return s
}

// Poison reports whether the admwriter gave up on dl because of the message
// itself, so replaying it unchanged can only fail again: the payload did not
// decode, it names a tutorial event that does not exist or was never
// imported, or Administrate refused the request (a validation or business
// error). A missing bridge is not poison: a sync fixes it and a replay then
// succeeds. The reasons are the writer's own error texts.
func Poison(dl messaging.DeadLetter) bool {
	if dl.Poison() {
		return true
	}
	if dl.Cause != messaging.CausePermanent {
		return false
	}
	for _, mark := range []string{
		"decode " + messaging.SubjectTutorialEventCreated + " payload",
		"decode " + messaging.SubjectTutorialEventChanged + " payload",
		bridge.ErrNoEvent.Error(),
		writer.ErrNotImported.Error(),
		" rejected: ",             // administrate.MutationError: a validation or business error
		": GraphQL errors (HTTP ", // administrate.GraphQLError: a document Administrate refuses
	} {
		if strings.Contains(dl.Reason, mark) {
			return true
		}
	}
	return false
}

// openDLQ parses the dead-letter ids in args, first, so that a mistyped id
// is a usage error whatever the environment, then opens the environment and
// the DLQ; the caller closes the environment.
func openDLQ(cmd *cobra.Command, env EnvFunc, args []string) (*service.Env, *messaging.DLQ, []uint64, error) {
	seqs, err := parseIDs(args)
	if err != nil {
		return nil, nil, nil, err
	}
	e, err := env()
	if err != nil {
		return nil, nil, nil, err
	}
	_, js, err := e.NATS(cmd.Context())
	if err != nil {
		e.Close()
		return nil, nil, nil, err
	}
	return e, messaging.NewDLQ(js), seqs, nil
}

// deadLetterRows lists the dead letters that opts selects, as
// rows; with states, each row carries its event's bridge state (list shows
// it, delete --done selects on it).
func deadLetterRows(cmd *cobra.Command, e *service.Env, dlq *messaging.DLQ, opts messaging.ListOptions, states bool) ([]deadLetterRow, error) {
	ctx, cancel := withTimeout(cmd.Context())
	defer cancel()
	var dls []messaging.DeadLetter
	// Every letter of the shared DLQ: the alert on its size must never
	// point at a list that does not show what it counts.
	opts.OriginalSubject = ""
	dls, err := dlq.List(ctx, opts)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil // nothing was ever dead-lettered here
	}
	if err != nil {
		return nil, err
	}
	rows := make([]deadLetterRow, 0, len(dls))
	for _, dl := range dls {
		rows = append(rows, rowOf(dl))
	}
	if !states || len(rows) == 0 {
		return rows, nil
	}
	pool, err := e.DB(cmd.Context())
	if err != nil {
		return nil, err
	}
	if err := eventStates(cmd.Context(), pool, rows); err != nil {
		return nil, err
	}
	return rows, nil
}

// eventStates reads the adm.events state of each row's tutorial event into
// EventState ("" when the event has no bridge yet).
func eventStates(ctx context.Context, pool *pgxpool.Pool, rows []deadLetterRow) error {
	var ids []int64
	for _, r := range rows {
		if r.TutorialEventID > 0 {
			ids = append(ids, r.TutorialEventID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	res, err := pool.Query(ctx, `SELECT tutorial_event_id, state FROM adm.events WHERE tutorial_event_id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("read event states: %w", err)
	}
	states := map[int64]string{}
	for res.Next() {
		var id int64
		var st string
		if err := res.Scan(&id, &st); err != nil {
			return fmt.Errorf("read event states: %w", err)
		}
		states[id] = st
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("read event states: %w", err)
	}
	for i := range rows {
		rows[i].EventState = states[rows[i].TutorialEventID]
	}
	return nil
}

// filterFlags are the dead-letter selectors list and delete share.
type filterFlags struct {
	reason    string
	cause     string
	olderThan time.Duration
}

func (f *filterFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.reason, "reason", "", "only letters whose reason contains this text (case-insensitive)")
	cmd.Flags().StringVar(&f.cause, "cause", "", "only letters of this cause: malformed, permanent, retries exhausted, no answer, panic, other")
	cmd.Flags().DurationVar(&f.olderThan, "older-than", 0, "only letters stored longer ago than this, e.g. 168h")
}

func (f filterFlags) set() bool { return f.reason != "" || f.cause != "" || f.olderThan > 0 }

func (f filterFlags) options(limit int) (messaging.ListOptions, error) {
	o := messaging.ListOptions{ReasonContains: f.reason, Limit: limit}
	if f.cause != "" {
		c := messaging.Cause(f.cause)
		switch c {
		case messaging.CauseMalformed, messaging.CausePermanent, messaging.CauseRetriesExhausted, messaging.CauseNoAnswer, messaging.CausePanic, messaging.CauseOther:
		default:
			return o, service.Usagef("--cause %q: want malformed, permanent, retries exhausted, no answer, panic or other", f.cause)
		}
		o.Cause = c
	}
	if f.olderThan < 0 {
		return o, service.Usagef("--older-than must be positive")
	}
	if f.olderThan > 0 {
		o.OlderThan = time.Now().Add(-f.olderThan)
	}
	return o, nil
}

func dlqListCommand(env EnvFunc) *cobra.Command {
	var (
		asJSON bool
		limit  int
		filter filterFlags
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead-lettered tutorial events and event commands (oldest first)",
		Long: `Prints one line per dead letter: when it failed, its DLQ id (use it with show,
replay and delete), its original subject, the tutorial event and its state now
(a tutorial event's letter) or the command's action, event, code and run (an
event command's letter), the number of deliveries, the cause and the reason.
A letter whose tutorial event is done needs no replay (dlq delete --done); a
poison letter failed for a reason in the message itself and is skipped by
replay unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := filter.options(limit)
			if err != nil {
				return err
			}
			e, dlq, _, err := openDLQ(cmd, env, nil)
			if err != nil {
				return err
			}
			defer e.Close()
			rows, err := deadLetterRows(cmd, e, dlq, opts, true)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return service.WriteJSON(out, rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(out, "no dead letters")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "WHEN\tID\tSUBJECT\tTUTORIAL EVENT\tCOMMAND\tEVENT STATE\tDELIVERIES\tCAUSE\tREASON")
			done, poison := 0, 0
			for _, r := range rows {
				state, cause := r.EventState, r.Cause
				if state == "" {
					state = "-"
				}
				if state == string(bridge.Done) {
					done++
				}
				if r.Poison {
					poison++
					cause = "poison"
				}
				te := "-"
				if r.Kind == kindTutorialEvent {
					te = strconv.FormatInt(r.TutorialEventID, 10)
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.When.Local().Format("2006-01-02 15:04:05"), r.ID,
					r.Subject, te, r.command(), state, r.Deliveries, cause, truncate(r.Reason, 100))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(out, plural(len(rows), "dead letter", "dead letters"))
			if done > 0 {
				fmt.Fprintf(out, "%s done in Administrate since: nothing to replay; `admwriter dlq delete --done` removes them\n",
					plural(done, "event is", "events are"))
			}
			if poison > 0 {
				fmt.Fprintf(out, "%s failed for a reason in the message itself: fix the data first; replay skips them unless --force\n",
					plural(poison, "letter", "letters"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.Flags().IntVar(&limit, "limit", 1000, "list at most this many")
	filter.register(cmd)
	return cmd
}

func dlqShowCommand(env EnvFunc) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one dead letter in full (reason, deliveries, origin, payload, bridge state)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, dlq, seqs, err := openDLQ(cmd, env, args)
			if err != nil {
				return err
			}
			defer e.Close()
			ctx, cancel := withTimeout(cmd.Context())
			defer cancel()
			dl, err := dlq.Get(ctx, seqs[0])
			if err != nil {
				return err
			}
			r := rowOf(dl)
			var state *bridge.Row
			if pool, err := e.DB(ctx); err == nil && r.TutorialEventID > 0 {
				state, _ = bridge.Get(ctx, pool, r.TutorialEventID)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return service.WriteJSON(out, struct {
					deadLetterRow
					Bridge *bridge.Row `json:"bridge,omitempty"`
				}{r, state})
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "id\t%d\n", r.ID)
			fmt.Fprintf(tw, "failed at\t%s\n", r.When.Local().Format(time.RFC3339))
			fmt.Fprintf(tw, "subject\t%s (%s)\n", r.Subject, r.Kind)
			if r.Kind == kindEventCommand {
				fmt.Fprintf(tw, "command\t%s\n", r.Action)
				fmt.Fprintf(tw, "event\t%d (Administrate id %q, code %q)\n", r.EventID, r.AdmEventID, r.EventCode)
				fmt.Fprintf(tw, "run\t%s\n", r.RunID)
			} else if r.Kind == kindTutorialEvent {
				fmt.Fprintf(tw, "tutorial event\t%d\n", r.TutorialEventID)
			}
			if r.ImportRunID != 0 {
				fmt.Fprintf(tw, "import run\t%d\n", r.ImportRunID)
			}
			fmt.Fprintf(tw, "deliveries\t%d\n", r.Deliveries)
			fmt.Fprintf(tw, "original\t%s #%d (msg id %s)\n", r.OriginalStream, r.OriginalSequence, r.OriginalMsgID)
			fmt.Fprintf(tw, "reason\t%s\n", r.Reason)
			cause := r.Cause
			if r.Poison {
				cause += " (poison: failed for a reason in the message itself; replay needs --force)"
			}
			fmt.Fprintf(tw, "cause\t%s\n", cause)
			if state != nil {
				fmt.Fprintf(tw, "bridge\t%s (attempts %d, Administrate id %q)\n", state.State, state.Attempts, state.ExternalID)
			}
			fmt.Fprintf(tw, "payload\t%s\n", r.Payload)
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func dlqReplayCommand(env EnvFunc) *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "replay ID... | --all",
		Short: "Send dead-lettered events and event commands back to the admwriter (after fixing the cause)",
		Long: `Republishes each dead letter to its original subject (tutorial.event.created,
tutorial.event.changed or event.command.<action>) with a fresh message id,
records the replay in admsync.dlq_replays and removes the dead letter. The
admwriter then picks the event up where it stopped: an event already created
in Administrate is not created again, and only its missing sessions are sent.
A replayed event command is applied again; every command is safe to send
twice (it sets a value, a price already there is not added again, delete
reads the event first). Its result goes to event.result.<run id> of the
original run, which nobody may be waiting for: dlq list shows whether it
failed again. Running the same admwriter events command again instead (then
dlq delete the letter) works as well.

A letter whose event is already done in Administrate is not replayed but
resolved: it is removed. A poison letter (failed for a reason in the message
itself: malformed, never imported, refused by Administrate) is skipped and
kept unless --force: replaying it unchanged would fail again.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return service.Usagef("give dead-letter ids or --all (not both)")
			}
			e, dlq, seqs, err := openDLQ(cmd, env, args)
			if err != nil {
				return err
			}
			defer e.Close()
			ctx := cmd.Context()
			pool, err := e.DB(ctx)
			if err != nil {
				return err
			}
			if all {
				rows, err := deadLetterRows(cmd, e, dlq, messaging.ListOptions{Limit: 100000}, false)
				if err != nil {
					return err
				}
				for _, r := range rows {
					seqs = append(seqs, r.ID)
				}
			}
			out := cmd.OutOrStdout()
			replayed, resolved, skipped := 0, 0, 0
			var errs []error
			for _, seq := range seqs {
				msg, err := Replay(ctx, pool, dlq, seq, force)
				switch {
				case errors.Is(err, errAlreadyDone):
					resolved++
					fmt.Fprintf(out, "dead letter %d: %v\n", seq, err)
				case errors.Is(err, errPoison):
					skipped++
					fmt.Fprintf(out, "dead letter %d: %v\n", seq, err)
					if !all {
						errs = append(errs, fmt.Errorf("dead letter %d: %w", seq, err))
					}
				case err != nil:
					errs = append(errs, fmt.Errorf("dead letter %d: %w", seq, err))
					fmt.Fprintf(out, "dead letter %d: %v\n", seq, err)
				default:
					replayed++
					fmt.Fprintln(out, msg)
				}
			}
			fmt.Fprintf(out, "replayed %s", plural(replayed, "dead letter", "dead letters"))
			if resolved > 0 {
				fmt.Fprintf(out, ", removed %d whose event is already done", resolved)
			}
			if skipped > 0 {
				fmt.Fprintf(out, ", skipped %d poison (fix the data, then replay them with --force, or dlq delete them)", skipped)
			}
			fmt.Fprintln(out)
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "replay every dead letter (poison ones only with --force)")
	cmd.Flags().BoolVar(&force, "force", false, "replay poison letters too (after fixing the data they name)")
	return cmd
}

var (
	errAlreadyDone = errors.New("already written to Administrate")
	errPoison      = errors.New("poison: it failed for a reason in the message itself, and replaying it unchanged would fail again")
)

// Replay sends the dead letter at seq back to its original subject with a
// fresh message id, records it and removes the dead letter. A letter whose
// event is done is removed instead and errAlreadyDone returned; a poison
// letter is kept and errPoison returned, unless force.
func Replay(ctx context.Context, pool *pgxpool.Pool, dlq *messaging.DLQ, seq uint64, force bool) (string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	dl, err := dlq.Get(ctx, seq)
	if err != nil {
		return "", err
	}
	r := rowOf(dl)
	if r.TutorialEventID > 0 {
		b, err := bridge.Get(ctx, pool, r.TutorialEventID)
		if err != nil {
			return "", err
		}
		if b != nil && b.State == bridge.Done {
			if err := dlq.Delete(ctx, seq); err != nil && !errors.Is(err, messaging.ErrDeadLetterNotFound) {
				return "", err
			}
			return "", fmt.Errorf("tutorial event %d is %w (event %s); dead letter removed", r.TutorialEventID, errAlreadyDone, b.ExternalID)
		}
	}
	if r.Poison && !force {
		if r.Kind == kindEventCommand {
			return "", fmt.Errorf("event command %s is %w (%s); fix the cause, then replay with --force, or run the same admwriter events %s command again and dlq delete it",
				r.command(), errPoison, truncate(r.Reason, 200), r.Action)
		}
		if r.Kind != kindTutorialEvent {
			return "", fmt.Errorf("%s %s is %w (%s); fix the cause, then replay with --force, or delete it",
				r.Kind, r.Subject, errPoison, truncate(r.Reason, 200))
		}
		return "", fmt.Errorf("tutorial event %d is %w (%s); fix the data, then replay with --force, or delete it",
			r.TutorialEventID, errPoison, truncate(r.Reason, 200))
	}
	var prior int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM admsync.dlq_replays WHERE dlq_sequence = $1`, int64(seq)).Scan(&prior); err != nil {
		return "", fmt.Errorf("read replay history: %w", err)
	}
	rep, err := dlq.Replay(ctx, seq, prior+1)
	if err != nil && !errors.Is(err, messaging.ErrReplayDuplicate) {
		return "", err
	}
	var te *int64
	if r.TutorialEventID > 0 {
		te = &r.TutorialEventID
	}
	if _, err := pool.Exec(ctx, `INSERT INTO admsync.dlq_replays (dlq_sequence, tutorial_event_id, new_msg_id) VALUES ($1, $2, $3)`,
		int64(seq), te, rep.MsgID); err != nil {
		return "", fmt.Errorf("record replay: %w", err)
	}
	// The replayed message is in the work stream now; a new failure makes a new dead letter.
	if err := dlq.Delete(ctx, seq); err != nil && !errors.Is(err, messaging.ErrDeadLetterNotFound) {
		return "", err
	}
	if r.Kind == kindEventCommand {
		return fmt.Sprintf("dead letter %d: event command %s replayed as %s", seq, r.command(), rep.MsgID), nil
	}
	if r.Kind != kindTutorialEvent {
		return fmt.Sprintf("dead letter %d: %s %s replayed as %s", seq, r.Kind, r.Subject, rep.MsgID), nil
	}
	return fmt.Sprintf("dead letter %d: tutorial event %d replayed as %s", seq, r.TutorialEventID, rep.MsgID), nil
}

func dlqDeleteCommand(env EnvFunc) *cobra.Command {
	var (
		all, done bool
		filter    filterFlags
	)
	cmd := &cobra.Command{
		Use:   "delete ID... | --all | --done | --reason TEXT | --cause CAUSE | --older-than AGE",
		Short: "Remove dead letters that need no replay",
		Long: `Removes the dead letters given by id, or every dead letter (--all), or
those selected by filters, which combine:
--done (the tutorial event is done in Administrate, e.g. after admwriter
retry; it never selects an event command's letter, since whether its event
reached the wanted state is not recorded locally: run the same admwriter
events command again, then delete the letter by id or --reason), --reason
(text in the reason), --cause and --older-than. A removed letter cannot be
replayed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			selectors := 0
			for _, on := range []bool{len(args) > 0, all, done || filter.set()} {
				if on {
					selectors++
				}
			}
			if selectors != 1 {
				return service.Usagef("give dead-letter ids, --all, or filters (--done, --reason, --cause, --older-than); not a mix")
			}
			opts, err := filter.options(0)
			if err != nil {
				return err
			}
			e, dlq, seqs, err := openDLQ(cmd, env, args)
			if err != nil {
				return err
			}
			defer e.Close()
			ctx := cmd.Context()
			if len(args) == 0 {
				opts.Limit = math.MaxInt
				rows, err := deadLetterRows(cmd, e, dlq, opts, done)
				if err != nil {
					return err
				}
				for _, r := range rows {
					if !done || r.EventState == string(bridge.Done) {
						seqs = append(seqs, r.ID)
					}
				}
			}
			sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
			var errs []error
			deleted := 0
			for _, seq := range seqs {
				if err := dlq.Delete(ctx, seq); err != nil {
					errs = append(errs, err)
					continue
				}
				deleted++
				fmt.Fprintf(cmd.OutOrStdout(), "deleted dead letter %d\n", seq)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", plural(deleted, "dead letter", "dead letters"))
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "delete every dead letter")
	cmd.Flags().BoolVar(&done, "done", false, "delete the letters whose tutorial event is done in Administrate (never an event command's)")
	filter.register(cmd)
	return cmd
}

// parseIDs parses dead-letter ids given as arguments.
func parseIDs(args []string) ([]uint64, error) {
	seqs := make([]uint64, 0, len(args))
	for _, a := range args {
		seq, err := parseID(a)
		if err != nil {
			return nil, err
		}
		seqs = append(seqs, seq)
	}
	return seqs, nil
}

func parseID(s string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || n == 0 {
		return 0, service.Usagef("%q is not a dead-letter id (a positive number from dlq list)", s)
	}
	return n, nil
}

func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
