package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/degreegate/degreegate/registry"
)

var _ registry.AuditSearcher = (*Store)(nil)

// SearchAudit returns one page of matching entries in seq order. The
// SQL names only the filters q sets, so that the planner sees the query
// as it is (an unset filter written as a test of its parameter, such as
// "$n IS NULL OR …", would hide the indexes from a cached generic plan),
// and the indexes of migration 00004 serve it: (record_ref, seq),
// (actor COLLATE "C", seq). A time range is first turned into the seq
// range that holds it (audit_hours, one more round trip), so that the
// planner reads a known stretch of the primary key instead of guessing
// how far the range lies from the cursor; a purpose, likewise, into the
// seq range where it was used (audit_purposes). The filters combine into at
// most 432 distinct texts, within pgx's statement cache (512 by default).
func (s *Store) SearchAudit(ctx context.Context, q registry.AuditQuery) ([]registry.AuditEntry, error) {
	if !searchable(q) {
		// A filter no stored text can equal: nothing matches, and
		// PostgreSQL is not asked to decode what it cannot hold.
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("search audit: %w", err)
		}
		return nil, nil
	}
	span, none, err := s.searchSpan(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("search audit: %w", err)
	}
	if none {
		return nil, nil
	}
	sql, args := auditSearchSQL(q, span)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("search audit: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanAuditEntry)
	if err != nil {
		return nil, fmt.Errorf("search audit: %w", err)
	}
	return out, nil
}

// searchSpan is the stretch of seq that can hold q's answer, nil for
// the whole trail: where q's time range was stamped (audit_hours) and
// where its purpose was used (audit_purposes; there is no index on
// purpose). none reports that nothing after q's cursor can match.
func (s *Store) searchSpan(ctx context.Context, q registry.AuditQuery) (span *seqSpan, none bool, err error) {
	if !q.From.IsZero() || !q.To.IsZero() {
		sp, ok, err := s.auditSpan(ctx, q)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, true, nil
		}
		span = &sp
	}
	if q.Purpose != "" {
		sp, ok, err := s.purposeSpan(ctx, q.Purpose)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, true, nil
		}
		if span != nil {
			sp = seqSpan{max(sp.lo, span.lo), min(sp.hi, span.hi)}
		}
		span = &sp
	}
	if span != nil && (span.lo > span.hi || span.hi <= q.AfterSeq) {
		return nil, true, nil
	}
	return span, false, nil
}

// seqSpan is the least and greatest seq of the entries stamped in a time
// range (and maybe others between them).
type seqSpan struct{ lo, hi int64 }

// auditSpan reads the seq span of the hours that meet [q.From, q.To); an
// hour h meets it when h < To and h + 1h > From, that is h >= the hour of
// From. It reports false when no entry was stamped in those hours.
func (s *Store) auditSpan(ctx context.Context, q registry.AuditQuery) (seqSpan, bool, error) {
	sql := `SELECT min(min_seq), max(max_seq) FROM audit_hours WHERE true`
	var args []any
	if !q.From.IsZero() {
		args = append(args, q.From)
		sql += ` AND hour >= date_trunc('hour', $1::timestamptz AT TIME ZONE 'UTC')`
	}
	if !q.To.IsZero() {
		args = append(args, q.To)
		sql += fmt.Sprintf(` AND hour < ($%d::timestamptz AT TIME ZONE 'UTC')`, len(args))
	}
	var lo, hi *int64
	if err := s.pool.QueryRow(ctx, sql, args...).Scan(&lo, &hi); err != nil {
		return seqSpan{}, false, fmt.Errorf("read audit hours: %w", err)
	}
	if lo == nil || hi == nil {
		return seqSpan{}, false, nil
	}
	return seqSpan{*lo, *hi}, true, nil
}

