package inmem

import (
	"sort"

	"github.com/degreegate/degreegate/registry"
)

// auditChunk is how many entries one chunk of the trail holds.
const auditChunk = 8192

// auditLog is the trail in memory, in fixed-size chunks: appending never
// copies (nor clears) what is already held, as doubling one slice would at
// every power of two — on a gateway under load that copying cost more than
// hashing the chain.
type auditLog struct {
	chunks [][]registry.AuditEntry
	n      int
}

func (l *auditLog) Len() int { return l.n }

// At is the k-th entry, 0 ≤ k < Len.
func (l *auditLog) At(k int) *registry.AuditEntry {
	return &l.chunks[k/auditChunk][k%auditChunk]
}

func (l *auditLog) Append(e registry.AuditEntry) {
	if l.n%auditChunk == 0 {
		l.chunks = append(l.chunks, make([]registry.AuditEntry, 0, auditChunk))
	}
	last := len(l.chunks) - 1
	l.chunks[last] = append(l.chunks[last], e)
	l.n++
}

// Delete removes the k-th entry, moving every later one down: O(n), for
// the tamper tests only.
func (l *auditLog) Delete(k int) {
	for i := k; i+1 < l.n; i++ {
		*l.At(i) = *l.At(i + 1)
	}
	last := len(l.chunks) - 1
	l.chunks[last] = l.chunks[last][:len(l.chunks[last])-1]
	if len(l.chunks[last]) == 0 {
		l.chunks = l.chunks[:last]
	}
	l.n--
}

// After is the position of the first entry whose Seq is above seq,
// assuming Seq order (sort.Search over positions).
func (l *auditLog) After(seq int64) int {
	return sort.Search(l.n, func(k int) bool { return l.At(k).Seq > seq })
}

// Index finds the entry with this Seq: at seq-1 until entries are
// deleted, by a linear search after (tampering may break the order).
func (l *auditLog) Index(seq int64) int {
	if k := seq - 1; k >= 0 && k < int64(l.n) && l.At(int(k)).Seq == seq {
		return int(k)
	}
	for k := range l.n {
		if l.At(k).Seq == seq {
			return k
		}
	}
	return -1
}
