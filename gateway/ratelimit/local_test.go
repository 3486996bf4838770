package ratelimit

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable fake clock for deterministic refill tests.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func approx(a, b time.Duration) bool     { return a-b < time.Millisecond && b-a < time.Millisecond }
func secs(s float64) time.Duration       { return time.Duration(s * float64(time.Second)) }
func addr(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// step is one call in a scripted scenario: wait, then ask, then compare
// with what a token bucket of the rule must answer.
type step struct {
	wait         time.Duration
	allowed      bool
	remaining    int
	reset, retry time.Duration
}

func TestLocalBucket(t *testing.T) {
	// Values follow from the token-bucket definition: a full bucket of B
	// tokens refills at R per second; after k takes it holds B-k, needs
	// k/R to be full again, and a refusal at t tokens must wait (1-t)/R.
	tests := []struct {
		name  string
		rule  Rule
		steps []step
	}{
		{
			name: "burst then refusal",
			rule: Rule{Name: "r", Rate: 1, Burst: 3},
			steps: []step{
				{allowed: true, remaining: 2, reset: secs(1)},
				{allowed: true, remaining: 1, reset: secs(2)},
				{allowed: true, remaining: 0, reset: secs(3)},
				{allowed: false, remaining: 0, reset: secs(3), retry: secs(1)},
			},
		},
		{
			name: "refill after a pause",
			rule: Rule{Name: "r", Rate: 2, Burst: 2},
			steps: []step{
				{allowed: true, remaining: 1, reset: secs(0.5)},
				{allowed: true, remaining: 0, reset: secs(1)},
				{allowed: false, remaining: 0, reset: secs(1), retry: secs(0.5)},
				// 0.25 s later half a token is back: still refused, 0.25 s to go.
				{wait: secs(0.25), allowed: false, remaining: 0, reset: secs(0.75), retry: secs(0.25)},
				{wait: secs(0.25), allowed: true, remaining: 0, reset: secs(1)},
				// A long pause refills to the burst, never beyond it.
				{wait: time.Hour, allowed: true, remaining: 1, reset: secs(0.5)},
			},
		},
		{
			name: "burst of one",
			rule: Rule{Name: "r", Rate: 10, Burst: 1},
			steps: []step{
				{allowed: true, remaining: 0, reset: secs(0.1)},
				{allowed: false, remaining: 0, reset: secs(0.1), retry: secs(0.1)},
				{wait: secs(0.1), allowed: true, remaining: 0, reset: secs(0.1)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := NewLocal(Options{Now: c.Now})
			k := AddrKey(addr(t, "192.0.2.7"))
			for i, s := range tt.steps {
				c.Advance(s.wait)
				d := l.Allow(context.Background(), k, tt.rule)
				if d.Allowed != s.allowed || d.Remaining != s.remaining || d.Limit != tt.rule.Burst {
					t.Fatalf("step %d: got allowed=%v remaining=%d limit=%d, want %v %d %d",
						i, d.Allowed, d.Remaining, d.Limit, s.allowed, s.remaining, tt.rule.Burst)
				}
				if !approx(d.Reset, s.reset) || !approx(d.RetryAfter, s.retry) {
					t.Fatalf("step %d: got reset=%v retry=%v, want %v %v", i, d.Reset, d.RetryAfter, s.reset, s.retry)
				}
			}
		})
	}
}

func TestLocalSeparatesRulesAndKinds(t *testing.T) {
	c := newClock()
	l := NewLocal(Options{Now: c.Now})
	ctx := context.Background()
	one := Rule{Name: "a", Rate: 0.001, Burst: 1}
	other := Rule{Name: "b", Rate: 0.001, Burst: 1}
	keys := []Key{
		CertificateBlockKey("1000112345678901", addr(t, "10.0.0.1")),
		NameKey("1000112345678901"),
		AddrKey(addr(t, "10.0.0.1")),
		BlockKey(addr(t, "10.0.0.1")),
	}
	for _, rule := range []Rule{one, other} {
		for i, k := range keys {
			if !l.Allow(ctx, k, rule).Allowed {
				t.Errorf("rule %s key %d: first request refused; it shares a bucket with another", rule.Name, i)
			}
			if l.Allow(ctx, k, rule).Allowed {
				t.Errorf("rule %s key %d: second request allowed past a burst of one", rule.Name, i)
			}
		}
	}
	// A changed rule (same name, new numbers) starts a fresh bucket.
	if !l.Allow(ctx, keys[0], Rule{Name: "a", Rate: 0.001, Burst: 2}).Allowed {
		t.Error("a changed rule reused the old, empty bucket")
	}
}

func TestLocalInvalidRuleRefuses(t *testing.T) {
	l := NewLocal(Options{})
	for _, r := range []Rule{
		{Name: "zero rate", Rate: 0, Burst: 5},
		{Name: "negative", Rate: -1, Burst: 5},
		{Name: "no burst", Rate: 5, Burst: 0},
		{Name: "nan", Rate: math.NaN(), Burst: 5},
		{Name: "inf", Rate: math.Inf(1), Burst: 5},
	} {
		if l.Allow(context.Background(), NameKey("x"), r).Allowed {
			t.Errorf("%s: allowed under an invalid rule", r.Name)
		}
		if r.Validate() == nil {
			t.Errorf("%s: Validate accepted it", r.Name)
		}
	}
	if l.Len() != 0 {
		t.Errorf("invalid rules created %d buckets", l.Len())
	}
	if err := (Rule{Name: "ok", Rate: 0.5, Burst: 1}).Validate(); err != nil {
		t.Errorf("valid rule: %v", err)
	}
}

func TestLocalConcurrentExactBurst(t *testing.T) {
	// However many goroutines race for one key, a bucket that does not
	// refill (in practice) hands out exactly its burst.
	const burst = 50
	l := NewLocal(Options{})
	rule := Rule{Name: "r", Rate: 1e-9, Burst: burst}
	k := NameKey("1000112345678901")
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if l.Allow(context.Background(), k, rule).Allowed {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := allowed.Load(); got != burst {
		t.Fatalf("allowed %d, want exactly the burst %d", got, burst)
	}
}

func TestLocalEviction(t *testing.T) {
	tests := []struct {
		name    string
		maxKeys int
		flood   int
	}{
		{"one per shard", numShards, 5000},
		{"eight per shard", 8 * numShards, 20000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := NewLocal(Options{MaxKeys: tt.maxKeys, Now: c.Now})
			ctx := context.Background()
			rule := Rule{Name: "r", Rate: 0.01, Burst: 2}
			busy := AddrKey(addr(t, "198.51.100.1"))
			l.Allow(ctx, busy, rule)
			l.Allow(ctx, busy, rule) // now empty, refills in 100 s
			base := addr(t, "2001:db8::").As16()
			for i := range tt.flood {
				// Last use is recorded to the millisecond (touchGranularity).
				c.Advance(time.Millisecond)
				b := base
				b[12], b[13], b[14], b[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
				l.Allow(ctx, AddrKey(netip.AddrFrom16(b)), rule)
				if n := l.Len(); n > tt.maxKeys {
					t.Fatalf("after %d keys the table holds %d, above its bound %d", i+1, n, tt.maxKeys)
				}
				// The busy key keeps asking; it must not be forgotten
				// unless its shard holds nothing else.
				if tt.maxKeys > numShards && l.Allow(ctx, busy, rule).Allowed {
					t.Fatalf("after %d other keys the busy, empty bucket was forgotten", i+1)
				}
			}
		})
	}
}

func TestLocalSweep(t *testing.T) {
	c := newClock()
	l := NewLocal(Options{Now: c.Now})
	ctx := context.Background()
	slow := Rule{Name: "slow", Rate: 1, Burst: 10}  // fills in 10 s
	fast := Rule{Name: "fast", Rate: 10, Burst: 10} // fills in 1 s
	l.Allow(ctx, NameKey("a"), slow)
	l.Allow(ctx, NameKey("b"), fast)
	c.Advance(2 * time.Second)
	if n := l.Sweep(); n != 1 {
		t.Fatalf("swept %d after 2 s, want only the refilled fast bucket", n)
	}
	c.Advance(10 * time.Second)
	if n := l.Sweep(); n != 1 || l.Len() != 0 {
		t.Fatalf("swept %d, %d left, want the slow bucket gone too", n, l.Len())
	}
}

func TestDenyPathDoesNotAllocate(t *testing.T) {
	l := NewLocal(Options{})
	ctx := context.Background()
	rule := Rule{Name: "r", Rate: 1e-6, Burst: 1}
	proxies, err := ParseProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	peer := addr(t, "10.1.2.3")
	const xff = "198.51.100.77, 203.0.113.9"
	const number = "1000112345678901"
	// Spend each bucket once, so every call below is a refusal.
	client := proxies.ClientAddr(peer, xff)
	for _, k := range []Key{AddrKey(client), BlockKey(client), CertificateBlockKey(number, client)} {
		l.Allow(ctx, k, rule)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		c := proxies.ClientAddr(peer, xff)
		for _, k := range []Key{AddrKey(c), BlockKey(c), CertificateBlockKey(number, c)} {
			if l.Allow(ctx, k, rule).Allowed {
				t.Fatal("allowed past the burst")
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("a refused request allocates %.1f times, want 0", allocs)
	}
}

// TestNewKeyIsOneObject holds the table to one heap object per key: a
// full table is 100,000 keys, and every object in it is work for each
// garbage collection (the copied key text, a separately allocated
// rate.Limiter and a map key holding strings were four more per key).
func TestNewKeyIsOneObject(t *testing.T) {
	const n = 2000
	l := NewLocal(Options{MaxKeys: 4 * n})
	numbers := make([]string, n+1)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("10001%011d", i)
	}
	rule := Rule{Name: "r", Rate: 1, Burst: 5}
	i := 0
	allocs := testing.AllocsPerRun(n, func() {
		l.Allow(context.Background(), NameKey(numbers[i]), rule)
		i++
	})
	// Map growth adds a fraction of an allocation per key on average.
	if allocs > 1.5 {
		t.Fatalf("a new key costs %.2f allocations, want one (its entry)", allocs)
	}
	if l.Len() != n+1 {
		t.Fatalf("%d keys kept, want %d", l.Len(), n+1)
	}
}

func TestUnlimited(t *testing.T) {
	d := Unlimited{}.Allow(context.Background(), NameKey("x"), Rule{Name: "r", Rate: 1, Burst: 7})
	if !d.Allowed || d.Remaining != 7 || d.Limit != 7 {
		t.Fatalf("got %+v", d)
	}
}

// TestFruitlessSweepsBackOff: when a full table holds only busy buckets
// (one-off keys under a slow rule), a sweep frees nothing, and the next
// one waits longer, up to maxSweepGap; once sweeps free buckets again the
// gap returns to sweepGap.
func TestFruitlessSweepsBackOff(t *testing.T) {
	c := newClock()
	l := NewLocal(Options{MaxKeys: 8 * numShards, Now: c.Now})
	slow := Rule{Name: "slow", Rate: 0.001, Burst: 5} // refills in 5,000 s
	ctx := context.Background()
	gaps := func() (lo, hi int64) {
		lo = math.MaxInt64
		for i := range l.table.shards {
			g := max(l.table.shards[i].gap, int64(sweepGap))
			lo, hi = min(lo, g), max(hi, g)
		}
		return lo, hi
	}
	key := 0
	flood := func(n int, r Rule) {
		for range n {
			c.Advance(time.Millisecond)
			l.Allow(ctx, NameKey(fmt.Sprintf("1000%012d", key)), r)
			key++
		}
	}
	// Ten minutes of one-off keys: every shard is full and sweeps often.
	for range 600 {
		flood(50, slow)
		c.Advance(time.Second)
	}
	if lo, hi := gaps(); lo < int64(30*time.Second) || hi > int64(maxSweepGap) {
		t.Fatalf("sweep gaps %v–%v after fruitless sweeps, want ≥ 30 s and ≤ %v", time.Duration(lo), time.Duration(hi), maxSweepGap)
	}
	// Keys that refill in a second: the next sweep of each shard frees
	// most of it, and the gap falls back.
	fast := Rule{Name: "fast", Rate: 100, Burst: 5}
	for range 300 {
		flood(50, fast)
		c.Advance(time.Second)
	}
	if lo, hi := gaps(); lo != int64(sweepGap) || hi > int64(2*sweepGap) {
		t.Fatalf("sweep gaps %v–%v once sweeps free buckets, want back near %v", time.Duration(lo), time.Duration(hi), sweepGap)
	}
}

// TestRefundGivesBackNeverMoreThanFull: a refund returns one token, and
// refunds never take a bucket past its burst.
func TestRefundGivesBackNeverMoreThanFull(t *testing.T) {
	c := newClock()
	l := NewLocal(Options{Now: c.Now})
	ctx := context.Background()
	rule := Rule{Name: "cert", Rate: 0.001, Burst: 2}
	k := CertificateBlockKey("1000112345678901", addr(t, "192.0.2.1"))
	l.Allow(ctx, k, rule)
	l.Allow(ctx, k, rule)
	if l.Allow(ctx, k, rule).Allowed {
		t.Fatal("allowed past the burst")
	}
	l.Refund(ctx, k, rule)
	if d := l.Allow(ctx, k, rule); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after a refund: %+v, want one more admission", d)
	}
	for range 10 {
		l.Refund(ctx, k, rule)
	}
	for i := range 3 {
		d := l.Allow(ctx, k, rule)
		if d.Allowed != (i < rule.Burst) {
			t.Fatalf("admission %d after ten refunds: %+v, want the burst of %d and no more", i+1, d, rule.Burst)
		}
	}
}
