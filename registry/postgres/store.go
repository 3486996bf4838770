package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordbin"
	"github.com/degreegate/degreegate/translog"
)

// Store is the PostgreSQL registry: record versions and the audit trail
// in the schema that the connection's search_path names first.
type Store struct {
	pool *pgxpool.Pool
	// audit is the chain head as this Store last saw it: appends link to
	// it and send entries and head move in one round trip. Appends go
	// through a pool of their own, so that a commit every answer waits
	// for never queues for a connection behind record lookups: serve on
	// 8 connections, 256 clients, answered 8.2-8.6k req/s with a shared
	// pool and 9.2-9.3k with this one (docs/benchmarks.md, 2026-12-07).
	audit struct {
		sync.Mutex
		pool  *pgxpool.Pool
		head  registry.ChainHead
		edge  translog.Edge // of the log of head.LogSize leaves
		known bool
	}
	// decoy is a certificate number on file, read by every lookup of an
	// unknown number in its place (see Current); nil while none is.
	decoy atomic.Pointer[string]
}

var (
	_ registry.Store    = (*Store)(nil)
	_ registry.AuditLog = (*Store)(nil)
)

// Open connects a pool to the database named by url and checks that the
// schema carries every embedded migration; if not, the error wraps
// ErrNotMigrated and names the first missing migration. Open never
// changes the schema: run Migrate (degreegate migrate) for that.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open registry: parse database url: %w", err)
	}
	return openConfig(ctx, cfg)
}

func openConfig(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open registry: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open registry: connect: %w", err)
	}
	if err := checkMigrated(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open registry: %w", err)
	}
	// Appends are serialised in this process (Store.audit), so one
	// connection does; a second covers a reconnect.
	acfg := cfg.Copy()
	acfg.MaxConns, acfg.MinConns = 2, 0
	auditPool, err := pgxpool.NewWithConfig(ctx, acfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open registry: audit connections: %w", err)
	}
	s := &Store{pool: pool}
	s.audit.pool = auditPool
	var decoy string
	switch err := pool.QueryRow(ctx, `SELECT certificate_number FROM record_versions LIMIT 1`).Scan(&decoy); {
	case err == nil:
		s.decoy.Store(&decoy)
	case !errors.Is(err, pgx.ErrNoRows):
		s.Close()
		return nil, fmt.Errorf("open registry: %w", readErr("read a decoy number", err))
	}
	return s, nil
}

// PoolStats are the store's two pools: record reads and the audit
// trail's appends.
func (s *Store) PoolStats() (records, audit *pgxpool.Stat) {
	return s.pool.Stat(), s.audit.pool.Stat()
}

// Close closes every connection of the pools, waiting for those in use.
func (s *Store) Close() {
	s.audit.pool.Close()
	s.pool.Close()
}

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping registry database: %w", err)
	}
	return nil
}

// Analyze refreshes the planner's statistics of the versions table. After
// a bulk import and before autovacuum gets to it, batch lookups
// (CurrentMany, = ANY) are otherwise planned as parallel scans costing
// milliseconds instead of index probes.
func (s *Store) Analyze(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, "ANALYZE record_versions"); err != nil {
		return fmt.Errorf("analyze registry tables: %w", err)
	}
	return nil
}

// dbTime is t as PostgreSQL keeps it: microseconds, and (on the way
// back) UTC, so that a version reads back equal to what was written.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// checkSealed refuses a record that still carries a direct identifier in
// clear, or lacks its sealing: the store must never hold an ID number,
// phone or e-mail in clear, whatever its caller does. Errors name the
// field, never its value.
func checkSealed(s *registry.Sealed) error {
	var vs []registry.Violation
	clear := func(field, v string) {
		if v != "" {
			vs = append(vs, registry.Violation{Field: field, Code: "not_sealed",
				Message: "direct identifier must be sealed, not stored in clear"})
		}
	}
	clear("id_number", s.IDNumber)
	clear("phone", s.Phone)
	clear("email", s.Email)
	if s.CertificateNumber == "" {
		vs = append(vs, registry.Violation{Field: "certificate_number", Code: "required", Message: "certificate number is empty"})
	}
	missing := func(field string, b []byte) {
		if len(b) == 0 {
			vs = append(vs, registry.Violation{Field: field, Code: "not_sealed", Message: "sealed record lacks " + field})
		}
	}
	missing("person_index", s.PersonIndex)
	missing("digest", s.Digest)
	missing("secret", s.Secret)
	if len(vs) > 0 {
		return &registry.InvalidError{Violations: vs}
	}
	return nil
}

// versionCols are the columns every version query selects, in the order
// scanVersion reads them (alias v).
const versionCols = `v.version, v.key_id, v.secret, v.person_index, v.digest, v.body, v.actor, v.reason, v.changed_at`

func scanVersion(rows pgx.CollectableRow) (registry.Version, error) {
	var (
		v    registry.Version
		ver  int32
		body []byte
	)
	if err := rows.Scan(&ver, &v.KeyID, &v.Secret, &v.PersonIndex, &v.Digest, &body,
		&v.Change.Actor, &v.Change.Reason, &v.Change.At); err != nil {
		return registry.Version{}, fmt.Errorf("read record version: %w", err)
	}
	if err := recordbin.DecodeRecord(body, &v.Record); err != nil {
		return registry.Version{}, fmt.Errorf("read record version %d: %w", ver, err)
	}
	v.Version = int(ver)
	v.Change.At = v.Change.At.UTC()
	return v, nil
}

// cursorBatch is how many rows a streaming read fetches per round trip:
// large enough that round trips do not dominate, small enough that
// memory stays flat however large the result.
const cursorBatch = 1000

// streamRows runs query through a server-side cursor inside a read-only,
// repeatable-read transaction (one consistent snapshot), fetching
// cursorBatch rows at a time and calling fn on each, outside the fetch,
// so fn may itself use the store. It returns fn's first error as is.
//
// Each kind of row needs a cursor name of its own: pgx caches the
// prepared FETCH, result columns included, by its SQL text per
// connection, so one name reused for different columns would decode the
// rows of one query with the description of another.
func streamRows[T any](ctx context.Context, pool *pgxpool.Pool, cursor, query string, args []any,
	scan func(pgx.CollectableRow) (T, error), fn func(T) error) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	// Read-only: rollback and commit are the same; rollback also closes
	// the cursor when fn stops early.
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "DECLARE "+cursor+" NO SCROLL CURSOR FOR "+query, args...); err != nil {
		return fmt.Errorf("open cursor: %w", err)
	}
	batch := make([]T, 0, cursorBatch)
	for {
		batch = batch[:0]
		rows, err := tx.Query(ctx, fmt.Sprintf("FETCH FORWARD %d FROM %s", cursorBatch, cursor))
		if err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		for rows.Next() {
			item, err := scan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, item)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		for _, item := range batch {
			if err := fn(item); err != nil {
				return err
			}
		}
		if len(batch) < cursorBatch {
			return nil
		}
	}
}
