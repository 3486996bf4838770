package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordbin"
)

var _ registry.DatasetStore = (*Store)(nil)

// datasetCols are the columns every dataset query selects, in the order
// scanDataset reads them.
const datasetCols = `id, contractor, purpose, legal_basis, policy_version, spec, requested_by, requested_at, key_id, key,
	status, decided_by, decided_at, decision_note, built_at, expires_at, manifest, failure, purged_at`

func scanDataset(row pgx.Row) (registry.Dataset, error) {
	var (
		d                               registry.Dataset
		spec, status                    string
		decided, built, expires, purged *time.Time
	)
	if err := row.Scan(&d.ID, &d.Contractor, &d.Purpose, &d.LegalBasis, &d.PolicyVersion, &spec,
		&d.RequestedBy, &d.RequestedAt, &d.KeyID, &d.SealedKey, &status, &d.DecidedBy, &decided, &d.DecisionNote,
		&built, &expires, &d.Manifest, &d.Failure, &purged); err != nil {
		return registry.Dataset{}, err
	}
	if err := json.Unmarshal([]byte(spec), &d.Spec); err != nil {
		return registry.Dataset{}, fmt.Errorf("dataset %s: spec: %w", d.ID, err)
	}
	d.Status = registry.DatasetStatus(status)
	d.RequestedAt = d.RequestedAt.UTC()
	d.DecidedAt, d.BuiltAt, d.ExpiresAt, d.PurgedAt = utcOrZero(decided), utcOrZero(built), utcOrZero(expires), utcOrZero(purged)
	return d, nil
}

func utcOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// PutDataset inserts a new request; the primary key refuses a duplicate.
func (s *Store) PutDataset(ctx context.Context, d registry.Dataset) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("put dataset: %w", err)
	}
	spec, err := json.Marshal(d.Spec)
	if err != nil {
		return fmt.Errorf("put dataset: spec: %w", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO datasets (`+datasetCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		d.ID, d.Contractor, d.Purpose, d.LegalBasis, d.PolicyVersion, string(spec), d.RequestedBy,
		dbTime(d.RequestedAt), d.KeyID, d.SealedKey, string(d.Status), d.DecidedBy, nullTime(d.DecidedAt), d.DecisionNote,
		nullTime(d.BuiltAt), nullTime(d.ExpiresAt), nullBytes(d.Manifest), d.Failure, nullTime(d.PurgedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("put dataset: %w", registry.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("put dataset: %w", err)
	}
	return nil
}

func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Dataset reads one dataset.
func (s *Store) Dataset(ctx context.Context, id string) (registry.Dataset, error) {
	d, err := scanDataset(s.pool.QueryRow(ctx, `SELECT `+datasetCols+` FROM datasets WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return registry.Dataset{}, fmt.Errorf("dataset: %w", registry.ErrNotFound)
	}
	if err != nil {
		return registry.Dataset{}, fmt.Errorf("read dataset: %w", err)
	}
	return d, nil
}

// Datasets lists datasets newest first, in the order of the indexes.
func (s *Store) Datasets(ctx context.Context, q registry.DatasetQuery) ([]registry.Dataset, error) {
	var (
		where []string
		args  []any
	)
	if q.Contractor != "" {
		args = append(args, q.Contractor)
		where = append(where, fmt.Sprintf("contractor = $%d", len(args)))
	}
	if len(q.Statuses) > 0 {
		args = append(args, toStrings(q.Statuses))
		where = append(where, fmt.Sprintf("status = ANY($%d)", len(args)))
	}
	query := `SELECT ` + datasetCols + ` FROM datasets`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := s.pool.Query(ctx, query+` ORDER BY requested_at DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.Dataset, error) { return scanDataset(r) })
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	return out, nil
}

// UpdateDataset locks the row, checks the move against what is stored
// and writes the new state, in one transaction: a concurrent move from
// the same status waits for the lock and then finds the status changed.
func (s *Store) UpdateDataset(ctx context.Context, id string, from registry.DatasetStatus, next registry.DatasetState) (registry.Dataset, error) {
	var out registry.Dataset
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		cur, err := scanDataset(tx.QueryRow(ctx, `SELECT `+datasetCols+` FROM datasets WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return registry.ErrNotFound
		}
		if err != nil {
			return err
		}
		out = cur
		if cur.Status != from {
			return registry.ErrDatasetTransition
		}
		if err := registry.CheckTransition(cur, next); err != nil {
			return err
		}
		out, err = scanDataset(tx.QueryRow(ctx, `UPDATE datasets SET status = $2, decided_by = $3, decided_at = $4,
			decision_note = $5, built_at = $6, expires_at = $7, manifest = $8, failure = $9, purged_at = $10
			WHERE id = $1 RETURNING `+datasetCols,
			id, string(next.Status), next.DecidedBy, nullTime(next.DecidedAt), next.DecisionNote,
			nullTime(next.BuiltAt), nullTime(next.ExpiresAt), nullBytes(next.Manifest), next.Failure, nullTime(next.PurgedAt)))
		return err
	})
	if err != nil {
		return out, fmt.Errorf("update dataset: %w", err)
	}
	return out, nil
}

