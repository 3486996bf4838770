package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

const (
	// numShards splits the table so that different keys rarely contend
	// for one lock.
	numShards = 64
	// DefaultMaxKeys bounds memory under a flood of distinct keys: about
	// 300 bytes per key, so some 30 MB.
	DefaultMaxKeys = 100_000
	// sweepGap is how often a full shard may be swept for idle buckets
	// when a new key arrives; between sweeps it evicts by sampling. A
	// sweep that frees little doubles the shard's gap, up to maxSweepGap:
	// under a flood of one-off keys whose buckets take minutes to refill
	// (the per-certificate rule), every sweep would walk the whole shard
	// for nothing.
	sweepGap    = time.Second
	maxSweepGap = time.Minute
	// evictSample is how many entries a full shard looks at to choose the
	// least recently used one to evict (the approximation Redis uses).
	evictSample = 8
)

// Entry is one (rule, key) in a Table: its local bucket and whatever the
// table's user keeps beside it (Ext). It holds neither the key's text nor
// the rule's name: a full table is 100,000 entries that the garbage
// collector marks on every cycle, and one object without strings per
// entry keeps that short (see Table).
type Entry[E any] struct {
	Bucket
	Ext E
}

// tableKey identifies a (rule, key) by a keyed 128-bit hash of the rule's
// name and the key, and by the rule's rate and burst, so that a changed
// rate or burst gets a fresh bucket instead of a racy update of the old
// one (the old entry ages out like any idle one). It holds no pointer, so
// the map's memory is not scanned by the garbage collector. Two seeds
// chosen at random per table make a collision between the keys of one
// process a 2^-128 event per pair that nobody outside can aim for.
type tableKey struct {
	id    [2]uint64
	rate  float64
	burst int
}

type shard[E any] struct {
	mu        sync.RWMutex
	m         map[tableKey]*Entry[E]
	lastSweep int64
	gap       int64    // current sweep gap (ns); zero means sweepGap
	_         [64]byte // keeps neighbouring shards' locks off one cache line
}

// Table is a bounded, sharded map from (rule, key) to an Entry. Lookups of
// existing keys take a read lock and do not allocate; a new key costs one
// allocation, its Entry. When a shard is full a new key first sweeps it
// for idle (full) buckets, at most once a second (less often while sweeps
// free little), and otherwise evicts the least recently used of a few
// sampled entries, so memory stays bounded under a flood of distinct keys
// while busy keys keep their state. Evicting a bucket that was not full
// forgets what it spent; with MaxKeys well above the number of keys that
// are busy at once that only happens under such a flood, and then to its
// own keys first, since they are the least recently used.
//
// An evicted entry is never reused: whoever still holds it (a request
// deciding, a settlement in flight) keeps a valid bucket of its own.
type Table[E any] struct {
	seeds    [2]maphash.Seed
	perShard int
	init     func(e *Entry[E], key Key, rule Rule)
	shards   [numShards]shard[E]
}

// NewTable returns a table of at most maxKeys entries (DefaultMaxKeys when
// maxKeys <= 0). init, when not nil, prepares each new entry's Ext from
// its key and rule, the only time they are at hand: it runs under the
// shard's lock, must be quick, and must copy whatever of key it keeps
// (its text may alias a request buffer).
func NewTable[E any](maxKeys int, init func(e *Entry[E], key Key, rule Rule)) *Table[E] {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	t := &Table[E]{
		seeds:    [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		perShard: max(1, (maxKeys+numShards-1)/numShards),
		init:     init,
	}
	for i := range t.shards {
		t.shards[i].m = make(map[tableKey]*Entry[E])
	}
	return t
}

// Get returns the entry for (rule, key), creating it with a full bucket if
// it is new.
func (t *Table[E]) Get(key Key, rule Rule, now time.Time) *Entry[E] {
	tk := t.keyOf(key, rule)
	s := &t.shards[tk.id[0]%numShards]
	s.mu.RLock()
	e := s.m[tk]
	s.mu.RUnlock()
	if e != nil {
		return e
	}
	return t.insert(s, tk, key, rule, now)
}

func (t *Table[E]) insert(s *shard[E], tk tableKey, key Key, rule Rule, now time.Time) *Entry[E] {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[tk]; e != nil {
		return e
	}
	if len(s.m) >= t.perShard {
		ns := now.UnixNano()
		if ns-s.lastSweep >= max(s.gap, int64(sweepGap)) {
			s.lastSweep = ns
			if freed := s.sweepLocked(ns); freed >= t.perShard/8 {
				s.gap = int64(sweepGap)
			} else {
				s.gap = min(2*max(s.gap, int64(sweepGap)), int64(maxSweepGap))
			}
		}
		if len(s.m) >= t.perShard {
			s.evictLocked()
		}
	}
	e := &Entry[E]{}
	e.Bucket.init(rule, now)
	if t.init != nil {
		t.init(e, key, rule)
	}
	s.m[tk] = e
	return e
}

func (s *shard[E]) sweepLocked(now int64) int {
	n := 0
	for k, e := range s.m {
		if e.idle(now) {
			delete(s.m, k)
			n++
		}
	}
	return n
}

// evictLocked removes the least recently used of a few entries; Go's map
// iteration starts at a random place, which makes them a random sample.
func (s *shard[E]) evictLocked() {
	var (
		victim tableKey
		oldest int64
		seen   int
	)
	for k, e := range s.m {
		if last := e.last.Load(); seen == 0 || last < oldest {
			victim, oldest = k, last
		}
		if seen++; seen == evictSample {
			break
		}
	}
	if seen > 0 {
		delete(s.m, victim)
	}
}

// Sweep forgets every idle entry (one whose bucket has refilled) and
// reports how many it dropped.
func (t *Table[E]) Sweep(now time.Time) int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.lastSweep = now.UnixNano()
		n += s.sweepLocked(now.UnixNano())
		s.mu.Unlock()
	}
	return n
}

// Len is the number of entries.
func (t *Table[E]) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// keyOf hashes the rule's name and the key with both seeds. maphash.Hash
// on the stack rather than maphash.Comparable, which would move the key
// to the heap: this path must not allocate.
func (t *Table[E]) keyOf(k Key, r Rule) tableKey {
	tk := tableKey{rate: r.Rate, burst: r.Burst}
	addr := k.addr.As16() // zero for a key without an address
	for i := range tk.id {
		var h maphash.Hash
		h.SetSeed(t.seeds[i])
		h.WriteString(r.Name)
		// The kind and a separator after the name: ("ab", "c") and
		// ("a", "bc") never meet, nor an address and a text.
		h.WriteByte(0)
		h.WriteByte(byte(k.kind))
		h.Write(addr[:])
		h.WriteString(k.text)
		tk.id[i] = h.Sum64()
	}
	return tk
}
