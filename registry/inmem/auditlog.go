package inmem

import (
	"sort"
	"strings"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// auditChunk is how many entries one chunk of the trail holds.
const auditChunk = 8192

// auditLog is the trail in memory, in fixed-size chunks: appending never
// copies (nor clears) what is already held, as doubling one slice would at
// every power of two — on a gateway under load that copying cost more than
// hashing the chain.
//
// Entries are packed: their numbers, and their texts and hashes in one
// string. Held as AuditEntry values, each entry kept five objects alive
// (the strings the request made, two cloned hashes) in pointer-rich
// chunks, and under load the growing trail cost dev a tenth of its
// throughput in page faults and garbage-collector marking; packed, an
// entry is one object and the chunks hold a single pointer each.
type auditLog struct {
	chunks [][]packedEntry
	n      int
}

// packedEntry is one entry of the trail.
type packedEntry struct {
	seq  int64
	at   int64     // Unix microseconds: all that registry.Link keeps of At
	ends [6]uint32 // ends of actor, action, record ref, purpose, detail and prev hash in blob; hash is the rest
	blob string
}

func packEntry(e *registry.AuditEntry) packedEntry {
	texts := [...]string{e.Actor, e.Action, e.RecordRef, e.Purpose, e.Detail}
	n := len(e.PrevHash) + len(e.Hash)
	for _, t := range texts {
		n += len(t)
	}
	var b strings.Builder // its String shares the buffer: one allocation
	b.Grow(n)
	p := packedEntry{seq: e.Seq, at: e.At.UnixMicro()}
	for i, t := range texts {
		b.WriteString(t)
		p.ends[i] = uint32(b.Len())
	}
	b.Write(e.PrevHash)
	p.ends[5] = uint32(b.Len())
	b.Write(e.Hash)
	p.blob = b.String()
	return p
}

// entry unpacks p. The texts share the blob's memory; the hashes are
// copies the caller owns, or nil when hashes is false (for matching
// against a query, which never reads them).
func (p *packedEntry) entry(hashes bool) registry.AuditEntry {
	span := func(i int) string {
		var from uint32
		if i > 0 {
			from = p.ends[i-1]
		}
		return p.blob[from:p.ends[i]]
	}
	e := registry.AuditEntry{
		Seq: p.seq, At: time.UnixMicro(p.at).UTC(),
		Actor: span(0), Action: span(1), RecordRef: span(2), Purpose: span(3), Detail: span(4),
	}
	if hashes {
		e.PrevHash = []byte(span(5))
		e.Hash = []byte(p.blob[p.ends[5]:])
	}
	return e
}

func (l *auditLog) Len() int { return l.n }

func (l *auditLog) at(k int) *packedEntry {
	return &l.chunks[k/auditChunk][k%auditChunk]
}

// Entry is the k-th entry, 0 ≤ k < Len, hashes included.
func (l *auditLog) Entry(k int) registry.AuditEntry { return l.at(k).entry(true) }

// Fields is the k-th entry without its hashes.
func (l *auditLog) Fields(k int) registry.AuditEntry { return l.at(k).entry(false) }

// Seq is the k-th entry's Seq.
func (l *auditLog) Seq(k int) int64 { return l.at(k).seq }

// RecordRef is the k-th entry's record reference, sharing its memory.
func (l *auditLog) RecordRef(k int) string {
	p := l.at(k)
	return p.blob[p.ends[1]:p.ends[2]]
}

// Set replaces the k-th entry (for the tamper tests).
func (l *auditLog) Set(k int, e registry.AuditEntry) { *l.at(k) = packEntry(&e) }

func (l *auditLog) Append(e *registry.AuditEntry) {
	if l.n%auditChunk == 0 {
		l.chunks = append(l.chunks, make([]packedEntry, 0, auditChunk))
	}
	last := len(l.chunks) - 1
	l.chunks[last] = append(l.chunks[last], packEntry(e))
	l.n++
}

// Delete removes the k-th entry, moving every later one down: O(n), for
// the tamper tests only.
func (l *auditLog) Delete(k int) {
	for i := k; i+1 < l.n; i++ {
		*l.at(i) = *l.at(i + 1)
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
	return sort.Search(l.n, func(k int) bool { return l.Seq(k) > seq })
}

// Index finds the entry with this Seq: at seq-1 until entries are
// deleted, by a linear search after (tampering may break the order).
func (l *auditLog) Index(seq int64) int {
	if k := seq - 1; k >= 0 && k < int64(l.n) && l.Seq(int(k)) == seq {
		return int(k)
	}
	for k := range l.n {
		if l.Seq(k) == seq {
			return k
		}
	}
	return -1
}
