package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
		Short: "List, inspect, replay or delete dead-lettered tutorial events",
		Long: `Dead letters are tutorial.event.created messages the admwriter gave up on:
Administrate rejected the event, a bridge was missing, or transient failures
outlasted every delivery. Each is kept in the DLQ stream (subject
dlq.tutorial.event.created) with the reason, the delivery count and the
original stream sequence. Fix the cause, then replay.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return service.Usagef("dlq needs a subcommand: list, show, replay or delete")
		},
	}
	cmd.AddCommand(dlqListCommand(env), dlqShowCommand(env), dlqReplayCommand(env), dlqDeleteCommand(env))
	return cmd
}

// deadLetterRow is one dead letter as list and show print it.
type deadLetterRow struct {
	ID               uint64    `json:"id"`
	When             time.Time `json:"when"`
	TutorialEventID  int64     `json:"tutorial_event_id"`
	ImportRunID      int64     `json:"import_run_id,omitempty"`
	Reason           string    `json:"reason"`
	Deliveries       uint64    `json:"deliveries"`
	OriginalStream   string    `json:"original_stream"`
	OriginalSequence uint64    `json:"original_sequence"`
	OriginalMsgID    string    `json:"original_msg_id,omitempty"`
	Payload          string    `json:"payload"`
}

func rowOf(dl messaging.DeadLetter) deadLetterRow {
	r := deadLetterRow{ID: dl.Sequence, When: dl.FailedAt, Reason: dl.Reason, Deliveries: dl.Deliveries,
		OriginalStream: dl.OriginalStream, OriginalSequence: dl.OriginalSequence, OriginalMsgID: dl.OriginalMsgID,
		Payload: string(dl.Payload)}
	if r.When.IsZero() {
		r.When = dl.Time
	}
	var p writer.Payload
	if json.Unmarshal(dl.Payload, &p) == nil {
		r.TutorialEventID, r.ImportRunID = p.TutorialEventID, p.ImportRunID
	}
	return r
}

func openDLQ(cmd *cobra.Command, env EnvFunc) (*service.Env, *messaging.DLQ, jetstream.JetStream, error) {
	e, err := env()
	if err != nil {
		return nil, nil, nil, err
	}
	_, js, err := e.NATS(cmd.Context())
	if err != nil {
		e.Close()
		return nil, nil, nil, err
	}
	return e, messaging.NewDLQ(js), js, nil
}

func listDeadLetters(cmd *cobra.Command, dlq *messaging.DLQ, limit int) ([]messaging.DeadLetter, error) {
	ctx, cancel := withTimeout(cmd.Context())
	defer cancel()
	dls, err := dlq.List(ctx, messaging.ListOptions{OriginalSubject: messaging.SubjectTutorialEventCreated, Limit: limit})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil // nothing was ever dead-lettered here
	}
	return dls, err
}

func dlqListCommand(env EnvFunc) *cobra.Command {
	var (
		asJSON bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead-lettered tutorial events (oldest first)",
		Long: `Prints one line per dead letter: when it failed, its DLQ id (use it with show,
replay and delete), the tutorial event, the number of deliveries and the reason.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, dlq, _, err := openDLQ(cmd, env)
			if err != nil {
				return err
			}
			defer e.Close()
			dls, err := listDeadLetters(cmd, dlq, limit)
			if err != nil {
				return err
			}
			rows := make([]deadLetterRow, 0, len(dls))
			for _, dl := range dls {
				rows = append(rows, rowOf(dl))
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(out, "no dead letters")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "WHEN\tID\tTUTORIAL EVENT\tDELIVERIES\tREASON")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", r.When.Local().Format("2006-01-02 15:04:05"), r.ID,
					r.TutorialEventID, r.Deliveries, truncate(r.Reason, 100))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(out, plural(len(rows), "dead letter", "dead letters"))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.Flags().IntVar(&limit, "limit", 1000, "list at most this many")
	return cmd
}

