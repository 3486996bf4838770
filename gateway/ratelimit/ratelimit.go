// Package ratelimit decides whether a request may proceed: the Limiter
// interface the gateway calls, the in-process token-bucket implementation
// on golang.org/x/time/rate (dev mode, and the per-instance tier of the
// shared Redis limiter), the keys requests are counted under, the
// trusted-proxy rules that say which client address a key is built from,
// and the in-process count of organisations' daily quotas (MemoryQuota,
// for dev and tests; redisstate keeps the shared one).
//
// A refusal must cost almost nothing, because a flood is made of
// refusals: Allow neither allocates nor waits, and a denied request takes
// the same short path as an allowed one.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Rule is one limit: a token bucket that refills at Rate tokens per second
// and holds at most Burst. Name separates the counts of different rules
// that happen to use the same key (per-address and per-certificate limits
// are different rules).
type Rule struct {
	Name  string  // from configuration; tables keep it without a copy, so never a request's buffer
	Rate  float64 // tokens per second
	Burst int
}

// Window is the time, in whole seconds (at least 1), an empty bucket
// takes to fill: the window over which Burst requests are allowed
// (RateLimit-Policy's "w").
func (r Rule) Window() int {
	if r.Rate <= 0 {
		return 1
	}
	return max(1, int(math.Ceil(float64(r.Burst)/r.Rate)))
}

// Validate reports whether the rule can be enforced. Configuration loaders
// call it at start-up; Allow refuses every request under an invalid rule
// rather than let traffic through unlimited.
func (r Rule) Validate() error {
	switch {
	case r.Name == "":
		return errors.New("ratelimit: rule has no name")
	case !(r.Rate > 0) || math.IsInf(r.Rate, 0):
		return fmt.Errorf("ratelimit: rule %q: rate must be a positive, finite number of requests per second", r.Name)
	case r.Burst < 1:
		return fmt.Errorf("ratelimit: rule %q: burst must be at least 1", r.Name)
	}
	return nil
}

// Valid is Validate without the error, for the hot path.
func (r Rule) Valid() bool {
	return r.Rate > 0 && !math.IsInf(r.Rate, 0) && r.Burst >= 1
}

// Decision is what the gateway needs for the RateLimit-* headers and for a
// 429 with Retry-After.
type Decision struct {
	Allowed bool
	// Limit is the bucket's size (RateLimit-Policy's quota).
	Limit int
	// Remaining is how many more requests would be allowed right now
	// (RateLimit's "r").
	Remaining int
	// Reset is how long until the bucket is full again (RateLimit's "t").
	Reset time.Duration
	// RetryAfter is, on a refusal, how long until one request would be
	// allowed (Retry-After); zero when Allowed.
	RetryAfter time.Duration
}

// Limiter takes one request's worth from key's bucket under rule. It never
// blocks: ctx is there for implementations that may want to record or
// trace, not to wait.
//
// Refund gives back one token an allowed Allow of the same key and rule
// took, for a request whose outcome the rule should not count (a public
// verification that matched spends nothing of the certificate's
// allowance against guessing). It never takes the bucket above full.
type Limiter interface {
	Allow(ctx context.Context, key Key, rule Rule) Decision
	Refund(ctx context.Context, key Key, rule Rule)
}

// Unlimited allows everything. It exists for `degreegate dev --unlimited`
// (load tests on a developer machine) and nowhere else.
type Unlimited struct{}

// Allow always allows and reports a full bucket.
func (Unlimited) Allow(_ context.Context, _ Key, rule Rule) Decision {
	return Decision{Allowed: true, Limit: rule.Burst, Remaining: rule.Burst}
}

// Refund does nothing: nothing was taken.
func (Unlimited) Refund(context.Context, Key, Rule) {}

// refused is the answer under an invalid rule: a refusal, never a pass.
func refused(rule Rule) Decision {
	return Decision{Limit: rule.Burst, RetryAfter: time.Second}
}

var (
	_ Limiter = Unlimited{}
	_ Limiter = (*Local)(nil)
)
