package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/degreegate/degreegate/filing"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordbin"
)

var _ filing.Store = (*Store)(nil)

// filingColumns is the column order of the COPY in AddBatch.
var filingColumns = []string{
	"batch_id", "certificate_number", "unit_code", "province", "state", "since", "actor", "reason",
	"person_index", "key_id", "secret", "digest", "body",
}

// AddBatch stores a batch with its document and draft records, and their
// audit entries, in one transaction.
func (s *Store) AddBatch(ctx context.Context, b filing.Batch, document []byte, records []registry.Sealed, entries []registry.AuditEntry) error {
	for i := range records {
		if err := checkSealed(&records[i]); err != nil {
			return fmt.Errorf("add batch: record %d: %w", i, err)
		}
	}
	if err := registry.CheckStorable(entries); err != nil {
		return fmt.Errorf("add batch: %w", err)
	}
	numbers := make([]string, len(records))
	for i := range records {
		numbers[i] = records[i].CertificateNumber
	}
	created := dbTime(b.Created)
	err := s.fileInTx(ctx, func(tx pgx.Tx) ([]registry.AuditEntry, error) {
		// Look first, to name the numbers: the unique index refuses the
		// COPY too (a concurrent batch with the same numbers waits for
		// this one to commit, then fails), but says only that one is.
		live, err := liveNumbers(ctx, tx, numbers)
		if err != nil {
			return nil, err
		}
		if len(live) > 0 {
			return nil, &filing.InWorkflowError{Numbers: live}
		}
		_, err = tx.Exec(ctx, `INSERT INTO filing_batches (id, unit_code, province, collector, resolution_number,
			resolution_effective, resolution_sha256, resolution_document, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			b.ID, b.Unit, b.Province, b.Collector, b.Resolution.Number, b.Resolution.Effective.Time(),
			b.Resolution.SHA256[:], document, created)
		if err != nil {
			return nil, fmt.Errorf("insert batch: %w", err)
		}
		rows := make([][]any, len(records))
		for i := range records {
			r := &records[i]
			rows[i] = []any{b.ID, r.CertificateNumber, b.Unit, b.Province, string(filing.Draft), created, b.Collector, "",
				r.PersonIndex, r.KeyID, r.Secret, r.Digest, recordbin.AppendRecord(nil, &r.Record)}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"filing_records"}, filingColumns, pgx.CopyFromRows(rows)); err != nil {
			if isUniqueViolation(err) {
				return nil, fmt.Errorf("copy batch records: %w", filing.ErrInWorkflow)
			}
			return nil, fmt.Errorf("copy batch records: %w", err)
		}
		return entries, nil
	})
	if err != nil {
		return fmt.Errorf("add batch of %d records: %w", len(records), err)
	}
	return nil
}

// liveNumbers are those of numbers in a batch that was not withdrawn,
// or filed.
func liveNumbers(ctx context.Context, tx pgx.Tx, numbers []string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT certificate_number FROM filing_records
		WHERE certificate_number = ANY($1) AND state <> 'withdrawn'
		UNION SELECT certificate_number FROM record_versions WHERE certificate_number = ANY($1) AND version = 1
		ORDER BY 1`, numbers)
	if err != nil {
		return nil, fmt.Errorf("look up numbers in the workflow: %w", err)
	}
	live, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look up numbers in the workflow: %w", err)
	}
	return live, nil
}

const batchCols = `id, unit_code, province, collector, resolution_number, resolution_effective, resolution_sha256,
	octet_length(resolution_document), created_at, late_state, late_reason, late_applied_by, late_applied_at,
	late_decided_by, late_decided_at, late_decision`

// Batch returns a batch, or filing.ErrNotFound.
func (s *Store) Batch(ctx context.Context, id string) (filing.Batch, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+batchCols+` FROM filing_batches WHERE id = $1`, id)
	if err != nil {
		return filing.Batch{}, readErr("read batch", err)
	}
	b, err := pgx.CollectExactlyOneRow(rows, scanBatch)
	if errors.Is(err, pgx.ErrNoRows) {
		return filing.Batch{}, filing.ErrNotFound
	}
	if err != nil {
		return filing.Batch{}, readErr("read batch", err)
	}
	return b, nil
}

