package inmem

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/registry"
)

// auditPage is how many entries ScanAudit copies under one read lock; fn
// runs without it, so it may itself append to the trail.
const auditPage = 1024

// AppendAudit links entries to the head, setting Seq, PrevHash and Hash on
// the caller's entries, and stores copies of them. One write lock covers
// reading the head, linking and moving it, so concurrent appenders form
// one chain.
func (s *Store) AppendAudit(ctx context.Context, entries []registry.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: append audit: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	if err := registry.CheckStorable(entries); err != nil {
		return fmt.Errorf("inmem: append audit: %w", err)
	}
	leaves, err := registry.LeafHashes(entries)
	if err != nil {
		return fmt.Errorf("inmem: append audit: %w", err)
	}
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if err := s.appendAuditLocked(entries, leaves); err != nil {
		return fmt.Errorf("inmem: append audit: %w", err)
	}
	return nil
}

// appendAuditLocked links and stores entries and their leaves; it fails,
// having changed nothing, only when the log cannot grow.
func (s *Store) appendAuditLocked(entries []registry.AuditEntry, leaves []tlog.Hash) error {
	stored, edge, err := s.edge.Append(leaves)
	if err != nil {
		return err
	}
	head := s.head
	for i := range entries {
		head = registry.Link(head, &entries[i])
		s.audit.Append(&entries[i])
	}
	s.nodes.add(stored)
	s.edge = edge
	// The root is left to AuditHead, which the checkpointer asks about
	// once a second: dev appends one entry per verification, and the root
	// on each was 3 % of dev's CPU under load (BenchmarkAppendAuditOne).
	s.head = registry.ChainHead{Seq: head.Seq, Hash: slices.Clone(head.Hash), LogSize: edge.Size()}
	return nil
}

// ReadLogHashes reads the log's stored hashes at indexes.
func (s *Store) ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: read log hashes: %w", err)
	}
	s.auditMu.RLock()
	defer s.auditMu.RUnlock()
	return s.nodes.read(indexes)
}

// ExtendLog has nothing to do: every entry of an in-memory trail became
// a leaf when it was appended.
func (s *Store) ExtendLog(ctx context.Context, _ int, _ func(*registry.AuditEntry)) (registry.ChainHead, error) {
	return s.AuditHead(ctx)
}

// nodeChunk is how many stored hashes one chunk of nodes holds.
const nodeChunk = 16384

// nodes are the log's stored hashes, in chunks for the reason the
// trail's entries are (auditLog).
type nodes struct {
	chunks [][]tlog.Hash
	n      int64
}

func (ns *nodes) add(hs []tlog.Hash) {
	for _, h := range hs {
		if ns.n%nodeChunk == 0 {
			ns.chunks = append(ns.chunks, make([]tlog.Hash, 0, nodeChunk))
		}
		c := &ns.chunks[len(ns.chunks)-1]
		*c = append(*c, h)
		ns.n++
	}
}

func (ns *nodes) read(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= ns.n {
			return nil, fmt.Errorf("inmem: stored hash %d is missing", x)
		}
		out[i] = ns.chunks[x/nodeChunk][x%nodeChunk]
	}
	return out, nil
}

// ScanAudit calls fn for each entry with Seq >= from, in Seq order.
func (s *Store) ScanAudit(ctx context.Context, from int64, fn func(registry.AuditEntry) error) error {
	page := make([]registry.AuditEntry, 0, auditPage)
	pos := -1
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("inmem: scan audit: %w", err)
		}
		s.auditMu.RLock()
		if pos < 0 {
			// Entries are stored in Seq order; search rather than index,
			// since DeleteAudit may have left gaps.
			pos = s.audit.After(from - 1)
		}
		// Later pages go on by position, not by Seq: the trail only grows
		// at the end, and a tampered Seq must not send the scan back.
		page = page[:0]
		for ; pos < s.audit.Len() && len(page) < auditPage; pos++ {
			page = append(page, s.audit.Entry(pos))
		}
		done := pos >= s.audit.Len()
		s.auditMu.RUnlock()

		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
}

// AuditHead returns the head recorded by the last AppendAudit.
func (s *Store) AuditHead(ctx context.Context) (registry.ChainHead, error) {
	if err := ctx.Err(); err != nil {
		return registry.ChainHead{}, fmt.Errorf("inmem: audit head: %w", err)
	}
	s.auditMu.RLock()
	defer s.auditMu.RUnlock()
	h := s.head
	h.Hash = slices.Clone(h.Hash)
	h.LogRoot = s.edge.Root()
	return h, nil
}

// TamperAudit lets mutate change the stored entry with this Seq in place,
// without relinking anything. It exists only so that tests can prove that
// registry.VerifyChain detects tampering; this is an in-memory dev store,
// where anyone with the process can do as much anyway. It does nothing if
// no entry has that Seq.
func (s *Store) TamperAudit(seq int64, mutate func(*registry.AuditEntry)) {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if k := s.audit.Index(seq); k >= 0 {
		e := s.audit.Entry(k)
		mutate(&e)
		s.audit.Set(k, e)
	}
}

// DeleteAudit removes the stored entry with this Seq, leaving the recorded
// head as it is. Like TamperAudit it exists only to prove tamper
// detection in tests. It does nothing if no entry has that Seq.
func (s *Store) DeleteAudit(seq int64) {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if k := s.audit.Index(seq); k >= 0 {
		s.audit.Delete(k)
	}
}
