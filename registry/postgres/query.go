package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordbin"
)

// newest is true of a row that no later version of its certificate
// supersedes (an anti-join through the primary key).
const newest = `NOT EXISTS (SELECT 1 FROM record_versions n
	WHERE n.certificate_number = v.certificate_number AND n.version > v.version)`

// Current returns the newest version of a certificate: one primary-key
// probe, read backwards. The same query reads the newest version of a
// decoy, a number found before, and returns the asked number's row first
// when there is one: so a known number and an unknown one each send one
// row that is scanned and decoded alike, and the answer's time does not
// tell which numbers exist (TestServeTimingTellsNoNumbers in
// cmd/degreegate; a lookup of an unknown number had been 40–100 µs
// quicker).
func (s *Store) Current(ctx context.Context, certificateNumber string) (registry.Version, error) {
	decoy := ""
	if d := s.decoy.Load(); d != nil {
		decoy = *d
	}
	rows, err := s.pool.Query(ctx, `SELECT `+versionCols+` FROM (
		(SELECT * FROM record_versions WHERE certificate_number = $1 ORDER BY version DESC LIMIT 1)
		UNION ALL
		(SELECT * FROM record_versions WHERE certificate_number = $2 ORDER BY version DESC LIMIT 1)
	) v ORDER BY v.certificate_number = $1 DESC LIMIT 1`, certificateNumber, decoy)
	if err != nil {
		return registry.Version{}, readErr("read current version", err)
	}
	v, err := pgx.CollectExactlyOneRow(rows, scanVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return registry.Version{}, registry.ErrNotFound
	}
	if err != nil {
		return registry.Version{}, readErr("read current version", err)
	}
	if v.CertificateNumber != certificateNumber {
		return registry.Version{}, registry.ErrNotFound // the decoy's
	}
	if decoy == "" {
		s.decoy.CompareAndSwap(nil, &v.CertificateNumber)
	}
	return v, nil
}

