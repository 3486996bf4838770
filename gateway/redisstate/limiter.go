package redisstate

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/degreegate/degreegate/gateway/ratelimit"
)

// Limiter defaults.
const (
	// DefaultInterval is how often local buckets settle with Redis. It
	// bounds how stale a replica's view of the cluster is, and costs one
	// pipelined round trip per interval whatever the request rate.
	DefaultInterval = 50 * time.Millisecond
	// DefaultMaxBatch bounds the keys settled per interval (82 000 keys a
	// second at the default interval, above what one replica serves).
	DefaultMaxBatch = 4096
	// sweepEvery is how often idle local buckets are forgotten.
	sweepEvery = 10 * time.Second
)

// LimiterConfig configures a shared Limiter. The zero value is usable
// except for Prefix, which every replica of one deployment must share.
type LimiterConfig struct {
	// Prefix starts every Redis key, e.g. "degreegate:". Tests use a random
	// one each.
	Prefix string
	// Interval between settlements with Redis; DefaultInterval when zero.
	Interval time.Duration
	// MaxKeys bounds the local buckets; ratelimit.DefaultMaxKeys when zero.
	MaxKeys int
	// MaxBatch bounds the keys settled per interval; DefaultMaxBatch when
	// zero. Keys beyond it wait for the next interval.
	MaxBatch int
	// KeySecret, when set, makes Redis key names an HMAC of the client
	// identity; without it they are a plain SHA-256 of it, which hides
	// nothing from someone who guesses the identity (see keyDigest).
	// Every replica needs the same secret.
	KeySecret []byte
	// Logger receives state changes (degraded, recovered); never keys.
	Logger *slog.Logger
}

// Limiter is the rate limiter shared by all gateway replicas: a two-tier
// design in which no request waits for Redis.
//
// Hot path: each (rule, key) has a local x/time/rate bucket with the full
// rule and an allowance, this replica's share of what the cluster has
// left. A request is admitted when both have a token; it costs a map
// lookup and a few atomic operations, the same as the local limiter.
//
// Settlement: every Interval one goroutine (Run) sends Redis a heartbeat
// and, for every key used since the last settlement, a report to a GCRA
// script, in pipelines of up to 2,048 keys (256 keys a script call on a
// single node; on a cluster 256 keys, one call each). The script records the
// admissions and returns what the cluster has left; the replica's new
// allowance is ⌈left / N⌉, N being the number of live replicas the
// heartbeat counts. Reports are idempotent (see gcraScript): each carries
// the replica's cumulative count for the key, and Redis keeps, per key and
// replica, the count it has applied. A settlement whose reply is lost
// (Redis ran the script, the client timed out) is simply reported again
// with the newer total, and Redis applies only the difference, so a
// timeout never counts an admission twice.
//
// Why GCRA: its whole state is one timestamp per key (the theoretical
// arrival time), so the script is O(1), the key expires by itself once
// the bucket is full again, and it answers the RateLimit-* numbers
// (remaining, retry, reset) directly. It takes a count, so one call
// settles any number of local admissions, and it can record admissions
// that overdrew the bucket as a debt (capped at one burst) that later
// settlements repay. A sliding-window log would cost memory per request;
// fixed windows admit twice the limit across a window edge.
//
// Over-admission bound, for rate R, burst B and N replicas: Redis never
// hands out a token twice, since each share is cut from what is left after
// every reported admission. What is not yet reported is at most each
// replica's current share, ⌈B/N⌉, plus its share of what the cluster
// regained since (regain), so at most B + 2(N − 1) over the cluster.
// Hence in any window of length W the replicas together admit at most
// R·W + 2B + 2(N − 1) requests (R·W + B for a single exact GCRA), and over
// a sustained flood the rate converges to R because every admission is
// recorded. A key new to a replica starts with ⌈B/N⌉ before its first
// settlement, which is within the same bound. TestTwoReplicasShareOneLimit
// measures it.
//
// Failure: a key whose settlement failed (timeout, lost connection) is
// decided by its local bucket alone, the full rule, until a settlement of
// it succeeds; what that admits is counted and reported by the retry. So a
// failed settlement never refuses a request the rule allows (a spent share
// would), and the cluster limit is exceeded only until the next settlement
// that succeeds books the admissions (as debt when they overdrew). When no
// settlement has succeeded for five intervals (at least 250 ms), or none
// ever has, the limiter is Degraded and every replica enforces the full
// rule locally, uncounted: at most N·(R·W + B), never unlimited. It
// recovers by itself on the next settlement that succeeds; go-redis
// re-dials at least once a second.
type Limiter struct {
	rdb     redis.UniversalClient
	cfg     LimiterConfig
	table   *ratelimit.Table[shared]
	replica string
	// digests holds the hashes keyDigest uses: it runs for every new key,
	// under the table shard's lock.
	digests  sync.Pool
	beatKey  string
	beatTTL  int64 // ms
	replicas atomic.Int64
	degraded atomic.Bool
	// incarnations numbers local entries, so that Redis can tell a
	// recreated entry's count (starting again at zero) from an old one's.
	incarnations atomic.Uint64
	mu           sync.Mutex
	queue        []*ratelimit.Entry[shared]
	// Owned by the Run goroutine.
	spare     []*ratelimit.Entry[shared]
	lastSweep time.Time
	lastOK    time.Time
	warned    bool
	// degradeAfter is how long settlements may fail before the limiter
	// falls back to local limits.
	degradeAfter time.Duration
	// perCall is how many keys one script call settles (gcraScript), and
	// perPipeline how many one round trip carries.
	perCall, perPipeline int
}

