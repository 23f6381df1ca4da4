package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"admsync/pkg/database"
	"admsync/pkg/messaging"
	"admsync/pkg/outbox"
	"admsync/pkg/service"
)

func retryCommand(env EnvFunc) *cobra.Command {
	var (
		importID int64
		all      bool
		noFlush  bool
	)
	cmd := &cobra.Command{
		Use:   "retry --import ID | --all",
		Short: "Send every tutorial event whose bridge is not done back to the admwriter",
		Long: `Queues one tutorial.event.created message for every imported tutorial event
whose adm.events bridge is missing or not done (pending, creating, created or
failed): of one import run with --import ID, or of every import with --all.
After an Administrate outage or a fixed cause this one command completes the
rest; events already done are never sent again, and events in progress are
picked up where they stopped (nothing is created twice).

The messages go through the transactional outbox (all or none are queued) and
are published before the command returns, unless a running relay holds the
outbox (then it publishes them) or --no-flush is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all == (importID != 0) {
				return service.Usagef("give --import ID or --all")
			}
			ctx := cmd.Context()
			e, pool, err := service.OpenDB(ctx, env)
			if err != nil {
				return err
			}
			defer e.Close()
			ids, err := Retry(ctx, pool, importID)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "queued %s for retry\n", plural(len(ids), "tutorial event", "tutorial events"))
			if len(ids) == 0 || noFlush {
				return nil
			}
			_, js, err := e.NATS(ctx)
			if err != nil {
				return fmt.Errorf("messages are queued in the outbox, but: %w", err)
			}
			n, err := Flush(ctx, pool, js, e)
			if errors.Is(err, outbox.ErrRelayActive) {
				fmt.Fprintln(out, "a running outbox relay will publish them")
				return nil
			}
			if err != nil {
				return fmt.Errorf("messages are queued in the outbox; publishing them failed: %w", err)
			}
			fmt.Fprintf(out, "published %s\n", plural(n, "message", "messages"))
			return nil
		},
	}
	cmd.Flags().Int64Var(&importID, "import", 0, "only events of this import run")
	cmd.Flags().BoolVar(&all, "all", false, "events of every import run")
	cmd.Flags().BoolVar(&noFlush, "no-flush", false, "only queue; let the running relay publish")
	return cmd
}

// Retry queues a tutorial.event.created message for every imported event
// whose bridge is not done (of importRunID, or all when 0), in one
// transaction, and returns their tutorial event ids.
func Retry(ctx context.Context, pool *pgxpool.Pool, importRunID int64) ([]int64, error) {
	var ids []int64
	err := database.InTx(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
SELECT ie.tutorial_event_id, ie.import_run_id
FROM admsync.import_events ie
LEFT JOIN adm.events e ON e.tutorial_event_id = ie.tutorial_event_id
WHERE (e.state IS NULL OR e.state <> 'done') AND ($1 = 0 OR ie.import_run_id = $1)
ORDER BY ie.import_run_id, ie.excel_row`, importRunID)
		if err != nil {
			return fmt.Errorf("find unfinished events: %w", err)
		}
		payloads, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (messaging.TutorialEventCreated, error) {
			var p messaging.TutorialEventCreated
			return p, r.Scan(&p.TutorialEventID, &p.ImportRunID)
		})
		if err != nil {
			return fmt.Errorf("find unfinished events: %w", err)
		}
		for _, p := range payloads {
			// A fresh id: the original message id may still be inside the
			// stream's duplicate window, which would drop the retry.
			if err := outbox.Enqueue(ctx, tx, messaging.SubjectTutorialEventCreated, uuid.New(), p,
				outbox.WithHeader("Admsync-Retry", "admwriter")); err != nil {
				return err
			}
			ids = append(ids, p.TutorialEventID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// Flush publishes what the outbox holds now.
func Flush(ctx context.Context, pool *pgxpool.Pool, js jetstream.JetStream, e *service.Env) (int, error) {
	if err := messaging.DefaultTopology().Only(messaging.StreamTutorialEvents).Ensure(ctx, js); err != nil {
		return 0, err
	}
	r, err := outbox.NewRelay(pool, js, outbox.RelayOptions{Logger: e.Logger})
	if err != nil {
		return 0, err
	}
	return r.Flush(ctx)
}

func statusCommand(env EnvFunc) *cobra.Command {
	var (
		asJSON   bool
		importID int64
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Count imported tutorial events by write state",
		Long: `Counts imported tutorial events by the state of their adm.events bridge:
not started (no bridge yet), pending, creating, created (sessions
outstanding), done and failed (dead-lettered).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			e, pool, err := service.OpenDB(ctx, env)
			if err != nil {
				return err
			}
			defer e.Close()
			counts, err := Status(ctx, pool, importID)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return service.WriteJSON(out, counts)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STATE\tEVENTS")
			total := 0
			for _, s := range StateOrder {
				fmt.Fprintf(tw, "%s\t%d\n", s, counts[s])
				total += counts[s]
			}
			fmt.Fprintf(tw, "total\t%d\n", total)
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().Int64Var(&importID, "import", 0, "only events of this import run")
	return cmd
}

// StateOrder is the order status prints states in.
var StateOrder = []string{"not started", "pending", "creating", "created", "done", "failed"}

// Status counts imported events by bridge state (of importRunID, or all when 0).
func Status(ctx context.Context, pool *pgxpool.Pool, importRunID int64) (map[string]int, error) {
	rows, err := pool.Query(ctx, `
SELECT coalesce(e.state, 'not started'), count(*)
FROM admsync.import_events ie
LEFT JOIN adm.events e ON e.tutorial_event_id = ie.tutorial_event_id
WHERE $1 = 0 OR ie.import_run_id = $1
GROUP BY 1`, importRunID)
	if err != nil {
		return nil, fmt.Errorf("count events by state: %w", err)
	}
	counts := map[string]int{}
	for _, s := range StateOrder {
		counts[s] = 0
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count events by state: %w", err)
		}
		counts[s] = n
	}
	return counts, rows.Err()
}
