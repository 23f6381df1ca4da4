// Package dbtest gives each test its own PostgreSQL database, cloned from a
// template that is migrated once per set of migrations, so tests run against
// the real schema in isolation and in parallel.
//
// The server is TEST_DATABASE_URL, else DATABASE_URL, else
// postgres://postgres@127.0.0.1:5432/postgres. `make db` starts one when none
// answers.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"admsync/pkg/database"
)

// DefaultURL is used when neither TEST_DATABASE_URL nor DATABASE_URL is set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL returns the URL of the server tests use.
func ServerURL() string {
	for _, k := range []string{"TEST_DATABASE_URL", "DATABASE_URL"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return DefaultURL
}

// DB is one test's database.
type DB struct {
	Pool *pgxpool.Pool
	URL  string // connection string of this database, for subprocesses
	Name string
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// New creates a fresh, migrated database for t and drops it when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name, url, err := create(ctx)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	pool, err := database.Open(ctx, url)
	if err != nil {
		t.Fatalf("dbtest: open %s: %v", name, err)
	}
	t.Cleanup(func() {
		pool.Close()
		if err := drop(context.Background(), name); err != nil {
			t.Logf("dbtest: drop %s: %v", name, err)
		}
	})
	return &DB{Pool: pool, URL: url, Name: name}
}

// Exec runs one statement with args on the test's database and fails the
// test if it errors.
func (db *DB) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

// create clones the migrated template into a new database and returns its
// name and URL.
func create(ctx context.Context) (name, dbURL string, err error) {
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx) })
	if templateErr != nil {
		return "", "", templateErr
	}
	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return "", "", fmt.Errorf("connect to %s: %w (start one with `make db`, or set TEST_DATABASE_URL)", redact(ServerURL()), err)
	}
	defer admin.Close(ctx)
	name = "admsync_t_" + randomHex(6)
	for attempt := 0; ; attempt++ {
		_, err = admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName))
		var pgErr *pgconn.PgError
		// 55006: the template is briefly in use by a concurrent clone.
		if err != nil && errors.As(err, &pgErr) && pgErr.Code == "55006" && attempt < 50 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		break
	}
	if err != nil {
		return "", "", fmt.Errorf("clone template: %w", err)
	}
	return name, withDatabase(ServerURL(), name), nil
}

// drop removes a database made by create.
func drop(ctx context.Context, name string) error {
	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	return err
}

// ensureTemplate builds the template once per migration digest. Test binaries
// of several packages run at once, so the build happens under an advisory
// lock and is published by a rename.
func ensureTemplate(ctx context.Context) (string, error) {
	name := "admsync_tmpl_" + database.MigrationsDigest()
	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w (start one with `make db`, or set TEST_DATABASE_URL)", redact(ServerURL()), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(4242001)"); err != nil {
		return "", err
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock(4242001)") //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_build"
	if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s", building)); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	pool, err := database.Open(ctx, withDatabase(ServerURL(), building))
	if err != nil {
		return "", err
	}
	_, err = database.Migrate(ctx, pool, database.MigrateOptions{})
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", fmt.Errorf("publish template: %w", err)
	}
	return name, nil
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		// key=value form
		return raw + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the configured server"
	}
	return u.Redacted()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
