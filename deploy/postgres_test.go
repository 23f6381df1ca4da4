package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"admsync/pkg/database"
)

const (
	rolesSQL      = "k8s/base/postgres/sql/roles.sql"
	grantsSQL     = "k8s/base/postgres/sql/grants.sql"
	migrationsDir = "../pkg/database/migrations"
)

var (
	tableRef    = regexp.MustCompile(`\b(acted|adm|admsync|public)\.([a-z_][a-z0-9_]*)\b`)
	createTable = regexp.MustCompile(`(?i)CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_]+)\.([a-z_][a-z0-9_]*)`)
)

// Every table grants.sql names exists in the migrations, so a renamed or
// dropped table fails here rather than in the migration Job.
func TestGrantsNameExistingTables(t *testing.T) {
	t.Parallel()
	tables := map[string]bool{}
	files, err := filepath.Glob(filepath.Join(migrationsDir, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations in %s (%v)", migrationsDir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range createTable.FindAllStringSubmatch(string(b), -1) {
			tables[m[1]+"."+m[2]] = true
		}
	}
	b, err := os.ReadFile(grantsSQL)
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		for _, m := range tableRef.FindAllStringSubmatch(line, -1) {
			named++
			if !tables[m[1]+"."+m[2]] {
				t.Errorf("grants.sql names %s.%s, which no migration creates", m[1], m[2])
			}
		}
	}
	if named < 10 {
		t.Fatalf("only %d tables named in grants.sql; parsing broken?", named)
	}
}

