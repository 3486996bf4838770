package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/registrytest"
)

// TestScanBulkMatchesScan: the bulk scan sees exactly the newest
// versions Scan sees, filters included, with record and person index.
func TestScanBulkMatchesScan(t *testing.T) {
	testDatabaseURL(t)
	s, _ := newStore(t)
	ctx := context.Background()
	change := registry.Change{Actor: "test", At: time.Now()}
	var batch []registry.Sealed
	for i := range 40 {
		batch = append(batch, registrytest.SampleSealed(i))
	}
	if _, err := registry.Insert(ctx, s, testLogKey, batch, change); err != nil {
		t.Fatal(err)
	}
	next := batch[3]
	next.Status, next.RevokedOn, next.RevocationResolution, next.RevocationReason =
		registry.StatusRevoked, registry.NewDate(2024, 1, 2), "决议", "reason"
	if _, err := registry.Append(ctx, s, testLogKey, "record.amend", 1, next, change); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		cert    string
		version int
		person  []byte
		status  registry.Status
	}
	collect := func(scan func(context.Context, registry.Filter, func(registry.Version) error) error, f registry.Filter) []seen {
		var out []seen
		if err := scan(ctx, f, func(v registry.Version) error {
			out = append(out, seen{v.CertificateNumber, v.Version, v.PersonIndex, v.Status})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(out, func(a, b seen) int { return bytes.Compare([]byte(a.cert), []byte(b.cert)) })
		return out
	}
	for _, f := range []registry.Filter{{}, {Statuses: []registry.Status{registry.StatusRevoked}}, {ConferralYearFrom: 2015}} {
		want, got := collect(s.Scan, f), collect(s.ScanBulk, f)
		if len(want) == 0 && f.ConferralYearFrom == 0 {
			t.Fatalf("filter %+v selects nothing: the test proves nothing", f)
		}
		if !slices.EqualFunc(got, want, func(a, b seen) bool {
			return a.cert == b.cert && a.version == b.version && bytes.Equal(a.person, b.person) && a.status == b.status
		}) {
			t.Errorf("filter %+v: ScanBulk saw %d versions, Scan %d, or different ones", f, len(got), len(want))
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.ScanBulk(cancelled, registry.Filter{}, func(registry.Version) error { return nil }); err == nil {
		t.Error("ScanBulk on a cancelled context succeeded")
	}
}

// TestDatasetKeysSealedAfterMigration: a dataset requested before
// migration 00006 keeps its clear key (empty KeyID) until SealLegacyKey
// seals it, exactly once; new rows never take a clear key, and the
// database refuses any other change of a key, whoever asks.
func TestDatasetKeysSealedAfterMigration(t *testing.T) {
	u := freshSchema(t)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrationsFS(), goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatalf("migrate to 00005: %v", err)
	}
	conn := adminConn(t, u)
	clearKey := sha256.Sum256([]byte("a key from before 00006"))
	const legacy = "ds_aaaaaaaaaaaaaaaaaaaaaaaaaa"
	mustExec(t, conn, `INSERT INTO datasets (id, contractor, purpose, legal_basis, policy_version, spec, requested_by,
		requested_at, key, status) VALUES ($1, 'pub:a', 'p', '', 'v1', '{"fields":["gender"],"k":5,"term":3600000000000}',
		'official-1', now(), $2, 'requested')`, legacy, clearKey[:])
	if _, err := Migrate(ctx, u); err != nil {
		t.Fatalf("migrate past 00005: %v", err)
	}
	s, err := Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	d, err := s.Dataset(ctx, legacy)
	if err != nil {
		t.Fatal(err)
	}
	if d.KeyID != "" || !bytes.Equal(d.SealedKey, clearKey[:]) {
		t.Fatalf("legacy row read back with key id %q and %d key bytes, want the clear key and no id", d.KeyID, len(d.SealedKey))
	}
	sealed := bytes.Repeat([]byte{0x5a}, registry.SealedDatasetKeySize)
	for _, bad := range []struct {
		name  string
		keyID string
		key   []byte
	}{{"no key id", "", sealed}, {"clear length", "d1", clearKey[:]}} {
		if err := s.SealLegacyKey(ctx, legacy, bad.keyID, bad.key); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("SealLegacyKey with %s = %v, want ErrInvalid", bad.name, err)
		}
	}
	if err := s.SealLegacyKey(ctx, "ds_bbbbbbbbbbbbbbbbbbbbbbbbbb", "d1", sealed); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("SealLegacyKey of an unknown id = %v, want ErrNotFound", err)
	}
	if err := s.SealLegacyKey(ctx, legacy, "d1", sealed); err != nil {
		t.Fatalf("SealLegacyKey: %v", err)
	}
	var (
		keyID  string
		stored []byte
	)
	if err := conn.QueryRow(ctx, `SELECT key_id, key FROM datasets WHERE id = $1`, legacy).Scan(&keyID, &stored); err != nil {
		t.Fatal(err)
	}
	if keyID != "d1" || !bytes.Equal(stored, sealed) {
		t.Errorf("after sealing the row holds key id %q and %d bytes, want d1 and the sealed key", keyID, len(stored))
	}
	if err := s.SealLegacyKey(ctx, legacy, "d2", bytes.Repeat([]byte{1}, registry.SealedDatasetKeySize)); !errors.Is(err, registry.ErrDatasetTransition) {
		t.Errorf("sealing a sealed key again = %v, want ErrDatasetTransition", err)
	}
	for _, tamper := range []struct {
		name string
		sql  string
		args []any
	}{
		{"another sealed key", `UPDATE datasets SET key = $2 WHERE id = $1`, []any{legacy, bytes.Repeat([]byte{1}, registry.SealedDatasetKeySize)}},
		{"back to clear", `UPDATE datasets SET key_id = '', key = $2 WHERE id = $1`, []any{legacy, clearKey[:]}},
		{"a clear key on a new row", `INSERT INTO datasets (id, contractor, purpose, legal_basis, policy_version, spec,
			requested_by, requested_at, key_id, key, status) VALUES ('ds_cccccccccccccccccccccccccc', 'pub:a', 'p', '', 'v1', '{}',
			'o', now(), 'd1', $1, 'requested')`, []any{clearKey[:]}},
	} {
		if _, err := conn.Exec(ctx, tamper.sql, tamper.args...); err == nil {
			t.Errorf("the database accepted %s", tamper.name)
		}
	}
}
