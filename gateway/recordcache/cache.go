// Package recordcache is a read-through cache in front of the registry's
// lookups by certificate number, for the public verification hot path of
// `degreegate serve`.
//
// Three things keep the registry's load low without changing what anyone
// is told:
//
//   - A bounded LRU with a short TTL holds what was found, and what was not
//     found: an unknown number costs exactly what a known one costs, cached
//     or not, so timing tells nobody which numbers exist.
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
// The package imports the registry and x/sync only; the serve command
// wires it to the store and the broadcast.
package recordcache

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/degreegate/degreegate/registry"
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
	// DefaultSize bounds memory: a version takes about 2 KB, so the cache
	// stays under about 40 MB however many numbers are asked for. With
	// the default TTL it holds every number asked in the last TTL up to
	// 10,000 distinct numbers a second; beyond that the LRU keeps the hot
	// ones, the only ones a cache helps with anyway.
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

// Options tune a Cache; zero values take the defaults.
type Options struct {
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
// number. It is safe for concurrent use. Versions it returns share their
// byte slices with the cache and with other callers: read, never modify.
type Cache struct {
	src  Source
	opt  Options
	lru  *lru.Cache[string, *entry]
	load *batcher

	// mu orders fills against invalidations: gen moves on every
	// invalidation, and a fill stores only if gen has not moved since its
	// lookup began, so no lookup that raced a revocation is kept.
	mu  sync.Mutex
	gen atomic.Uint64

	flights singleflight.Group
	hits    atomic.Int64
	misses  atomic.Int64
	bypass  atomic.Int64
}

// entry is one cached answer: a version, or registry.ErrNotFound.
type entry struct {
	v       registry.Version
	err     error
	expires time.Time
}

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
	l, err := lru.New[string, *entry](opt.Size)
	if err != nil {
		panic("recordcache: " + err.Error()) // only for size ≤ 0, excluded above
	}
	return &Cache{
		src:  src,
		opt:  opt,
		lru:  l,
		load: newBatcher(src, opt.MaxBatch, opt.Loaders, opt.QueryTimeout),
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
	now := c.opt.Now()
	if e, ok := c.lru.Get(certificateNumber); ok && now.Before(e.expires) {
		c.hits.Add(1)
		return e.v, true, e.err
	}
	c.misses.Add(1)
	gen := c.gen.Load()
	// The flight's key carries the generation, so a lookup begun before an
	// invalidation is never joined by a request that came after it.
	key := strconv.FormatUint(gen, 10) + "/" + certificateNumber
	cert := key[len(key)-len(certificateNumber):] // a copy: it outlives the request's buffers
	ch := c.flights.DoChan(key, func() (any, error) {
		e := c.load.get(cert)
		if e.err == nil || errors.Is(e.err, registry.ErrNotFound) {
			c.fill(gen, cert, e)
		}
		// The same entry goes to every caller and into the cache: one
		// allocation per lookup, however many wait for it.
		return e, nil
	})
	select {
	case r := <-ch:
		e := r.Val.(*entry)
		return e.v, false, e.err
	case <-ctx.Done():
		return registry.Version{}, false, ctx.Err()
	}
}

// fill caches an answer unless an invalidation came since gen. It sets
// the expiry before the entry is shared with anyone.
func (c *Cache) fill(gen uint64, cert string, e *entry) {
	e.expires = c.opt.Now().Add(c.opt.TTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() == gen {
		c.lru.Add(cert, e)
	}
}

// Invalidate drops what the cache holds for a certificate (it was revoked
// or changed) and keeps any lookup already running from storing it.
func (c *Cache) Invalidate(certificateNumber string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.lru.Remove(certificateNumber)
}

// Reset drops everything: invalidations may have been missed.
func (c *Cache) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.lru.Purge()
}

// Len is the number of entries held, expired ones included.
func (c *Cache) Len() int { return c.lru.Len() }

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	q, k := c.load.stats()
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Bypassed: c.bypass.Load(), Queries: q, Keys: k}
}