// purposeSpan reads the seq range of the entries of one purpose; false
// when none has it.
func (s *Store) purposeSpan(ctx context.Context, purpose string) (seqSpan, bool, error) {
	var sp seqSpan
	err := s.pool.QueryRow(ctx, `SELECT min_seq, max_seq FROM audit_purposes WHERE purpose = $1`, purpose).Scan(&sp.lo, &sp.hi)
	if errors.Is(err, pgx.ErrNoRows) {
		return seqSpan{}, false, nil
	}
	if err != nil {
		return seqSpan{}, false, fmt.Errorf("read audit purposes: %w", err)
	}
	return sp, true, nil
}

// searchable reports whether q can match anything PostgreSQL stores:
// every string filter must be text (a list needs one such value).
func searchable(q registry.AuditQuery) bool {
	for _, v := range []string{q.Actor, q.ActorPrefix, q.Purpose} {
		if v != "" && !storable(v) {
			return false
		}
	}
	for _, vs := range [][]string{q.Actions, q.RecordRefs} {
		if len(vs) > 0 && len(storables(vs)) == 0 {
			return false
		}
	}
	return true
}

// auditSearchSQL builds the query for a searchable q, within span when
// it is not nil.
func auditSearchSQL(q registry.AuditQuery, span *seqSpan) (string, []any) {
	var (
		b    strings.Builder
		args []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	b.WriteString(`SELECT seq, at, actor, action, record_ref, purpose, detail, prev_hash, hash
		FROM audit_entries WHERE seq > ` + arg(q.AfterSeq))
	if span != nil {
		b.WriteString(` AND seq BETWEEN ` + arg(span.lo) + ` AND ` + arg(span.hi))
	}
	if !q.From.IsZero() {
		b.WriteString(` AND at >= ` + arg(q.From))
	}
	if !q.To.IsZero() {
		b.WriteString(` AND at < ` + arg(q.To))
	}
	if q.Actor != "" {
		b.WriteString(` AND actor COLLATE "C" = ` + arg(q.Actor))
	}
	if q.ActorPrefix != "" {
		b.WriteString(` AND actor COLLATE "C" >= ` + arg(q.ActorPrefix))
		if bound, ok := prefixBound(q.ActorPrefix); ok {
			b.WriteString(` AND actor COLLATE "C" < ` + arg(bound))
		}
	}
	if q.Purpose != "" {
		b.WriteString(` AND purpose = ` + arg(q.Purpose))
	}
	for _, f := range []struct {
		col  string
		vals []string
	}{{"action", q.Actions}, {"record_ref", q.RecordRefs}} {
		if len(f.vals) == 0 {
			continue
		}
		if vals := storables(f.vals); len(vals) == 1 {
			// "= $n", not "= ANY($n)": the planner then knows one value
			// and reads the (record_ref, seq) index in order.
			b.WriteString(` AND ` + f.col + ` = ` + arg(vals[0]))
		} else {
			b.WriteString(` AND ` + f.col + ` = ANY(` + arg(vals) + `)`)
		}
	}
	b.WriteString(` ORDER BY seq LIMIT ` + arg(q.PageSize()))
	return b.String(), args
}

// storable reports whether PostgreSQL text can hold s: valid UTF-8 and no
// NUL. Any other filter value matches no entry.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func storables(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if storable(s) {
			out = append(out, s)
		}
	}
	return out
}

// prefixBound returns the least valid UTF-8 string above every string
// that begins with prefix, in bytewise order, so that "actor starts with
// prefix" becomes the index range prefix <= actor < bound; false when
// there is none (prefix is all U+10FFFF), and then the lower bound alone
// is exact. For UTF-8, bytewise order is code-point order, so raising the
// last rune that can be raised by one code point and cutting the rest
// gives the bound. prefix must be valid UTF-8.
func prefixBound(prefix string) (string, bool) {
	for s := prefix; s != ""; {
		r, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
		switch {
		case r == utf8.MaxRune:
			continue
		case r == 0xD7FF:
			r = 0xE000 // skip the surrogates, which are not runes
		default:
			r++
		}
		return s + string(r), true
	}
	return "", false
}
