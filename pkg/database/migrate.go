package database

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// VersionTable is goose's bookkeeping table. It lives in public because the
// first migrations create the other schemas.
const VersionTable = "admsync_goose_version"

// MigrateOptions tunes Migrate.
type MigrateOptions struct {
	// Existing declares a Django-created database: every acted table must
	// already exist with the columns admsync reads; they are never altered.
	Existing bool
	Logger   *slog.Logger
}

// MigrateResult says what Migrate did.
type MigrateResult struct {
	Applied []string // migration files applied in this run
	Version int64
}

// Migrate verifies the tutorial tables that already exist, then applies every
// pending migration under a session advisory lock (so that two pods starting
// together do not race).
func Migrate(ctx context.Context, pool *pgxpool.Pool, opts MigrateOptions) (*MigrateResult, error) {
	if err := VerifyActed(ctx, pool, opts.Existing); err != nil {
		return nil, err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := provider(db, opts.Logger)
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	res := &MigrateResult{}
	for _, r := range results {
		res.Applied = append(res.Applied, r.Source.Path)
	}
	if res.Version, err = p.GetDBVersion(ctx); err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	return res, nil
}

func provider(db *sql.DB, logger *slog.Logger) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	// Migration numbers are handed out ahead of time to parallel pieces of work, so one
	// may land after a higher one a database already has; each is independent of the
	// others' order, and goose applies a missing lower one instead of refusing.
	opts := []goose.ProviderOption{goose.WithTableName(VersionTable), goose.WithSessionLocker(locker),
		goose.WithAllowOutofOrder(true)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// MigrationsDigest identifies the embedded migrations; tests name their
// template database after it so a changed migration gets a fresh template.
func MigrationsDigest() string {
	var b strings.Builder
	_ = fs.WalkDir(migrationFiles, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := migrationFiles.ReadFile(path)
		b.WriteString(path)
		b.Write(data)
		return nil
	})
	return fmt.Sprintf("%08x", fnv32(b.String()))
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// RequiredActedColumns are the columns of the tutorial tables that admsync
// reads or writes. A Django database lacking any of them is refused.
var RequiredActedColumns = map[string][]string{
	"public.auth_user":                   {"id", "username", "first_name", "last_name"},
	"acted.tutorial_course_templates":    {"id", "code", "title", "is_active"},
	"acted.tutorial_locations":           {"id", "name", "is_active"},
	"acted.tutorial_venues":              {"id", "name", "location_id"},
	"acted.staff":                        {"id", "user_id"},
	"acted.tutorial_instructors":         {"id", "staff_id", "is_active"},
	"acted.products":                     {"id", "product_code", "subject_code", "sitting", "variation_code", "is_active"},
	"acted.tutorial_events":              {"id", "code", "venue_id", "location_id", "is_soldout", "finalisation_date", "remain_space", "start_date", "end_date", "product_id", "created_at", "updated_at"},
	"acted.tutorial_sessions":            {"id", "tutorial_event_id", "title", "venue_id", "location_id", "start_date", "end_date", "sequence", "url", "created_at", "updated_at"},
	"acted.tutorial_session_instructors": {"id", "tutorialsessions_id", "tutorialinstructor_id"},
}

// ErrActedSchema is returned when existing tutorial tables lack columns.
var ErrActedSchema = errors.New("the existing tutorial tables do not have the columns admsync needs")

// VerifyActed checks every tutorial table that already exists for the
// columns admsync needs. With requireAll, a missing table is an error too.
func VerifyActed(ctx context.Context, pool *pgxpool.Pool, requireAll bool) error {
	rows, err := pool.Query(ctx, `
		SELECT table_schema || '.' || table_name, column_name
		FROM information_schema.columns
		WHERE (table_schema = 'acted') OR (table_schema = 'public' AND table_name = 'auth_user')`)
	if err != nil {
		return fmt.Errorf("inspect tutorial tables: %w", err)
	}
	have := map[string]map[string]bool{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			rows.Close()
			return fmt.Errorf("inspect tutorial tables: %w", err)
		}
		if have[table] == nil {
			have[table] = map[string]bool{}
		}
		have[table][col] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("inspect tutorial tables: %w", err)
	}
	var problems []string
	tables := make([]string, 0, len(RequiredActedColumns))
	for t := range RequiredActedColumns {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		cols, ok := have[t]
		if !ok {
			if requireAll {
				problems = append(problems, t+": table missing")
			}
			continue
		}
		var missing []string
		for _, c := range RequiredActedColumns[t] {
			if !cols[c] {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("%s: missing column(s) %s", t, strings.Join(missing, ", ")))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w (nothing was changed; add them or run against a fresh database):\n  %s", ErrActedSchema, strings.Join(problems, "\n  "))
	}
	return nil
}