func scanBatch(row pgx.CollectableRow) (filing.Batch, error) {
	var (
		b                filing.Batch
		effective        time.Time
		sum              []byte
		applied, decided *time.Time
		lateState        string
	)
	err := row.Scan(&b.ID, &b.Unit, &b.Province, &b.Collector, &b.Resolution.Number, &effective, &sum,
		&b.Resolution.Size, &b.Created, &lateState, &b.Late.Reason, &b.Late.AppliedBy, &applied,
		&b.Late.DecidedBy, &decided, &b.Late.Decision)
	if err != nil {
		return b, fmt.Errorf("read batch: %w", err)
	}
	if len(sum) != len(b.Resolution.SHA256) {
		return b, fmt.Errorf("read batch: a document digest of %d bytes", len(sum))
	}
	copy(b.Resolution.SHA256[:], sum)
	b.Resolution.Effective = registry.DateOf(effective)
	b.Created = b.Created.UTC()
	b.Late.State = filing.LateState(lateState)
	if applied != nil {
		b.Late.AppliedAt = applied.UTC()
	}
	if decided != nil {
		b.Late.DecidedAt = decided.UTC()
	}
	return b, nil
}

// Document returns a batch's resolution document.
func (s *Store) Document(ctx context.Context, batchID string) ([]byte, error) {
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT resolution_document FROM filing_batches WHERE id = $1`, batchID).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, filing.ErrNotFound
	}
	if err != nil {
		return nil, readErr("read resolution document", err)
	}
	return doc, nil
}

const itemCols = `batch_id, certificate_number, state, since, actor, reason, person_index, key_id, secret, digest, body`

func scanItem(row pgx.CollectableRow) (filing.Item, error) {
	var (
		it     filing.Item
		number string // the body holds it too
		state  string
		body   []byte
	)
	if err := row.Scan(&it.BatchID, &number, &state, &it.Since, &it.Actor, &it.Reason,
		&it.PersonIndex, &it.KeyID, &it.Secret, &it.Digest, &body); err != nil {
		return it, fmt.Errorf("read filing record: %w", err)
	}
	if err := recordbin.DecodeRecord(body, &it.Record); err != nil {
		return it, fmt.Errorf("read filing record: %w", err)
	}
	it.State = filing.State(state)
	it.Since = it.Since.UTC()
	return it, nil
}

// Items returns a batch's records by certificate number.
func (s *Store) Items(ctx context.Context, batchID string) ([]filing.Item, error) {
	if _, err := s.Batch(ctx, batchID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+itemCols+` FROM filing_records WHERE batch_id = $1
		ORDER BY certificate_number`, batchID)
	if err != nil {
		return nil, readErr("read batch records", err)
	}
	items, err := pgx.CollectRows(rows, scanItem)
	if err != nil {
		return nil, readErr("read batch records", err)
	}
	return items, nil
}

// Queue pages through a province's or a unit's records by (since,
// certificate number).
func (s *Store) Queue(ctx context.Context, q filing.Query) ([]filing.Item, error) {
	states := q.States
	if len(states) == 0 {
		states = filing.States()
	}
	sql, args := queueSQL("filing_records", itemCols, "certificate_number", q, states)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, readErr("read queue", err)
	}
	items, err := pgx.CollectRows(rows, scanItem)
	if err != nil {
		return nil, readErr("read queue", err)
	}
	return items, nil
}

// queueSQL selects a page of table's rows q chooses in states, by
// (since, key). Each state is its own range of the queue indexes, so the
// query is one ordered, limited scan per state, merged: an ANY over the
// states read and sorted every row of them (BenchmarkFilingQueue).
// q.After's CertificateNumber holds the last row's key.
func queueSQL(table, cols, key string, q filing.Query, states []filing.State) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Province != "" {
		where = append(where, "province = "+arg(q.Province))
	}
	if q.Unit != "" {
		where = append(where, "unit_code = "+arg(q.Unit))
	}
	if q.After != nil {
		where = append(where, "(since, "+key+") > ("+arg(dbTime(q.After.Since))+", "+arg(q.After.CertificateNumber)+")")
	}
	limit := arg(q.Limit)
	order := " ORDER BY since, " + key + " LIMIT " + limit
	var parts []string
	for _, st := range slices.Compact(slices.Sorted(slices.Values(states))) {
		cond := append(slices.Clip(where), "state = "+arg(string(st)))
		parts = append(parts, `(SELECT `+cols+` FROM `+table+` WHERE `+strings.Join(cond, " AND ")+order+`)`)
	}
	return `SELECT * FROM (` + strings.Join(parts, " UNION ALL ") + `) q` + order, args
}

// Move applies a transition: one UPDATE for every state move (which
// matches a row only while it is in its From state), the corrected
// contents, one COPY of the filed versions, and the entries.
func (s *Store) Move(ctx context.Context, t filing.Transition) error {
	if len(t.Entries) != len(t.Moves) {
		return fmt.Errorf("move: %d moves, %d audit entries", len(t.Moves), len(t.Entries))
	}
	if err := registry.CheckStorable(t.Entries); err != nil {
		return fmt.Errorf("move: %w", err)
	}
	at := dbTime(t.At)
	n := len(t.Moves)
	batches, numbers, from, to := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	var files []int
	for i, m := range t.Moves {
		batches[i], numbers[i], from[i], to[i] = m.BatchID, m.CertificateNumber, string(m.From), string(m.To)
		if m.Content != nil {
			if err := checkSealed(m.Content); err != nil {
				return fmt.Errorf("move: %w", err)
			}
		}
		if m.File != nil {
			if err := checkSealed(&m.File.Sealed); err != nil {
				return fmt.Errorf("move: %w", err)
			}
			files = append(files, i)
		}
	}
	err := s.fileInTx(ctx, func(tx pgx.Tx) ([]registry.AuditEntry, error) {
		tag, err := tx.Exec(ctx, `UPDATE filing_records f SET state = m.to_state, since = $5, actor = $6, reason = $7
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS m(batch_id, certificate_number, from_state, to_state)
			WHERE f.batch_id = m.batch_id AND f.certificate_number = m.certificate_number AND f.state = m.from_state`,
			batches, numbers, from, to, at, t.Actor, t.Reason)
		if err != nil {
			return nil, fmt.Errorf("move records: %w", err)
		}
		if tag.RowsAffected() != int64(n) {
			return nil, filing.ErrStateChanged
		}
		for _, m := range t.Moves {
			if m.Content == nil {
				continue
			}
			c := m.Content
			if _, err := tx.Exec(ctx, `UPDATE filing_records SET person_index = $3, key_id = $4, secret = $5, digest = $6, body = $7
				WHERE batch_id = $1 AND certificate_number = $2`, m.BatchID, m.CertificateNumber,
				c.PersonIndex, c.KeyID, c.Secret, c.Digest, recordbin.AppendRecord(nil, &c.Record)); err != nil {
				return nil, fmt.Errorf("correct record: %w", err)
			}
		}
		if len(files) > 0 {
			slices.SortFunc(files, func(a, b int) int {
				return strings.Compare(t.Moves[a].CertificateNumber, t.Moves[b].CertificateNumber)
			})
			rows := make([][]any, len(files))
			for k, i := range files {
				v := t.Moves[i].File
				change := v.Change.Stored()
				rows[k] = versionRow(nil, &v.Sealed, int32(v.Version), recordbin.AppendRecord(nil, &v.Record), change)
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"record_versions"}, copyColumns, pgx.CopyFromRows(rows)); err != nil {
				if isUniqueViolation(err) {
					return nil, fmt.Errorf("file versions: %w", registry.ErrVersionConflict)
				}
				return nil, fmt.Errorf("file versions: %w", err)
			}
		}
		return t.Entries, nil
	})
	if err != nil {
		return fmt.Errorf("%d moves: %w", n, err)
	}
	return nil
}

// SetLate moves a batch's late application from one state to the next.
func (s *Store) SetLate(ctx context.Context, batchID string, from filing.LateState, late filing.Late, entry registry.AuditEntry) error {
	entries := []registry.AuditEntry{entry}
	if err := registry.CheckStorable(entries); err != nil {
		return fmt.Errorf("set late application: %w", err)
	}
	err := s.fileInTx(ctx, func(tx pgx.Tx) ([]registry.AuditEntry, error) {
		tag, err := tx.Exec(ctx, `UPDATE filing_batches SET late_state = $3, late_reason = $4, late_applied_by = $5,
			late_applied_at = $6, late_decided_by = $7, late_decided_at = $8, late_decision = $9
			WHERE id = $1 AND late_state = $2`, batchID, string(from), string(late.State), late.Reason, late.AppliedBy,
			nullTime(late.AppliedAt), late.DecidedBy, nullTime(late.DecidedAt), late.Decision)
		if err != nil {
			return nil, fmt.Errorf("set late application: %w", err)
		}
		if tag.RowsAffected() != 1 {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM filing_batches WHERE id = $1`, batchID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
				return nil, filing.ErrNotFound
			}
			return nil, filing.ErrStateChanged
		}
		return entries, nil
	})
	if err != nil {
		return fmt.Errorf("batch late application: %w", err)
	}
	return nil
}

