package registry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/translog"
)

func testLogSigner(t testing.TB) (*translog.Signer, *translog.Verifier) {
	t.Helper()
	skey, vkey, err := translog.GenerateKey("test.example/log")
	if err != nil {
		t.Fatal(err)
	}
	s, err := translog.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := translog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func TestCheckpointerSignsAndProves(t *testing.T) {
	ctx := context.Background()
	s, v := testLogSigner(t)
	a := newSliceAudit()
	dir := t.TempDir()
	c, err := NewCheckpointer(a, s, v, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sign(ctx); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("empty trail: %v, want ErrNoCheckpoint", err)
	}
	if _, _, err := c.Latest(); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("Latest before any: %v", err)
	}
	for i := range 5 {
		if err := a.AppendAudit(ctx, []AuditEntry{{At: time.Now(), Actor: "x", Action: "verify", Purpose: string(rune('a' + i))}}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := c.Sign(ctx)
	if err != nil || first.Size != 5 {
		t.Fatalf("first checkpoint: %+v, %v", first, err)
	}
	for range 6 {
		if err := a.AppendAudit(ctx, []AuditEntry{{At: time.Now(), Actor: "y", Action: "verify"}}); err != nil {
			t.Fatal(err)
		}
	}
	second, err := c.Sign(ctx)
	if err != nil || second.Size != 11 {
		t.Fatalf("second checkpoint: %+v, %v", second, err)
	}
	cp, note, err := c.Latest()
	if err != nil || cp.Root != second.Root || cp.Size != second.Size {
		t.Fatalf("Latest = %+v, %v", cp, err)
	}
	if opened, err := v.Open(note); err != nil || opened.Root != second.Root {
		t.Fatalf("the served note does not verify: %v", err)
	}
	p, err := c.ProveInclusion(ctx, 3, 0)
	if err != nil || p.Size != 11 {
		t.Fatalf("inclusion: %+v, %v", p, err)
	}
	if err := translog.CheckInclusion(second, 3, p.LeafHash, p.Proof); err != nil {
		t.Error(err)
	}
	size, tp, err := c.ProveConsistency(ctx, 5, 0)
	if err != nil || size != 11 {
		t.Fatal(err)
	}
	if err := translog.CheckConsistency(first, second, tp); err != nil {
		t.Error(err)
	}
	if _, err := c.ProveInclusion(ctx, 3, 12); !errors.Is(err, translog.ErrOutOfRange) {
		t.Errorf("a size beyond the newest checkpoint: %v", err)
	}
	if _, err := c.ProveInclusion(ctx, 11, 11); !errors.Is(err, translog.ErrOutOfRange) {
		t.Errorf("a leaf beyond the tree: %v", err)
	}

	// A restarted gateway serves the kept checkpoint at once, and a
	// trail rewritten behind its back is never signed over.
	forgedTrail := filledAudit(t, 12)
	c2, err := NewCheckpointer(forgedTrail, s, v, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cp, _, err := c2.Latest(); err != nil || cp.Root != second.Root || cp.Size != second.Size {
		t.Fatalf("after a restart: %+v, %v", cp, err)
	}
	if _, err := c2.Sign(ctx); !errors.Is(err, translog.ErrFork) {
		t.Fatalf("signing over a rewritten trail: %v, want ErrFork", err)
	}
	if cp, _, _ := c2.Latest(); cp.Root != second.Root || cp.Size != second.Size {
		t.Fatal("a refused checkpoint replaced the kept one")
	}
	if _, failures := c2.Stats(); failures != 1 {
		t.Errorf("failures = %d, want 1", failures)
	}
	rolledBack := filledAudit(t, 3)
	c3, _ := NewCheckpointer(rolledBack, s, v, dir, nil)
	if _, err := c3.Sign(ctx); !errors.Is(err, translog.ErrRollback) {
		t.Fatalf("signing a smaller tree: %v, want ErrRollback", err)
	}
	// A directory kept for another log is refused.
	_, v2 := testLogSigner(t)
	if _, err := NewCheckpointer(a, s, v2, dir, nil); err == nil {
		t.Error("a verifier of another key: no error")
	}
}

// BenchmarkLogAppend is the log's share of an audit commit, store
// aside: entries committed under the leaf key, their leaf hashes
// appended to the tree's edge in groups of 64, as group commit sends
// them, with a checkpoint signed every 1,000 groups (one a second at
// 64,000 entries a second). Issue 15's target: ≥ 50,000 entries/s.
func BenchmarkLogAppend(b *testing.B) {
	s, _ := testLogSigner(b)
	key := NewRandomLogKey()
	edge := translog.EmptyEdge()
	group := make([]AuditEntry, 64)
	at := time.Now()
	detail := `{"result":"match","fields":["conferral_date","degree_category","degree_level","degree_type","discipline_name","kind","name","status","unit_name"],"receipt":"ZZCNXM3ZKR7SJFSU372KDYQWLQ","policy_version":"default-2025.1"}`
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range group {
			group[j] = AuditEntry{At: at, Actor: "public:M3ZKR7SJFSU372KD", Action: "verify.public",
				RecordRef: "1000142020123456", Purpose: "public_verification", Detail: detail}
			key.Commit(&group[j])
		}
		leaves, err := LeafHashes(group)
		if err != nil {
			b.Fatal(err)
		}
		_, next, err := edge.Append(leaves)
		if err != nil {
			b.Fatal(err)
		}
		edge = next
		if i%1000 == 0 {
			if _, err := s.Sign(edge.Size(), edge.Root()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(edge.Size())/b.Elapsed().Seconds(), "entries/s")
}

// RecordLogged names the leaf the entry became: the log holds that hash
// at that index, for group commit and direct appends alike.
func TestRecordLoggedNamesTheLeaf(t *testing.T) {
	ctx := context.Background()
	a := filledAudit(t, 3)
	w := NewAuditWriter(a, AuditWriterOptions{})
	defer w.Close(ctx)
	for i, rec := range []func(AuditEntry) (LogRef, error){
		func(e AuditEntry) (LogRef, error) { return w.RecordLogged(ctx, e) },
		func(e AuditEntry) (LogRef, error) { return DirectAudit{Log: a}.RecordLogged(ctx, e) },
	} {
		ref, err := rec(AuditEntry{Actor: "public:x", Action: "verify.public", RecordRef: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		head, _ := a.AuditHead(ctx)
		if ref.Index != head.Seq-1 {
			t.Fatalf("leaf %d, want %d (the entry's seq − 1)", ref.Index, head.Seq-1)
		}
		stored, err := a.ReadLogHashes(ctx, []int64{tlog.StoredHashIndex(0, ref.Index)})
		if err != nil || stored[0] != ref.LeafHash {
			t.Fatalf("the log holds another hash at leaf %d: %v", ref.Index, err)
		}
	}
}
