package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/degreegate/degreegate/filing"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordbin"
)

// AddRequest stores a request with its evidence and entry.
func (s *Store) AddRequest(ctx context.Context, r filing.Request, evidence []byte, entry registry.AuditEntry) error {
	if err := checkSealed(&r.Proposed); err != nil {
		return fmt.Errorf("add request: %w", err)
	}
	entries := []registry.AuditEntry{entry}
	if err := registry.CheckStorable(entries); err != nil {
		return fmt.Errorf("add request: %w", err)
	}
	p := &r.Proposed
	err := s.fileInTx(ctx, func(tx pgx.Tx) ([]registry.AuditEntry, error) {
		_, err := tx.Exec(ctx, `INSERT INTO filing_requests (id, kind, certificate_number, unit_code, province, base_version,
			key_field, requested_by, requested_at, reason, evidence_sha256, evidence, state, since,
			person_index, key_id, secret, digest, body, changed)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
			r.ID, string(r.Kind), r.CertificateNumber, r.Unit, r.Province, int32(r.BaseVersion), r.KeyField,
			r.RequestedBy, dbTime(r.RequestedAt), r.Reason, r.EvidenceSHA256[:], evidence, string(r.State), dbTime(r.Since),
			p.PersonIndex, p.KeyID, p.Secret, p.Digest, recordbin.AppendRecord(nil, &p.Record), r.Changed)
		if isUniqueViolation(err) {
			return nil, filing.ErrPendingRequest
		}
		if err != nil {
			return nil, fmt.Errorf("insert request: %w", err)
		}
		return entries, nil
	})
	if err != nil {
		return fmt.Errorf("add request: %w", err)
	}
	return nil
}

const requestCols = `id, kind, certificate_number, unit_code, province, base_version, key_field, requested_by, requested_at,
	reason, evidence_sha256, octet_length(evidence), state, since, outcome, decided_by, decided_at, decision,
	person_index, key_id, secret, digest, body, changed`

func scanRequest(row pgx.CollectableRow) (filing.Request, error) {
	var (
		r                    filing.Request
		kind, state, outcome string
		base                 int32
		sum, body            []byte
		decided              *time.Time
	)
	err := row.Scan(&r.ID, &kind, &r.CertificateNumber, &r.Unit, &r.Province, &base, &r.KeyField, &r.RequestedBy,
		&r.RequestedAt, &r.Reason, &sum, &r.EvidenceSize, &state, &r.Since, &outcome, &r.DecidedBy, &decided, &r.Decision,
		&r.Proposed.PersonIndex, &r.Proposed.KeyID, &r.Proposed.Secret, &r.Proposed.Digest, &body, &r.Changed)
	if err != nil {
		return r, fmt.Errorf("read request: %w", err)
	}
	if err := recordbin.DecodeRecord(body, &r.Proposed.Record); err != nil {
		return r, fmt.Errorf("read request: %w", err)
	}
	copy(r.EvidenceSHA256[:], sum)
	r.Kind, r.State, r.Outcome, r.BaseVersion = filing.RequestKind(kind), filing.State(state), filing.Action(outcome), int(base)
	r.RequestedAt, r.Since = r.RequestedAt.UTC(), r.Since.UTC()
	if decided != nil {
		r.DecidedAt = decided.UTC()
	}
	return r, nil
}

// Request returns a request.
func (s *Store) Request(ctx context.Context, id string) (filing.Request, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+requestCols+` FROM filing_requests WHERE id = $1`, id)
	if err != nil {
		return filing.Request{}, readErr("read request", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanRequest)
	if errors.Is(err, pgx.ErrNoRows) {
		return filing.Request{}, filing.ErrNotFound
	}
	if err != nil {
		return filing.Request{}, readErr("read request", err)
	}
	return r, nil
}

// Requests pages through requests as Queue does records.
func (s *Store) Requests(ctx context.Context, q filing.Query) ([]filing.Request, error) {
	states := q.States
	if len(states) == 0 {
		states = []filing.State{filing.ChangeRequested, filing.AwaitingConsent, filing.DeletionRequested, filing.RevocationReported,
			filing.Filed, filing.Deleted, filing.Revoked}
	}
	sql, args := queueSQL("filing_requests", requestCols, "id", q, states)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, readErr("read requests", err)
	}
	out, err := pgx.CollectRows(rows, scanRequest)
	if err != nil {
		return nil, readErr("read requests", err)
	}
	return out, nil
}

// DecideRequest moves a request on and files its version, together.
func (s *Store) DecideRequest(ctx context.Context, r filing.Request, from filing.State, file *registry.Version, entries []registry.AuditEntry) error {
	if err := registry.CheckStorable(entries); err != nil {
		return fmt.Errorf("decide request: %w", err)
	}
	var args []any
	if file != nil {
		if err := checkSealed(&file.Sealed); err != nil {
			return fmt.Errorf("decide request: %w", err)
		}
		change := file.Change.Stored()
		args = versionRow(nil, &file.Sealed, int32(file.Version-1), recordbin.AppendRecord(nil, &file.Record), change)
	}
	err := s.fileInTx(ctx, func(tx pgx.Tx) ([]registry.AuditEntry, error) {
		tag, err := tx.Exec(ctx, `UPDATE filing_requests SET state = $3, since = $4, outcome = $5, decided_by = $6,
			decided_at = $7, decision = $8 WHERE id = $1 AND state = $2 AND outcome = ''`,
			r.ID, string(from), string(r.State), dbTime(r.Since), string(r.Outcome), r.DecidedBy, nullTime(r.DecidedAt), r.Decision)
		if err != nil {
			return nil, fmt.Errorf("decide request: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return nil, filing.ErrStateChanged
		}
		if file != nil {
			tag, err := tx.Exec(ctx, appendSQL, args...)
			if err != nil {
				return nil, err
			}
			if tag.RowsAffected() == 0 {
				return nil, registry.ErrVersionConflict // the record moved on since the request
			}
		}
		return entries, nil
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("decide request: %w", registry.ErrVersionConflict)
	case err != nil:
		return fmt.Errorf("decide request: %w", err)
	}
	return nil
}
