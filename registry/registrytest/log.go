package registrytest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/translog"
)

// The log's contract: every entry AppendAudit stores is, in the same
// step, leaf Seq−1 of the log, whose size and root the head carries and
// whose stored hashes ReadLogHashes serves. The tests recompute leaves
// from the entries the store scans, with the suite's key, and hold the
// store's roots and proofs to translog's.

var suiteLogKey, _ = registry.NewLogKey(bytes.Repeat([]byte{0x5a}, registry.KeySize))

// committing is the trail as a gateway wires it: entries are committed
// with the suite's key before the store sees them.
func committing(a registry.AuditLog) registry.AuditLog {
	return registry.Committing{AuditLog: a, Key: suiteLogKey}
}

// wantLog recomputes the log from the trail's entries.
func wantLog(t *testing.T, a registry.AuditLog) (translog.Edge, *translog.MemoryHashes) {
	t.Helper()
	e, m := translog.EmptyEdge(), &translog.MemoryHashes{}
	for _, entry := range scanAudit(t, a, 1) {
		suiteLogKey.Commit(&entry)
		leaves, err := registry.LeafHashes([]registry.AuditEntry{entry})
		if err != nil {
			t.Fatal(err)
		}
		stored, next, err := e.Append(leaves)
		if err != nil {
			t.Fatal(err)
		}
		m.Add(stored)
		e = next
	}
	return e, m
}

func checkLog(t *testing.T, a registry.AuditLog) registry.ChainHead {
	t.Helper()
	head := mustHead(t, a)
	want, _ := wantLog(t, a)
	if head.LogSize != head.Seq || head.LogSize != want.Size() {
		t.Fatalf("head: trail %d, log %d; the trail holds %d entries", head.Seq, head.LogSize, want.Size())
	}
	if head.LogRoot != want.Root() {
		t.Fatalf("log root of %d leaves %s, recomputed from the entries %s", head.LogSize, head.LogRoot, want.Root())
	}
	if got, err := translog.Root(t.Context(), registry.LogHashes{Log: a}, head.LogSize); err != nil || got != head.LogRoot {
		t.Fatalf("root from the stored hashes %s, %v; head says %s", got, err, head.LogRoot)
	}
	return head
}

func testLogFollowsTrail(t *testing.T, a registry.AuditLog) {
	if h := mustHead(t, a); h.LogSize != 0 || h.LogRoot != translog.EmptyEdge().Root() {
		t.Fatalf("empty trail: log of %d leaves, root %s; want 0 and RFC 9162's empty root", h.LogSize, h.LogRoot)
	}
	for i, n := range []int{1, 2, 5, 1, 13, 64} {
		mustAppendAudit(t, a, auditEntries(fmt.Sprint("b", i), n))
		checkLog(t, a)
	}
}

func testLogProofs(t *testing.T, a registry.AuditLog) {
	mustAppendAudit(t, a, auditEntries("p", 37))
	old := checkLog(t, a)
	mustAppendAudit(t, a, auditEntries("q", 20))
	head := checkLog(t, a)
	want, m := wantLog(t, a)
	ctx, r := t.Context(), registry.LogHashes{Log: a}
	cp := translog.Checkpoint{Origin: "suite", Size: head.LogSize, Root: head.LogRoot}
	for _, index := range []int64{0, 1, 17, 36, 37, head.LogSize - 1} {
		p, err := translog.ProveInclusion(ctx, r, head.LogSize, index)
		if err != nil {
			t.Fatalf("prove leaf %d: %v", index, err)
		}
		leaf, _ := m.ReadHashes(ctx, []int64{tlog.StoredHashIndex(0, index)})
		if err := translog.CheckInclusion(cp, index, leaf[0], p); err != nil {
			t.Errorf("leaf %d: %v", index, err)
		}
	}
	p, err := translog.ProveConsistency(ctx, r, old.LogSize, head.LogSize)
	if err != nil {
		t.Fatal(err)
	}
	older := translog.Checkpoint{Origin: "suite", Size: old.LogSize, Root: old.LogRoot}
	if err := translog.CheckConsistency(older, cp, p); err != nil {
		t.Errorf("consistency %d → %d: %v", old.LogSize, head.LogSize, err)
	}
	if want.Root() != head.LogRoot {
		t.Fatal("recomputed root differs")
	}
	if _, err := a.ReadLogHashes(ctx, []int64{tlog.StoredHashCount(head.LogSize)}); err == nil {
		t.Error("ReadLogHashes past the stored hashes: no error")
	}
}

func testLogConcurrent(t *testing.T, a registry.AuditLog) {
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range 10 {
				if err := a.AppendAudit(t.Context(), auditEntries(fmt.Sprintf("w%d/%d", w, b), 1+b%3)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	checkLog(t, a)
}

// An entry without its commitment is refused, and nothing is written.
func testAuditUncommitted(t *testing.T, a registry.AuditLog) {
	before := mustHead(t, a)
	err := a.AppendAudit(t.Context(), auditEntries("raw", 2))
	if !errors.Is(err, registry.ErrUncommitted) {
		t.Fatalf("AppendAudit of uncommitted entries: %v, want ErrUncommitted", err)
	}
	if after := mustHead(t, a); after.Seq != before.Seq || after.LogSize != before.LogSize {
		t.Errorf("a refused batch moved the head from %d to %d", before.Seq, after.Seq)
	}
}