var _ registry.LegacyKeySealer = (*Store)(nil)

// SealLegacyKey seals a key stored in clear before migration 00006. The
// WHERE clause makes it happen at most once, whoever runs it; the guard
// trigger allows no other change of a key.
func (s *Store) SealLegacyKey(ctx context.Context, id, keyID string, sealed []byte) error {
	if keyID == "" || len(sealed) != registry.SealedDatasetKeySize {
		return fmt.Errorf("seal legacy dataset key: %w", &registry.InvalidError{Violations: []registry.Violation{
			{Field: "key", Code: registry.CodeFormat, Message: "want a key sealed by Keyring.SealDatasetKey"}}})
	}
	tag, err := s.pool.Exec(ctx, `UPDATE datasets SET key_id = $2, key = $3 WHERE id = $1 AND key_id = ''`, id, keyID, sealed)
	if err != nil {
		return fmt.Errorf("seal legacy dataset key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM datasets WHERE id = $1)`, id).Scan(&exists); err != nil {
		return fmt.Errorf("seal legacy dataset key: %w", err)
	}
	if !exists {
		return fmt.Errorf("seal legacy dataset key: %w", registry.ErrNotFound)
	}
	return fmt.Errorf("seal legacy dataset key: already sealed: %w", registry.ErrDatasetTransition)
}

var _ registry.BulkScanner = (*Store)(nil)

// ScanBulk streams, in one read-only snapshot, the newest versions the
// filter selects, unordered: without ORDER BY the server runs a
// (parallel) hash anti-join and sends rows as it finds them, and pgx
// hands them over as they arrive, so the server's work, the transfer and
// fn overlap. fn runs while the query is open: it must not use the store.
// JIT is off for the query: compiling costs more than it saves here. The
// anti-join's hash of certificate numbers takes some 63 MB at a million
// records; under the default work_mem (4 MB, hash tables twice that) it
// spilled to temporary files in 8 batches, so the query gets 64 MB
// (128 MB of hash); builds run one at a time.
func (s *Store) ScanBulk(ctx context.Context, f registry.Filter, fn func(registry.Version) error) error {
	where, args := filterSQL(f)
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("bulk scan: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'"); err != nil {
		return fmt.Errorf("bulk scan: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT v.version, v.person_index, v.body FROM record_versions v WHERE `+newest+where, args...)
	if err != nil {
		return fmt.Errorf("bulk scan: %w", err)
	}
	defer rows.Close()
	var (
		ver  int32
		body []byte
	)
	for rows.Next() {
		var v registry.Version
		if err := rows.Scan(&ver, &v.PersonIndex, &body); err != nil {
			return fmt.Errorf("bulk scan: %w", err)
		}
		if err := recordbin.DecodeRecord(body, &v.Record); err != nil {
			return fmt.Errorf("bulk scan: record version %d: %w", ver, err)
		}
		v.Version = int(ver)
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bulk scan: %w", err)
	}
	return nil
}
