package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/translog"
)

// AppendAudit links entries to the chain head and stores them, in one
// transaction and, while this process knows the head, one round trip:
//
//  1. Link the batch in Go to the head this Store last saw (registry.Link
//     sets Seq, PrevHash and Hash on each entry); read it first if it
//     is not known.
//  2. Append the entries' leaves to the edge of the log this Store
//     keeps with the head (translog.Edge): no read.
//  3. Send, in one pipelined implicit transaction: lock the head row if
//     it is still where this Store saw it (degreegate_audit_lock_head,
//     which fails otherwise), INSERT every entry, INSERT the log's new
//     stored hashes (log_nodes), move the head and the log's size and
//     root.
//     PostgreSQL commits all at the end of the pipeline, or nothing.
//  4. If another appender — another process or replica — moved the head
//     first, lock the head row (SELECT … FOR UPDATE) in a transaction,
//     read the log's edge, link to what they hold, and send the same
//     statements before the commit releases the lock.
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
	leaves, err := registry.LeafHashes(entries)
	if err != nil {
		return fmt.Errorf("postgres: append audit: %w", err)
	}
	s.audit.Lock()
	defer s.audit.Unlock()
	var head registry.ChainHead
	var edge translog.Edge
	if s.audit.known {
		var b *pgx.Batch
		b, head, edge, err = appendBatch(s.audit.head, s.audit.edge, entries, leaves)
		if err == nil {
			err = s.audit.pool.SendBatch(ctx, b).Close()
		}
		if err != nil && !headMoved(err) {
			s.audit.known = false // the outcome may be unknown: read the head next time
			return fmt.Errorf("append %d audit entries: %w", len(entries), err)
		}
	}
	if !s.audit.known || err != nil {
		err = pgx.BeginFunc(ctx, s.audit.pool, func(tx pgx.Tx) error {
			cur, cedge, err := lockHead(ctx, tx)
			if err != nil {
				return err
			}
			if cur.LogSize != cur.Seq {
				return registry.ErrLogBehind
			}
			var b *pgx.Batch
			if b, head, edge, err = appendBatch(cur, cedge, entries, leaves); err != nil {
				return err
			}
			return tx.SendBatch(ctx, b).Close()
		})
		if err != nil {
			s.audit.known = false
			return fmt.Errorf("append %d audit entries: %w", len(entries), err)
		}
	}
	s.audit.head, s.audit.edge, s.audit.known = head, edge, true
	return nil
}