// shared is what the Redis tier keeps beside each local bucket.
type shared struct {
	// allowance is what this replica may still admit before the next
	// settlement; it may go negative when the last share was overdrawn.
	allowance atomic.Int64
	// total counts the admissions to report, cumulatively: settlements
	// send it whole and Redis applies what it has not seen (gcraScript).
	// refunds counts the admissions given back (Refund), the same way.
	total, refunds atomic.Int64
	// queued is set while the entry waits in the settlement queue.
	queued atomic.Bool
	// unsettled is set while the key's last settlement failed: its share
	// is unknown, so the local bucket decides (see Limiter, Failure).
	unsettled atomic.Bool
	// regained is set once regain has topped the share up since the last
	// settlement.
	regained atomic.Bool
	// left is what the cluster had left at the last settlement (negative
	// while in debt) and settledAt when that was (Unix ns); regain
	// extrapolates from them.
	left      atomic.Int64
	settledAt atomic.Int64
	// retryAt is when the cluster has a token again and resetAt when its
	// bucket is full (Unix ns), as of the last settlement.
	retryAt atomic.Int64
	resetAt atomic.Int64
	// incarnation tells this entry's reports from those of an entry for
	// the same key that was evicted and created again.
	incarnation uint64

	// name is the key's Redis name without the prefix (keyDigest), made
	// when the entry is: the key's text is not kept.
	name [16]byte

	// Owned by the settlement goroutine.
	// sent is the total in the latest report, acked the latest total Redis
	// confirmed; they differ while a report's fate is unknown, since
	// sentAt. sentRefunds and ackedRefunds are the same for refunds.
	sent, acked               int64
	sentRefunds, ackedRefunds int64
	sentAt                    time.Time
}

// pending reports whether the latest report's fate is unknown. Settlement
// goroutine only.
func (s *shared) pending() bool { return s.sent != s.acked || s.sentRefunds != s.ackedRefunds }

var _ ratelimit.Limiter = (*Limiter)(nil)

// NewLimiter returns a limiter that is Degraded (local limits only) until
// Run has settled once.
func NewLimiter(rdb redis.UniversalClient, cfg LimiterConfig) *Limiter {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var id [8]byte
	_, _ = rand.Read(id[:]) // never fails (crypto/rand doc)
	// A cluster spreads keys over hash slots, and one script call may
	// only touch keys of one slot.
	perCall, perPipeline := 1, clusterKeysPerPipeline
	if c, ok := rdb.(*redis.Client); ok {
		perCall, perPipeline = keysPerCall, keysPerPipeline
		// Settlement's own read and write deadline (settleChunkTimeout)
		// on the same pools; a cluster client keeps its own timeouts.
		rdb = c.WithTimeout(settleChunkTimeout)
	}
	l := &Limiter{
		rdb:     rdb,
		cfg:     cfg,
		replica: hex.EncodeToString(id[:]),
		beatKey: cfg.Prefix + "rl:replicas",
		// A replica that missed ten settlements (at least a second) no
		// longer counts; until then the others under-admit a little.
		beatTTL:      max(time.Second, 10*cfg.Interval).Milliseconds(),
		degradeAfter: max(250*time.Millisecond, 5*cfg.Interval),
		perCall:      perCall,
		perPipeline:  perPipeline,
	}
	l.digests.New = func() any {
		if len(cfg.KeySecret) == 0 {
			return sha256.New()
		}
		return hmac.New(sha256.New, cfg.KeySecret)
	}
	l.replicas.Store(1)
	l.degraded.Store(true)
	l.table = ratelimit.NewTable(cfg.MaxKeys, l.initEntry)
	return l
}

func (l *Limiter) initEntry(e *ratelimit.Entry[shared], key ratelimit.Key, rule ratelimit.Rule) {
	e.Ext.allowance.Store(share(int64(rule.Burst), l.replicas.Load()))
	e.Ext.incarnation = l.incarnations.Add(1)
	e.Ext.name = l.keyDigest(rule, key)
}

