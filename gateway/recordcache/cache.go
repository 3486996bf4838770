// Package recordcache is a read-through cache in front of the registry's
// lookups by certificate number, for the public verification hot path of
// `degreegate serve`.
//
// Three things keep the registry's load low without changing what anyone
// is told:
//
//   - A bounded cache with a short TTL holds what was found, and what was
//     not found: an unknown number costs exactly what a known one costs,
//     cached or not, so timing tells nobody which numbers exist. It keeps
//     versions encoded (registry/recordbin) in VictoriaMetrics/fastcache,
//     whose memory the garbage collector never scans: twenty thousand
//     decoded versions were a quarter of a million objects to mark on
//     every collection, and those mark phases were serve's latency tail.
//     A hit decodes its version afresh (two allocations).
//   - Concurrent misses for one number share one lookup (singleflight).
//   - Misses for different numbers are batched: up to Loaders store queries
//     run at once, and whatever arrives while they run waits for the next
//     query and goes with it (Store.CurrentMany, up to MaxBatch numbers in
//     one round trip). At low load every miss is a query of its own, sent at
//     once; under load the queries grow instead of queueing for connections.
//
// Revocation must show within a second on every replica, whatever the TTL:
// the registry publishes each revocation (gateway/redisstate.Revocations)
// and every replica calls Invalidate for it and Reset on every
// resubscription, when it may have missed some. While the broadcast is not
// live (Options.Live), the cache is bypassed altogether. A lookup that was
// already running when an invalidation came is handed to its callers but
// never stored.
//
// The package imports the registry, x/sync and fastcache only; the serve
// command wires it to the store and the broadcast.
package recordcache

import (
	"context"
	"encoding/binary"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/fastcache"
	"golang.org/x/sync/singleflight"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordbin"
)

// Source is what the cache reads through: registry.Store is one.
type Source interface {
	// Current returns the newest version, or registry.ErrNotFound.
	Current(ctx context.Context, certificateNumber string) (registry.Version, error)
	// CurrentMany returns the newest versions of those that exist.
	CurrentMany(ctx context.Context, certificateNumbers []string) ([]registry.Version, error)
}

// Defaults of Options.
const (
	// DefaultSize is the records the cache is sized for: it takes
	// entryBytes each, so the cache stays under about 40 MB however many
	// numbers are asked for. With the default TTL it holds every number
	// asked in the last TTL up to 10,000 distinct numbers a second; beyond
	// that the oldest entries go first.
	DefaultSize = 20_000
	// DefaultTTL bounds how long an amendment (which is not broadcast)
	// can take to show, and how long a revocation can if its broadcast
	// is lost while the subscription still looks live.
	DefaultTTL = 2 * time.Second
	// DefaultMaxBatch bounds the numbers asked in one query.
	DefaultMaxBatch = 64
	// DefaultLoaders is the number of store queries run at once. Few is
	// better: what arrives while they run is batched into the next ones,
	// and one query of ten numbers costs the database far less than ten
	// queries. Two keep one query in flight while the next is answered.
	DefaultLoaders = 2
	// DefaultQueryTimeout bounds one store query.
	DefaultQueryTimeout = 2 * time.Second
)

// entryBytes is the room Size reserves per record: an encoded version
// is 1–1.5 KB. fastcache takes at least 32 MB however small Size is, in
// 64 KB chunks it maps as they fill.
const entryBytes = 2048

