package redisstate

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/degreegate/degreegate/gateway/ratelimit"
)

// gcraScript settles one key. Times are microseconds of Redis's own clock,
// so replicas with skewed clocks agree.
//
//	KEYS[1]  the key's theoretical arrival time (TAT)
//	ARGV[1]  emission interval T = 1e6 / rate, µs (may be fractional)
//	ARGV[2]  burst B
//	ARGV[3]  requests admitted locally since the last settlement
//
// The admissions are recorded even when they overdraw the bucket (they
// have happened); the debt is capped at one burst so that a replica that
// ran on local limits during an outage does not lock the key for long
// afterwards. Returns {tokens left now (negative while in debt), µs until
// one token is left, µs until the bucket is full}.
var gcraScript = redis.NewScript(`
local T = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local used = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local dvt = T * burst
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
tat = tat + used * T
if tat > now + 2 * dvt then tat = now + 2 * dvt end
local ttl = math.ceil((tat - now) / 1000)
if ttl > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', ttl)
else
  redis.call('DEL', KEYS[1])
end
local left = math.floor((now + dvt - tat) / T)
local retry = 0
if left < 1 then retry = math.ceil(tat - dvt + T - now) end
return {left, retry, math.ceil(tat - now)}
`)

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
		l.settle(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// settle runs one settlement: take the queue, report, adopt the shares.
func (l *Limiter) settle(ctx context.Context) {
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

	// Clear queued before reading pending: a request after this point
	// queues its entry again and is counted in the next settlement.
	used := make([]int64, len(batch))
	for i, e := range batch {
		e.Ext.queued.Store(false)
		used[i] = e.Ext.pending.Swap(0)
	}
	// A settlement may take at most one interval (and no less than the
	// client's own timeouts need), so a slow Redis degrades the limiter
	// instead of delaying the next settlement.
	sctx, cancel := context.WithTimeout(ctx, max(l.cfg.Interval, 100*time.Millisecond))
	defer cancel()
	err := l.exchange(sctx, batch, used)
	if err != nil {
		// Report these counts next time (if Redis did run some scripts
		// before failing, they are counted twice: stricter, not looser).
		// While degraded no new counts pile up.
		for i, e := range batch {
			if used[i] > 0 {
				e.Ext.pending.Add(used[i])
				l.enqueue(e)
			}
		}
		// A blip keeps the last shares, which only get stricter as they
		// are spent; only a lasting failure falls back to local limits.
		if time.Since(l.lastOK) >= l.degradeAfter {
			l.degraded.Store(true)
		}
		if l.degraded.Load() && !l.warned {
			l.warned = true
			l.cfg.Logger.Warn("shared rate limits degraded to local limits", "err", err)
		}
		return
	}
	l.lastOK = time.Now()
	l.degraded.Store(false)
	if l.warned {
		l.warned = false
		l.cfg.Logger.Info("shared rate limits settle with redis again", "replicas", l.replicas.Load())
	}
}

// exchange sends the heartbeat and the batch in one pipeline and adopts
// the answers. A NOSCRIPT answer (Redis restarted or flushed its script
// cache) loads the scripts and tries once more.
func (l *Limiter) exchange(ctx context.Context, batch []*ratelimit.Entry[shared], used []int64) error {
	for attempt := 0; ; attempt++ {
		beat, cmds, err := l.pipeline(ctx, batch, used)
		if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := loadScripts(ctx, l.rdb, gcraScript, heartbeatScript); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("redisstate: settle %d keys: %w", len(batch), err)
		}
		n, err := beat.Int64()
		if err != nil {
			return fmt.Errorf("redisstate: settle: unexpected heartbeat answer")
		}
		n = max(n, 1)
		l.replicas.Store(n)
		now := time.Now().UnixNano()
		for i, e := range batch {
			v, err := cmds[i].Int64Slice()
			if err != nil || len(v) != 3 {
				return fmt.Errorf("redisstate: settle: unexpected script answer")
			}
			// Admissions since the swap were taken from the old share and
			// are not in left yet: take them off the new one.
			e.Ext.allowance.Store(share(v[0], n) - e.Ext.pending.Load())
			e.Ext.retryAt.Store(now + v[1]*int64(time.Microsecond))
			e.Ext.resetAt.Store(now + v[2]*int64(time.Microsecond))
		}
		return nil
	}
}

func (l *Limiter) pipeline(ctx context.Context, batch []*ratelimit.Entry[shared], used []int64) (*redis.Cmd, []*redis.Cmd, error) {
	pipe := l.rdb.Pipeline()
	beat := heartbeatScript.EvalSha(ctx, pipe, []string{l.beatKey}, l.replica, l.beatTTL)
	cmds := make([]*redis.Cmd, len(batch))
	for i, e := range batch {
		if e.Ext.redisKey == "" {
			e.Ext.redisKey = l.keyName(e.Rule(), e.Key())
		}
		r := e.Rule()
		cmds[i] = gcraScript.EvalSha(ctx, pipe, []string{e.Ext.redisKey}, 1e6/r.Rate, r.Burst, used[i])
	}
	_, err := pipe.Exec(ctx)
	return beat, cmds, err
}

// keyName names a (rule, key) in Redis: in clear, or as an HMAC when a
// secret is configured.
func (l *Limiter) keyName(r ratelimit.Rule, k ratelimit.Key) string {
	id := r.Name + "|" + k.Ident()
	if len(l.cfg.KeySecret) == 0 {
		return l.cfg.Prefix + "rl:" + id
	}
	m := hmac.New(sha256.New, l.cfg.KeySecret)
	m.Write([]byte(id))
	return l.cfg.Prefix + "rl:" + hex.EncodeToString(m.Sum(nil)[:16])
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
