package registry

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Page sizes of SearchAudit.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// AuditQuery selects audit entries: officials reading the trail with
// filters (Art. 15), a holder asking who looked at their degrees (Art. 22).
// Every set field must match; zero fields match everything. Within Actions
// and within RecordRefs any one value matches. A filter value that stored
// text cannot hold (not UTF-8, or containing NUL) matches nothing: a
// prefix cut inside a character is no prefix of any text.
type AuditQuery struct {
	// From <= At < To; a zero bound is open. Bounds are cut to
	// microseconds, the precision stored times have.
	From, To    time.Time
	Actor       string   // exact
	ActorPrefix string   // e.g. "org:"
	Purpose     string   // exact
	Actions     []string // any of
	RecordRefs  []string // any of
	// AfterSeq is the keyset cursor: only entries with Seq > AfterSeq.
	// The next page starts after the last Seq of this one.
	AfterSeq int64
	// Limit is the page size; see PageSize.
	Limit int
}

// PageSize is the number of entries a search returns at most: Limit, or
// DefaultAuditLimit when Limit is not positive, never more than
// MaxAuditLimit. A page shorter than PageSize is the last.
func (q AuditQuery) PageSize() int {
	switch {
	case q.Limit <= 0:
		return DefaultAuditLimit
	case q.Limit > MaxAuditLimit:
		return MaxAuditLimit
	}
	return q.Limit
}

// Matches reports whether e meets every filter of q, AfterSeq included.
// It is the contract's definition of a match, for stores that filter in
// Go and for tests.
func (q AuditQuery) Matches(e AuditEntry) bool {
	from, to := q.From.Truncate(time.Microsecond), q.To.Truncate(time.Microsecond)
	switch {
	case e.Seq <= q.AfterSeq,
		!q.From.IsZero() && e.At.Before(from),
		!q.To.IsZero() && !e.At.Before(to),
		q.Actor != "" && (e.Actor != q.Actor || !isText(q.Actor)),
		q.ActorPrefix != "" && (!strings.HasPrefix(e.Actor, q.ActorPrefix) || !isText(q.ActorPrefix)),
		q.Purpose != "" && (e.Purpose != q.Purpose || !isText(q.Purpose)),
		len(q.Actions) > 0 && !(slices.Contains(q.Actions, e.Action) && isText(e.Action)),
		len(q.RecordRefs) > 0 && !(slices.Contains(q.RecordRefs, e.RecordRef) && isText(e.RecordRef)):
		return false
	}
	return true
}

// isText reports whether s is something a text column can hold. Matches
// asks only once a value is known to be equal (or a prefix), so a scan
// pays for it on hits, not on every entry.
func isText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// AuditSearcher reads the audit trail with filters. Implementations:
// registry/inmem and registry/postgres; both pass registrytest.Run.
type AuditSearcher interface {
	// SearchAudit returns at most q.PageSize() entries that match q
	// (AuditQuery.Matches), in ascending Seq order.
	SearchAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}