// Options tune a Cache; zero values take the defaults.
type Options struct {
	// Size is the number of records to make room for (see entryBytes).
	Size         int
	TTL          time.Duration
	MaxBatch     int
	Loaders      int
	QueryTimeout time.Duration
	// Live reports whether invalidations are being delivered. While it
	// returns false every Get goes to the store and nothing is cached.
	// Nil means always live (a single process that revokes through its
	// own Invalidate).
	Live func() bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Stats are counters since the cache was made.
type Stats struct {
	Hits     int64 // answered from the cache
	Misses   int64 // answered by a lookup, then cached
	Bypassed int64 // answered by the store while the broadcast was not live
	Queries  int64 // store queries run for misses
	Keys     int64 // numbers asked in those queries (Keys/Queries: mean batch)
}

// Cache is a read-through cache of registry versions by certificate
// number. It is safe for concurrent use. Callers that shared one lookup
// share the version it found, byte slices included: read, never modify.
type Cache struct {
	src   Source
	opt   Options
	store *fastcache.Cache
	load  *batcher
	// bufs holds buffers for values read and written: a decoded version
	// copies what it keeps.
	bufs sync.Pool

	// mu orders fills against invalidations: gen moves on every
	// invalidation, and a fill stores only if gen has not moved since its
	// lookup began, so no lookup that raced a revocation is kept.
	mu  sync.Mutex
	gen atomic.Uint64

	// decoy is the last version found: a number not found is encoded,
	// stored and decoded as if it were this one (see fill), so a lookup of
	// an unknown number does the work of a known one's.
	decoy atomic.Pointer[registry.Version]

	flights singleflight.Group
	hits    atomic.Int64
	misses  atomic.Int64
	bypass  atomic.Int64
}

// entry is one lookup's answer: a version, or an error.
type entry struct {
	v   registry.Version
	err error
}

// A stored value is the expiry (Unix ns, 8 bytes big-endian), a byte
// telling a found version from a number that does not exist, and the
// recordbin encoding of the version found — for a number not found, of
// the decoy (Cache.decoy), read and decoded all the same.
const (
	valueFound    byte = 1
	valueNotFound byte = 0
	valueHeader        = 9
)

// New makes a cache over src.
func New(src Source, opt Options) *Cache {
	if opt.Size <= 0 {
		opt.Size = DefaultSize
	}
	if opt.TTL <= 0 {
		opt.TTL = DefaultTTL
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = DefaultMaxBatch
	}
	if opt.Loaders <= 0 {
		opt.Loaders = DefaultLoaders
	}
	if opt.QueryTimeout <= 0 {
		opt.QueryTimeout = DefaultQueryTimeout
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Cache{
		src:   src,
		opt:   opt,
		store: fastcache.New(opt.Size * entryBytes),
		load:  newBatcher(src, opt.MaxBatch, opt.Loaders, opt.QueryTimeout),
		bufs:  sync.Pool{New: func() any { return new([]byte) }},
	}
}

// Get returns the newest version of a certificate, or
// registry.ErrNotFound, and whether the answer came from the cache. It
// waits for a lookup no longer than ctx allows.
func (c *Cache) Get(ctx context.Context, certificateNumber string) (registry.Version, bool, error) {
	if c.opt.Live != nil && !c.opt.Live() {
		c.bypass.Add(1)
		v, err := c.src.Current(ctx, certificateNumber)
		return v, false, err
	}
	if e, ok := c.cached(certificateNumber); ok {
		c.hits.Add(1)
		return e.v, true, e.err
	}
	c.misses.Add(1)
	gen := c.gen.Load()
	// The flight's key carries the generation, so a lookup begun before an
	// invalidation is never joined by a request that came after it.
	key := strconv.FormatUint(gen, 10) + "/" + certificateNumber
	cert := key[len(key)-len(certificateNumber):] // a copy: it outlives the request's buffers
	load := func() (any, error) {
		e := c.load.get(cert)
		if e.err == nil || errors.Is(e.err, registry.ErrNotFound) {
			c.fill(gen, cert, e)
		}
		// The same entry goes to every caller and into the cache: one
		// allocation per lookup, however many wait for it.
		return e, nil
	}
	if c.outlasts(ctx) {
		// The shared lookup gives up (QueryTimeout) before this caller
		// would: wait in its own goroutine, which DoChan would spend one
		// more goroutine and wake-up per miss on — and, on the gateway's
		// request contexts, a timer.
		r, _, _ := c.flights.Do(key, load)
		e := r.(*entry)
		return e.v, false, e.err
	}
	select {
	case r := <-c.flights.DoChan(key, load):
		e := r.Val.(*entry)
		return e.v, false, e.err
	case <-ctx.Done():
		return registry.Version{}, false, ctx.Err()
	}
}

// outlasts reports whether a caller may simply wait for a lookup: its
// context never ends, or its deadline is later than the lookup's own
// QueryTimeout, so waiting costs it at most that long whatever else ends
// the context sooner.
func (c *Cache) outlasts(ctx context.Context) bool {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d) > c.opt.QueryTimeout
	}
	return ctx.Done() == nil
}

// cached returns a stored answer that has not expired.
func (c *Cache) cached(cert string) (entry, bool) {
	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	b, ok := c.store.HasGet((*bp)[:0], []byte(cert))
	*bp = b
	if !ok || len(b) < valueHeader || c.opt.Now().UnixNano() >= int64(binary.BigEndian.Uint64(b)) {
		return entry{}, false
	}
	var e entry
	if err := recordbin.DecodeVersion(b[valueHeader:], &e.v); err != nil && b[8] == valueFound {
		// Only a bug could store a value that does not decode: look
		// the number up again rather than fail the request.
		return entry{}, false
	}
	if b[8] == valueNotFound {
		return entry{err: registry.ErrNotFound}, true
	}
	return e, true
}

// fill caches an answer unless an invalidation came since gen. A number
// not found is stored with the decoy's encoding, so that filling and
// reading it cost what a known number's do (TestServeTimingTellsNoNumbers
// in cmd/degreegate; the PostgreSQL store does the same for the lookup).
func (c *Cache) fill(gen uint64, cert string, e *entry) {
	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	b := binary.BigEndian.AppendUint64((*bp)[:0], uint64(c.opt.Now().Add(c.opt.TTL).UnixNano()))
	if e.err != nil {
		b = append(b, valueNotFound)
		if d := c.decoy.Load(); d != nil {
			b = recordbin.AppendVersion(b, d)
		}
	} else {
		b = recordbin.AppendVersion(append(b, valueFound), &e.v)
		c.decoy.Store(&e.v)
	}
	*bp = b
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() == gen {
		// fastcache drops what does not fit in 64 KB: such a record is
		// looked up every time, which is only slower.
		c.store.Set([]byte(cert), b)
	}
}

// Invalidate drops what the cache holds for a certificate (it was revoked
// or changed) and keeps any lookup already running from storing it.
func (c *Cache) Invalidate(certificateNumber string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.store.Del([]byte(certificateNumber))
}

// Reset drops everything: invalidations may have been missed.
func (c *Cache) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.store.Reset()
}

// Len is the number of entries held, expired ones included.
func (c *Cache) Len() int {
	var s fastcache.Stats
	c.store.UpdateStats(&s)
	return int(s.EntriesCount)
}

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	q, k := c.load.stats()
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Bypassed: c.bypass.Load(), Queries: q, Keys: k}
}
