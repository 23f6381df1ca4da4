package database_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"admsync/pkg/database/dbtest"
)

// TestServiceRolesAreLeastPrivilege shows each service role allowed its own
// writes and refused everything outside them.
func TestServiceRolesAreLeastPrivilege(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	db.Exec(t, `INSERT INTO acted.products (id, product_code, subject_code, sitting, variation_code) VALUES (1, 'P1', 'CB1', '2026A', 'LO_6')`)
	db.Exec(t, `INSERT INTO acted.tutorial_events (id, code, start_date, end_date, product_id) VALUES (1, 'E1', '2026-01-01', '2026-01-02', 1)`)
	db.Exec(t, `INSERT INTO adm.locations (id, external_id) VALUES (1, 'TG9jYXRpb246MQ==')`)
	cases := []struct {
		role, sql string
		allowed   bool
	}{
		{"admsync_syncer", `UPDATE adm.locations SET name = 'London' WHERE id = 1`, true},
		// The events stage links adopted events and follows Administrate's
		// changes in the columns it owns; it never deletes a bridge or a tutorial event.
		{"admsync_syncer", `DELETE FROM adm.events`, false},
		{"admsync_syncer", `DELETE FROM acted.tutorial_events`, false},
		{"admsync_syncer", `UPDATE acted.tutorial_events SET is_soldout = true, remain_space = 0`, true},
		{"admsync_syncer", `UPDATE acted.tutorial_sessions SET start_date = now()`, false},
		{"admsync_syncer", `UPDATE acted.tutorial_events SET code = 'x'`, false},
		{"admsync_syncer", `DELETE FROM adm.locations`, false},
		{"admsync_importer", `INSERT INTO acted.tutorial_sessions (tutorial_event_id, title, start_date, end_date, sequence) VALUES (1, 's', now(), now(), 1)`, true},
		{"admsync_importer", `UPDATE adm.locations SET name = 'x'`, false},
		{"admsync_importer", `UPDATE adm.events SET state = 'done'`, false},
		{"admsync_importer", `DELETE FROM acted.tutorial_events`, false},
		{"admsync_admwriter", `INSERT INTO adm.events (tutorial_event_id) VALUES (1)`, true},
		{"admsync_admwriter", `UPDATE acted.tutorial_events SET code = 'x'`, false},
		{"admsync_admwriter", `DELETE FROM acted.tutorial_events`, false},
		{"admsync_admwriter", `UPDATE adm.locations SET name = 'x'`, false},
		{"admsync_admwriter", `CREATE TABLE adm.x (id int)`, false},
		{"admsync_importer", `CREATE TABLE admsync.x (id int)`, false},
		// auth_user: ids and names, never the rest (Django keeps password
		// hashes there); only the syncer reads usernames.
		{"admsync_importer", `SELECT id, first_name, last_name FROM public.auth_user`, true},
		{"admsync_admwriter", `SELECT id, first_name, last_name FROM public.auth_user`, true},
		{"admsync_syncer", `SELECT id, first_name, last_name, username FROM public.auth_user`, true},
		{"admsync_importer", `SELECT username FROM public.auth_user`, false},
		{"admsync_admwriter", `SELECT * FROM public.auth_user`, false},
		{"admsync_syncer", `SELECT email FROM public.auth_user`, false},
		// Identity columns need no sequence privilege.
		{"admsync_syncer", `INSERT INTO admsync.sync_runs (stage) VALUES ('locations') RETURNING id`, true},
	}
	// No role may draw from (or set) any sequence.
	rows, err := db.Pool.Query(ctx, `SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname IN ('public', 'acted', 'adm', 'admsync')`)
	if err != nil {
		t.Fatal(err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(seqs) < 10 {
		t.Fatalf("sequences: %d, %v", len(seqs), err)
	}
	for _, role := range []string{"admsync_syncer", "admsync_importer", "admsync_admwriter"} {
		for _, seq := range seqs {
			cases = append(cases, struct {
				role, sql string
				allowed   bool
			}{role, "SELECT nextval('" + seq + "')", false}, struct {
				role, sql string
				allowed   bool
			}{role, "SELECT setval('" + seq + "', 1000)", false})
		}
	}
	for _, c := range cases {
		t.Run(c.role+": "+c.sql, func(t *testing.T) {
			tx, err := db.Pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx) //nolint:errcheck
			if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+c.role); err != nil {
				t.Fatal(err)
			}
			_, err = tx.Exec(ctx, c.sql)
			switch {
			case c.allowed && err != nil:
				t.Fatalf("should be allowed: %v", err)
			case !c.allowed && (err == nil || !strings.Contains(err.Error(), "permission denied")):
				t.Fatalf("should be refused with permission denied, got %v", err)
			}
		})
	}
}
