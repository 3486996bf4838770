package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/registrytest"
	"github.com/degreegate/degreegate/translog"
)

func change(reason string) registry.Change {
	return registry.Change{Actor: "office:test", Reason: reason}
}

func sampleRange(from, n int) []registry.Sealed {
	out := make([]registry.Sealed, n)
	for i := range out {
		out[i] = registrytest.SampleSealed(from + i)
	}
	return out
}

func TestOpenRefusesUnmigratedSchema(t *testing.T) {
	testDatabaseURL(t)
	t.Parallel()
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, u string)
		missing string
	}{
		{"never migrated", func(*testing.T, string) {}, "00001_record_versions.sql"},
		{"second migration lacking", func(t *testing.T, u string) {
			if _, err := Migrate(context.Background(), u); err != nil {
				t.Fatal(err)
			}
			mustExec(t, adminConn(t, u), "DELETE FROM goose_db_version WHERE version_id = 2")
		}, "00002_audit.sql"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := freshSchema(t)
			tc.prepare(t, u)
			s, err := Open(context.Background(), u)
			if err == nil {
				s.Close()
				t.Fatal("Open of an unmigrated schema: no error")
			}
			if !errors.Is(err, ErrNotMigrated) || !strings.Contains(err.Error(), tc.missing) {
				t.Errorf("Open: err = %v, want ErrNotMigrated naming %s", err, tc.missing)
			}
		})
	}
}

func TestOpenUnreachable(t *testing.T) {
	testDatabaseURL(t)
	t.Parallel()
	// Port 1 on loopback: nothing listens there.
	_, err := Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
	if err == nil {
		t.Fatal("Open of an unreachable server: no error")
	}
}

