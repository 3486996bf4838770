package postgres

import (
	"context"
	"fmt"
	"time"
)

// ArchiveBounds are the entries an archive made now may take: first,
// the oldest the database holds, to last, the newest entry before the
// first one dated at or after cutoff — never the head. last < first when
// there is nothing to archive. (audit_hours holds each hour's first
// entry, so no scan of the trail is needed.)
func (s *Store) ArchiveBounds(ctx context.Context, cutoff time.Time) (first, last int64, err error) {
	var oldest, keep *int64
	var head int64
	err = s.pool.QueryRow(ctx, `SELECT (SELECT min(seq) FROM audit_entries),
			(SELECT min(min_seq) FROM audit_hours WHERE hour >= $1::timestamptz AT TIME ZONE 'UTC'),
			(SELECT seq FROM audit_head)`, cutoff.UTC()).Scan(&oldest, &keep, &head)
	if err != nil {
		return 0, 0, readErr("archive bounds", err)
	}
	if oldest == nil {
		return 1, 0, nil
	}
	last = head - 1
	if keep != nil {
		last = min(last, *keep-1)
	}
	return *oldest, last, nil
}

// ArchiveAudit removes entries first..last, which an archive whose
// entries file has SHA-256 sha now holds, and records the archive
// (degreegate_audit_archive checks that they are the oldest held and
// end before the head).
func (s *Store) ArchiveAudit(ctx context.Context, first, last int64, sha []byte) error {
	var removed int64
	if err := s.pool.QueryRow(ctx, `SELECT degreegate_audit_archive($1, $2, $3)`, first, last, sha).Scan(&removed); err != nil {
		return fmt.Errorf("archive entries %d–%d: %w", first, last, err)
	}
	return nil
}

// ArchivedUpTo is the last entry moved to an archive, 0 if none was.
func (s *Store) ArchivedUpTo(ctx context.Context) (int64, error) {
	var last int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(last_seq), 0) FROM audit_archives`).Scan(&last); err != nil {
		return 0, readErr("read archives", err)
	}
	return last, nil
}
