package ratelimit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// QuotaDecision is one check of an organisation's daily quota, by this
// process's MemoryQuota or the shared redisstate.Quota.
type QuotaDecision struct {
	Allowed   bool
	Limit     int64
	Used      int64 // after this request when allowed
	Remaining int64
	// Reset is how long until the quota day ends and the count restarts.
	Reset time.Duration
	// Day is the quota day charged (yyyymmdd, Asia/Shanghai), for Refund;
	// empty when nothing was counted.
	Day string
}

// quotaZone is Asia/Shanghai, where quota days begin and end, as in
// redisstate: UTC+8 without daylight saving since 1991, so a fixed zone
// is exact and needs no tzdata.
var quotaZone = time.FixedZone("Asia/Shanghai", 8*60*60)

// MemoryQuota counts each organisation's items per quota day in this
// process, for `degreegate dev` and tests. It counts for this process
// only, so it must not stand in for the shared quota (redisstate.Quota)
// when several replicas serve.
type MemoryQuota struct {
	now func() time.Time

	mu   sync.Mutex
	day  string           // the quota day the counts belong to
	used map[string]int64 // organisation → items today
}

// NewMemoryQuota counts with the clock now (time.Now when nil).
func NewMemoryQuota(now func() time.Time) *MemoryQuota {
	if now == nil {
		now = time.Now
	}
	return &MemoryQuota{now: now, used: map[string]int64{}}
}

// Take adds n to org's count when the count stays within limit; a
// refused take consumes nothing. A limit below 1 means no quota:
// allowed, not counted.
func (q *MemoryQuota) Take(ctx context.Context, org string, n, limit int64) (QuotaDecision, error) {
	if err := ctx.Err(); err != nil {
		return QuotaDecision{}, err
	}
	if n < 1 {
		return QuotaDecision{}, errors.New("quota: n must be at least 1")
	}
	if org == "" {
		return QuotaDecision{}, errors.New("quota: no organisation")
	}
	now := q.now().In(quotaZone)
	end := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, quotaZone)
	d := QuotaDecision{Limit: limit, Reset: end.Sub(now)}
	if limit < 1 {
		d.Allowed = true
		return d, nil
	}
	day := now.Format("20060102")
	q.mu.Lock()
	defer q.mu.Unlock()
	if day != q.day {
		// A new day: yesterday's counts are of no further use.
		q.day, q.used = day, map[string]int64{}
	}
	used := q.used[org]
	if used+n <= limit && used+n >= used { // the second test refuses overflow
		used += n
		q.used[org] = used
		d.Allowed, d.Day = true, day
	}
	d.Used, d.Remaining = used, max(limit-used, 0)
	return d, nil
}

// Refund gives back n items that Take charged to org on day (the
// decision's Day); a day that has ended is left alone, and the count
// never goes below zero.
func (q *MemoryQuota) Refund(ctx context.Context, org string, n int64, day string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if day == "" || day != q.day || n < 1 {
		return nil
	}
	q.used[org] = max(q.used[org]-n, 0)
	return nil
}
