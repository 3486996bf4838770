package inmem

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/degreegate/degreegate/registry"
)

// Scan works in pages: at most scanPage matching versions copied, or
// scanExamine certificates looked at, under one read lock. fn runs without
// the lock, so it may call back into the store, and neither a slow
// consumer (a dataset build) nor a selective filter holds writers up long.
const (
	scanPage    = 512
	scanExamine = 8192
)

// Scan calls fn with the newest version of every record f selects, in
// certificate-number order. It reads page by page: each version is the
// newest when its page was read, and a certificate filed during the scan
// is seen if its number sorts after the scan's position.
func (s *Store) Scan(ctx context.Context, f registry.Filter, fn func(registry.Version) error) error {
	m := newMatcher(f)
	return s.scanOrdered(ctx, "scan", func(c *cert, page []registry.Version) []registry.Version {
		if m.matches(&c.cur.packed) {
			page = append(page, s.export(&c.cur))
		}
		return page
	}, fn)
}

// ScanVersions calls fn with every version of every certificate, in
// certificate-number and version order, page by page as Scan does.
func (s *Store) ScanVersions(ctx context.Context, fn func(registry.Version) error) error {
	return s.scanOrdered(ctx, "scan versions", func(c *cert, page []registry.Version) []registry.Version {
		for k := range c.older {
			page = append(page, s.export(&c.older[k]))
		}
		return append(page, s.export(&c.cur))
	}, fn)
}

// scanOrdered walks the certificates in number order, a page at a time:
// take adds what it wants of each certificate to the page under the read
// lock, and fn sees the page's versions after the lock is released.
func (s *Store) scanOrdered(ctx context.Context, op string, take func(c *cert, page []registry.Version) []registry.Version, fn func(registry.Version) error) error {
	page := make([]registry.Version, 0, scanPage)
	var last string // certificate number of the last slot examined
	started := false
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("inmem: %s: %w", op, err)
		}
		s.rlockOrdered()
		pos := 0
		if started {
			pos = sort.Search(int(s.ordered), func(k int) bool {
				return s.slot(s.order[k]).cur.span(tCertificateNumber) > last
			})
		}
		page = page[:0]
		for end := pos + scanExamine; pos < int(s.ordered) && pos < end && len(page) < scanPage; pos++ {
			c := s.slot(s.order[pos])
			last, started = c.cur.span(tCertificateNumber), true
			page = take(c, page)
		}
		done := pos >= int(s.ordered)
		s.mu.RUnlock()

		for k := range page {
			if err := fn(page[k]); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
}

// rlockOrdered returns holding the read lock, with the order index
// covering every certificate.
func (s *Store) rlockOrdered() {
	for {
		s.mu.RLock()
		if s.ordered == s.n {
			return
		}
		s.mu.RUnlock()
		s.extendOrder()
	}
}

// extendOrder merges the slots filed since the last Scan into the order
// index. The sort, the expensive part, runs under the read lock only, so
// lookups go on meanwhile; the merge under the write lock is linear.
func (s *Store) extendOrder() {
	type keyed struct {
		cn   string
		slot int32
	}
	s.mu.RLock()
	from, to := s.ordered, s.n
	fresh := make([]keyed, 0, to-from)
	for i := from; i < to; i++ {
		fresh = append(fresh, keyed{s.slot(i).cur.span(tCertificateNumber), i})
	}
	s.mu.RUnlock()
	slices.SortFunc(fresh, func(a, b keyed) int { return cmp.Compare(a.cn, b.cn) })

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ordered != from {
		return // another Scan got here first; the caller looks again
	}
	merged := make([]int32, 0, len(s.order)+len(fresh))
	k := 0
	for _, old := range s.order {
		cn := s.slot(old).cur.span(tCertificateNumber)
		for k < len(fresh) && fresh[k].cn < cn {
			merged = append(merged, fresh[k].slot)
			k++
		}
		merged = append(merged, old)
	}
	for ; k < len(fresh); k++ {
		merged = append(merged, fresh[k].slot)
	}
	s.order, s.ordered = merged, to
}

// matcher is a Filter prepared for many records: the lists are short, so
// a linear look-up beats a map.
type matcher struct {
	from, to int
	levels   []registry.DegreeLevel
	units    []string
	statuses []registry.Status
}

func newMatcher(f registry.Filter) matcher {
	return matcher{
		from: f.ConferralYearFrom,
		to:   f.ConferralYearTo,
		// Copied: the caller's slices may change while the scan runs.
		levels:   slices.Clone(f.Levels),
		units:    slices.Clone(f.UnitCodes),
		statuses: slices.Clone(f.Statuses),
	}
}

func (m *matcher) matches(p *packed) bool {
	y := int(p.conferral.y)
	switch {
	case m.from != 0 && y < m.from, m.to != 0 && y > m.to:
		return false
	case len(m.levels) > 0 && !slices.Contains(m.levels, registry.DegreeLevel(p.span(tDegreeLevel))):
		return false
	case len(m.units) > 0 && !slices.Contains(m.units, p.span(tUnitCode)):
		return false
	case len(m.statuses) > 0 && !slices.Contains(m.statuses, registry.Status(p.span(tStatus))):
		return false
	}
	return true
}
