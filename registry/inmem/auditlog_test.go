package inmem

import (
	"bytes"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// TestAuditLogChunks: positions, searches and deletions work across
// chunk boundaries.
func TestAuditLogChunks(t *testing.T) {
	var l auditLog
	n := 2*auditChunk + 5
	for i := 1; i <= n; i++ {
		l.Append(&registry.AuditEntry{Seq: int64(i)})
	}
	if l.Len() != n || len(l.chunks) != 3 {
		t.Fatalf("Len %d in %d chunks, want %d in 3", l.Len(), len(l.chunks), n)
	}
	for _, k := range []int{0, auditChunk - 1, auditChunk, 2 * auditChunk, n - 1} {
		if got := l.Seq(k); got != int64(k+1) {
			t.Errorf("Seq(%d) = %d", k, got)
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
	if l.Len() != n-1 || l.Seq(auditChunk-1) != auditChunk+1 || l.Seq(n-2) != int64(n) {
		t.Errorf("after Delete: Len %d, Seq(%d) %d, last Seq %d", l.Len(), auditChunk-1, l.Seq(auditChunk-1), l.Seq(n-2))
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
	l.Append(&registry.AuditEntry{Seq: 99})
	if l.Seq(l.Len()-1) != 99 || len(l.chunks) != 3 {
		t.Errorf("append after deletions: last Seq %d, %d chunks", l.Seq(l.Len()-1), len(l.chunks))
	}
}

// TestAuditLogPacksEntries: what goes in comes out, the hashes as copies
// the caller owns; Fields leaves the hashes out; Set replaces an entry.
func TestAuditLogPacksEntries(t *testing.T) {
	var l auditLog
	in := registry.AuditEntry{
		Seq: 7, At: time.Date(2026, 11, 30, 1, 2, 3, 456789000, time.UTC),
		Actor: "public:ABC", Action: "verify.public", RecordRef: "1000142019000123", Purpose: "public_verification",
		Detail: `{"result":"match","fields":["name"]}`, PrevHash: bytes.Repeat([]byte{1}, 32), Hash: bytes.Repeat([]byte{2}, 32),
	}
	l.Append(&in)
	in.Hash[0] = 9 // the caller's slice is not the stored one
	got := l.Entry(0)
	want := in
	want.Hash = bytes.Repeat([]byte{2}, 32)
	if got.Seq != want.Seq || !got.At.Equal(want.At) || got.Actor != want.Actor || got.Action != want.Action ||
		got.RecordRef != want.RecordRef || got.Purpose != want.Purpose || got.Detail != want.Detail ||
		!bytes.Equal(got.PrevHash, want.PrevHash) || !bytes.Equal(got.Hash, want.Hash) {
		t.Fatalf("Entry = %+v, want %+v", got, want)
	}
	got.Hash[0] = 8
	if l.Entry(0).Hash[0] != 2 {
		t.Error("Entry's hash shares the stored bytes")
	}
	if f := l.Fields(0); f.Hash != nil || f.PrevHash != nil || f.Detail != want.Detail || l.RecordRef(0) != want.RecordRef {
		t.Errorf("Fields = %+v", f)
	}
	e := l.Entry(0)
	e.Detail, e.Hash = "", nil
	l.Set(0, e)
	if g := l.Entry(0); g.Detail != "" || len(g.Hash) != 0 || g.Actor != want.Actor {
		t.Errorf("after Set: %+v", g)
	}
}