// Allow admits one request for key under rule, from local state only.
func (l *Limiter) Allow(_ context.Context, key ratelimit.Key, rule ratelimit.Rule) ratelimit.Decision {
	if !rule.Valid() {
		return ratelimit.Decision{Limit: rule.Burst, RetryAfter: time.Second}
	}
	now := time.Now()
	e := l.table.Get(key, rule, now)
	s := &e.Ext
	if !s.queued.Load() {
		l.enqueue(e)
	}
	if l.degraded.Load() {
		return e.Take(now)
	}
	if s.unsettled.Load() {
		// The share is unknown since a settlement failed: the rule
		// decides, and the retry reports what it admits.
		d := e.Take(now)
		if d.Allowed {
			s.total.Add(1)
		}
		return d
	}
	if !s.take() && !l.regain(e, now) {
		retryAt := s.retryAt.Load()
		if retryAt == 0 {
			// Not settled yet: the local bucket knows best when to retry.
			d := e.Peek(now)
			d.Allowed, d.Remaining = false, 0
			d.RetryAfter = max(d.RetryAfter, l.cfg.Interval)
			return d
		}
		// Refused by the cluster's share: answered from atomics alone, so
		// a flood on one key costs no lock.
		e.Touch(now)
		retry := max(l.cfg.Interval, time.Duration(retryAt-now.UnixNano()))
		return ratelimit.Decision{
			Limit:      rule.Burst,
			Reset:      max(retry, time.Duration(s.resetAt.Load()-now.UnixNano())),
			RetryAfter: retry,
		}
	}
	d := e.Take(now)
	if !d.Allowed {
		s.allowance.Add(1)
		return d
	}
	s.total.Add(1)
	if a := int(s.allowance.Load()); a < d.Remaining {
		d.Remaining = max(a, 0)
	}
	return d
}

// Refund gives back one admission of key under rule: to the local
// bucket, to this replica's share, and to the refunds settlement
// reports, so Redis moves the key's arrival time back by one token. An
// entry never reports more refunds than admissions: a refund for an entry
// evicted since its admission gives back only locally.
func (l *Limiter) Refund(_ context.Context, key ratelimit.Key, rule ratelimit.Rule) {
	if !rule.Valid() {
		return
	}
	now := time.Now()
	e := l.table.Get(key, rule, now)
	s := &e.Ext
	e.Give(now)
	if l.degraded.Load() {
		return // Allow counted nothing either
	}
	if s.refunds.Add(1) > s.total.Load() {
		s.refunds.Add(-1)
		return
	}
	s.allowance.Add(1)
	if !s.queued.Load() {
		l.enqueue(e)
	}
}

// regain tops a spent share up, once per settlement, with this replica's
// share of what the cluster has regained since the settlement, and takes
// one unit of it if it can. Without it a key that went idle with its
// share spent would be refused on its return until the next settlement,
// although the cluster's bucket had long refilled: the share is only
// re-cut for keys in use. The cut (⌈regained/N⌉ each) keeps the
// replicas' sum at what the cluster regained, plus rounding.
func (l *Limiter) regain(e *ratelimit.Entry[shared], now time.Time) bool {
	s := &e.Ext
	at := s.settledAt.Load()
	if at == 0 || s.regained.Load() {
		return false
	}
	left := s.left.Load()
	level := min(float64(left)+e.Rate()*float64(now.UnixNano()-at)/1e9, float64(e.Burst()))
	back := int64(level) - max(left, 0) // what the shares did not cut yet
	if back < 1 || !s.regained.CompareAndSwap(false, true) {
		return false
	}
	s.allowance.Add(share(back, l.replicas.Load()))
	return s.take()
}

// take spends one unit of the allowance if there is one. The load first
// keeps an exhausted allowance's cache line shared between cores.
func (s *shared) take() bool {
	if s.allowance.Load() <= 0 {
		return false
	}
	if s.allowance.Add(-1) < 0 {
		s.allowance.Add(1)
		return false
	}
	return true
}

// enqueue puts e in the next settlement, unless the batch is full; then
// the next request for e tries again.
func (l *Limiter) enqueue(e *ratelimit.Entry[shared]) {
	if e.Ext.queued.Swap(true) {
		return
	}
	l.mu.Lock()
	if len(l.queue) < l.cfg.MaxBatch {
		l.queue = append(l.queue, e)
		e = nil
	}
	l.mu.Unlock()
	if e != nil {
		e.Ext.queued.Store(false)
	}
}

// Degraded reports whether the last settlement failed (or none has run):
// limits are then local to this replica. For /readyz and metrics.
func (l *Limiter) Degraded() bool { return l.degraded.Load() }

// Replicas is the number of live replicas the last heartbeat counted.
func (l *Limiter) Replicas() int { return int(l.replicas.Load()) }

// Keys is the number of local buckets.
func (l *Limiter) Keys() int { return l.table.Len() }

// share is ⌈left/n⌉ for left > 0, else 0: rounding up keeps a key with
// fewer tokens left than replicas usable, at a cost of at most n−1 tokens
// that the next settlement books as debt.
func share(left, n int64) int64 {
	if left <= 0 {
		return 0
	}
	n = max(n, 1)
	return (left + n - 1) / n
}
