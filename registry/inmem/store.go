// Package inmem is the embedded store of `degreegate dev` and of fast
// tests: registry.Store and registry.AuditLog in process memory, passing
// the same contract suite (registry/registrytest) as the PostgreSQL store.
//
// Records are kept packed (pack.go) in fixed-size chunks, found through
// one map from certificate number to slot; versions, person lists and the
// certificate-number order hang off the slot, so a million records cost a
// few large allocations plus one per record version. Everything that goes
// in or comes out is copied: no caller can change stored data through a
// slice it passed or got back.
package inmem

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/translog"
)

var (
	_ registry.Store    = (*Store)(nil)
	_ registry.AuditLog = (*Store)(nil)
)

// chunkBits sizes the chunks that hold certificates: 1024 per chunk, so
// growing never copies what is already stored (a doubling slice of a
// million structs would briefly need twice the memory).
const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
)

// noSlot ends a person's list of certificates.
const noSlot int32 = -1

// version is a stored registry.Version. Its Change is an index into
// Store.changes: every record of an import batch shares one change, and
// 56 bytes a record add up at a million records.
type version struct {
	packed
	number int32
	change int32
}

// cert is one certificate: its newest version inline (what almost every
// read wants) and the older ones, oldest first, beside it.
type cert struct {
	cur version
	// nextOfPerson links the certificates whose newest version has the
	// same person index, so that no per-person slice is needed.
	nextOfPerson int32
	older        []version
}

// Store is an in-memory registry.Store and registry.AuditLog, safe for
// concurrent use: lookups share a read lock, writers take it alone. The
// zero value is not usable; call New.
type Store struct {
	mu      sync.RWMutex
	byCert  map[string]int32 // certificate number → slot
	chunks  [][]cert         // slot i lives at chunks[i>>chunkBits][i&(chunkSize-1)]
	n       int32            // certificates filed; slots 0..n-1 are in use
	changes []registry.Change
	persons map[string]int32 // person index → first slot of its list
	// order holds slots 0..ordered-1 sorted by certificate number; Scan
	// merges newer slots in lazily (see scan.go).
	order   []int32
	ordered int32

	auditMu sync.RWMutex
	audit   auditLog
	head    registry.ChainHead
	edge    translog.Edge // of the log over the trail
	nodes   nodes         // the log's stored hashes
	refs    refIndex      // audit entries by record_ref (auditquery.go)

	codes shareCodes // share codes (sharecode.go)
	flow  workflow   // the filing workflow (filing.go), under mu
}

// New returns an empty store.
func New() *Store {
	return &Store{
		byCert:  make(map[string]int32),
		persons: make(map[string]int32),
		head:    registry.ChainHead{Hash: slices.Clone(registry.GenesisHash)}, // AuditHead adds the root
		edge:    translog.EmptyEdge(),
	}
}

func (s *Store) slot(i int32) *cert { return &s.chunks[i>>chunkBits][i&(chunkSize-1)] }

// export copies a stored version out, for a caller to keep.
func (s *Store) export(v *version) registry.Version {
	return registry.Version{Sealed: v.unpack(), Version: int(v.number), Change: s.changes[v.change]}
}

// addChangeLocked records c and returns its index.
func (s *Store) addChangeLocked(c registry.Change) int32 {
	s.changes = append(s.changes, c)
	return int32(len(s.changes) - 1)
}

// Insert files the records of batch that are new, as version 1.
func (s *Store) Insert(ctx context.Context, batch []registry.Sealed, change registry.Change, filings []registry.AuditEntry) ([]registry.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: insert: %w", err)
	}
	if err := registry.CheckFilings(batch, filings); err != nil {
		return nil, fmt.Errorf("inmem: insert: %w", err)
	}
	seen := make(map[string]struct{}, len(batch))
	for i := range batch {
		cn := batch[i].CertificateNumber
		if _, dup := seen[cn]; dup {
			// Say where, not which: a certificate number is a lookup key
			// for personal data.
			return nil, fmt.Errorf("inmem: insert: batch record %d repeats the certificate number of an earlier record", i)
		}
		seen[cn] = struct{}{}
	}
	change = change.Stored()
	// Records are packed before taking the lock, so that readers wait
	// only for the bookkeeping; records found Unchanged waste theirs.
	packs := make([]packed, len(batch))
	for i := range batch {
		p, err := pack(&batch[i])
		if err != nil {
			return nil, fmt.Errorf("inmem: insert: batch record %d: %w", i, err)
		}
		packs[i] = p
	}

	out := make([]registry.Outcome, len(batch))
	s.mu.Lock()
	defer s.mu.Unlock()
	var filed []registry.AuditEntry
	for i := range packs {
		if out[i] = s.outcomeLocked(&packs[i]); out[i] == registry.Inserted {
			filed = append(filed, filings[i])
		}
	}
	if len(filed) == 0 {
		return out, nil
	}
	if err := s.fileEntries(filed); err != nil {
		return nil, fmt.Errorf("inmem: insert: %w", err)
	}
	ch := s.addChangeLocked(change)
	for i := range packs {
		if out[i] == registry.Inserted {
			s.fileLocked(version{packed: packs[i], number: 1, change: ch})
		}
	}
	return out, nil
}

