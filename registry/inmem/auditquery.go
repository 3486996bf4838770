package inmem

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/degreegate/degreegate/registry"
)

var _ registry.AuditSearcher = (*Store)(nil)

// searchChunk is how many entries a filtered scan examines under one
// read lock, so that a search through millions of entries lets
// appenders in between.
const searchChunk = 1 << 16

// refIndex finds the entries of a record_ref without a scan: a holder's
// access log reads a handful of entries out of millions.
//
// It is brought up to date lazily, by the first search that needs it,
// rather than by AppendAudit: appends stay as cheap as before, and a dev
// store that is never searched by record never pays for the index.
// Entries are indexed by Seq and found again through auditIndexLocked;
// every hit is checked against the query again, so an entry altered or
// removed through the test hooks TamperAudit and DeleteAudit is never
// returned wrongly (one tampered to a new record_ref is simply not found
// under it).
type refIndex struct {
	mu   sync.Mutex
	upTo int64              // entries with Seq <= upTo are indexed
	seqs map[string][]int64 // record_ref → Seq, ascending
}

// SearchAudit returns one page of the entries that match q, in Seq order.
func (s *Store) SearchAudit(ctx context.Context, q registry.AuditQuery) ([]registry.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: search audit: %w", err)
	}
	var (
		out []registry.AuditEntry
		err error
	)
	if len(q.RecordRefs) > 0 {
		out, err = s.searchByRef(ctx, q)
	} else {
		out, err = s.searchScan(ctx, q)
	}
	if err != nil {
		return nil, fmt.Errorf("inmem: search audit: %w", err)
	}
	return out, nil
}

// searchByRef reads the candidates the index names for q.RecordRefs.
func (s *Store) searchByRef(ctx context.Context, q registry.AuditQuery) ([]registry.AuditEntry, error) {
	if err := s.catchUpRefs(ctx); err != nil {
		return nil, err
	}
	limit := q.PageSize()
	s.auditMu.RLock()
	defer s.auditMu.RUnlock()
	var out []registry.AuditEntry
	for i, seq := range s.refs.candidates(&s.audit, q.RecordRefs, q.AfterSeq) {
		if i%4096 == 4095 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		k := s.audit.Index(seq)
		if k < 0 || !q.Matches(s.audit.Fields(k)) {
			continue
		}
		out = append(out, s.audit.Entry(k))
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// searchScan examines every entry after q.AfterSeq until the page is
// full, a chunk at a time.
func (s *Store) searchScan(ctx context.Context, q registry.AuditQuery) ([]registry.AuditEntry, error) {
	limit := q.PageSize()
	var out []registry.AuditEntry
	pos := -1
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.auditMu.RLock()
		if pos < 0 {
			pos = s.audit.After(q.AfterSeq)
		}
		// Later chunks go on by position, as ScanAudit does: the trail
		// only grows at the end.
		end := min(pos+searchChunk, s.audit.Len())
		for ; pos < end && len(out) < limit; pos++ {
			if q.Matches(s.audit.Fields(pos)) {
				out = append(out, s.audit.Entry(pos))
			}
		}
		done := pos >= s.audit.Len() || len(out) >= limit
		s.auditMu.RUnlock()
		if done {
			return out, nil
		}
	}
}

// catchUpRefs indexes what the trail gained since the index was last
// brought up to date, a chunk per read lock, so that the first search
// after a long run (a million entries take about 0.4 s) does not hold
// appenders up all that time.
func (s *Store) catchUpRefs(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.auditMu.RLock()
		s.refs.mu.Lock()
		before := s.refs.upTo
		done := s.refs.catchUpLocked(&s.audit, searchChunk)
		// No progress happens only on a trail whose order the test
		// hooks broke; stop rather than go round.
		stuck := s.refs.upTo == before
		s.refs.mu.Unlock()
		s.auditMu.RUnlock()
		if done || stuck {
			return nil
		}
	}
}

// candidates returns the Seqs above after of the entries filed under any
// of refs, ascending, after indexing whatever audit gained since the last
// call (little, after catchUpRefs). The caller holds the audit read lock.
func (x *refIndex) candidates(audit *auditLog, refs []string, after int64) []int64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.catchUpLocked(audit, audit.Len())
	var out []int64
	for _, ref := range uniq(refs) {
		list := x.seqs[ref]
		i := sort.Search(len(list), func(k int) bool { return list[k] > after })
		out = append(out, list[i:]...)
	}
	slices.Sort(out)
	// An entry has one record_ref, so Seqs repeat only after tampering.
	return slices.Compact(out)
}

// catchUpLocked indexes up to most entries that follow upTo and reports
// whether the index then covers all of audit.
func (x *refIndex) catchUpLocked(audit *auditLog, most int) bool {
	i := audit.After(x.upTo)
	if i == audit.Len() {
		return true
	}
	if x.seqs == nil {
		x.seqs = make(map[string][]int64)
	}
	end := min(audit.Len(), i+most)
	for ; i < end; i++ {
		// The key shares the stored entry's memory.
		ref, seq := audit.RecordRef(i), audit.Seq(i)
		x.seqs[ref] = append(x.seqs[ref], seq)
		x.upTo = max(x.upTo, seq)
	}
	return end == audit.Len()
}

// uniq returns the distinct values of ss, sorted, without changing ss.
func uniq(ss []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(ss)))
}
