package redisstate

import (
	"context"
	"fmt"
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

// naiveReport is the n-th admission of one key, reported alone, under a
// rule that never refuses.
func naiveReport(n int) []any {
	return []any{"bench", reportKeep.Milliseconds(), 1e6 / 1e9, 1 << 30, 1, n, n - 1, 0, 0}
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
		n := 0
		for b.Loop() {
			n++
			if err := gcraScript.EvalSha(ctx, rdb, key, naiveReport(n)...).Err(); err != nil {
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
			n := 0
			for pb.Next() {
				n++
				if err := gcraScript.EvalSha(ctx, rdb, key, naiveReport(n)...).Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkSettle is one settlement of many keys, each used once since the
// last, with the hot-path client: what the settle loop does every interval
// under load (1,400 to 2,300 keys were seen at 17k requests a second). An
// operation is one settlement; keys/s is what one settle loop sustains, and
// failed/op the share of settlements a stalled chunk cut short (their keys
// are settled by the next). perCall=1 is how a cluster client settles.
func BenchmarkSettle(b *testing.B) {
	cases := []struct{ keys, perCall, perPipeline int }{
		{2000, keysPerCall, keysPerPipeline}, {5000, keysPerCall, keysPerPipeline}, {2000, 1, clusterKeysPerPipeline},
	}
	for _, c := range cases {
		n := c.keys
		b.Run(fmt.Sprintf("keys=%d/perCall=%d", n, c.perCall), func(b *testing.B) {
			rdb := testClient(b)
			l := NewLimiter(clientVia(b, redisAddr(b)), LimiterConfig{Prefix: testPrefix(b, rdb), MaxBatch: 2 * n})
			l.perCall, l.perPipeline = c.perCall, c.perPipeline
			ctx := context.Background()
			if err := l.settle(ctx); err != nil {
				b.Fatal(err)
			}
			rule := ratelimit.Rule{Name: "cert", Rate: 1e6, Burst: 1 << 30}
			keys := make([]ratelimit.Key, n)
			for i := range keys {
				keys[i] = ratelimit.NameKey(fmt.Sprintf("1000%012d", i))
			}
			b.ReportAllocs()
			failed := 0
			for b.Loop() {
				for _, k := range keys {
					l.Allow(ctx, k, rule)
				}
				if err := l.settle(ctx); err != nil {
					failed++
				}
			}
			if failed == b.N {
				b.Fatal("every settlement failed")
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "keys/s")
			b.ReportMetric(float64(failed)/float64(b.N), "failed/op")
		})
	}
}
