package gateway

import (
	"context"

	"github.com/degreegate/degreegate/gateway/ratelimit"
)

// Quota counts how many items each organisation has had answered today,
// across every replica (Art. 20 sharing is bounded per organisation, not
// per instance). Production adapts redisstate.Quota; dev and tests use
// ratelimit.MemoryQuota. Take adds n to org's count when the count stays
// within limit; a refused request consumes nothing. An error means the
// count cannot be kept, and the caller refuses rather than serve
// uncounted.
//
// Refund gives back n items that Take charged to org on day (the
// decision's Day) when the request could not be answered after all; a day
// that has ended is left alone, and the count never goes below zero.
type Quota interface {
	Take(ctx context.Context, org string, n, limit int64) (ratelimit.QuotaDecision, error)
	Refund(ctx context.Context, org string, n int64, day string) error
}

var _ Quota = (*ratelimit.MemoryQuota)(nil)
