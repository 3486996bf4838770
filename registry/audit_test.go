package registry

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sliceAudit is a minimal AuditLog for testing the chain logic alone; the
// real implementations are tested by registrytest.
type sliceAudit struct {
	mu      sync.Mutex
	entries []AuditEntry
	head    ChainHead
	fail    atomic.Int32 // AppendAudit fails while > 0, counting down
	calls   atomic.Int32
}

func newSliceAudit() *sliceAudit { return &sliceAudit{head: ChainHead{Hash: GenesisHash}} }

func (s *sliceAudit) AppendAudit(ctx context.Context, es []AuditEntry) error {
	s.calls.Add(1)
	if s.fail.Load() > 0 {
		s.fail.Add(-1)
		return errors.New("storage down")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range es {
		s.head = Link(s.head, &es[i])
	}
	s.entries = append(s.entries, es...)
	return nil
}

func (s *sliceAudit) ScanAudit(ctx context.Context, from int64, fn func(AuditEntry) error) error {
	s.mu.Lock()
	es := append([]AuditEntry(nil), s.entries...)
	s.mu.Unlock()
	for _, e := range es {
		if e.Seq >= from {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *sliceAudit) AuditHead(ctx context.Context) (ChainHead, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head, nil
}

func filledAudit(t *testing.T, n int) *sliceAudit {
	t.Helper()
	a := newSliceAudit()
	base := time.Date(2026, 1, 2, 3, 4, 5, 678912345, time.UTC)
	for i := 0; i < n; i++ {
		e := AuditEntry{At: base.Add(time.Duration(i) * time.Second), Actor: fmt.Sprintf("org:%d", i%3),
			Action: "verify.public", RecordRef: fmt.Sprintf("10001420201234%02d", i), Purpose: "核验"}
		if err := a.AppendAudit(context.Background(), []AuditEntry{e}); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func TestVerifyChainDetectsTampering(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		tamper  func(a *sliceAudit)
		wantSeq int64
	}{
		{"untouched", func(*sliceAudit) {}, 0},
		{"altered actor", func(a *sliceAudit) { a.entries[4].Actor = "someone else" }, 5},
		{"altered time", func(a *sliceAudit) { a.entries[2].At = a.entries[2].At.Add(time.Microsecond) }, 3},
		{"altered and rehashed", func(a *sliceAudit) {
			a.entries[6].Purpose = "other"
			a.entries[6].Hash = a.entries[6].computeHash()
		}, 8},
		{"removed middle", func(a *sliceAudit) { a.entries = append(a.entries[:3], a.entries[4:]...) }, 4},
		{"removed last", func(a *sliceAudit) { a.entries = a.entries[:9] }, 10},
		{"swapped", func(a *sliceAudit) { a.entries[1], a.entries[2] = a.entries[2], a.entries[1] }, 2},
		{"swapped with renumbering", func(a *sliceAudit) {
			a.entries[1], a.entries[2] = a.entries[2], a.entries[1]
			a.entries[1].Seq, a.entries[2].Seq = 2, 3
		}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := filledAudit(t, 10)
			c.tamper(a)
			n, err := VerifyChain(ctx, a)
			if c.wantSeq == 0 {
				if err != nil || n != 10 {
					t.Fatalf("untampered trail: n=%d err=%v", n, err)
				}
				return
			}
			var ce *ChainError
			if !errors.As(err, &ce) || !errors.Is(err, ErrTampered) {
				t.Fatalf("got %v, want a ChainError", err)
			}
			if ce.Seq != c.wantSeq {
				t.Fatalf("first bad entry %d (%s), want %d", ce.Seq, ce.Reason, c.wantSeq)
			}
		})
	}
}

// TestChainHashIsStable pins the hash of a small chain: trails written
// by earlier releases must still verify, so the encoding hashed may not
// change. The last entry's Detail is longer than computeHash's stack
// buffer.
func TestChainHashIsStable(t *testing.T) {
	want := []string{
		"4414587e0f6fb588216b4df77530640c1c2ae2440165e2360570e4acc6019a6d",
		"2699918322fbbe0e5ca4055740eed550c92de3a84a086b1e02abec73e0be5e72",
		"732781e62283b20f864e8a29c8c53fdeaff3484c979dee3e234836fe703db616",
	}
	head := ChainHead{Hash: GenesisHash}
	for i, d := range []string{"", `{"result":"match"}`, strings.Repeat("详", 300)} {
		e := AuditEntry{At: time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC), Actor: "public:ABC", Action: "verify.public",
			RecordRef: "1000142019000123", Purpose: "public_verification", Detail: d}
		head = Link(head, &e)
		if got := hex.EncodeToString(e.Hash); got != want[i] {
			t.Errorf("entry %d: hash %s, want %s", i, got, want[i])
		}
	}
}

func TestLinkSurvivesMicrosecondStorage(t *testing.T) {
	e := AuditEntry{At: time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.FixedZone("CST", 8*3600)), Actor: "a", Action: "x"}
	Link(ChainHead{Hash: GenesisHash}, &e)
	stored := e
	stored.At = time.UnixMicro(e.At.UnixMicro()).UTC()
	if string(stored.computeHash()) != string(e.Hash) {
		t.Fatal("hash depends on precision below what PostgreSQL keeps")
	}
}

func TestAuditWriterBatchesConcurrentRecords(t *testing.T) {
	a := newSliceAudit()
	w := NewAuditWriter(a, AuditWriterOptions{MaxBatch: 100, FlushEvery: 5 * time.Millisecond})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if err := w.Record(AuditEntry{Actor: fmt.Sprintf("g%d", g), Action: "verify.public"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := VerifyChain(context.Background(), a)
	if err != nil || n != 4000 {
		t.Fatalf("after close: %d entries, err %v; want 4000 intact", n, err)
	}
	if c := a.calls.Load(); c >= 4000/2 {
		t.Errorf("%d AppendAudit calls for 4000 entries: not batching", c)
	}
	if err := w.Record(AuditEntry{Action: "late"}); !errors.Is(err, ErrAuditClosed) {
		t.Errorf("record after close: %v", err)
	}
}

// TestAuditWriterFlushesOnFullBatchTickOrClose: the writer stores a
// partial batch on its tick, a full batch at once, and everything on
// Close at once (it no longer waits on the queue, see run).
func TestAuditWriterFlushesOnFullBatchTickOrClose(t *testing.T) {
	a := newSliceAudit()
	w := NewAuditWriter(a, AuditWriterOptions{MaxBatch: 100, FlushEvery: time.Hour})
	record := func(n int) {
		for range n {
			if err := w.Record(AuditEntry{Action: "verify.public"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitDepth := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); w.Depth() != want; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("depth %d, want %d", w.Depth(), want)
			}
		}
	}
	time.Sleep(20 * time.Millisecond) // the writer has started and waits
	record(99)
	time.Sleep(50 * time.Millisecond)
	if d := w.Depth(); d != 99 || a.calls.Load() != 0 {
		t.Fatalf("99 entries of a 100 batch, no tick yet: depth %d after %d appends, want 99 waiting", d, a.calls.Load())
	}
	record(1) // the batch is full: stored without waiting for the tick
	waitDepth(0)
	record(7)
	start := time.Now()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Close took %v: it waited for the tick", time.Since(start))
	}
	if n, err := VerifyChain(context.Background(), a); err != nil || n != 107 {
		t.Fatalf("after close: %d entries, err %v; want 107", n, err)
	}
}

// TestAuditWriterRefusesUnstorableText: an entry no store could keep is
// refused at Record, so it never reaches (and never wedges) the writer.
func TestAuditWriterRefusesUnstorableText(t *testing.T) {
	a := newSliceAudit()
	w := NewAuditWriter(a, AuditWriterOptions{FlushEvery: time.Millisecond})
	if err := w.Record(AuditEntry{Action: "verify.public", Detail: "\x00"}); !errors.Is(err, ErrAuditUnstorable) {
		t.Errorf("Record with NUL: %v, want ErrAuditUnstorable", err)
	}
	if err := w.Record(AuditEntry{Action: "verify.public", Actor: "\xff"}); !errors.Is(err, ErrAuditUnstorable) {
		t.Errorf("Record with invalid UTF-8: %v, want ErrAuditUnstorable", err)
	}
	if err := w.Record(AuditEntry{Action: "verify.public"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, err := VerifyChain(context.Background(), a); err != nil || n != 1 {
		t.Fatalf("%d entries stored (err %v), want the one good entry", n, err)
	}
}

func TestAuditWriterRetriesAndRefusesWhenFull(t *testing.T) {
	a := newSliceAudit()
	a.fail.Store(3)
	w := NewAuditWriter(a, AuditWriterOptions{Buffer: 4, MaxBatch: 2, FlushEvery: time.Millisecond})
	accepted, refused := 0, 0
	for i := 0; i < 50; i++ {
		switch err := w.Record(AuditEntry{Action: "x"}); {
		case err == nil:
			accepted++
		case errors.Is(err, ErrAuditBacklog):
			refused++
		default:
			t.Fatal(err)
		}
	}
	if refused == 0 {
		t.Error("a full backlog never refused an entry")
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := VerifyChain(context.Background(), a)
	if err != nil || int(n) != accepted {
		t.Fatalf("stored %d of %d accepted entries (err %v): an accepted entry was lost", n, accepted, err)
	}
	if !w.Healthy() {
		t.Error("writer unhealthy after a successful flush")
	}
}

// TestAuditWriterRecordBatchAllOrNothing: a batch that does not fit in
// the backlog is refused whole, one with an unstorable entry too, and a
// batch's unset times are one instant.
func TestAuditWriterRecordBatchAllOrNothing(t *testing.T) {
	a := newSliceAudit()
	// Nothing is stored before Close: no full batch, no tick.
	w := NewAuditWriter(a, AuditWriterOptions{Buffer: 10, MaxBatch: 100, FlushEvery: time.Hour})
	batch := func(n int) []AuditEntry {
		es := make([]AuditEntry, n)
		for i := range es {
			es[i] = AuditEntry{Actor: fmt.Sprintf("a%d", i), Action: "verify.agency"}
		}
		return es
	}
	if err := w.RecordBatch(batch(6)); err != nil {
		t.Fatal(err)
	}
	if err := w.RecordBatch(batch(5)); !errors.Is(err, ErrAuditBacklog) || w.Depth() != 6 {
		t.Fatalf("5 more into 4 places: %v, depth %d; want ErrAuditBacklog and nothing taken", err, w.Depth())
	}
	bad := batch(2)
	bad[1].Detail = "\x00"
	if err := w.RecordBatch(bad); !errors.Is(err, ErrAuditUnstorable) || w.Depth() != 6 {
		t.Fatalf("a batch with an unstorable entry: %v, depth %d; want ErrAuditUnstorable and nothing taken", err, w.Depth())
	}
	if err := w.RecordBatch(batch(4)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := VerifyChain(context.Background(), a)
	if err != nil || n != 10 {
		t.Fatalf("stored %d entries (err %v), want 10", n, err)
	}
	var at []time.Time
	if err := a.ScanAudit(context.Background(), 7, func(e AuditEntry) error { at = append(at, e.At); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, x := range at {
		if x.IsZero() || !x.Equal(at[0]) {
			t.Fatalf("one batch's times %v: want one instant", at)
		}
	}
}

func TestAuditWriterCloseGivesUpWhenStorageStaysDown(t *testing.T) {
	a := newSliceAudit()
	a.fail.Store(1 << 30)
	w := NewAuditWriter(a, AuditWriterOptions{FlushEvery: time.Millisecond})
	if err := w.Record(AuditEntry{Action: "x"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err == nil {
		t.Fatal("close reported success with an entry unstored")
	}
	if w.Healthy() || w.Depth() != 1 {
		t.Errorf("healthy=%v depth=%d, want unhealthy with 1 pending", w.Healthy(), w.Depth())
	}
}

func BenchmarkAuditWriter(b *testing.B) {
	a := newSliceAudit()
	w := NewAuditWriter(a, AuditWriterOptions{})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for w.Record(AuditEntry{Actor: "bench", Action: "verify.public"}) != nil {
				time.Sleep(time.Millisecond)
			}
		}
	})
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// staleHead reports the head as it was before the last entries, as a
// verifier sees a trail that is appended to while it runs.
type staleHead struct {
	*sliceAudit
	head ChainHead
}

func (s staleHead) AuditHead(context.Context) (ChainHead, error) { return s.head, nil }

func TestVerifyChainOnALiveTrail(t *testing.T) {
	a := filledAudit(t, 6)
	head, _ := a.AuditHead(context.Background())
	for i := 0; i < 3; i++ {
		if err := a.AppendAudit(context.Background(), []AuditEntry{{Actor: "late", Action: "x", At: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := VerifyChain(context.Background(), staleHead{a, head})
	if err != nil || n != 6 {
		t.Fatalf("entries appended after the head was read: n=%d err=%v, want 6 verified", n, err)
	}
}