// fileInTx runs write in a transaction, then appends the filing entries
// write returns to the trail in the same transaction and commits: a
// version is stored with its leaf or not at all. The head is locked from
// the append to the commit only, not while write works.
func (s *Store) fileInTx(ctx context.Context, write func(tx pgx.Tx) ([]registry.AuditEntry, error)) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	entries, err := write(tx)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return tx.Commit(ctx)
	}
	leaves, err := registry.LeafHashes(entries)
	if err != nil {
		return err
	}
	s.audit.Lock()
	defer s.audit.Unlock()
	var cached *translog.Edge
	if s.audit.known {
		cached = &s.audit.edge
	}
	cur, cedge, err := lockHeadAt(ctx, tx, s.audit.head, cached)
	// Whatever happens next, the cached head may no longer be the head.
	s.audit.known = false
	if err != nil {
		return err
	}
	if cur.LogSize != cur.Seq {
		return registry.ErrLogBehind
	}
	l, err := link(cur, cedge, entries, leaves)
	if err != nil {
		return err
	}
	if err := copyBatch(ctx, tx, l); err != nil {
		return fmt.Errorf("append %d filing entries: %w", len(entries), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	s.audit.head, s.audit.edge, s.audit.known = l.head, l.edge, true
	return nil
}

// lockHead locks the head row in tx and reads it, with the edge of its
// log.
func lockHead(ctx context.Context, tx pgx.Tx) (registry.ChainHead, translog.Edge, error) {
	return lockHeadAt(ctx, tx, registry.ChainHead{}, nil)
}

// lockHeadAt is lockHead, which takes known, the edge of the log at
// head, instead of reading it when the head has not moved from there.
func lockHeadAt(ctx context.Context, tx pgx.Tx, head registry.ChainHead, known *translog.Edge) (registry.ChainHead, translog.Edge, error) {
	var h registry.ChainHead
	var root []byte
	err := tx.QueryRow(ctx, `SELECT seq, hash, log_size, log_root FROM audit_head FOR UPDATE`).Scan(&h.Seq, &h.Hash, &h.LogSize, &root)
	if err != nil {
		return h, translog.Edge{}, fmt.Errorf("lock audit head: %w", err)
	}
	copy(h.LogRoot[:], root)
	if known != nil && h.Seq == head.Seq && bytes.Equal(h.Hash, head.Hash) && h.LogSize == known.Size() && h.LogRoot == known.Root() {
		return h, *known, nil
	}
	edge, err := translog.LoadEdge(ctx, nodeReader{tx}, h.LogSize)
	if err != nil {
		return h, translog.Edge{}, fmt.Errorf("audit head: %w", err)
	}
	if edge.Root() != h.LogRoot {
		return h, translog.Edge{}, fmt.Errorf("audit head: log root does not match the log's stored hashes at %d", h.LogSize)
	}
	return h, edge, nil
}

// linkedBatch is a batch of entries linked to the chain and its log's
// new stored hashes, column by column, ready to be written.
type linkedBatch struct {
	old, head                       registry.ChainHead
	edge                            translog.Edge
	seqs                            []int64
	ats                             []time.Time
	actors, actions, refs, purposes []string
	details                         []string
	prevs, hashes                   [][]byte
	nodeLeaves                      []int64
	nodes                           [][]byte
}

// link links entries to head and appends their leaves to edge.
func link(head registry.ChainHead, edge translog.Edge, entries []registry.AuditEntry, leaves []tlog.Hash) (*linkedBatch, error) {
	stored, next, err := edge.Append(leaves)
	if err != nil {
		return nil, err
	}
	n := len(entries)
	l := &linkedBatch{old: head, edge: next,
		seqs: make([]int64, n), ats: make([]time.Time, n),
		actors: make([]string, n), actions: make([]string, n), refs: make([]string, n), purposes: make([]string, n), details: make([]string, n),
		prevs: make([][]byte, n), hashes: make([][]byte, n)}
	for i := range entries {
		head = registry.Link(head, &entries[i])
		e := &entries[i]
		l.seqs[i], l.ats[i], l.actors[i], l.actions[i], l.refs[i], l.purposes[i], l.details[i], l.prevs[i], l.hashes[i] =
			e.Seq, e.At, e.Actor, e.Action, e.RecordRef, e.Purpose, e.Detail, e.PrevHash, e.Hash
	}
	l.nodeLeaves, l.nodes = splitNodes(l.old.LogSize, n, stored)
	head.LogSize, head.LogRoot = next.Size(), next.Root()
	l.head = head
	return l, nil
}

// appendBatch links entries to head and appends their leaves to edge,
// and queues the lock of the head (if it is still head), the INSERT of
// entries and nodes and the move of the head to the last.
func appendBatch(head registry.ChainHead, edge translog.Edge, entries []registry.AuditEntry, leaves []tlog.Hash) (*pgx.Batch, registry.ChainHead, translog.Edge, error) {
	l, err := link(head, edge, entries, leaves)
	if err != nil {
		return nil, head, edge, err
	}
	// Unnested arrays, not COPY: COPY cannot join a pipeline. They take
	// 2.5 times COPY's memory for a batch of 256, and the same time
	// (BenchmarkAppendAudit, docs/benchmarks.md); the round trips saved
	// are what a commit of a few entries costs.
	b := &pgx.Batch{}
	b.Queue(`SELECT degreegate_audit_lock_head($1, $2)`, l.old.Seq, l.old.Hash)
	b.Queue(`INSERT INTO audit_entries (seq, at, actor, action, record_ref, purpose, detail, prev_hash, hash)
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bytea[])`,
		l.seqs, l.ats, l.actors, l.actions, l.refs, l.purposes, l.details, l.prevs, l.hashes)
	b.Queue(`INSERT INTO log_nodes (leaf, hashes) SELECT * FROM unnest($1::bigint[], $2::bytea[])`, l.nodeLeaves, l.nodes)
	b.Queue(`UPDATE audit_head SET seq = $1, hash = $2, log_size = $3, log_root = $4`, l.head.Seq, l.head.Hash, l.head.LogSize, l.head.LogRoot[:])
	return b, l.head, l.edge, nil
}

// copyBatch writes a linked batch in tx, whose head row it has locked,
// with COPY: a batch of an import's filing entries is thousands of rows,
// where COPY beats unnested arrays (bench-registry.sh's import).
func copyBatch(ctx context.Context, tx pgx.Tx, l *linkedBatch) error {
	n := len(l.seqs)
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_entries"},
		[]string{"seq", "at", "actor", "action", "record_ref", "purpose", "detail", "prev_hash", "hash"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return []any{l.seqs[i], l.ats[i], l.actors[i], l.actions[i], l.refs[i], l.purposes[i], l.details[i], l.prevs[i], l.hashes[i]}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy audit entries: %w", err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"log_nodes"}, []string{"leaf", "hashes"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) { return []any{l.nodeLeaves[i], l.nodes[i]}, nil }))
	if err != nil {
		return fmt.Errorf("copy log nodes: %w", err)
	}
	_, err = tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2, log_size = $3, log_root = $4`, l.head.Seq, l.head.Hash, l.head.LogSize, l.head.LogRoot[:])
	return err
}

// splitNodes cuts stored, the hashes that appending n leaves to a tree
// of size stored, into each leaf's row of log_nodes: leaf i stores
// tlog.StoredHashCount(i+1) - tlog.StoredHashCount(i) hashes.
func splitNodes(size int64, n int, stored []tlog.Hash) ([]int64, [][]byte) {
	leaves, nodes := make([]int64, n), make([][]byte, n)
	at := 0
	for i := range n {
		leaf := size + int64(i)
		k := int(tlog.StoredHashCount(leaf+1) - tlog.StoredHashCount(leaf))
		row := make([]byte, 0, k*tlog.HashSize)
		for _, h := range stored[at : at+k] {
			row = append(row, h[:]...)
		}
		leaves[i], nodes[i] = leaf, row
		at += k
	}
	return leaves, nodes
}

// nodeReader reads stored hashes from log_nodes: hash (level, n) is kept
// by the leaf that completes its subtree, (n+1)<<level - 1, at position
// level of its row.
type nodeReader struct {
	q interface {
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	}
}

func (r nodeReader) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	want := make([]int64, len(indexes))
	for i, x := range indexes {
		level, n := tlog.SplitStoredHashIndex(x)
		want[i] = (n+1)<<level - 1
	}
	rows, err := r.q.Query(ctx, `SELECT leaf, hashes FROM log_nodes WHERE leaf = ANY($1)`, want)
	if err != nil {
		return nil, fmt.Errorf("read log hashes: %w", err)
	}
	got := make(map[int64][]byte, len(want))
	var leaf int64
	var row []byte
	_, err = pgx.ForEachRow(rows, []any{&leaf, &row}, func() error {
		got[leaf] = bytes.Clone(row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read log hashes: %w", err)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		level, _ := tlog.SplitStoredHashIndex(x)
		row, ok := got[want[i]]
		if !ok || len(row) < (level+1)*tlog.HashSize {
			return nil, fmt.Errorf("read log hashes: stored hash %d is missing", x)
		}
		copy(out[i][:], row[level*tlog.HashSize:])
	}
	return out, nil
}

// ReadLogHashes reads the log's stored hashes at indexes.
func (s *Store) ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	return nodeReader{s.pool}.ReadHashes(ctx, indexes)
}

// ExtendLog makes up to max entries that are not yet leaves into leaves,
// under the head's lock, and returns the head it leaves.
func (s *Store) ExtendLog(ctx context.Context, max int, commit func(*registry.AuditEntry)) (registry.ChainHead, error) {
	s.audit.Lock()
	defer s.audit.Unlock()
	s.audit.known = false
	var head registry.ChainHead
	err := pgx.BeginFunc(ctx, s.audit.pool, func(tx pgx.Tx) error {
		cur, edge, err := lockHead(ctx, tx)
		if err != nil {
			return err
		}
		head = cur
		if cur.LogSize == cur.Seq || max < 1 {
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT seq, at, actor, action, record_ref, purpose, detail, prev_hash, hash
			FROM audit_entries WHERE seq > $1 ORDER BY seq LIMIT $2`, cur.LogSize, max)
		if err != nil {
			return fmt.Errorf("read audit entries: %w", err)
		}
		entries, err := pgx.CollectRows(rows, scanAuditEntry)
		if err != nil {
			return err
		}
		for i := range entries {
			if entries[i].Seq != cur.LogSize+int64(i)+1 {
				return fmt.Errorf("audit entry %d is missing: the trail has a gap", cur.LogSize+int64(i)+1)
			}
			commit(&entries[i])
		}
		leaves, err := registry.LeafHashes(entries)
		if err != nil {
			return err
		}
		stored, next, err := edge.Append(leaves)
		if err != nil {
			return err
		}
		nodeLeaves, nodes := splitNodes(cur.LogSize, len(entries), stored)
		head.LogSize, head.LogRoot = next.Size(), next.Root()
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO log_nodes (leaf, hashes) SELECT * FROM unnest($1::bigint[], $2::bytea[])`, nodeLeaves, nodes)
		b.Queue(`UPDATE audit_head SET log_size = $1, log_root = $2`, head.LogSize, head.LogRoot[:])
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return registry.ChainHead{}, fmt.Errorf("extend the log: %w", err)
	}
	return head, nil
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

// AuditHead returns the recorded head of the chain and its log.
func (s *Store) AuditHead(ctx context.Context) (registry.ChainHead, error) {
	var h registry.ChainHead
	var root []byte
	err := s.pool.QueryRow(ctx, `SELECT seq, hash, log_size, log_root FROM audit_head`).Scan(&h.Seq, &h.Hash, &h.LogSize, &root)
	copy(h.LogRoot[:], root)
	if errors.Is(err, pgx.ErrNoRows) {
		return registry.ChainHead{}, errors.New("read audit head: head row is missing")
	}
	if err != nil {
		return registry.ChainHead{}, fmt.Errorf("read audit head: %w", err)
	}
	return h, nil
}