// StageUpload starts a staged upload.
func (s *Store) StageUpload(ctx context.Context, u filing.Staged) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO filing_uploads (id, owner, kind, format, size, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, u.ID, u.Owner, u.Kind, u.Format, u.Size, dbTime(u.Created))
	if err != nil {
		return readErr("stage upload", err)
	}
	return nil
}

// AppendStaged appends a part where the upload stands: the counter
// moves only from the offset the part was sent for, so of two parts
// sent for one offset one is kept.
func (s *Store) AppendStaged(ctx context.Context, id string, offset int64, part []byte) (int64, error) {
	var received int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE filing_uploads SET received = received + $3
			WHERE id = $1 AND received = $2 AND received + $3 <= size RETURNING received`,
			id, offset, int64(len(part))).Scan(&received)
		if errors.Is(err, pgx.ErrNoRows) {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM filing_uploads WHERE id = $1`, id).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
				return filing.ErrNotFound
			}
			return filing.ErrOffset
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO filing_upload_parts (upload_id, "offset", bytes) VALUES ($1, $2, $3)`, id, offset, part)
		return err
	})
	if err != nil {
		if errors.Is(err, filing.ErrNotFound) || errors.Is(err, filing.ErrOffset) {
			return 0, err
		}
		return 0, readErr("append upload part", err)
	}
	return received, nil
}

// Staged returns a staged upload's state.
func (s *Store) Staged(ctx context.Context, id string) (filing.Staged, error) {
	u := filing.Staged{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT owner, kind, format, size, received, created_at FROM filing_uploads WHERE id = $1`, id).
		Scan(&u.Owner, &u.Kind, &u.Format, &u.Size, &u.Received, &u.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return filing.Staged{}, filing.ErrNotFound
	}
	if err != nil {
		return filing.Staged{}, readErr("read upload", err)
	}
	u.Created = u.Created.UTC()
	return u, nil
}

// StagedContent joins a staged upload's parts.
func (s *Store) StagedContent(ctx context.Context, id string) ([]byte, error) {
	var out []byte
	err := s.pool.QueryRow(ctx, `SELECT coalesce(string_agg(bytes, ''::bytea ORDER BY "offset"), ''::bytea)
		FROM filing_upload_parts WHERE upload_id = $1`, id).Scan(&out)
	if err != nil {
		return nil, readErr("read upload", err)
	}
	return out, nil
}

// PurgeStaged removes old staged uploads; their parts go with them.
func (s *Store) PurgeStaged(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM filing_uploads WHERE created_at < $1`, dbTime(before))
	if err != nil {
		return 0, readErr("purge staged uploads", err)
	}
	return tag.RowsAffected(), nil
}
