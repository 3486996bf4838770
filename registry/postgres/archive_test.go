package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// TestArchiveTakesOnlyTheOldestAndNeverTheHead: the bounds an archive
// may take end before the head and before the first entry at or after
// the cutoff; the database refuses an archive that would take the head
// or that does not start at the oldest entry held.
func TestArchiveTakesOnlyTheOldestAndNeverTheHead(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	old := time.Date(2015, 3, 1, 9, 0, 0, 0, time.UTC)
	var es []registry.AuditEntry
	for i := range 6 {
		at := old.Add(time.Duration(i) * time.Hour)
		if i >= 4 {
			at = time.Now()
		}
		es = append(es, registry.AuditEntry{At: at, Actor: "org:a", Action: "verify.agency", RecordRef: "C", Purpose: "p"})
	}
	if err := s.AppendAudit(ctx, committed(es)); err != nil {
		t.Fatal(err)
	}
	if first, last, err := s.ArchiveBounds(ctx, time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || first != 1 || last != 4 {
		t.Errorf("bounds before 2016: %d–%d, %v; want 1–4", first, last, err)
	}
	// Everything is older than a cutoff in the future, but not the head.
	if _, last, err := s.ArchiveBounds(ctx, time.Now().AddDate(1, 0, 0)); err != nil || last != 5 {
		t.Errorf("bounds before next year end at %d, %v; want 5, before the head", last, err)
	}
	sha := make([]byte, 32)
	for _, tc := range []struct {
		name        string
		first, last int64
	}{{"the head", 1, 6}, {"not the oldest", 2, 3}} {
		if err := s.ArchiveAudit(ctx, tc.first, tc.last, sha); err == nil {
			t.Errorf("an archive of %s (%d–%d) was accepted", tc.name, tc.first, tc.last)
		}
	}
	if err := s.ArchiveAudit(ctx, 1, 4, sha); err != nil {
		t.Fatal(err)
	}
	if upTo, err := s.ArchivedUpTo(ctx); err != nil || upTo != 4 {
		t.Errorf("archived up to %d, %v; want 4", upTo, err)
	}
	if err := s.ArchiveAudit(ctx, 1, 4, sha); err == nil {
		t.Error("entries archived twice")
	}
}