// fileEntries appends the filing entries of versions about to be
// stored, before them: if the trail refuses, no version is stored.
// The caller holds mu.
func (s *Store) fileEntries(entries []registry.AuditEntry) error {
	leaves, err := registry.LeafHashes(entries)
	if err != nil {
		return err
	}
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	return s.appendAuditLocked(entries, leaves)
}

// outcomeLocked decides what Insert does with r: an identical digest in
// any version (the file of an amended or revoked record re-imported)
// is Unchanged, anything else under a known number a Conflict.
func (s *Store) outcomeLocked(p *packed) registry.Outcome {
	i, ok := s.byCert[p.span(tCertificateNumber)]
	if !ok {
		return registry.Inserted
	}
	c := s.slot(i)
	digest := p.span(sDigest)
	if c.cur.span(sDigest) == digest {
		return registry.Unchanged
	}
	for k := range c.older {
		if c.older[k].span(sDigest) == digest {
			return registry.Unchanged
		}
	}
	return registry.Conflict
}

// fileLocked stores a new certificate in the next slot.
func (s *Store) fileLocked(v version) {
	i := s.n
	if int(i>>chunkBits) == len(s.chunks) {
		s.chunks = append(s.chunks, make([]cert, chunkSize))
	}
	c := s.slot(i)
	*c = cert{cur: v, nextOfPerson: noSlot}
	s.n++
	// The key shares the blob's memory: no allocation per record.
	s.byCert[v.span(tCertificateNumber)] = i
	s.linkPersonLocked(i)
}

// Append writes next as version after+1.
func (s *Store) Append(ctx context.Context, after int, next registry.Sealed, change registry.Change, filing registry.AuditEntry) (registry.Version, error) {
	if err := ctx.Err(); err != nil {
		return registry.Version{}, fmt.Errorf("inmem: append: %w", err)
	}
	filings := []registry.AuditEntry{filing}
	if err := registry.CheckFilings([]registry.Sealed{next}, filings); err != nil {
		return registry.Version{}, fmt.Errorf("inmem: append: %w", err)
	}
	p, err := pack(&next)
	if err != nil {
		return registry.Version{}, fmt.Errorf("inmem: append: %w", err)
	}
	change = change.Stored()

	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byCert[next.CertificateNumber]
	if !ok {
		return registry.Version{}, errNotFound("append")
	}
	c := s.slot(i)
	if int(c.cur.number) != after {
		return registry.Version{}, fmt.Errorf("inmem: append after version %d, newest is %d: %w", after, c.cur.number, registry.ErrVersionConflict)
	}
	if err := s.fileEntries(filings); err != nil {
		return registry.Version{}, fmt.Errorf("inmem: append: %w", err)
	}
	s.appendLocked(i, p, change)
	return s.export(&c.cur), nil
}

// appendLocked makes p the newest version of slot i. The caller holds
// mu and has checked the version it follows.
func (s *Store) appendLocked(i int32, p packed, change registry.Change) {
	c := s.slot(i)
	moves := c.cur.span(sPersonIndex) != p.span(sPersonIndex)
	if moves {
		s.unlinkPersonLocked(i)
	}
	c.older = append(c.older, c.cur)
	c.cur = version{packed: p, number: c.cur.number + 1, change: s.addChangeLocked(change)}
	if moves {
		s.linkPersonLocked(i)
	}
}

// Count returns the number of certificates.
func (s *Store) Count(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("inmem: count: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return int64(s.n), nil
}

// linkPersonLocked puts slot i at the head of its person's list. Records
// without a person index are in no list: ByPerson of nothing is nothing.
func (s *Store) linkPersonLocked(i int32) {
	c := s.slot(i)
	key := c.cur.span(sPersonIndex) // shares the blob's memory
	if key == "" {
		return
	}
	if head, ok := s.persons[key]; ok {
		c.nextOfPerson = head
	} else {
		c.nextOfPerson = noSlot
	}
	s.persons[key] = i
}

// unlinkPersonLocked takes slot i out of its person's list. Lists are as
// long as one person's degrees, so the walk is short.
func (s *Store) unlinkPersonLocked(i int32) {
	c := s.slot(i)
	key := c.cur.span(sPersonIndex)
	if key == "" {
		return
	}
	head, ok := s.persons[key]
	if !ok {
		return
	}
	if head == i {
		if c.nextOfPerson == noSlot {
			delete(s.persons, key)
		} else {
			s.persons[key] = c.nextOfPerson
		}
	} else {
		for p := head; p != noSlot; {
			pc := s.slot(p)
			if pc.nextOfPerson == i {
				pc.nextOfPerson = c.nextOfPerson
				break
			}
			p = pc.nextOfPerson
		}
	}
	c.nextOfPerson = noSlot
}

// errNotFound wraps registry.ErrNotFound with the operation.
func errNotFound(op string) error { return fmt.Errorf("inmem: %s: %w", op, registry.ErrNotFound) }
