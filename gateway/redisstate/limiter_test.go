package redisstate

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/degreegate/degreegate/gateway/ratelimit"
)

func TestShare(t *testing.T) {
	tests := []struct{ left, n, want int64 }{
		{10, 1, 10}, {10, 2, 5}, {10, 3, 4}, {1, 3, 1}, {0, 3, 0}, {-4, 2, 0}, {7, 0, 7},
	}
	for _, tt := range tests {
		got := share(tt.left, tt.n)
		if got != tt.want {
			t.Errorf("share(%d, %d) = %d, want %d", tt.left, tt.n, got, tt.want)
		}
		// The shares of n replicas cover what is left, and overshoot it
		// by less than n.
		if n := max(tt.n, 1); tt.left > 0 && (got*n < tt.left || got*n-tt.left >= n) {
			t.Errorf("share(%d, %d) = %d: %d replicas would hand out %d", tt.left, tt.n, got, n, got*n)
		}
	}
}

// flood calls Allow every gap for d and counts what was admitted.
func flood(lim ratelimit.Limiter, key ratelimit.Key, rule ratelimit.Rule, d, gap time.Duration) int64 {
	var n int64
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(gap) {
		if lim.Allow(context.Background(), key, rule).Allowed {
			n++
		}
	}
	return n
}