func dlqShowCommand(env EnvFunc) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one dead letter in full (reason, deliveries, origin, payload, bridge state)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := parseID(args[0])
			if err != nil {
				return err
			}
			e, dlq, _, err := openDLQ(cmd, env)
			if err != nil {
				return err
			}
			defer e.Close()
			ctx, cancel := withTimeout(cmd.Context())
			defer cancel()
			dl, err := dlq.Get(ctx, seq)
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
				return writeJSON(out, struct {
					deadLetterRow
					Bridge *bridge.Row `json:"bridge,omitempty"`
				}{r, state})
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "id\t%d\n", r.ID)
			fmt.Fprintf(tw, "failed at\t%s\n", r.When.Local().Format(time.RFC3339))
			fmt.Fprintf(tw, "tutorial event\t%d\n", r.TutorialEventID)
			if r.ImportRunID != 0 {
				fmt.Fprintf(tw, "import run\t%d\n", r.ImportRunID)
			}
			fmt.Fprintf(tw, "deliveries\t%d\n", r.Deliveries)
			fmt.Fprintf(tw, "original\t%s #%d (msg id %s)\n", r.OriginalStream, r.OriginalSequence, r.OriginalMsgID)
			fmt.Fprintf(tw, "reason\t%s\n", r.Reason)
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
	var all bool
	cmd := &cobra.Command{
		Use:   "replay ID... | --all",
		Short: "Send dead-lettered events back to the admwriter (after fixing the cause)",
		Long: `Republishes each dead letter to tutorial.event.created with a fresh message id,
records the replay in admsync.dlq_replays and removes the dead letter. The
admwriter then picks the event up where it stopped: an event already created
in Administrate is not created again, and only its missing sessions are sent.

An event whose bridge is already done is refused (with --all it is skipped
and left in the queue; remove it with dlq delete).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return service.Usagef("give dead-letter ids or --all (not both)")
			}
			var seqs []uint64
			for _, a := range args {
				seq, err := parseID(a)
				if err != nil {
					return err
				}
				seqs = append(seqs, seq)
			}
			e, dlq, _, err := openDLQ(cmd, env)
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
				dls, err := listDeadLetters(cmd, dlq, 100000)
				if err != nil {
					return err
				}
				for _, dl := range dls {
					seqs = append(seqs, dl.Sequence)
				}
			}
			out := cmd.OutOrStdout()
			replayed, refused := 0, 0
			var errs []error
			for _, seq := range seqs {
				msg, err := Replay(ctx, pool, dlq, seq)
				switch {
				case errors.Is(err, errAlreadyDone):
					refused++
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
			if refused > 0 {
				fmt.Fprintf(out, ", refused %d already done", refused)
			}
			fmt.Fprintln(out)
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "replay every dead-lettered tutorial event")
	return cmd
}

var errAlreadyDone = errors.New("already written to Administrate")

// Replay sends the dead letter at seq back to tutorial.event.created with a
// fresh message id, records it and removes the dead letter; an event whose
// bridge is done is refused with errAlreadyDone.
func Replay(ctx context.Context, pool *pgxpool.Pool, dlq *messaging.DLQ, seq uint64) (string, error) {
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
			return "", fmt.Errorf("tutorial event %d is %w (event %s); nothing to replay", r.TutorialEventID, errAlreadyDone, b.ExternalID)
		}
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
	return fmt.Sprintf("dead letter %d: tutorial event %d replayed as %s", seq, r.TutorialEventID, rep.MsgID), nil
}

func dlqDeleteCommand(env EnvFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID...",
		Short: "Remove dead letters that need no replay",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var seqs []uint64
			for _, a := range args {
				seq, err := parseID(a)
				if err != nil {
					return err
				}
				seqs = append(seqs, seq)
			}
			e, dlq, _, err := openDLQ(cmd, env)
			if err != nil {
				return err
			}
			defer e.Close()
			sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
			var errs []error
			for _, seq := range seqs {
				if err := dlq.Delete(cmd.Context(), seq); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted dead letter %d\n", seq)
			}
			return errors.Join(errs...)
		},
	}
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

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
