package redisstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/degreegate/degreegate/gateway/ratelimit"
)

// gcraScript settles keys, idempotently. Times are microseconds of
// Redis's own clock, so replicas with skewed clocks agree.
//
//	KEYS[i]  hash: t = the key's theoretical arrival time (TAT); one field
//	         per replica = "<incarnation>:<admissions applied>:<refunds
//	         applied>" (the last part absent in hashes of earlier versions)
//	ARGV[1]  replica id
//	ARGV[2]  ms a hash is kept at least (reportKeep)
//	then seven per key:
//	  T = 1e6 / rate, µs (may be fractional); burst B; incarnation of the
//	  replica's local entry; its cumulative count of admissions; the count
//	  the replica knows Redis applied; its cumulative count of refunds
//	  (Limiter.Refund); the count of those it knows Redis applied
//
// Idempotence: the script applies total − (the count it last applied for
// this replica and incarnation), and the same for refunds, so a report
// replayed after a lost reply, or overtaken by a newer one, applies
// nothing twice, and reports never need to be acknowledged before the
// next is sent. Both counts only grow, which is what makes a late report
// harmless: a refund is a count of its own, never an admission count
// going down. Without a field (first report, or an entry recreated) the
// replica's acknowledged counts are the base. Every write keeps the hash
// for at least reportKeep, longer than a replica retries a report
// (settleRetryFor), so the field outlives any report whose reply may have
// been lost. Refunds move the arrival time back, never before now.
//
// The admissions are recorded even when they overdraw the bucket (they
// have happened); the debt is capped at one burst so that a replica that
// ran on local limits during an outage does not lock the key for long
// afterwards. Returns, per key, {tokens left now (negative while in
// debt), µs until one token is left, µs until the bucket is full}.
//
// Several keys per call cost Redis a tenth of one call per key (the call,
// not the key, is the expensive part); see keysPerCall. tat goes to HSET
// as a number, which Redis writes with 17 significant digits: exact, and
// only this script reads it back.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local replica = ARGV[1]
local keep = tonumber(ARGV[2])
local out = {}
for i, key in ipairs(KEYS) do
  local a = 2 + (i - 1) * 7
  local T = tonumber(ARGV[a + 1])
  local burst = tonumber(ARGV[a + 2])
  local inc = ARGV[a + 3]
  local total = tonumber(ARGV[a + 4])
  local base = tonumber(ARGV[a + 5])
  local refunds = tonumber(ARGV[a + 6])
  local rbase = tonumber(ARGV[a + 7])
  local h = redis.call('HMGET', key, 't', replica)
  if h[2] then
    local seen, n, r = string.match(h[2], '^(%d+):(%d+):?(%d*)$')
    if seen == inc then
      base = tonumber(n)
      rbase = tonumber(r) or 0
    end
  end
  local used = math.max(total - base, 0)
  local back = math.max(refunds - rbase, 0)
  local dvt = T * burst
  local tat = tonumber(h[1]) or now
  if tat < now then tat = now end
  if used > 0 or back > 0 then
    tat = tat + (used - back) * T
    if tat > now + 2 * dvt then tat = now + 2 * dvt end
    if tat < now then tat = now end
    local field = inc .. ':' .. math.max(total, base) .. ':' .. math.max(refunds, rbase)
    redis.call('HSET', key, 't', tat, replica, field)
    redis.call('PEXPIRE', key, math.max(math.ceil((tat - now) / 1000), keep))
  end
  local left = math.floor((now + dvt - tat) / T)
  local retry = 0
  if left < 1 then retry = math.ceil(tat - dvt + T - now) end
  out[#out + 1] = left
  out[#out + 1] = retry
  out[#out + 1] = math.ceil(tat - now)
end
return out
`)

// Settlement bounds.
const (
	// keysPerCall is how many keys one script call settles on a single
	// node, and keysPerPipeline how many keys one pipeline carries there
	// (clusterKeysPerPipeline on a cluster, where a call may only touch
	// keys of one hash slot, so each key is a call). settleChunkTimeout is
	// how long a pipeline's replies may take: they must all arrive by one
	// read deadline. On a loaded two-core machine a pipeline of 2,000
	// one-key calls took 43 ms at the median and 81 ms at worst, past the
	// hot path's 50 ms; a call of 256 keys keeps Redis busy for about a
	// millisecond, and 256 one-key calls took 7 ms (25 ms at worst). But a
	// Redis sharing two busy cores gets a fraction of one, and a pipeline
	// of 2,048 keys (some 15 ms of its CPU) then took over 100 ms now and
	// then (BenchmarkSettle in bench_test.go measures 256 keys and one key
	// per call). Settlement is background work that no request waits for,
	// and a timeout only sends the keys to their local buckets until the
	// next settlement, so its deadline is its own and as long as the
	// limiter may go without settling before it degrades (the default
	// degradeAfter).
	keysPerCall            = 256
	keysPerPipeline        = 8 * keysPerCall
	clusterKeysPerPipeline = 256
	settleChunkTimeout     = 250 * time.Millisecond
	// reportKeep is how long Redis keeps a key's hash after any report,
	// and settleRetryFor how long a replica keeps retrying a report whose
	// fate is unknown before it assumes Redis applied it. Retrying within
	// reportKeep is what makes the retry safe; assuming "applied" after
	// that errs towards admitting (at most one report's worth) rather than
	// charging a client twice.
	reportKeep     = 10 * time.Second
	settleRetryFor = reportKeep / 2
)

// heartbeatScript records this replica as live and counts the live ones.
//
//	KEYS[1]  sorted set of replica ids scored by last heartbeat (ms)
//	ARGV[1]  this replica's id
//	ARGV[2]  liveness window, ms
var heartbeatScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('PEXPIRE', KEYS[1], 2 * window)
return redis.call('ZCARD', KEYS[1])
`)

// Run settles with Redis every Interval until ctx ends. Start it once, in
// its own goroutine, before serving.
func (l *Limiter) Run(ctx context.Context) {
	t := time.NewTicker(l.cfg.Interval)
	defer t.Stop()
	for {
		_ = l.settle(ctx) // failures show as Degraded and are logged there
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// settle runs one settlement: take the queue, report, adopt the shares.
func (l *Limiter) settle(ctx context.Context) error {
	now := time.Now()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.lastSweep = now
		l.table.Sweep(now)
	}
	l.mu.Lock()
	batch := l.queue
	l.queue, l.spare = l.spare[:0], nil
	l.mu.Unlock()
	defer func() { l.spare = batch[:0] }()

	// Clear queued before reading total: a request after this point
	// queues its entry again and is counted in the next settlement.
	for _, e := range batch {
		s := &e.Ext
		s.queued.Store(false)
		if s.pending() && now.Sub(s.sentAt) >= settleRetryFor {
			s.acked, s.ackedRefunds = s.sent, s.sentRefunds // see reportKeep
		}
		if !s.pending() {
			s.sentAt = now
		}
		s.sent, s.sentRefunds = s.total.Load(), s.refunds.Load()
	}
	settled, err := l.exchange(ctx, batch)
	for _, e := range batch[settled:] {
		// Unknown share: the local bucket decides until a settlement of
		// this key succeeds, and reports not known applied are sent again.
		e.Ext.unsettled.Store(true)
		if e.Ext.pending() {
			l.enqueue(e)
		}
	}
	if err != nil {
		// A blip only sends the failed keys to their local buckets; a
		// lasting failure sends every key there.
		if time.Since(l.lastOK) >= l.degradeAfter {
			l.degraded.Store(true)
		}
		if l.degraded.Load() && !l.warned {
			l.warned = true
			l.cfg.Logger.Warn("shared rate limits degraded to local limits", "err", err)
		}
		return err
	}
	l.lastOK = time.Now()
	l.degraded.Store(false)
	if l.warned {
		l.warned = false
		l.cfg.Logger.Info("shared rate limits settle with redis again", "replicas", l.replicas.Load())
	}
	return nil
}

// exchange sends the heartbeat and the batch in pipelines of perPipeline
// keys, adopting each chunk's answers as they come, and reports how many
// entries (a prefix of batch) it settled. It stops at the first chunk that
// fails: Redis is struggling, and the rest can wait for the next interval.
// Each chunk has a deadline of its own, so the time a settlement may take
// grows with its size while each round trip stays short.
func (l *Limiter) exchange(ctx context.Context, batch []*ratelimit.Entry[shared]) (int, error) {
	settled := 0
	for first := true; first || settled < len(batch); first = false {
		chunk := batch[settled:min(len(batch), settled+l.perPipeline)]
		if err := l.settleChunk(ctx, chunk, first); err != nil {
			return settled, fmt.Errorf("redisstate: settle keys %d-%d of %d: %w", settled, settled+len(chunk), len(batch), err)
		}
		settled += len(chunk)
	}
	return settled, nil
}

// settleChunk reports chunk (with the heartbeat when beat is set) in one
// pipeline and adopts the answers. A NOSCRIPT answer (Redis restarted or
// flushed its script cache) loads the scripts and sends the chunk again,
// which the scripts' idempotence makes safe.
func (l *Limiter) settleChunk(ctx context.Context, chunk []*ratelimit.Entry[shared], beat bool) error {
	ctx, cancel := context.WithTimeout(ctx, settleChunkTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		hb, calls, err := l.pipeline(ctx, chunk, beat)
		if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := loadScripts(ctx, l.rdb, gcraScript, heartbeatScript); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if hb != nil {
			n, err := hb.Int64()
			if err != nil {
				return fmt.Errorf("unexpected heartbeat answer")
			}
			l.replicas.Store(max(n, 1))
		}
		n := l.replicas.Load()
		now := time.Now().UnixNano()
		for c, call := range calls {
			keys := chunk[c*l.perCall : min(len(chunk), (c+1)*l.perCall)]
			v, err := call.Int64Slice()
			if err != nil || len(v) != 3*len(keys) {
				return fmt.Errorf("unexpected script answer")
			}
			for i, e := range keys {
				s := &e.Ext
				s.acked, s.ackedRefunds = s.sent, s.sentRefunds
				s.left.Store(v[3*i])
				s.settledAt.Store(now)
				s.retryAt.Store(now + v[3*i+1]*int64(time.Microsecond))
				s.resetAt.Store(now + v[3*i+2]*int64(time.Microsecond))
				// Admissions since the report was read were taken from
				// the old share (or the local bucket) and are not in left
				// yet: take them off the new share, and add the refunds.
				since := (s.total.Load() - s.sent) - (s.refunds.Load() - s.sentRefunds)
				s.allowance.Store(share(v[3*i], n) - since)
				s.regained.Store(false)
				s.unsettled.Store(false)
			}
		}
		return nil
	}
}

// pipeline sends the heartbeat (when beat is set) and chunk's reports, in
// script calls of perCall keys each.
func (l *Limiter) pipeline(ctx context.Context, chunk []*ratelimit.Entry[shared], beat bool) (*redis.Cmd, []*redis.Cmd, error) {
	pipe := l.rdb.Pipeline()
	var hb *redis.Cmd
	if beat {
		hb = heartbeatScript.EvalSha(ctx, pipe, []string{l.beatKey}, l.replica, l.beatTTL)
	}
	calls := make([]*redis.Cmd, 0, (len(chunk)+l.perCall-1)/l.perCall)
	for start := 0; start < len(chunk); start += l.perCall {
		group := chunk[start:min(len(chunk), start+l.perCall)]
		keys := make([]string, len(group))
		args := make([]any, 2, 2+7*len(group))
		args[0], args[1] = l.replica, reportKeep.Milliseconds()
		for i, e := range group {
			s := &e.Ext
			keys[i] = l.redisName(s.name)
			args = append(args, 1e6/e.Rate(), e.Burst(), s.incarnation, s.sent, s.acked, s.sentRefunds, s.ackedRefunds)
		}
		calls = append(calls, gcraScript.EvalSha(ctx, pipe, keys, args...))
	}
	_, err := pipe.Exec(ctx)
	return hb, calls, err
}

// keyName is the Redis name of a (rule, key).
func (l *Limiter) keyName(r ratelimit.Rule, k ratelimit.Key) string {
	return l.redisName(l.keyDigest(r, k))
}

// keyDigest identifies a (rule, key) across replicas in 16 bytes: an HMAC
// when a secret is configured, else a plain SHA-256, so Redis never holds
// a client address or certificate number in clear and a local entry keeps
// no string for it. Without a secret the digest hides nothing from
// someone who guesses the key: configure one (serve always does).
func (l *Limiter) keyDigest(r ratelimit.Rule, k ratelimit.Key) [16]byte {
	h := l.digests.Get().(hash.Hash)
	defer l.digests.Put(h)
	h.Reset()
	io.WriteString(h, r.Name)
	io.WriteString(h, "|")
	io.WriteString(h, k.Ident())
	var sum [sha256.Size]byte
	var d [16]byte
	copy(d[:], h.Sum(sum[:0]))
	return d
}

// redisName is the Redis key for a digest. "v2" keeps these hashes apart
// from the plain GCRA strings of earlier versions, which the script could
// not read.
func (l *Limiter) redisName(d [16]byte) string {
	var b [32]byte
	hex.Encode(b[:], d[:])
	return l.cfg.Prefix + "rl:v2:" + string(b[:])
}

// loadScripts puts scripts in Redis's script cache (on every shard of a
// cluster client).
func loadScripts(ctx context.Context, rdb redis.Scripter, scripts ...*redis.Script) error {
	for _, s := range scripts {
		if err := s.Load(ctx, rdb).Err(); err != nil {
			return fmt.Errorf("redisstate: load script: %w", err)
		}
	}
	return nil
}
