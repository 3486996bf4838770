package registry

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/translog"
)

// sliceAudit is a minimal AuditLog for testing the chain logic alone; the
// real implementations are tested by registrytest.
type sliceAudit struct {
	mu      sync.Mutex
	entries []AuditEntry
	head    ChainHead
	edge    translog.Edge
	nodes   translog.MemoryHashes
	fail    atomic.Int32 // AppendAudit fails while > 0, counting down
	calls   atomic.Int32
}

func newSliceAudit() *sliceAudit {
	return &sliceAudit{head: ChainHead{Hash: GenesisHash, LogRoot: translog.EmptyEdge().Root()}, edge: translog.EmptyEdge()}
}

// testLogKey commits the entries of tests that append to sliceAudit
// directly.
var testLogKey, _ = NewLogKey(bytes.Repeat([]byte{7}, KeySize))

func (s *sliceAudit) AppendAudit(ctx context.Context, es []AuditEntry) error {
	s.calls.Add(1)
	if err := CheckStorable(es); err != nil {
		return err
	}
	if s.fail.Load() > 0 {
		s.fail.Add(-1)
		return errors.New("storage down")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range es {
		if es[i].Commitment == nil {
			testLogKey.Commit(&es[i])
		}
	}
	leaves, err := LeafHashes(es)
	if err != nil {
		return err
	}
	stored, edge, err := s.edge.Append(leaves)
	if err != nil {
		return err
	}
	for i := range es {
		s.head = Link(s.head, &es[i])
	}
	s.nodes.Add(stored)
	s.edge = edge
	s.head.LogSize, s.head.LogRoot = edge.Size(), edge.Root()
	s.entries = append(s.entries, es...)
	return nil
}

func (s *sliceAudit) ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	return s.nodes.ReadHashes(ctx, indexes)
}

func (s *sliceAudit) ExtendLog(ctx context.Context, _ int, _ func(*AuditEntry)) (ChainHead, error) {
	return s.AuditHead(ctx)
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
