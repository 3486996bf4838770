package redisstate

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/degreegate/degreegate/gateway/ratelimit"
)

// BenchmarkSharedAllow is the two-tier limiter's hot path with the
// settlement loop running against Redis in the background. It should cost
// what ratelimit.BenchmarkLocalAllow costs: no request waits for Redis.
func BenchmarkSharedAllow(b *testing.B) {
	rdb := testClient(b)
	l := NewLimiter(rdb, LimiterConfig{Prefix: testPrefix(b, rdb)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	eventually(b, 5*time.Second, "settled", func() bool { return !l.Degraded() })
	cases := []struct {
		name string
		rule ratelimit.Rule
	}{
		{"allowed", ratelimit.Rule{Name: "open", Rate: 1e12, Burst: 1 << 30}},
		{"denied", ratelimit.Rule{Name: "shut", Rate: 1e-6, Burst: 1}},
	}
	key := ratelimit.AddrKey(netip.MustParseAddr("203.0.113.9"))
	for _, c := range cases {
		l.Allow(ctx, key, c.rule)
		time.Sleep(3 * DefaultInterval) // the key has settled at least once
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.Allow(ctx, key, c.rule)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l.Allow(ctx, key, c.rule)
				}
			})
		})
	}
	if l.Degraded() {
		b.Fatal("degraded during the benchmark: the numbers are the local tier's alone")
	}
}

// BenchmarkGCRAScript is the naive design for comparison: one round trip
// to Redis per request, running the same GCRA script.
func BenchmarkGCRAScript(b *testing.B) {
	rdb := testClient(b)
	prefix := testPrefix(b, rdb)
	ctx := context.Background()
	if err := loadScripts(ctx, rdb, gcraScript); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		key := []string{prefix + "rl:bench"}
		for b.Loop() {
			if err := gcraScript.EvalSha(ctx, rdb, key, 1e6/1e9, 1<<30, 1).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(8) // a server has many requests in flight
		i := 0
		b.RunParallel(func(pb *testing.PB) {
			i++
			key := []string{prefix + "rl:bench" + strconv.Itoa(i)}
			for pb.Next() {
				if err := gcraScript.EvalSha(ctx, rdb, key, 1e6/1e9, 1<<30, 1).Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
