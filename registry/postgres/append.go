package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordbin"
)

// appendSQL writes version $2+1 only if $2 is the newest version now:
// the aggregate with HAVING yields one row when max(version) = $2 and
// none otherwise (including for an unknown certificate). Two appenders
// that both saw $2 race on the primary key; the loser gets a unique
// violation, which Append reports as ErrVersionConflict.
const appendSQL = `INSERT INTO record_versions (
	certificate_number, version, kind, unit_code, degree_level, conferral_year, status,
	person_index, key_id, secret, digest, body, actor, reason, changed_at)
SELECT $1, $2::integer + 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
FROM record_versions WHERE certificate_number = $1
HAVING max(version) = $2::integer`

// Append writes next as version after+1 of its certificate with its
// filing entry, in one transaction, optimistically: one statement for
// the version in the common case, a second only to tell ErrNotFound from
// ErrVersionConflict when nothing was written.
func (s *Store) Append(ctx context.Context, after int, next registry.Sealed, change registry.Change, filing registry.AuditEntry) (registry.Version, error) {
	if err := checkSealed(&next); err != nil {
		return registry.Version{}, fmt.Errorf("append: %w", err)
	}
	if err := registry.CheckFilings([]registry.Sealed{next}, []registry.AuditEntry{filing}); err != nil {
		return registry.Version{}, fmt.Errorf("append: %w", err)
	}
	change.At = dbTime(change.At)
	body := recordbin.AppendRecord(nil, &next.Record)
	args := versionRow(nil, &next, int32(after), body, change)
	err := s.fileInTx(ctx, func(tx pgx.Tx) ([]registry.AuditEntry, error) {
		tag, err := tx.Exec(ctx, appendSQL, args...)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			return nil, errNotAppended
		}
		return []registry.AuditEntry{filing}, nil
	})
	switch {
	case isUniqueViolation(err):
		return registry.Version{}, registry.ErrVersionConflict
	case errors.Is(err, errNotAppended):
		var newest *int32
		err := s.pool.QueryRow(ctx, `SELECT max(version) FROM record_versions WHERE certificate_number = $1`,
			next.CertificateNumber).Scan(&newest)
		switch {
		case errors.Is(err, pgx.ErrNoRows) || (err == nil && newest == nil):
			return registry.Version{}, registry.ErrNotFound
		case err != nil:
			return registry.Version{}, fmt.Errorf("append version: %w", err)
		}
		return registry.Version{}, registry.ErrVersionConflict
	case err != nil:
		return registry.Version{}, fmt.Errorf("append version: %w", err)
	}
	// The caller keeps its record: the result shares none of its slices.
	return registry.Version{Sealed: cloneSealed(next), Version: after + 1, Change: change}, nil
}

// errNotAppended: appendSQL wrote nothing (the certificate is unknown or
// has moved on).
var errNotAppended = errors.New("no version appended")

func cloneSealed(s registry.Sealed) registry.Sealed {
	s.Secret = bytes.Clone(s.Secret)
	s.PersonIndex = bytes.Clone(s.PersonIndex)
	s.Digest = bytes.Clone(s.Digest)
	s.ThesisKeywords = slices.Clone(s.ThesisKeywords)
	return s
}
