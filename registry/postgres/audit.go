package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/degreegate/degreegate/registry"
)

// AppendAudit links entries to the chain head and stores them, in one
// transaction and, while this process knows the head, one round trip:
//
//  1. Link the batch in Go to the head this Store last saw (registry.Link
//     sets Seq, PrevHash and Hash on each entry); read it first if it
//     is not known.
//  2. Send, in one pipelined implicit transaction: lock the head row if
//     it is still where this Store saw it (degreegate_audit_lock_head,
//     which fails otherwise), INSERT every entry, move the head.
//     PostgreSQL commits all at the end of the pipeline, or nothing.
//  3. If another appender — another process or replica — moved the head
//     first, lock the head row (SELECT … FOR UPDATE) in a transaction,
//     link to what it holds, and send the same three statements before
//     the commit releases the lock.
//
// Every appender takes the head's row lock before it inserts, so none
// waits on another's entries while holding the head, and contention
// costs round trips, never progress (nor a deadlock).
//
// Appenders therefore form one linear chain whatever their number. A
// gateway's group commit waits on this call, so a commit costs one round
// trip and PostgreSQL's flush rather than the six round trips of a
// locked read, COPY, update and commit, which under load held each
// group for several milliseconds (bench-gateway.sh C, issue 15).
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
	s.audit.Lock()
	defer s.audit.Unlock()
	var err error
	if s.audit.known {
		err = s.audit.pool.SendBatch(ctx, appendBatch(s.audit.head, entries)).Close()
		if err != nil && !headMoved(err) {
			s.audit.known = false // the outcome may be unknown: read the head next time
			return fmt.Errorf("append %d audit entries: %w", len(entries), err)
		}
	}
	if !s.audit.known || err != nil {
		err = pgx.BeginFunc(ctx, s.audit.pool, func(tx pgx.Tx) error {
			var head registry.ChainHead
			if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head FOR UPDATE`).Scan(&head.Seq, &head.Hash); err != nil {
				return fmt.Errorf("lock audit head: %w", err)
			}
			return tx.SendBatch(ctx, appendBatch(head, entries)).Close()
		})
		if err != nil {
			s.audit.known = false
			return fmt.Errorf("append %d audit entries: %w", len(entries), err)
		}
	}
	last := entries[len(entries)-1]
	s.audit.head, s.audit.known = registry.ChainHead{Seq: last.Seq, Hash: last.Hash}, true
	return nil
}

// appendBatch links entries to head and queues the lock of the head (if
// it is still head), their INSERT and the move of the head to the last.
func appendBatch(head registry.ChainHead, entries []registry.AuditEntry) *pgx.Batch {
	old := head
	n := len(entries)
	seqs, prevs, hashes := make([]int64, n), make([][]byte, n), make([][]byte, n)
	ats := make([]time.Time, n)
	actors, actions, refs, purposes, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i := range entries {
		head = registry.Link(head, &entries[i])
		e := &entries[i]
		seqs[i], ats[i], actors[i], actions[i], refs[i], purposes[i], details[i], prevs[i], hashes[i] =
			e.Seq, e.At, e.Actor, e.Action, e.RecordRef, e.Purpose, e.Detail, e.PrevHash, e.Hash
	}
	// Unnested arrays, not COPY: COPY cannot join a pipeline. They take
	// 2.5 times COPY's memory for a batch of 256, and the same time
	// (BenchmarkAppendAudit, docs/benchmarks.md); the round trips saved
	// are what a commit of a few entries costs.
	b := &pgx.Batch{}
	b.Queue(`SELECT degreegate_audit_lock_head($1, $2)`, old.Seq, old.Hash)
	b.Queue(`INSERT INTO audit_entries (seq, at, actor, action, record_ref, purpose, detail, prev_hash, hash)
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bytea[])`,
		seqs, ats, actors, actions, refs, purposes, details, prevs, hashes)
	b.Queue(`UPDATE audit_head SET seq = $1, hash = $2`, head.Seq, head.Hash)
	return b
}

// headMoved: another appender moved the head since this Store saw it.
func headMoved(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40001" // serialization_failure
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