// CurrentMany returns the newest versions of those certificates that
// exist, in one query whatever the number asked.
func (s *Store) CurrentMany(ctx context.Context, certificateNumbers []string) ([]registry.Version, error) {
	if len(certificateNumbers) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (v.certificate_number) `+versionCols+`
		FROM record_versions v WHERE v.certificate_number = ANY($1)
		ORDER BY v.certificate_number, v.version DESC`, certificateNumbers)
	if err != nil {
		return nil, readErr("read current versions", err)
	}
	vs, err := pgx.CollectRows(rows, scanVersion)
	if err != nil {
		return nil, readErr("read current versions", err)
	}
	return vs, nil
}

// ByPerson finds candidate rows through the person_index index and keeps
// those that are the newest version of their certificate, so a record
// whose person changed in a later version is found under the new person
// only.
func (s *Store) ByPerson(ctx context.Context, personIndex []byte) ([]registry.Version, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+versionCols+` FROM record_versions v
		WHERE v.person_index = $1 AND `+newest+`
		ORDER BY v.certificate_number`, personIndex)
	if err != nil {
		return nil, readErr("read versions by person", err)
	}
	vs, err := pgx.CollectRows(rows, scanVersion)
	if err != nil {
		return nil, readErr("read versions by person", err)
	}
	return vs, nil
}

// ByPersons is ByPerson for many indexes in one query: the person_index
// index answers = ANY as it answers =, and the same anti-join keeps the
// newest versions. A row matches once however often its index is in the
// array, so repeats need no DISTINCT.
func (s *Store) ByPersons(ctx context.Context, personIndexes [][]byte) ([]registry.Version, error) {
	if len(personIndexes) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+versionCols+` FROM record_versions v
		WHERE v.person_index = ANY($1) AND `+newest+`
		ORDER BY v.certificate_number`, personIndexes)
	if err != nil {
		return nil, readErr("read versions by persons", err)
	}
	vs, err := pgx.CollectRows(rows, scanVersion)
	if err != nil {
		return nil, readErr("read versions by persons", err)
	}
	return vs, nil
}

// History returns every version of a certificate, oldest first.
func (s *Store) History(ctx context.Context, certificateNumber string) ([]registry.Version, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+versionCols+` FROM record_versions v
		WHERE v.certificate_number = $1 ORDER BY v.version`, certificateNumber)
	if err != nil {
		return nil, readErr("read history", err)
	}
	vs, err := pgx.CollectRows(rows, scanVersion)
	if err != nil {
		return nil, readErr("read history", err)
	}
	if len(vs) == 0 {
		return nil, registry.ErrNotFound
	}
	return vs, nil
}

// Scan streams the newest version of every record the filter selects,
// ordered by certificate number, through a server-side cursor: memory
// stays flat however many records match, and the filter runs in SQL on
// the newest version's columns. fn runs between fetches, so it may use
// the store (on another pooled connection).
func (s *Store) Scan(ctx context.Context, f registry.Filter, fn func(registry.Version) error) error {
	where, args := filterSQL(f)
	query := `SELECT ` + versionCols + ` FROM record_versions v WHERE ` + newest + where +
		` ORDER BY v.certificate_number`
	return streamRows(ctx, s.pool, "version_stream", query, args, scanVersion, fn)
}

// ScanVersions streams every version, ordered by certificate number and
// version, through a server-side cursor as Scan does. The columns that
// copy a version's fields for lookups and filters must agree with its
// record: a row where they do not was changed behind the store's back,
// and is reported as a *registry.VersionError (VerifyTrail checks the
// record itself against its filing entry).
func (s *Store) ScanVersions(ctx context.Context, fn func(registry.Version) error) error {
	query := `SELECT ` + versionCols + `, v.certificate_number, v.kind, v.unit_code, v.degree_level, v.conferral_year, v.status
		FROM record_versions v ORDER BY v.certificate_number, v.version`
	return streamRows(ctx, s.pool, "version_all_stream", query, nil, scanIndexedVersion, fn)
}

// scanIndexedVersion reads versionCols and the indexed copies of the
// record's fields, and checks that they agree.
func scanIndexedVersion(row pgx.CollectableRow) (registry.Version, error) {
	var (
		v                               registry.Version
		ver, year                       int32
		body                            []byte
		cert, kind, unit, level, status string
	)
	if err := row.Scan(&ver, &v.KeyID, &v.Secret, &v.PersonIndex, &v.Digest, &body, &v.Change.Actor, &v.Change.Reason, &v.Change.At,
		&cert, &kind, &unit, &level, &year, &status); err != nil {
		return v, fmt.Errorf("read record version: %w", err)
	}
	if err := recordbin.DecodeRecord(body, &v.Record); err != nil {
		return v, fmt.Errorf("read record version %d: %w", ver, err)
	}
	v.Version = int(ver)
	v.Change.At = v.Change.At.UTC()
	r := &v.Record
	var differ []string
	for _, c := range []struct {
		name          string
		column, field string
	}{
		{"certificate_number", cert, r.CertificateNumber}, {"kind", kind, string(r.Kind)}, {"unit_code", unit, r.UnitCode},
		{"degree_level", level, string(r.DegreeLevel)}, {"status", status, string(r.Status)},
	} {
		if c.column != c.field {
			differ = append(differ, c.name)
		}
	}
	if int(year) != r.ConferralDate.Year() {
		differ = append(differ, "conferral_year")
	}
	if len(differ) > 0 {
		return v, &registry.VersionError{Ref: registry.VersionRef{CertificateNumber: cert, Version: v.Version},
			Reason: "its indexed columns (" + strings.Join(differ, ", ") + ") disagree with its record (changed outside the registry)"}
	}
	return v, nil
}

// filterSQL turns a Filter into extra AND conditions on alias v, with
// positional arguments (values never enter the SQL text).
func filterSQL(f registry.Filter) (string, []any) {
	var (
		b    strings.Builder
		args []any
	)
	cond := func(sql string, arg any) {
		args = append(args, arg)
		fmt.Fprintf(&b, " AND "+sql, len(args))
	}
	if f.ConferralYearFrom != 0 {
		cond("v.conferral_year >= $%d", f.ConferralYearFrom)
	}
	if f.ConferralYearTo != 0 {
		cond("v.conferral_year <= $%d", f.ConferralYearTo)
	}
	if len(f.Levels) > 0 {
		cond("v.degree_level = ANY($%d)", toStrings(f.Levels))
	}
	if len(f.UnitCodes) > 0 {
		cond("v.unit_code = ANY($%d)", f.UnitCodes)
	}
	if len(f.Statuses) > 0 {
		cond("v.status = ANY($%d)", toStrings(f.Statuses))
	}
	return b.String(), args
}

func toStrings[S ~string](xs []S) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// Count returns the number of certificates. Every certificate has
// exactly one version 1, so counting those counts certificates without a
// DISTINCT over the whole table.
func (s *Store) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM record_versions WHERE version = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count certificates: %w", err)
	}
	return n, nil
}

// readErr wraps a read's failure. One that never got an answer from the
// server — a refused or broken connection, a timeout — is also
// registry.ErrUnavailable, which callers answer as "try again" rather
// than as an internal error.
func readErr(what string, err error) error {
	if unreachable(err) {
		return fmt.Errorf("%s: %w: %w", what, registry.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func unreachable(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded)
}
