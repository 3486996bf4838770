package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/translog"
)

// forged is a trail as whoever controls the database can rebuild it
// without the keys: entries of their choosing, relinked, and a log over
// leaf hashes of their choosing (those the true log stored, rearranged),
// with the head naming both.
func forged(t *testing.T, entries []AuditEntry, leaves []tlog.Hash) *sliceAudit {
	t.Helper()
	a := newSliceAudit()
	for i := range entries {
		e := entries[i]
		a.head = Link(a.head, &e)
		a.entries = append(a.entries, e)
	}
	stored, edge, err := a.edge.Append(leaves)
	if err != nil {
		t.Fatal(err)
	}
	a.nodes.Add(stored)
	a.edge = edge
	a.head.LogSize, a.head.LogRoot = edge.Size(), edge.Root()
	return a
}

// storedLeaves are the leaf hashes a's log holds, in order.
func storedLeaves(t *testing.T, a *sliceAudit) []tlog.Hash {
	t.Helper()
	out := make([]tlog.Hash, len(a.entries))
	for i := range out {
		h, err := a.ReadLogHashes(context.Background(), []int64{tlog.StoredHashIndex(0, int64(i))})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = h[0]
	}
	return out
}

func checkpointOf(t *testing.T, a *sliceAudit) translog.Checkpoint {
	t.Helper()
	h, _ := a.AuditHead(context.Background())
	return translog.Checkpoint{Origin: "test", Size: h.LogSize, Root: h.LogRoot}
}

func TestVerifyTrailAgainstCheckpoints(t *testing.T) {
	ctx := context.Background()
	a := filledAudit(t, 20)
	kept := checkpointOf(t, a)
	var early []AuditEntry
	early = append(early, a.entries[:7]...)
	earlyCp := checkpointOf(t, forged(t, early, storedLeaves(t, a)[:7]))
	for range 3 {
		if err := a.AppendAudit(ctx, []AuditEntry{{At: time.Now(), Actor: "later", Action: "verify"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := VerifyTrail(ctx, a, nil, testLogKey, []translog.Checkpoint{kept, earlyCp}); err != nil || n != 23 {
		t.Fatalf("untampered trail: %d, %v", n, err)
	}
	if _, err := VerifyTrail(ctx, a, nil, nil, []translog.Checkpoint{kept}); err == nil {
		t.Error("checkpoints without the leaf key: no error")
	}
	other, _ := NewLogKey(make([]byte, KeySize))
	if _, err := VerifyTrail(ctx, a, nil, other, nil); err == nil {
		t.Error("another leaf key: no error")
	}

	leaves := storedLeaves(t, a)
	tests := []struct {
		name    string
		rebuild func() *sliceAudit
		want    string // in the error
	}{
		{"edited and re-chained, log kept", func() *sliceAudit {
			es := append([]AuditEntry(nil), a.entries...)
			es[4].Purpose = "rewritten"
			return forged(t, es, leaves)
		}, "audit entry 5: is not the entry the log holds"},
		{"middle entry removed, log rebuilt from the stored leaves", func() *sliceAudit {
			es := append(append([]AuditEntry(nil), a.entries[:9]...), a.entries[10:]...)
			ls := append(append([]tlog.Hash(nil), leaves[:9]...), leaves[10:]...)
			return forged(t, es, ls)
		}, "do not make the tree of the checkpoint of 20"},
		{"two entries swapped, log rebuilt", func() *sliceAudit {
			es := append([]AuditEntry(nil), a.entries...)
			ls := append([]tlog.Hash(nil), leaves...)
			es[2], es[3] = es[3], es[2]
			ls[2], ls[3] = ls[3], ls[2]
			return forged(t, es, ls)
		}, "checkpoint of 7"},
		{"tail truncated, head rewound", func() *sliceAudit {
			return forged(t, a.entries[:15], leaves[:15])
		}, "audit entry 8: trail ends at 15 but a checkpoint kept outside the database covers 20 entries: entries after 7 (the largest checkpoint the trail matches) were removed or rewritten"},
		{"tail truncated at a checkpoint", func() *sliceAudit {
			return forged(t, a.entries[:7], leaves[:7])
		}, "audit entry 8: trail ends at 7 but a checkpoint kept outside the database covers 20 entries: entries 8–20 removed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.rebuild()
			if _, err := VerifyChain(ctx, f); err != nil {
				t.Fatalf("the forgery fools the chain alone, as it should for this test: %v", err)
			}
			_, err := VerifyTrail(ctx, f, nil, testLogKey, []translog.Checkpoint{earlyCp, kept})
			var ce *ChainError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("VerifyTrail = %v, want a ChainError saying %q", err, tc.want)
			}
		})
	}
}

// The tree recomputed by VerifyTrail is the log's, checkpoint by
// checkpoint, for every size.
func TestVerifyTrailEveryCheckpointSize(t *testing.T) {
	a := filledAudit(t, 0)
	var cps []translog.Checkpoint
	for i := range 40 {
		e := AuditEntry{At: time.Now(), Actor: fmt.Sprint("a", i), Action: "verify"}
		if err := a.AppendAudit(context.Background(), []AuditEntry{e}); err != nil {
			t.Fatal(err)
		}
		cps = append(cps, checkpointOf(t, a))
	}
	if n, err := VerifyTrail(context.Background(), a, nil, testLogKey, cps); err != nil || n != 40 {
		t.Fatalf("%d, %v", n, err)
	}
}
