package redisstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// shanghai is Asia/Shanghai, where quota days begin and end. It has been
// UTC+8 without daylight saving since 1991, so a fixed zone is exact and
// needs no tzdata in the container image.
var shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

// quotaScript adds n to a day's counter unless that would pass the limit.
// A refused request consumes nothing, so an agency that hits its quota can
// still send a smaller batch.
//
//	KEYS[1]  the organisation's counter for the day
//	ARGV[1]  n, ARGV[2] limit, ARGV[3] ms until the day ends
//
// Returns {1 if added else 0, the count after}.
var quotaScript = redis.NewScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if used + n > tonumber(ARGV[2]) then return {0, used} end
used = redis.call('INCRBY', KEYS[1], n)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, used}
`)

// QuotaDecision is one quota check.
type QuotaDecision struct {
	Allowed   bool
	Limit     int64
	Used      int64 // after this request when allowed
	Remaining int64
	// Reset is how long until the day ends in Asia/Shanghai and the count
	// starts again.
	Reset time.Duration
}

// Quota counts each organisation's requests per calendar day (Asia/
// Shanghai) across all replicas.
//
// Failure: Take returns an error when Redis does not answer, and the
// caller refuses: an agency's quota must hold across replicas, which no
// local count can promise.
type Quota struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewQuota stores counters under prefix + "quota:".
func NewQuota(rdb redis.UniversalClient, prefix string) *Quota {
	return &Quota{rdb: rdb, prefix: prefix + "quota:", now: time.Now}
}

// Take adds n (the batch size) to org's count for today if the count stays
// within limit.
func (q *Quota) Take(ctx context.Context, org string, n, limit int64) (QuotaDecision, error) {
	if n < 1 {
		return QuotaDecision{}, errors.New("redisstate: quota: n must be at least 1")
	}
	if org == "" {
		return QuotaDecision{}, errors.New("redisstate: quota: no organisation")
	}
	now := q.now().In(shanghai)
	end := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, shanghai)
	d := QuotaDecision{Limit: limit, Reset: end.Sub(now)}
	if limit < 1 {
		return d, nil
	}
	// The date is in the key, so a replica whose clock is a little off at
	// midnight writes to the right day's counter or the next, never
	// resets another's; the expiry only frees the memory.
	key := q.prefix + org + ":" + now.Format("20060102")
	ttl := max(d.Reset.Milliseconds(), 1)
	v, err := quotaScript.Run(ctx, q.rdb, []string{key}, n, limit, ttl).Int64Slice()
	if err != nil {
		return QuotaDecision{}, fmt.Errorf("redisstate: quota: %w", err)
	}
	if len(v) != 2 {
		return QuotaDecision{}, errors.New("redisstate: quota: unexpected script answer")
	}
	d.Allowed, d.Used = v[0] == 1, v[1]
	d.Remaining = max(limit-d.Used, 0)
	return d, nil
}
