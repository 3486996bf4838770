package inmem

import (
	"testing"

	"github.com/degreegate/degreegate/registry"
)

// TestAuditLogChunks: positions, searches and deletions work across
// chunk boundaries.
func TestAuditLogChunks(t *testing.T) {
	var l auditLog
	n := 2*auditChunk + 5
	for i := 1; i <= n; i++ {
		l.Append(registry.AuditEntry{Seq: int64(i)})
	}
	if l.Len() != n || len(l.chunks) != 3 {
		t.Fatalf("Len %d in %d chunks, want %d in 3", l.Len(), len(l.chunks), n)
	}
	for _, k := range []int{0, auditChunk - 1, auditChunk, 2 * auditChunk, n - 1} {
		if got := l.At(k).Seq; got != int64(k+1) {
			t.Errorf("At(%d).Seq = %d", k, got)
		}
		if got := l.After(int64(k)); got != k {
			t.Errorf("After(%d) = %d, want %d", k, got, k)
		}
		if got := l.Index(int64(k + 1)); got != k {
			t.Errorf("Index(%d) = %d, want %d", k+1, got, k)
		}
	}
	if got := l.After(int64(n)); got != n {
		t.Errorf("After(last) = %d, want %d", got, n)
	}
	l.Delete(auditChunk - 1) // Seq auditChunk goes; later entries move down
	if l.Len() != n-1 || l.At(auditChunk-1).Seq != auditChunk+1 || l.At(n-2).Seq != int64(n) {
		t.Errorf("after Delete: Len %d, At(%d).Seq %d, last Seq %d", l.Len(), auditChunk-1, l.At(auditChunk-1).Seq, l.At(n-2).Seq)
	}
	if got := l.Index(auditChunk); got != -1 {
		t.Errorf("Index of the deleted Seq = %d, want -1", got)
	}
	if got := l.Index(auditChunk + 1); got != auditChunk-1 {
		t.Errorf("Index after a deletion = %d, want %d (linear search)", got, auditChunk-1)
	}
	for l.Len() > 2*auditChunk {
		l.Delete(l.Len() - 1)
	}
	if len(l.chunks) != 2 {
		t.Errorf("%d chunks after emptying the last, want 2", len(l.chunks))
	}
	l.Append(registry.AuditEntry{Seq: 99})
	if l.At(l.Len()-1).Seq != 99 || len(l.chunks) != 3 {
		t.Errorf("append after deletions: last Seq %d, %d chunks", l.At(l.Len()-1).Seq, len(l.chunks))
	}
}