func startLimiter(t *testing.T, rdb redis.UniversalClient, cfg LimiterConfig) *Limiter {
	t.Helper()
	l := NewLimiter(rdb, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

func TestTwoReplicasShareOneLimit(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	// Two replicas: each its own client, as two processes would have.
	a := startLimiter(t, testClient(t), LimiterConfig{Prefix: prefix})
	b := startLimiter(t, testClient(t), LimiterConfig{Prefix: prefix})
	eventually(t, 5*time.Second, "both replicas settled and counted", func() bool {
		return !a.Degraded() && !b.Degraded() && a.Replicas() == 2 && b.Replicas() == 2
	})
	tests := []struct {
		name   string
		floods []*Limiter // one flooding goroutine each
	}{
		{"load balanced over both", []*Limiter{a, b, a, b}},
		// A client pinned to one replica must still get the whole rate,
		// not 1/N of it, while the other replica is live.
		{"pinned to one replica", []*Limiter{a, a}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := ratelimit.Rule{Name: "verify-ip", Rate: 40, Burst: 10}
			key := ratelimit.AddrKey(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
			const window = 1500 * time.Millisecond
			var admitted atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			for _, l := range tt.floods {
				wg.Add(1)
				go func() {
					defer wg.Done()
					admitted.Add(flood(l, key, rule, window, 500*time.Microsecond))
				}()
			}
			wg.Wait()
			elapsed := time.Since(start).Seconds()

			const n = 2
			exact := rule.Rate*elapsed + float64(rule.Burst)                      // one exact GCRA
			bound := rule.Rate*elapsed + float64(2*rule.Burst) + float64(2*(n-1)) // the documented bound
			unshared := n * exact                                                 // two independent local limiters
			got := float64(admitted.Load())
			t.Logf("admitted %.0f in %.2fs: exact GCRA %.0f, documented bound %.0f, unshared %.0f", got, elapsed, exact, bound, unshared)
			// One settlement interval of slack for the edges of the window.
			if slack := rule.Rate * DefaultInterval.Seconds(); got > bound+slack {
				t.Errorf("admitted %.0f, above the bound %.0f", got, bound)
			}
			if got < 0.8*rule.Rate*elapsed {
				t.Errorf("admitted %.0f, far below the rate's %.0f: shares starve", got, rule.Rate*elapsed)
			}
		})
	}
}

func TestLimiterAloneEnforcesTheRule(t *testing.T) {
	rdb := testClient(t)
	l := startLimiter(t, rdb, LimiterConfig{Prefix: testPrefix(t, rdb)})
	eventually(t, 5*time.Second, "settled", func() bool { return !l.Degraded() })
	rule := ratelimit.Rule{Name: "cert", Rate: 0.5, Burst: 3}
	key := ratelimit.NameKey("1000112345678901")
	ctx := context.Background()
	for i := range rule.Burst {
		d := l.Allow(ctx, key, rule)
		if !d.Allowed || d.Limit != rule.Burst || d.Remaining != rule.Burst-1-i {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d := l.Allow(ctx, key, rule)
	if d.Allowed || d.Remaining != 0 || d.RetryAfter <= 0 || d.RetryAfter > 2*time.Second+DefaultInterval {
		t.Fatalf("past the burst: %+v (a token takes 2 s)", d)
	}
	// Once settled the refusal comes from the cluster's GCRA state: with
	// the whole burst spent at rate R, a token is back 1/R after the
	// spending and the bucket is full B/R after it.
	time.Sleep(3 * DefaultInterval)
	d = l.Allow(ctx, key, rule)
	if d.Allowed || d.RetryAfter <= time.Second || d.RetryAfter > 2*time.Second ||
		d.Reset <= 5*time.Second || d.Reset > 6*time.Second {
		t.Fatalf("settled refusal: %+v, want retry in (1 s, 2 s] and reset in (5 s, 6 s]", d)
	}
	// A second replica coming up later finds nothing left for this key.
	late := startLimiter(t, testClient(t), LimiterConfig{Prefix: l.cfg.Prefix})
	eventually(t, 5*time.Second, "late replica settled", func() bool { return !late.Degraded() })
	late.Allow(ctx, key, rule) // new key: spends from its first share, then settles
	time.Sleep(3 * DefaultInterval)
	if d := late.Allow(ctx, key, rule); d.Allowed {
		t.Fatalf("a replica that joined later admitted past the cluster's spent burst: %+v", d)
	}
}

// TestRefundsReachTheCluster: a refunded admission is given back to
// the cluster's bucket, so a replica that never saw the request, or the
// same one after settling, finds the tokens back (a public verification
// that matched spends nothing of the certificate's allowance).
func TestRefundsReachTheCluster(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	a := startLimiter(t, rdb, LimiterConfig{Prefix: prefix})
	b := startLimiter(t, testClient(t), LimiterConfig{Prefix: prefix})
	eventually(t, 5*time.Second, "settled", func() bool { return !a.Degraded() && !b.Degraded() && a.Replicas() == 2 })
	// Hardly any refill over the test: what b finds is what a left.
	rule := ratelimit.Rule{Name: "cert", Rate: 0.001, Burst: 4}
	key := ratelimit.NameKey("1000112345678901")
	ctx := context.Background()
	for i := range rule.Burst {
		if !a.Allow(ctx, key, rule).Allowed {
			t.Fatalf("admission %d refused", i+1)
		}
		a.Refund(ctx, key, rule)
		time.Sleep(2 * DefaultInterval)
	}
	// Four admissions, all refunded: the cluster's bucket is full, and b
	// spends all of it over its settlements (without the refunds, only
	// the share a new key starts with, half the burst).
	admitted := 0
	eventually(t, 5*time.Second, "b sees the refunded tokens", func() bool {
		if b.Allow(ctx, key, rule).Allowed {
			admitted++
		}
		return admitted >= rule.Burst
	})
	// Without refunds the same admissions leave nothing.
	spent := ratelimit.NameKey("1000112345678902")
	for i := range rule.Burst {
		if !a.Allow(ctx, spent, rule).Allowed {
			t.Fatalf("admission %d refused", i+1)
		}
		time.Sleep(2 * DefaultInterval)
	}
	b.Allow(ctx, spent, rule) // a new key spends from its first share, then settles
	time.Sleep(3 * DefaultInterval)
	if d := b.Allow(ctx, spent, rule); d.Allowed {
		t.Fatalf("admitted past a burst spent on another replica: %+v", d)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestLimiterDegradedKeepsLocalLimits(t *testing.T) {
	rule := ratelimit.Rule{Name: "verify-ip", Rate: 2, Burst: 5}
	tests := []struct {
		name string
		addr func(t *testing.T) string
	}{
		{"closed port", closedPort},
		{"connections dropped", func(t *testing.T) string { return startProxy(t, redisAddr(t), false).Addr() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			l := startLimiter(t, clientVia(t, tt.addr(t)), LimiterConfig{
				Prefix: "unused:", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			time.Sleep(3 * DefaultInterval)
			if !l.Degraded() {
				t.Fatal("not degraded with Redis unreachable")
			}
			start := time.Now()
			got := flood(l, ratelimit.AddrKey(netip.MustParseAddr("203.0.113.50")), rule, 500*time.Millisecond, 100*time.Microsecond)
			most := int64(float64(rule.Burst) + rule.Rate*time.Since(start).Seconds())
			if got < int64(rule.Burst) || got > most {
				t.Fatalf("degraded limiter admitted %d, want the local rule's %d..%d", got, rule.Burst, most)
			}
			if n := strings.Count(logs.String(), "degraded"); n != 1 {
				t.Errorf("logged the degradation %d times, want once:\n%s", n, logs.String())
			}
			if strings.Contains(logs.String(), "203.0.113.50") {
				t.Error("log names the client address")
			}
		})
	}
}

func TestLimiterRecovers(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	p := startProxy(t, redisAddr(t), false)
	l := startLimiter(t, clientVia(t, p.Addr()), LimiterConfig{Prefix: prefix})
	other := startLimiter(t, testClient(t), LimiterConfig{Prefix: prefix})
	time.Sleep(3 * DefaultInterval)
	if !l.Degraded() {
		t.Fatal("not degraded while Redis is unreachable")
	}
	for round := range 2 {
		p.SetUp(true)
		eventually(t, 3*time.Second, "recovered after Redis came back", func() bool { return !l.Degraded() })
		// Recovered means shared again: the other replica is counted.
		eventually(t, 3*time.Second, "replicas counted", func() bool { return l.Replicas() == 2 && other.Replicas() == 2 })
		p.SetUp(false)
		eventually(t, time.Second, "degraded after Redis went away", l.Degraded)
		t.Logf("round %d: recovered and degraded again", round)
	}
}

func TestLimiterKeyNames(t *testing.T) {
	rdb := testClient(t)
	ip := "198.51.100.77"
	for _, secret := range [][]byte{nil, []byte("0123456789abcdef0123456789abcdef")} {
		prefix := testPrefix(t, rdb)
		l := startLimiter(t, testClient(t), LimiterConfig{Prefix: prefix, KeySecret: secret})
		eventually(t, 5*time.Second, "settled", func() bool { return !l.Degraded() })
		l.Allow(context.Background(), ratelimit.AddrKey(netip.MustParseAddr(ip)), ratelimit.Rule{Name: "r", Rate: 1, Burst: 5})
		var keys []string
		eventually(t, 2*time.Second, "key stored", func() bool {
			keys, _ = rdb.Keys(context.Background(), prefix+"rl:*").Result()
			return len(keys) >= 2 // heartbeat and the key
		})
		// A digest either way (a keyed one with the secret): Redis never
		// holds the address in clear.
		if strings.Contains(strings.Join(keys, " "), ip) {
			t.Errorf("secret=%v: keys %q hold the client address in clear", secret != nil, keys)
		}
		if want := l.keyName(ratelimit.Rule{Name: "r", Rate: 1, Burst: 5}, ratelimit.AddrKey(netip.MustParseAddr(ip))); !slices.Contains(keys, want) {
			t.Errorf("secret=%v: keys %q, want %q among them", secret != nil, keys, want)
		}
	}
}

func TestLimiterInvalidRuleRefuses(t *testing.T) {
	l := NewLimiter(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), LimiterConfig{})
	if l.Allow(context.Background(), ratelimit.NameKey("x"), ratelimit.Rule{Name: "bad", Rate: 0, Burst: 1}).Allowed {
		t.Fatal("allowed under an invalid rule")
	}
}
