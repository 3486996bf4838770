package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testDatabaseEnv names the PostgreSQL server the tests use, like pgx's
// own PGX_TEST_DATABASE. Unset: the tests skip. Set but unreachable: they
// fail, so that CI, which sets it, cannot pass by skipping.
const testDatabaseEnv = "DEGREEGATE_TEST_DATABASE_URL"

func testDatabaseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(testDatabaseEnv)
	if u == "" {
		t.Skip("set " + testDatabaseEnv + " to run PostgreSQL tests (e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable)")
	}
	return u
}

// withSearchPath returns the connection string base with search_path set
// to schema; pgx sends unknown settings as run-time parameters.
func withSearchPath(t testing.TB, base, schema string) string {
	t.Helper()
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("%s is not a URL: %v", testDatabaseEnv, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema // keyword/value form
}

// adminConn opens a plain connection to the test server for set-up and
// for tampering behind the store's back.
func adminConn(t testing.TB, connString string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect to the test database named by %s: %v", testDatabaseEnv, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// freshSchema creates an empty schema of its own for one test and drops
// it, with everything in it, when the test ends; it returns a connection
// string whose search_path names it.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := testDatabaseURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "dgtest_" + hex.EncodeToString(b[:])
	admin := adminConn(t, base)
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	return withSearchPath(t, base, schema)
}

// newStore migrates a fresh schema and opens a store on it.
func newStore(t testing.TB) (*Store, string) {
	t.Helper()
	u := freshSchema(t)
	ctx := context.Background()
	if _, err := Migrate(ctx, u); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s, err := Open(ctx, u)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s, u
}

func mustExec(t testing.TB, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", strings.SplitN(sql, "\n", 2)[0], err)
	}
}
