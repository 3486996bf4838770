package redisstate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/redis/go-redis/v9"
)

// shanghai is Asia/Shanghai, where quota days begin and end. It has been
// UTC+8 without daylight saving since 1991, so a fixed zone is exact and
// needs no tzdata in the container image.
var shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

// quotaScript adds each take to a day's counter in turn, unless that one
// would pass the limit. A refused take consumes nothing, so an agency that
// hits its quota can still send a smaller batch; several takes in one call
// are decided as if they had come one after the other.
//
//	KEYS[1]  the organisation's counter for the day
//	ARGV[1]  limit, ARGV[2] ms until the day ends, ARGV[3…] the takes (n)
//
// Returns {allowed₁ (1 or 0), count after₁, allowed₂, count after₂, …}.
var quotaScript = redis.NewScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[1])
local start = used
local out = {}
for i = 3, #ARGV do
  local n = tonumber(ARGV[i])
  local ok = 0
  if used + n <= limit then used = used + n; ok = 1 end
  out[#out + 1] = ok
  out[#out + 1] = used
end
if used > start then
  redis.call('INCRBY', KEYS[1], used - start)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return out
`)

// maxTakesPerCall bounds one script call (its arguments and its run time
// inside Redis, which blocks every other client meanwhile).
const maxTakesPerCall = 512

// quotaCallTimeout bounds one coalesced call, waiting for a connection
// included; each read still has the client's own (short) timeout.
const quotaCallTimeout = 250 * time.Millisecond

// Quota counts each organisation's requests per calendar day (Asia/
// Shanghai) across all replicas.
//
// Concurrent takes for one organisation are coalesced: while one script
// call is in flight, later takes queue and go together in the next call
// (as recordcache coalesces lookups). A busy agency therefore costs Redis
// — and the small hot-path connection pool — about one call per round
// trip, not one per request, which is what exhausted the pool under load.
//
// Failure: Take returns an error when Redis does not answer, and the
// caller refuses: an agency's quota must hold across replicas, which no
// local count can promise. A caller whose context ends while its take is
// queued or in flight gets the context's error; its take may still be
// counted, as with any request whose reply is lost.
type Quota struct {
	rdb     redis.UniversalClient
	prefix  string
	now     func() time.Time
	timeout time.Duration // of one coalesced call

	mu     sync.Mutex
	queues map[quotaQueueKey]*quotaQueue

	calls atomic.Int64 // script calls made, for tests and metrics
}

// quotaQueueKey: takes coalesce only with takes for the same counter and
// limit.
type quotaQueueKey struct {
	key   string
	limit int64
}

type quotaQueue struct {
	pending []*quotaTake
	ttl     int64 // ms until the day ends, from the newest take
}

type quotaTake struct {
	ctx  context.Context // a take whose caller has gone is not sent
	n    int64
	done chan struct{}
	ok   bool
	used int64
	err  error
}

// NewQuota stores counters under prefix + "quota:".
func NewQuota(rdb redis.UniversalClient, prefix string) *Quota {
	return &Quota{
		rdb: rdb, prefix: prefix + "quota:", now: time.Now, timeout: quotaCallTimeout,
		queues: make(map[quotaQueueKey]*quotaQueue),
	}
}

// Take adds n (the batch size) to org's count for today if the count stays
// within limit.
func (q *Quota) Take(ctx context.Context, org string, n, limit int64) (ratelimit.QuotaDecision, error) {
	if n < 1 {
		return ratelimit.QuotaDecision{}, errors.New("redisstate: quota: n must be at least 1")
	}
	if org == "" {
		return ratelimit.QuotaDecision{}, errors.New("redisstate: quota: no organisation")
	}
	now := q.now().In(shanghai)
	end := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, shanghai)
	d := ratelimit.QuotaDecision{Limit: limit, Reset: end.Sub(now)}
	if limit < 1 {
		return d, nil
	}
	if err := ctx.Err(); err != nil {
		return ratelimit.QuotaDecision{}, fmt.Errorf("redisstate: quota: %w", err)
	}
	// The date is in the key, so a replica whose clock is a little off at
	// midnight writes to the right day's counter or the next, never
	// resets another's; the expiry only frees the memory.
	day := now.Format("20060102")
	qk := quotaQueueKey{key: q.prefix + org + ":" + day, limit: limit}
	t := &quotaTake{ctx: ctx, n: n, done: make(chan struct{})}
	q.mu.Lock()
	qq, running := q.queues[qk]
	if !running {
		qq = &quotaQueue{}
		q.queues[qk] = qq
	}
	qq.pending = append(qq.pending, t)
	qq.ttl = max(d.Reset.Milliseconds(), 1)
	q.mu.Unlock()
	if !running {
		go q.drain(qk, qq)
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		// An answer that arrived together with the cancellation is still the
		// truth about the counter: report it rather than hide a spent take.
		select {
		case <-t.done:
		default:
			return ratelimit.QuotaDecision{}, fmt.Errorf("redisstate: quota: %w", ctx.Err())
		}
	}
	if t.err != nil {
		return ratelimit.QuotaDecision{}, t.err
	}
	d.Allowed, d.Used = t.ok, t.used
	d.Remaining = max(limit-d.Used, 0)
	if d.Allowed {
		d.Day = day
	}
	return d, nil
}

// refundScript gives n back to a day's count while that day's key lives
// (it expires when the day ends), never below zero.
var refundScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local v = redis.call('DECRBY', KEYS[1], ARGV[1])
if v < 0 then redis.call('INCRBY', KEYS[1], -v) end
return 1
`)

// Refund gives back n items Take charged to org on day (its decision's
// Day), for a request that could not be answered after all.
func (q *Quota) Refund(ctx context.Context, org string, n int64, day string) error {
	if day == "" || n < 1 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	if err := refundScript.Run(ctx, q.rdb, []string{q.prefix + org + ":" + day}, n).Err(); err != nil {
		return fmt.Errorf("redisstate: quota refund: %w", err)
	}
	return nil
}

// drain sends the queue's takes, up to maxTakesPerCall a call, until none
// wait, then retires the queue.
func (q *Quota) drain(qk quotaQueueKey, qq *quotaQueue) {
	for {
		q.mu.Lock()
		n := min(len(qq.pending), maxTakesPerCall)
		if n == 0 {
			delete(q.queues, qk)
			q.mu.Unlock()
			return
		}
		batch := slices.Clone(qq.pending[:n])
		rest := copy(qq.pending, qq.pending[n:])
		clear(qq.pending[rest:])
		qq.pending = qq.pending[:rest]
		ttl := qq.ttl
		q.mu.Unlock()
		q.send(qk, ttl, batch)
	}
}

// send makes one script call for batch and answers every take in it.
func (q *Quota) send(qk quotaQueueKey, ttl int64, batch []*quotaTake) {
	batch = slices.DeleteFunc(batch, func(t *quotaTake) bool {
		if err := t.ctx.Err(); err != nil {
			t.err = fmt.Errorf("redisstate: quota: %w", err)
			close(t.done)
			return true
		}
		return false
	})
	if len(batch) == 0 {
		return
	}
	args := make([]any, 0, 2+len(batch))
	args = append(args, qk.limit, ttl)
	for _, t := range batch {
		args = append(args, t.n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	q.calls.Add(1)
	v, err := quotaScript.Run(ctx, q.rdb, []string{qk.key}, args...).Int64Slice()
	switch {
	case err != nil:
		err = fmt.Errorf("redisstate: quota: %w", err)
	case len(v) != 2*len(batch):
		err = errors.New("redisstate: quota: unexpected script answer")
	}
	for i, t := range batch {
		if err != nil {
			t.err = err
		} else {
			t.ok, t.used = v[2*i] == 1, v[2*i+1]
		}
		close(t.done)
	}
}
