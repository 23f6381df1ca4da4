package database_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"admsync/pkg/database"
	"admsync/pkg/database/dbtest"
)

func TestMigrateTwiceIsNoop(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	res, err := database.Migrate(ctx, db.Pool, database.MigrateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 0 {
		t.Fatalf("second migrate applied %v, want nothing", res.Applied)
	}
	if res.Version < 3 {
		t.Fatalf("version %d", res.Version)
	}
	// Every schema and a few key tables exist.
	for _, table := range []string{"acted.tutorial_events", "adm.events", "adm.custom_fields", "admsync.outbox", "admsync.import_events"} {
		var ok bool
		if err := db.Pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil || !ok {
			t.Fatalf("table %s missing (%v)", table, err)
		}
	}
}

func TestExistingDatabaseWithMissingColumnsIsRefused(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	// Simulate a Django database: a products table without the columns admsync needs.
	db.Exec(t, `ALTER TABLE acted.products DROP COLUMN subject_code, DROP COLUMN variation_code`)
	_, err := database.Migrate(ctx, db.Pool, database.MigrateOptions{Existing: true})
	if !errors.Is(err, database.ErrActedSchema) {
		t.Fatalf("want ErrActedSchema, got %v", err)
	}
	if !strings.Contains(err.Error(), "acted.products: missing column(s) subject_code, variation_code") {
		t.Fatalf("error does not list the columns: %v", err)
	}
}

func TestExistingModeRequiresEveryTable(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	db.Exec(t, `DROP TABLE acted.tutorial_session_instructors`)
	err := database.VerifyActed(ctx, db.Pool, true)
	if err == nil || !strings.Contains(err.Error(), "acted.tutorial_session_instructors: table missing") {
		t.Fatalf("got %v", err)
	}
	if err := database.VerifyActed(ctx, db.Pool, false); err != nil {
		t.Fatalf("standalone mode should accept a missing table (migrations create it): %v", err)
	}
}

func TestBridgesNeverCascadeIntoEvents(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	// Deleting a reference bridge must not touch event bridges.
	var rules []string
	rows, err := db.Pool.Query(ctx, `
		SELECT tc.table_name || ':' || rc.delete_rule
		FROM information_schema.referential_constraints rc
		JOIN information_schema.table_constraints tc ON tc.constraint_name = rc.constraint_name AND tc.constraint_schema = rc.constraint_schema
		WHERE tc.table_schema = 'adm' AND tc.table_name IN ('events', 'sessions')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r string
		_ = rows.Scan(&r)
		rules = append(rules, r)
	}
	for _, r := range rules {
		if strings.HasPrefix(r, "events:") && strings.HasSuffix(r, "CASCADE") {
			t.Errorf("adm.events has a cascading foreign key: %s", r)
		}
	}
}
