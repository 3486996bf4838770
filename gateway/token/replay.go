package token

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"
)

// ReplayCache remembers token ids (jti) so that a token demanded to be
// single-use is refused the second time. Seen records (issuer, jti) until
// until and reports whether it was already recorded; the check and the
// record are one atomic step, so two replicas racing with the same token
// cannot both pass. gateway/redisstate implements it across replicas.
type ReplayCache interface {
	Seen(ctx context.Context, issuer, jti string, until time.Time) (bool, error)
}

// RequireFreshJTI is for routes that demand a single-use token (agency
// batches): the token must carry a jti never seen before. The id is kept
// until the token's exp plus ClockLeeway, the last moment Verify would
// still accept it. Errors: ErrMissingClaim (no jti) and ErrReplayed are
// ErrInvalidToken (401); a cache failure is not, and the caller must
// refuse the request rather than skip the check.
func RequireFreshJTI(ctx context.Context, p Principal, rc ReplayCache) error {
	if p.JTI == "" {
		return fmt.Errorf("%w: jti", ErrMissingClaim)
	}
	seen, err := rc.Seen(ctx, p.Issuer, p.JTI, p.ExpiresAt.Add(ClockLeeway))
	if err != nil {
		return fmt.Errorf("replay check: %w", err)
	}
	if seen {
		return ErrReplayed
	}
	return nil
}

// MemoryReplayCache is the in-process ReplayCache for dev and single
// instances: bounded, with entries dropped when their time is up. When it
// is full of ids that have not expired it answers ErrReplayCacheFull
// instead of forgetting one, because a forgotten id could be replayed.
type MemoryReplayCache struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	until map[string]time.Time
	queue expiryQueue
}

var _ ReplayCache = (*MemoryReplayCache)(nil)

// NewMemoryReplayCache holds at most capacity ids (default 100,000 when
// capacity ≤ 0);
// now is the clock (time.Now when nil).
func NewMemoryReplayCache(capacity int, now func() time.Time) *MemoryReplayCache {
	if capacity <= 0 {
		capacity = 100_000
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryReplayCache{max: capacity, now: now, until: make(map[string]time.Time)}
}

// Seen implements ReplayCache.
func (c *MemoryReplayCache) Seen(ctx context.Context, issuer, jti string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	// Issuers come from configuration and are printable, so NUL separates
	// the two parts unambiguously.
	key := issuer + "\x00" + jti
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if u, ok := c.until[key]; ok && now.Before(u) {
		return true, nil
	}
	if !now.Before(until) {
		return false, nil // already past its time: nothing to remember
	}
	if len(c.until) >= c.max {
		return false, ErrReplayCacheFull
	}
	c.until[key] = until
	heap.Push(&c.queue, expiry{key: key, at: until})
	return false, nil
}

// Len is the number of ids held (some may have just expired).
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.until)
}

// expire drops every id whose time is up, earliest first.
func (c *MemoryReplayCache) expire(now time.Time) {
	for c.queue.Len() > 0 && !now.Before(c.queue[0].at) {
		e := heap.Pop(&c.queue).(expiry)
		if u, ok := c.until[e.key]; ok && u.Equal(e.at) {
			delete(c.until, e.key)
		}
	}
}

type expiry struct {
	key string
	at  time.Time
}

// expiryQueue is a min-heap of ids by the time they may be forgotten.
type expiryQueue []expiry

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q expiryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiryQueue) Push(x any)        { *q = append(*q, x.(expiry)) }
func (q *expiryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
