package inmem

import (
	"fmt"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// TestSearchAfterTampering: the test hooks change the trail behind the
// record_ref index; a search then returns only entries that match as they
// are stored now, and none twice.
func TestSearchAfterTampering(t *testing.T) {
	s := trail(t, 10) // every entry has RecordRef "ref"
	q := registry.AuditQuery{RecordRefs: []string{"ref"}}
	if got, err := s.SearchAudit(t.Context(), q); err != nil || len(got) != 10 {
		t.Fatalf("SearchAudit before tampering = %d entries, %v; want 10", len(got), err)
	}
	s.TamperAudit(3, func(e *registry.AuditEntry) { e.RecordRef = "other" })
	s.DeleteAudit(7)
	s.TamperAudit(9, func(e *registry.AuditEntry) { e.Seq = 5 }) // now two entries claim seq 5
	got, err := s.SearchAudit(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, e := range got {
		if e.RecordRef != "ref" {
			t.Errorf("entry %d has RecordRef %q", e.Seq, e.RecordRef)
		}
		seqs = append(seqs, e.Seq)
	}
	// 3 moved to another record, 7 is gone, 9 claims seq 5 (the index
	// finds the first entry with a seq, so it stays hidden); no seq may
	// come twice.
	seen := map[int64]bool{}
	for _, n := range seqs {
		if seen[n] {
			t.Errorf("seq %d returned twice: %v", n, seqs)
		}
		seen[n] = true
	}
	for _, n := range []int64{3, 7, 9} {
		if seen[n] {
			t.Errorf("seq %d returned after it was moved or removed: %v", n, seqs)
		}
	}
}

// TestSearchByRefAcrossChunks: the index catches up a chunk at a time
// and still finds every entry, on the first search as on later ones.
func TestSearchByRefAcrossChunks(t *testing.T) {
	n := searchChunk + 77
	s := searchTrail(t, n)
	want := map[string]int{}
	for i := range n {
		want[fmt.Sprintf("%016d", (i*7919)%(n/3+1))]++
	}
	for _, ref := range []string{fmt.Sprintf("%016d", 0), fmt.Sprintf("%016d", 7919*(n-1)%(n/3+1)), fmt.Sprintf("%016d", 12345)} {
		got, err := s.SearchAudit(t.Context(), registry.AuditQuery{RecordRefs: []string{ref}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want[ref] {
			t.Errorf("record %s: %d entries, want %d", ref, len(got), want[ref])
		}
	}
}

// TestSearchWhileAppending: searches by record race appends (run with
// -race); once the appends are done, a search finds them all.
func TestSearchWhileAppending(t *testing.T) {
	s := New()
	const batches, size = 50, 40
	done := make(chan error, 1)
	go func() {
		for b := range batches {
			entries := make([]registry.AuditEntry, size)
			for i := range entries {
				entries[i] = registry.AuditEntry{Actor: "org:x", Action: "verify", RecordRef: fmt.Sprintf("r%d", (b*size+i)%7)}
			}
			if err := logged(s).AppendAudit(t.Context(), entries); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	q := registry.AuditQuery{RecordRefs: []string{"r3"}, Limit: registry.MaxAuditLimit}
	for range 200 {
		if _, err := s.SearchAudit(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := s.SearchAudit(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for k := range batches * size {
		if k%7 == 3 {
			want++
		}
	}
	if len(got) != want {
		t.Errorf("after the appends: %d entries of r3, want %d", len(got), want)
	}
}

// searchTrail returns a store holding n audit entries, 30 s apart, from
// 200 organisations; each record_ref has about three entries, as a
// certificate verified a few times over the years.
func searchTrail(tb testing.TB, n int) *Store {
	tb.Helper()
	s := New()
	const batch = 10_000
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	entries := make([]registry.AuditEntry, 0, batch)
	for i := 0; i < n; {
		entries = entries[:0]
		for ; i < n && len(entries) < batch; i++ {
			entries = append(entries, registry.AuditEntry{
				At:        start.Add(time.Duration(i) * 30 * time.Second),
				Actor:     fmt.Sprintf("org:agency-%d", i%200),
				Action:    "verify",
				RecordRef: fmt.Sprintf("%016d", (i*7919)%(n/3+1)),
				Purpose:   "招聘核验",
			})
		}
		if err := logged(s).AppendAudit(tb.Context(), entries); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// BenchmarkSearchAudit: a holder's access log comes from the record_ref
// index, whatever the size of the trail; other filters scan.
func BenchmarkSearchAudit(b *testing.B) {
	const n = 1_000_000
	s := searchTrail(b, n)
	// The first search by record indexes the whole trail; time it apart.
	start := time.Now()
	if _, err := s.SearchAudit(b.Context(), registry.AuditQuery{RecordRefs: []string{"0"}}); err != nil {
		b.Fatal(err)
	}
	b.Logf("indexing %d entries by record_ref took %s", n, time.Since(start).Round(time.Millisecond))
	ref := func(i int) string { return fmt.Sprintf("%016d", (i*7919)%(n/3+1)) }
	cases := []struct {
		name string
		q    func(i int) registry.AuditQuery
	}{
		{"HolderThreeRecords", func(i int) registry.AuditQuery {
			return registry.AuditQuery{RecordRefs: []string{ref(i), ref(i + 1), ref(i + 2)}}
		}},
		{"OrgLatePage", func(i int) registry.AuditQuery {
			return registry.AuditQuery{Actor: "org:agency-7", AfterSeq: int64(n - 50_000)}
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := s.SearchAudit(b.Context(), tc.q(i)); err != nil {
					b.Fatal(err)
				}
				i += 3
			}
		})
	}
}
