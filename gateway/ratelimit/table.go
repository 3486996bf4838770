package ratelimit

import (
	"hash/maphash"
	"strings"
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
	// when a new key arrives; between sweeps it evicts by sampling.
	sweepGap = time.Second
	// evictSample is how many entries a full shard looks at to choose the
	// least recently used one to evict (the approximation Redis uses).
	evictSample = 8
)

// Entry is one (rule, key) in a Table: its local bucket and whatever the
// table's user keeps beside it (Ext).
type Entry[E any] struct {
	Bucket
	key  Key
	rule Rule
	Ext  E
}

// Key is the entry's key; its text is a private copy.
func (e *Entry[E]) Key() Key { return e.key }

// Rule is the rule the entry counts under.
func (e *Entry[E]) Rule() Rule { return e.rule }

// tableKey includes the whole rule, so that a changed rate or burst gets a
// fresh bucket instead of a racy update of the old one; the old entry ages
// out like any idle one.
type tableKey struct {
	rule Rule
	key  Key
}

type shard[E any] struct {
	mu        sync.RWMutex
	m         map[tableKey]*Entry[E]
	lastSweep int64
	_         [64]byte // keeps neighbouring shards' locks off one cache line
}

// Table is a bounded, sharded map from (rule, key) to an Entry. Lookups of
// existing keys take a read lock and do not allocate. When a shard is full
// a new key first sweeps it for idle (full) buckets, at most once a
// second, and otherwise evicts the least recently used of a few sampled
// entries, so memory stays bounded under a flood of distinct keys while
// busy keys keep their state. Evicting a bucket that was not full forgets
// what it spent; with MaxKeys well above the number of keys that are busy
// at once that only happens under such a flood, and then to its own keys
// first, since they are the least recently used.
type Table[E any] struct {
	seed     maphash.Seed
	perShard int
	init     func(*Entry[E])
	shards   [numShards]shard[E]
}

// NewTable returns a table of at most maxKeys entries (DefaultMaxKeys when
// maxKeys <= 0). init, when not nil, prepares each new entry's Ext; it
// runs under the shard's lock and must be quick.
func NewTable[E any](maxKeys int, init func(*Entry[E])) *Table[E] {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	t := &Table[E]{
		seed:     maphash.MakeSeed(),
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
	tk := tableKey{rule: rule, key: key}
	s := &t.shards[t.shardOf(key)]
	s.mu.RLock()
	e := s.m[tk]
	s.mu.RUnlock()
	if e != nil {
		return e
	}
	return t.insert(s, tk, now)
}

func (t *Table[E]) insert(s *shard[E], tk tableKey, now time.Time) *Entry[E] {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[tk]; e != nil {
		return e
	}
	if len(s.m) >= t.perShard {
		ns := now.UnixNano()
		if ns-s.lastSweep >= int64(sweepGap) {
			s.lastSweep = ns
			s.sweepLocked(ns)
		}
		if len(s.m) >= t.perShard {
			s.evictLocked()
		}
	}
	// The key's text may alias a request buffer that the server reuses.
	// The rule's name is configuration (see Rule) and is shared as it is:
	// a copy per entry would be 100,000 more objects for the garbage
	// collector to mark when the table is full.
	tk.key.text = strings.Clone(tk.key.text)
	e := &Entry[E]{key: tk.key, rule: tk.rule}
	e.Bucket.init(tk.rule, now)
	if t.init != nil {
		t.init(e)
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

// shardOf hashes the key by hand: maphash.Comparable would move the key to
// the heap, and this path must not allocate.
func (t *Table[E]) shardOf(k Key) int {
	var h uint64
	if k.text != "" {
		h = maphash.String(t.seed, k.text)
	} else {
		b := k.addr.As16()
		h = maphash.Bytes(t.seed, b[:])
	}
	return int((h ^ uint64(k.kind)) % numShards)
}