// TestPostgresRolesAndGrants runs roles.sql and grants.sql with psql against
// a real PostgreSQL (TEST_DATABASE_URL, as `make test` sets it), the
// migrations as the migrator role, and checks what each service role may
// and may not do. Role names get a random prefix so parallel runs on one
// server do not collide; everything is dropped afterwards.
func TestPostgresRolesAndGrants(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql not installed")
	}
	serverURL := os.Getenv("TEST_DATABASE_URL")
	if serverURL == "" {
		serverURL = os.Getenv("DATABASE_URL")
	}
	explicit := serverURL != ""
	if !explicit {
		serverURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		if explicit {
			t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
		}
		t.Skipf("no PostgreSQL at the default URL (set TEST_DATABASE_URL): %v", err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) }) // after the drops below
	var super bool
	if err := admin.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil || !super {
		t.Skipf("the test server's user is not a superuser (%v)", err)
	}

	suffix := randomHex(t, 4)
	prefix := "admsync_t" + suffix
	roles := map[string]string{} // admsync_<name> -> test role name
	for _, r := range []string{"migrator", "syncer", "importer", "admwriter"} {
		roles["admsync_"+r] = prefix + "_" + r
	}
	dbName := "admsync_deploytest_" + suffix
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(c, "DROP DATABASE IF EXISTS "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", dbName, err)
		}
		for _, r := range roles {
			if _, err := admin.Exec(c, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize()); err != nil {
				t.Logf("drop role %s: %v", r, err)
			}
		}
	})

	dir := t.TempDir()
	sqlFile := func(src string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for from, to := range roles {
			s = regexp.MustCompile(`\b`+from+`\b`).ReplaceAllString(s, to)
		}
		out := filepath.Join(dir, filepath.Base(src))
		if err := os.WriteFile(out, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return out
	}
	roleURL := func(role, password string) string {
		u, err := url.Parse(serverURL)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + dbName
		if role != "" {
			u.User = url.UserPassword(role, password)
		}
		return u.String()
	}
	password := func(r string) string { return "pw-" + r + "-" + suffix }
	runPSQL := func(dbURL, file string, vars ...string) {
		t.Helper()
		args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dbURL, "-f", file}
		for _, v := range vars {
			args = append(args, "-v", v)
		}
		cmd := exec.CommandContext(ctx, psql, args...)
		cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("psql -f %s: %v\n%s", filepath.Base(file), err, out)
		}
	}

	// roles.sql as the superuser, twice (idempotent), as initdb-roles.sh runs it.
	roles1 := sqlFile(rolesSQL)
	for range 2 {
		runPSQL(roleURL("", ""), roles1,
			"dbname="+dbName,
			"migrator_password="+password("migrator"),
			"syncer_password="+password("syncer"),
			"importer_password="+password("importer"),
			"admwriter_password="+password("admwriter"))
	}

	// The migrations as the migrator: it owns the database and what it creates.
	migrator := roles["admsync_migrator"]
	pool, err := database.Open(ctx, roleURL(migrator, password("migrator")))
	if err != nil {
		t.Fatalf("connect as the migrator: %v", err)
	}
	if _, err := database.Migrate(ctx, pool, database.MigrateOptions{}); err != nil {
		pool.Close()
		t.Fatalf("migrate as %s: %v", migrator, err)
	}
	pool.Close()

	// Django's auth_user has more than the standalone one: its password
	// hashes above all. Add them before the grants, as on a Django database.
	func() {
		c, err := pgx.Connect(ctx, roleURL("", ""))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `ALTER TABLE public.auth_user ADD COLUMN password varchar(128) NOT NULL DEFAULT 'pbkdf2_sha256$x', ADD COLUMN is_superuser boolean NOT NULL DEFAULT false, ADD COLUMN last_login timestamptz`); err != nil {
			t.Fatal(err)
		}
	}()

	// grants.sql as the migrator, twice (the Job runs it after every migration).
	grants := sqlFile(grantsSQL)
	for range 2 {
		runPSQL(roleURL(migrator, password("migrator")), grants)
	}

	db, err := pgx.Connect(ctx, roleURL("", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	check := func(query string, want bool, args ...any) {
		t.Helper()
		var got bool
		if err := db.QueryRow(ctx, query, args...).Scan(&got); err != nil {
			t.Fatalf("%s %v: %v", query, args, err)
		}
		if got != want {
			fn, _, _ := strings.Cut(strings.TrimPrefix(query, "SELECT "), "(")
			t.Errorf("%s%v = %v, want %v", fn, args, got, want)
		}
	}
	table := func(role, tbl, priv string, want bool) {
		t.Helper()
		check(`SELECT has_table_privilege($1, $2, $3)`, want, roles[role], tbl, priv)
	}
	column := func(role, tbl, col, priv string, want bool) {
		t.Helper()
		check(`SELECT has_column_privilege($1, $2, $3, $4)`, want, roles[role], tbl, col, priv)
	}

	// Nobody but the migrator owns or creates anything.
	for _, svc := range []string{"admsync_syncer", "admsync_importer", "admsync_admwriter"} {
		for _, schema := range []string{"public", "acted", "adm", "admsync"} {
			check(`SELECT has_schema_privilege($1, $2, 'CREATE')`, false, roles[svc], schema)
		}
		check(`SELECT has_database_privilege($1, $2, 'CREATE')`, false, roles[svc], dbName)
		check(`SELECT has_database_privilege($1, $2, 'CONNECT')`, true, roles[svc], dbName)
		check(`SELECT NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1)`, true, roles[svc])
		// Everyone reads the reference data.
		table(svc, "acted.tutorial_events", "SELECT", true)
		table(svc, "adm.course_templates", "SELECT", true)
		table(svc, "public.auth_user", "SELECT", false)
		table(svc, "public.auth_user", "INSERT", false)
		for _, col := range []string{"id", "first_name", "last_name"} {
			column(svc, "public.auth_user", col, "SELECT", true)
		}
		// Django's password hashes and everything else in auth_user.
		cols := queryStrings(ctx, t, db, `SELECT attname FROM pg_attribute WHERE attrelid = 'public.auth_user'::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('id', 'first_name', 'last_name', 'username')`)
		for _, col := range cols {
			column(svc, "public.auth_user", col, "SELECT", false)
		}
		column(svc, "public.auth_user", "username", "SELECT", svc == "admsync_syncer")
		// Only their own database; no temporary tables anywhere.
		for _, other := range []string{"postgres", "template1"} {
			check(`SELECT has_database_privilege($1, $2, 'CONNECT')`, false, roles[svc], other)
		}
		check(`SELECT has_database_privilege($1, $2, 'TEMPORARY')`, false, roles[svc], dbName)
		// No sequence of any kind: identity columns need none.
		seqNames := queryStrings(ctx, t, db, sequencesQuery)
		if len(seqNames) < 10 {
			t.Fatalf("only %d sequences found; query broken?", len(seqNames))
		}
		for _, seq := range seqNames {
			for _, priv := range []string{"USAGE", "SELECT", "UPDATE"} {
				check(`SELECT has_sequence_privilege($1, $2, $3)`, false, roles[svc], seq, priv)
			}
		}
		table(svc, "acted.tutorial_course_templates", "INSERT", false)
		table(svc, "acted.tutorial_events", "DELETE", false)
	}
	check(`SELECT has_schema_privilege($1, 'admsync', 'CREATE')`, true, migrator)

	// Each role may and may not write these ("PRIVILEGE table", or
	// "PRIVILEGE table.column").
	privileges := func(role string, want bool, grants ...string) {
		t.Helper()
		for _, g := range grants {
			priv, obj, _ := strings.Cut(g, " ")
			if parts := strings.Split(obj, "."); len(parts) == 3 {
				column(role, parts[0]+"."+parts[1], parts[2], priv, want)
			} else {
				table(role, obj, priv, want)
			}
		}
	}

	// syncer: reference bridges and sync runs only.
	privileges("admsync_syncer", true, "INSERT adm.locations", "UPDATE adm.course_templates", "DELETE adm.course_template_instructors",
		"INSERT admsync.sync_runs", "INSERT admsync.sync_discrepancies")
	privileges("admsync_syncer", false, "DELETE adm.locations", "INSERT adm.events", "UPDATE adm.sessions",
		"INSERT admsync.outbox", "INSERT acted.tutorial_events")

	// importer: tutorial events from the workbook, its runs, the outbox;
	// corrections by re-import update the events and their instructors.
	privileges("admsync_importer", true, "INSERT acted.tutorial_events", "INSERT acted.tutorial_sessions",
		"INSERT acted.tutorial_session_instructors", "UPDATE acted.tutorial_events", "DELETE acted.tutorial_session_instructors",
		"UPDATE admsync.import_events", "UPDATE admsync.import_runs", "INSERT admsync.import_rows", "INSERT admsync.import_events",
		"INSERT admsync.outbox", "UPDATE admsync.outbox.published_at")
	privileges("admsync_importer", false, "INSERT adm.event_changes", "UPDATE admsync.outbox.payload",
		"INSERT adm.locations", "INSERT adm.events", "INSERT admsync.sync_runs")

	// admwriter: event and session bridges, outbox (retry), DLQ replays.
	privileges("admsync_admwriter", true, "INSERT adm.events", "UPDATE adm.events", "INSERT adm.sessions", "INSERT adm.event_changes",
		"SELECT admsync.import_events", "INSERT admsync.outbox", "UPDATE admsync.outbox.attempts", "INSERT admsync.dlq_replays")
	privileges("admsync_admwriter", false, "INSERT adm.locations", "UPDATE admsync.import_events", "INSERT acted.tutorial_sessions")

	// nextval on every sequence, through each role's login.
	for _, svc := range []string{"admsync_syncer", "admsync_importer", "admsync_admwriter"} {
		conn, err := pgx.Connect(ctx, roleURL(roles[svc], password(strings.TrimPrefix(svc, "admsync_"))))
		if err != nil {
			t.Fatalf("log in as %s: %v", svc, err)
		}
		seqs := queryStrings(ctx, t, conn, sequencesQuery)
		for _, seq := range seqs {
			var n int64
			err := conn.QueryRow(ctx, `SELECT nextval($1::regclass)`, seq).Scan(&n)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Errorf("%s: nextval(%s) = %d, %v; want permission denied", svc, seq, n, err)
			}
		}
		conn.Close(ctx)
	}

	// Each role logs in to its database, and to no other.
	for _, svc := range []string{"admsync_syncer", "admsync_importer", "admsync_admwriter"} {
		u, err := url.Parse(roleURL(roles[svc], password(strings.TrimPrefix(svc, "admsync_"))))
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range []string{"postgres", "template1"} {
			denied, err := loginDenied(ctx, u, other)
			if err != nil {
				t.Errorf("%s logging in to %s: %v", svc, other, err)
			} else if !denied {
				t.Errorf("%s may connect to database %s", svc, other)
			}
		}
	}

	// And for real, through each role's own login.
	for _, c := range []struct {
		role, sql string
		denied    bool
	}{
		{"admsync_importer", `SELECT count(*) FROM acted.tutorial_events`, false},
		{"admsync_importer", `INSERT INTO adm.locations (external_id, name) VALUES ('x', 'x')`, true},
		{"admsync_importer", `CREATE TABLE admsync.scratch (i int)`, true},
		{"admsync_syncer", `INSERT INTO adm.locations (external_id, name) VALUES ('x', 'x')`, false},
		{"admsync_syncer", `DELETE FROM adm.locations`, true},
		{"admsync_syncer", `INSERT INTO acted.tutorial_locations (name) VALUES ('x')`, true},
		{"admsync_admwriter", `UPDATE adm.events SET state = 'done' WHERE false`, false},
		{"admsync_admwriter", `DELETE FROM acted.tutorial_events`, true},
		{"admsync_admwriter", `CREATE TABLE public.scratch (i int)`, true},
		// What the services read of auth_user, and nothing more.
		{"admsync_importer", `SELECT id, first_name, last_name FROM public.auth_user`, false},
		{"admsync_syncer", `SELECT id, first_name, last_name, username FROM public.auth_user`, false},
		{"admsync_importer", `SELECT password FROM public.auth_user`, true},
		{"admsync_admwriter", `SELECT * FROM public.auth_user`, true},
		{"admsync_syncer", `SELECT password FROM public.auth_user`, true},
		{"admsync_importer", `SELECT username FROM public.auth_user`, true},
		// No sequences, no temporary tables.
		{"admsync_syncer", `SELECT nextval(pg_get_serial_sequence('admsync.import_runs', 'id'))`, true},
		{"admsync_importer", `SELECT nextval(pg_get_serial_sequence('adm.events', 'id'))`, true},
		{"admsync_importer", `SELECT nextval(pg_get_serial_sequence('acted.tutorial_events', 'id'))`, true},
		{"admsync_admwriter", `SELECT setval(pg_get_serial_sequence('adm.events', 'id'), 1)`, true},
		{"admsync_importer", `CREATE TEMP TABLE scratch (i int)`, true},
		{"admsync_syncer", `CREATE TEMPORARY TABLE scratch (i int)`, true},
	} {
		role := roles[c.role]
		conn, err := pgx.Connect(ctx, roleURL(role, password(strings.TrimPrefix(c.role, "admsync_"))))
		if err != nil {
			t.Fatalf("log in as %s: %v", c.role, err)
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, c.sql)
		_ = tx.Rollback(ctx)
		conn.Close(ctx)
		var pgErr *pgconn.PgError
		isDenied := errors.As(err, &pgErr) && pgErr.Code == "42501"
		switch {
		case c.denied && !isDenied:
			t.Errorf("%s may run %q (err %v)", c.role, c.sql, err)
		case !c.denied && err != nil:
			t.Errorf("%s: %q: %v", c.role, c.sql, err)
		}
	}
}

// loginDenied reports whether connecting to database as role fails with
// "permission denied for database".
func loginDenied(ctx context.Context, u *url.URL, database string) (bool, error) {
	c := *u
	c.Path = "/" + database
	conn, err := pgx.Connect(ctx, c.String())
	if err == nil {
		conn.Close(ctx)
		return false, nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return true, nil
	}
	return false, err
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// sequencesQuery lists every sequence of admsync's schemas.
const sequencesQuery = `SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname IN ('public', 'acted', 'adm', 'admsync')`

// queryStrings runs a query of one text column on conn and returns its
// values, failing the test on any error.
func queryStrings(ctx context.Context, t *testing.T, conn *pgx.Conn, query string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(ctx, query, args...)
	var vals []string
	if err == nil {
		vals, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return vals
}
