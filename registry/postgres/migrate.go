package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var embedded embed.FS

// versionTable is where goose records applied migrations, in the same
// schema as the tables it describes.
const versionTable = "goose_db_version"

func migrationsFS() fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(err) // the directory is embedded at build time: cannot fail
	}
	return sub
}

// Migrate applies the embedded migrations to the database named by url
// (idempotent), and returns the files of those it applied, in order. The schema is the first one of the connection's
// search_path, so a deployment or a test picks it by connection string
// (e.g. "…?search_path=registry").
//
// Several replicas may migrate at once: goose takes a PostgreSQL
// session-level advisory lock keyed by the schema name before reading or
// applying anything, so exactly one applies each migration and the others
// wait (up to five minutes), then find nothing left to do. Keying by
// schema lets independent schemas of one database migrate in parallel.
func Migrate(ctx context.Context, url string) (applied []string, err error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("migrate: parse database url: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()

	schema, err := currentSchema(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(schemaLockID(schema)),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return nil, fmt.Errorf("migrate: session locker: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrationsFS(),
		goose.WithSessionLocker(locker),
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate schema %q: %w", schema, err)
	}
	for _, r := range results {
		applied = append(applied, r.Source.Path)
	}
	return applied, nil
}

func currentSchema(ctx context.Context, db *sql.DB) (string, error) {
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", fmt.Errorf("find current schema: %w", err)
	}
	if !schema.Valid {
		return "", errors.New("search_path names no existing schema to migrate into")
	}
	return schema.String, nil
}

// schemaLockID derives the advisory-lock key from the schema name, in a
// namespace of our own so it cannot meet goose's default key.
func schemaLockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("degreegate/registry/postgres migrate "))
	h.Write([]byte(schema))
	return int64(h.Sum64())
}

// migrationNames lists the embedded migrations by version.
func migrationNames() (map[int64]string, error) {
	names, err := fs.Glob(migrationsFS(), "*.sql")
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(names))
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		out[v] = name
	}
	return out, nil
}

// checkMigrated reports the first embedded migration that the database
// lacks. It only reads: unlike goose's own status call it never creates
// the version table, so Open works with a read-only role.
func checkMigrated(ctx context.Context, pool *pgxpool.Pool) error {
	want, err := migrationNames()
	if err != nil {
		return fmt.Errorf("list embedded migrations: %w", err)
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", versionTable).Scan(&exists); err != nil {
		return fmt.Errorf("check schema version: %w", err)
	}
	applied := map[int64]bool{}
	if exists {
		rows, err := pool.Query(ctx, "SELECT version_id FROM "+versionTable+" WHERE is_applied")
		if err != nil {
			return fmt.Errorf("check schema version: %w", err)
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("check schema version: %w", err)
		}
		for _, v := range versions {
			applied[v] = true
		}
	}
	versions := make([]int64, 0, len(want))
	for v := range want {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		if !applied[v] {
			return fmt.Errorf("%w: migration %s is not applied (run \"degreegate migrate\")", ErrNotMigrated, want[v])
		}
	}
	return nil
}

// ErrNotMigrated: Open found a schema that lacks an embedded migration.
var ErrNotMigrated = errors.New("database schema not migrated")
