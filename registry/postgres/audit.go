package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/degreegate/degreegate/registry"
)

// AppendAudit links entries to the chain head and stores them, in one
// transaction:
//
//  1. SELECT the one-row audit_head FOR UPDATE. The row lock is held until
//     commit, so every other appender — in this process, another process
//     or another replica — waits here: the chain stays linear whatever
//     the number of writers, and waiting costs no retries.
//  2. Link the batch to that head in Go (registry.Link sets Seq, PrevHash
//     and Hash on each entry).
//  3. COPY all entries in, and move the head.
//  4. Commit, which releases the lock.
//
// A batch therefore costs one lock and a handful of round trips (BEGIN,
// lock, COPY's describe and data, the head, COMMIT) whatever its size.
// If anything fails, nothing of the batch is stored and the head does
// not move; the entries keep the links of the failed attempt and are
// linked afresh by the next call.
// Triggers refuse UPDATE, DELETE and TRUNCATE of audit_entries, and any
// move of the head that is not forward onto an existing entry.
func (s *Store) AppendAudit(ctx context.Context, entries []registry.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := registry.CheckStorable(entries); err != nil {
		return fmt.Errorf("postgres: append audit: %w", err)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var head registry.ChainHead
		err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head FOR UPDATE`).Scan(&head.Seq, &head.Hash)
		if errors.Is(err, pgx.ErrNoRows) {
			return errors.New("audit head row is missing")
		}
		if err != nil {
			return fmt.Errorf("lock audit head: %w", err)
		}
		for i := range entries {
			head = registry.Link(head, &entries[i])
		}
		// COPY in binary spares the gateway the nine arrays an INSERT of
		// unnested arrays needed, which with their encoding were a third
		// of what serve allocated per request (BenchmarkAppendAudit). The row holds values, not
		// pointers into the entry: pgx copies a pointer's target through
		// reflect.New, which allocates more.
		columns := []string{"seq", "at", "actor", "action", "record_ref", "purpose", "detail", "prev_hash", "hash"}
		var row [9]any
		rows := pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
			e := &entries[i]
			row = [9]any{e.Seq, e.At, e.Actor, e.Action, e.RecordRef, e.Purpose, e.Detail, e.PrevHash, e.Hash}
			return row[:], nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_entries"}, columns, rows); err != nil {
			return fmt.Errorf("write audit entries: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2`, head.Seq, head.Hash); err != nil {
			return fmt.Errorf("move audit head: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append %d audit entries: %w", len(entries), err)
	}
	return nil
}

// ScanAudit streams entries with Seq >= from, in Seq order, through a
// cursor (a trail may hold millions of entries).
func (s *Store) ScanAudit(ctx context.Context, from int64, fn func(registry.AuditEntry) error) error {
	return streamRows(ctx, s.pool, "audit_stream", `SELECT seq, at, actor, action, record_ref, purpose, detail, prev_hash, hash
		FROM audit_entries WHERE seq >= $1 ORDER BY seq`, []any{from}, scanAuditEntry, fn)
}

func scanAuditEntry(rows pgx.CollectableRow) (registry.AuditEntry, error) {
	var e registry.AuditEntry
	if err := rows.Scan(&e.Seq, &e.At, &e.Actor, &e.Action, &e.RecordRef, &e.Purpose, &e.Detail,
		&e.PrevHash, &e.Hash); err != nil {
		return registry.AuditEntry{}, fmt.Errorf("read audit entry: %w", err)
	}
	e.At = e.At.UTC()
	return e, nil
}

// AuditHead returns the recorded head of the chain.
func (s *Store) AuditHead(ctx context.Context) (registry.ChainHead, error) {
	var h registry.ChainHead
	err := s.pool.QueryRow(ctx, `SELECT seq, hash FROM audit_head`).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return registry.ChainHead{}, errors.New("read audit head: head row is missing")
	}
	if err != nil {
		return registry.ChainHead{}, fmt.Errorf("read audit head: %w", err)
	}
	return h, nil
}
