package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

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
//  3. Insert all entries with one INSERT … SELECT FROM unnest(…) and move
//     the head, both sent as one pipelined batch.
//  4. Commit, which releases the lock.
//
// A batch therefore costs one lock and four round trips (BEGIN, lock,
// write, COMMIT) whatever its size. If anything fails, nothing of the
// batch is stored and the head does not move; the entries keep the
// links of the failed attempt and are linked afresh by the next call.
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
		n := len(entries)
		var (
			seqs                                     = make([]int64, n)
			ats                                      = make([]time.Time, n)
			actors, actions, refs, purposes, details = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			prevs, hashes                            = make([][]byte, n), make([][]byte, n)
		)
		for i := range entries {
			e := &entries[i]
			head = registry.Link(head, e)
			seqs[i], ats[i], prevs[i], hashes[i] = e.Seq, e.At, e.PrevHash, e.Hash
			actors[i], actions[i], refs[i], purposes[i], details[i] = e.Actor, e.Action, e.RecordRef, e.Purpose, e.Detail
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO audit_entries (seq, at, actor, action, record_ref, purpose, detail, prev_hash, hash)
			SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
				$6::text[], $7::text[], $8::bytea[], $9::bytea[])`,
			seqs, ats, actors, actions, refs, purposes, details, prevs, hashes)
		b.Queue(`UPDATE audit_head SET seq = $1, hash = $2`, head.Seq, head.Hash)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("write audit entries: %w", err)
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
