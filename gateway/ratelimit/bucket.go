package ratelimit

import (
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Bucket is one key's local token bucket under one rule. It is safe for
// concurrent use; Take and Peek neither allocate nor block beyond the
// bucket's own short critical section.
type Bucket struct {
	// lim is held by value: a pointer would be one more object per key
	// for the garbage collector to mark.
	lim   rate.Limiter
	rate  float64
	burst int
	// fill is how long an empty bucket takes to fill: a bucket unused for
	// that long is full, and forgetting it changes no future decision.
	fill int64
	// last is when the bucket was last asked (Unix nanoseconds).
	last atomic.Int64
}

// init sets a zero Bucket up full. Copying the new limiter in is safe:
// nobody has seen it, so its mutex is neither locked nor shared (vet's
// copylocks check allows a copy of a call's result for that reason), and
// the compiler keeps the original off the heap.
func (b *Bucket) init(r Rule, now time.Time) {
	b.lim = *rate.NewLimiter(rate.Limit(r.Rate), r.Burst)
	b.rate = r.Rate
	b.burst = r.Burst
	b.fill = int64(seconds(float64(r.Burst) / r.Rate))
	b.last.Store(now.UnixNano())
}

// Take spends one token if there is one, and reports the bucket after it.
func (b *Bucket) Take(now time.Time) Decision {
	b.Touch(now)
	ok := b.lim.AllowN(now, 1)
	return b.decide(ok, b.lim.TokensAt(now))
}

// Give puts one token back, as if the last Take had not happened; the
// bucket never holds more than its burst (rate.Limiter caps what it
// holds at the burst whenever it next counts).
func (b *Bucket) Give(now time.Time) {
	b.Touch(now)
	b.lim.AllowN(now, -1)
}

// Peek reports the bucket without spending; Allowed says whether Take
// would have succeeded. It counts as use (the key stays remembered).
func (b *Bucket) Peek(now time.Time) Decision {
	b.Touch(now)
	t := b.lim.TokensAt(now)
	return b.decide(t >= 1, t)
}

// touchGranularity is how stale the last-use time may be. Writing it at
// most once a millisecond keeps a flood on one key from bouncing the
// cache line between cores for a value that only matters to eviction.
const touchGranularity = int64(time.Millisecond)

// Touch records use without asking the bucket, so that a key refused by
// another tier is not forgotten (and refilled) while it floods.
func (b *Bucket) Touch(now time.Time) {
	if ns := now.UnixNano(); ns-b.last.Load() >= touchGranularity {
		b.last.Store(ns)
	}
}

// Rate is the refill rate of the rule the bucket was made for, in tokens
// a second.
func (b *Bucket) Rate() float64 { return b.rate }

// Burst is the bucket's size under that rule.
func (b *Bucket) Burst() int { return b.burst }

// idle reports whether the bucket has been unused long enough to be full.
func (b *Bucket) idle(now int64) bool { return now-b.last.Load() >= b.fill }

func (b *Bucket) decide(ok bool, tokens float64) Decision {
	d := Decision{Allowed: ok, Limit: b.burst}
	if tokens >= 1 {
		d.Remaining = int(tokens)
	}
	if missing := float64(b.burst) - tokens; missing > 0 {
		d.Reset = seconds(missing / b.rate)
	}
	if !ok {
		d.RetryAfter = seconds((1 - tokens) / b.rate)
	}
	return d
}

// maxWait caps durations computed from rules with absurdly low rates, so
// that no conversion overflows.
const maxWait = 24 * time.Hour

// seconds converts a count of seconds to a Duration, rounded up to the
// next microsecond and capped at maxWait.
func seconds(s float64) time.Duration {
	if !(s > 0) {
		return 0
	}
	if s >= maxWait.Seconds() {
		return maxWait
	}
	return time.Duration(math.Ceil(s*1e6)) * time.Microsecond
}
