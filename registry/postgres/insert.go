package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordbin"
)

// insertAttempts bounds the retries of a batch that lost a race: when a
// concurrent Insert files one of our certificate numbers between our
// existence query and our COPY, the primary key refuses the COPY, the
// whole transaction rolls back, and the retry sees that record and
// decides Unchanged or Conflict for it.
const insertAttempts = 3

// lostRace tells the errors a retry of the whole batch can cure: a
// unique violation or a deadlock with a concurrent Insert.
func lostRace(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "40P01")
}

// copyColumns is the column order of the COPY in insertOnce.
var copyColumns = []string{
	"certificate_number", "version", "kind", "unit_code", "degree_level", "conferral_year", "status",
	"person_index", "key_id", "secret", "digest", "body", "actor", "reason", "changed_at",
}

// Insert files a batch of new records as version 1, all or nothing, in
// one transaction: one query finds which certificate numbers exist
// already (with the digests of all their versions), and one COPY writes
// the new ones. A record whose digest equals that of any stored version
// of its certificate is Unchanged; one that differs is a Conflict.
func (s *Store) Insert(ctx context.Context, batch []registry.Sealed, change registry.Change, filings []registry.AuditEntry) ([]registry.Outcome, error) {
	if len(batch) == 0 {
		return []registry.Outcome{}, nil
	}
	if err := registry.CheckFilings(batch, filings); err != nil {
		return nil, fmt.Errorf("insert: %w", err)
	}
	for i := range batch {
		if err := checkSealed(&batch[i]); err != nil {
			return nil, fmt.Errorf("insert: batch[%d]: %w", i, err)
		}
	}
	change.At = dbTime(change.At)
	var err error
	for attempt := 1; attempt <= insertAttempts; attempt++ {
		var out []registry.Outcome
		out, err = s.insertOnce(ctx, batch, change, filings)
		if err == nil {
			return out, nil
		}
		if !lostRace(err) {
			break
		}
	}
	return nil, fmt.Errorf("insert batch of %d records: %w", len(batch), err)
}

func (s *Store) insertOnce(ctx context.Context, batch []registry.Sealed, change registry.Change, filings []registry.AuditEntry) ([]registry.Outcome, error) {
	out := make([]registry.Outcome, len(batch))
	err := s.fileInTx(ctx, func(tx pgx.Tx) ([]registry.AuditEntry, error) {
		stored, err := storedDigests(ctx, tx, batch)
		if err != nil {
			return nil, err
		}
		fresh := make([]int, 0, len(batch))
		firstFresh := map[string]int{}
		for i := range batch {
			number := batch[i].CertificateNumber
			digests, exists := stored[number]
			switch {
			case !exists:
				// Callers keep numbers distinct within a batch; should one
				// repeat a number that is not on file, the batch would file
				// it twice, so it fails whole. (A stored number may repeat:
				// each copy is judged against the stored versions alone.)
				if j, dup := firstFresh[number]; dup {
					return nil, fmt.Errorf("batch[%d] repeats the certificate number of batch[%d], which is not on file", i, j)
				}
				firstFresh[number] = i
				out[i] = registry.Inserted
				fresh = append(fresh, i)
			case containsDigest(digests, batch[i].Digest):
				out[i] = registry.Unchanged
			default:
				out[i] = registry.Conflict
			}
		}
		if len(fresh) == 0 {
			return nil, nil
		}
		// COPY in key order: consecutive rows then land on the same
		// primary-key leaf pages instead of all over the index, which
		// makes the COPY of a batch markedly cheaper once the index
		// outgrows the cache (see BenchmarkInsert); and concurrent
		// batches that share numbers wait on each other in one order,
		// which keeps deadlocks rare.
		slices.SortFunc(fresh, func(a, b int) int {
			return strings.Compare(batch[a].CertificateNumber, batch[b].CertificateNumber)
		})
		src := &versionSource{batch: batch, rows: fresh, change: change, next: -1}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"record_versions"}, copyColumns, src)
		if err != nil {
			return nil, fmt.Errorf("copy new versions: %w", err)
		}
		if n != int64(len(fresh)) {
			return nil, fmt.Errorf("copy new versions: wrote %d of %d", n, len(fresh))
		}
		entries := make([]registry.AuditEntry, len(fresh))
		for k, i := range fresh {
			entries[k] = filings[i]
		}
		return entries, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// storedDigests returns, for each certificate of the batch already on
// file, the digests of all its versions: one query, whatever the size.
func storedDigests(ctx context.Context, tx pgx.Tx, batch []registry.Sealed) (map[string][][]byte, error) {
	numbers := make([]string, len(batch))
	for i := range batch {
		numbers[i] = batch[i].CertificateNumber
	}
	rows, err := tx.Query(ctx,
		`SELECT certificate_number, digest FROM record_versions WHERE certificate_number = ANY($1)`, numbers)
	if err != nil {
		return nil, fmt.Errorf("find existing certificates: %w", err)
	}
	defer rows.Close()
	stored := map[string][][]byte{}
	for rows.Next() {
		var (
			number string
			digest []byte
		)
		if err := rows.Scan(&number, &digest); err != nil {
			return nil, fmt.Errorf("find existing certificates: %w", err)
		}
		stored[number] = append(stored[number], digest)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find existing certificates: %w", err)
	}
	return stored, nil
}

func containsDigest(digests [][]byte, d []byte) bool {
	for _, x := range digests {
		if bytes.Equal(x, d) {
			return true
		}
	}
	return false
}

// versionSource feeds COPY one version-1 row per fresh record. pgx
// encodes each row as soon as Values returns, so one row slice and one
// body buffer serve the whole batch.
type versionSource struct {
	batch  []registry.Sealed
	rows   []int // indexes into batch
	change registry.Change
	next   int
	row    []any
	body   []byte
}

func (src *versionSource) Next() bool {
	src.next++
	return src.next < len(src.rows)
}

func (src *versionSource) Values() ([]any, error) {
	r := &src.batch[src.rows[src.next]]
	src.body = recordbin.AppendRecord(src.body[:0], &r.Record)
	src.row = versionRow(src.row[:0], r, 1, src.body, src.change)
	return src.row, nil
}

func (src *versionSource) Err() error { return nil }

// versionRow appends the values of one record_versions row in
// copyColumns order.
func versionRow(dst []any, r *registry.Sealed, version int32, body []byte, change registry.Change) []any {
	return append(dst,
		r.CertificateNumber, version, string(r.Kind), r.UnitCode, string(r.DegreeLevel),
		int32(r.ConferralDate.Year()), string(r.Status),
		r.PersonIndex, r.KeyID, r.Secret, r.Digest, body,
		change.Actor, change.Reason, change.At,
	)
}