// TestMigrateConcurrently runs Migrate from several "replicas" (each its
// own connection pool) on one schema at once: the session lock lets one
// apply each migration, the others find nothing to do, and all succeed.
func TestMigrateConcurrently(t *testing.T) {
	testDatabaseURL(t)
	t.Parallel()
	u := freshSchema(t)
	const replicas = 3
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { _, errs[i] = Migrate(context.Background(), u) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Migrate: %v", i, err)
		}
	}
	if _, err := Migrate(context.Background(), u); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
	want, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	var applied, distinct int
	if err := adminConn(t, u).QueryRow(context.Background(),
		`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != len(want) || distinct != len(want) {
		t.Errorf("%d migration rows (%d distinct), want each of %d once", applied, distinct, len(want))
	}
}

// TestAppendOnly checks the triggers: no role that can reach the tables
// through SQL may rewrite or remove a version or an audit entry, nor
// move the audit head backwards.
func TestAppendOnly(t *testing.T) {
	s, u := newStore(t)
	t.Parallel()
	ctx := context.Background()
	if _, err := registry.Insert(ctx, s, testLogKey, sampleRange(0, 3), change("import")); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, committed([]registry.AuditEntry{{Actor: "a", Action: "x"}, {Actor: "b", Action: "y"}})); err != nil {
		t.Fatal(err)
	}
	admin := adminConn(t, u)
	for _, stmt := range []string{
		`UPDATE record_versions SET status = 'revoked'`,
		`UPDATE record_versions SET status = 'revoked' WHERE false`,
		`DELETE FROM record_versions WHERE version = 1`,
		`TRUNCATE record_versions`,
		`UPDATE audit_entries SET actor = 'someone else' WHERE seq = 1`,
		`DELETE FROM audit_entries WHERE seq = 2`,
		`TRUNCATE audit_entries CASCADE`,
		`DELETE FROM audit_head`,
		`TRUNCATE audit_head`,
		`UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit_entries WHERE seq = 1)`,
		`UPDATE audit_head SET seq = 3, hash = '\x00'`,
	} {
		_, err := admin.Exec(ctx, stmt)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Errorf("%s: err = %v, want insufficient_privilege from a trigger", stmt, err)
		}
	}
	if n, err := s.Count(ctx); err != nil || n != 3 {
		t.Errorf("Count = %d, %v after refused changes; want 3", n, err)
	}
	// Three filing entries and two more.
	if n, err := registry.VerifyChain(ctx, s); err != nil || n != 5 {
		t.Errorf("VerifyChain = %d, %v after refused changes; want 5, nil", n, err)
	}
}

// TestRefusesClearIdentifiers: whatever the caller does, no direct
// identifier reaches a column, and the error does not repeat it.
func TestRefusesClearIdentifiers(t *testing.T) {
	s, _ := newStore(t)
	t.Parallel()
	ctx := context.Background()
	base := registrytest.SampleSealed(40)
	if _, err := registry.Insert(ctx, s, testLogKey, []registry.Sealed{base}, change("import")); err != nil {
		t.Fatal(err)
	}
	const leak = "11010519491231002X"
	for _, tc := range []struct {
		field string
		set   func(*registry.Sealed)
	}{
		{"id_number", func(r *registry.Sealed) { r.IDNumber = leak }},
		{"phone", func(r *registry.Sealed) { r.Phone = leak }},
		{"email", func(r *registry.Sealed) { r.Email = leak + "@example.cn" }},
		{"person_index", func(r *registry.Sealed) { r.PersonIndex = nil }},
		{"digest", func(r *registry.Sealed) { r.Digest = nil }},
		{"secret", func(r *registry.Sealed) { r.Secret = nil }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			fresh := registrytest.SampleSealed(41)
			tc.set(&fresh)
			next := registrytest.SampleSealed(40)
			tc.set(&next)
			_, errInsert := registry.Insert(ctx, s, testLogKey, []registry.Sealed{registrytest.SampleSealed(42), fresh}, change("import"))
			_, errAppend := registry.Append(ctx, s, testLogKey, "record.amend", 1, next, change("amend"))
			for name, err := range map[string]error{"Insert": errInsert, "Append": errAppend} {
				var inv *registry.InvalidError
				if !errors.As(err, &inv) || len(inv.Violations) != 1 || inv.Violations[0].Field != tc.field {
					t.Errorf("%s: err = %v, want one violation of %s", name, err, tc.field)
				}
				if err != nil && strings.Contains(err.Error(), leak) {
					t.Errorf("%s: the error repeats the identifier", name)
				}
			}
		})
	}
	if n, err := s.Count(ctx); err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want 1: a refused batch wrote something", n, err)
	}
	if h, err := s.History(ctx, base.CertificateNumber); err != nil || len(h) != 1 {
		t.Errorf("History has %d versions, %v; want 1: a refused Append wrote something", len(h), err)
	}
}

// queryCounter counts the statements and COPYs a pool sends.
type queryCounter struct {
	mu      sync.Mutex
	queries []string
}

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	c.queries = append(c.queries, strings.Fields(d.SQL)[0])
	c.mu.Unlock()
	return ctx
}
func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *queryCounter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.mu.Lock()
	c.queries = append(c.queries, "COPY")
	c.mu.Unlock()
	return ctx
}
func (c *queryCounter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

func (c *queryCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queries
	c.queries = nil
	return q
}

// TestRoundTrips pins the number of statements of the calls whose cost
// must not grow with their input: CurrentMany of 1,000 numbers is one
// query, an Insert batch one lookup, one COPY of versions, the head's
// lock, a COPY each of filing entries and log nodes, and the head's move.
func TestRoundTrips(t *testing.T) {
	_, u := newStore(t)
	t.Parallel()
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	counter := &queryCounter{}
	cfg.ConnConfig.Tracer = counter
	ctx := context.Background()
	s, err := openConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := sampleRange(1000, 1500)
	counter.take()
	if _, err := registry.Insert(ctx, s, testLogKey, batch, change("import")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(counter.take(), " "); got != "begin SELECT COPY SELECT COPY COPY UPDATE commit" {
		t.Errorf("Insert of %d records sent %q, want one lookup, one COPY, the head's lock, two COPYs and the head's move in a transaction", len(batch), got)
	}
	numbers := make([]string, 1000)
	for i := range numbers {
		numbers[i] = batch[i].CertificateNumber
	}
	vs, err := s.CurrentMany(ctx, numbers)
	if err != nil || len(vs) != len(numbers) {
		t.Fatalf("CurrentMany = %d versions, %v", len(vs), err)
	}
	if got := counter.take(); len(got) != 1 {
		t.Errorf("CurrentMany of %d numbers sent %d statements %v, want 1", len(numbers), len(got), got)
	}
}

// TestStreamsAcrossFetches reads more rows than one cursor fetch holds.
func TestStreamsAcrossFetches(t *testing.T) {
	s, _ := newStore(t)
	t.Parallel()
	ctx := context.Background()
	n := 2*cursorBatch + 17
	if _, err := registry.Insert(ctx, s, testLogKey, sampleRange(5000, n), change("import")); err != nil {
		t.Fatal(err)
	}
	var prev string
	count := 0
	err := s.Scan(ctx, registry.Filter{}, func(v registry.Version) error {
		if v.CertificateNumber <= prev {
			return fmt.Errorf("Scan out of order at %d", count)
		}
		prev = v.CertificateNumber
		count++
		return nil
	})
	if err != nil || count != n {
		t.Errorf("Scan = %d records, %v; want %d", count, err, n)
	}
	entries := make([]registry.AuditEntry, n)
	for i := range entries {
		entries[i] = registry.AuditEntry{Actor: "office:test", Action: "read", RecordRef: fmt.Sprint(i)}
	}
	if err := s.AppendAudit(ctx, committed(entries)); err != nil {
		t.Fatal(err)
	}
	// n filing entries, then n more.
	if got, err := registry.VerifyChain(ctx, s); err != nil || got != int64(2*n) {
		t.Errorf("VerifyChain = %d, %v; want %d", got, err, 2*n)
	}
}

func TestAnalyzeRefreshesStatistics(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	batch := make([]registry.Sealed, 50)
	for i := range batch {
		batch[i] = registrytest.SampleSealed(i)
	}
	if _, err := registry.Insert(ctx, s, testLogKey, batch, change("analyze test")); err != nil {
		t.Fatal(err)
	}
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	// ANALYZE sets reltuples in the same transaction (-1 means "never").
	var tuples float64
	if err := s.pool.QueryRow(ctx, `SELECT reltuples FROM pg_class
		WHERE oid = 'record_versions'::regclass`).Scan(&tuples); err != nil {
		t.Fatal(err)
	}
	if tuples != 50 {
		t.Fatalf("record_versions estimates %v rows after Analyze, want 50", tuples)
	}
}

// TestUnreachableDatabaseIsErrUnavailable: a read that never reaches the
// server says so (registry.ErrUnavailable), so the gateway can answer
// "try again" rather than an internal error; an answer from the server
// (here, none: ErrNotFound) is not confused with it.
func TestUnreachableDatabaseIsErrUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@"+addr+"/none?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	down := &Store{pool: pool}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := down.Current(ctx, "1000142020000000"); !errors.Is(err, registry.ErrUnavailable) {
		t.Errorf("Current on a refused connection: %v, want ErrUnavailable", err)
	}
	if _, err := down.CurrentMany(ctx, []string{"1000142020000000"}); !errors.Is(err, registry.ErrUnavailable) {
		t.Errorf("CurrentMany on a refused connection: %v, want ErrUnavailable", err)
	}
	s, _ := newStore(t)
	if _, err := s.Current(ctx, "1000142020000000"); !errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrUnavailable) {
		t.Errorf("Current of an unknown number: %v, want ErrNotFound only", err)
	}
}

// The log's stored hashes are append-only too, and the head's log size
// and root only move forward with the trail (migration 00008).
func TestLogAppendOnly(t *testing.T) {
	s, u := newStore(t)
	t.Parallel()
	ctx := context.Background()
	if err := s.AppendAudit(ctx, committed([]registry.AuditEntry{{Actor: "a", Action: "x"}, {Actor: "b", Action: "y"}})); err != nil {
		t.Fatal(err)
	}
	admin := adminConn(t, u)
	for _, stmt := range []string{
		`UPDATE log_nodes SET hashes = decode(repeat('00', 32), 'hex') WHERE leaf = 0`,
		`DELETE FROM log_nodes WHERE leaf = 1`,
		`TRUNCATE log_nodes`,
		`UPDATE audit_head SET log_size = 0`,
		`UPDATE audit_head SET log_root = decode(repeat('00', 32), 'hex')`,
	} {
		_, err := admin.Exec(ctx, stmt)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Errorf("%s: err = %v, want insufficient_privilege from a trigger", stmt, err)
		}
	}
	head, err := s.AuditHead(ctx)
	if err != nil || head.LogSize != 2 {
		t.Fatalf("head after refused changes: %+v, %v", head, err)
	}
	if got, err := translog.Root(ctx, registry.LogHashes{Log: s}, 2); err != nil || got != head.LogRoot {
		t.Errorf("the log's hashes changed: %v", err)
	}
}
