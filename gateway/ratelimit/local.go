package ratelimit

import (
	"context"
	"time"
)

// DefaultSweepEvery is how often Local.Run forgets idle keys.
const DefaultSweepEvery = 10 * time.Second

// Options configure a Local limiter. The zero value is usable.
type Options struct {
	// MaxKeys bounds how many (rule, key) buckets are kept; DefaultMaxKeys
	// when zero.
	MaxKeys int
	// Now is the clock; time.Now when nil. Tests set it.
	Now func() time.Time
}

// Local is the in-process limiter: one x/time/rate token bucket per (rule,
// key), kept in a bounded Table. It serves `degreegate dev` and is the
// per-instance tier of the shared Redis limiter.
type Local struct {
	table *Table[struct{}]
	now   func() time.Time
}

// NewLocal returns an empty limiter. Call Run to forget idle keys over
// time; without it memory is still bounded by MaxKeys.
func NewLocal(o Options) *Local {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Local{table: NewTable[struct{}](o.MaxKeys, nil), now: o.Now}
}

// Allow spends one token from key's bucket under rule. An invalid rule
// refuses (see Rule.Validate).
func (l *Local) Allow(_ context.Context, key Key, rule Rule) Decision {
	if !rule.Valid() {
		return refused(rule)
	}
	now := l.now()
	return l.table.Get(key, rule, now).Take(now)
}

// Refund gives one token back to key's bucket under rule.
func (l *Local) Refund(_ context.Context, key Key, rule Rule) {
	if !rule.Valid() {
		return
	}
	now := l.now()
	l.table.Get(key, rule, now).Give(now)
}

// Len is the number of buckets kept.
func (l *Local) Len() int { return l.table.Len() }

// Sweep forgets buckets that have refilled, and reports how many.
func (l *Local) Sweep() int { return l.table.Sweep(l.now()) }

// Run sweeps every DefaultSweepEvery until ctx ends.
func (l *Local) Run(ctx context.Context) {
	t := time.NewTicker(DefaultSweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.Sweep()
		}
	}
}
