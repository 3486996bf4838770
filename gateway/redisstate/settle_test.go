package redisstate

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/degreegate/degreegate/gateway/ratelimit"
)

// slowRule refills so slowly (one token in 1,000 s) that what Redis
// counted can be read back exactly as burst − left.
var slowRule = ratelimit.Rule{Name: "cert", Rate: 0.001, Burst: 100}

// counted is how many admissions Redis has applied to the hash name under
// rule, read with a report of nothing (which writes nothing).
func counted(t testing.TB, rdb *redis.Client, name string, rule ratelimit.Rule) int64 {
	t.Helper()
	v, err := gcraScript.Run(context.Background(), rdb, []string{name}, probeArgs(rule)...).Int64Slice()
	if err != nil || len(v) != 3 {
		t.Fatalf("probe: %v %v", v, err)
	}
	return int64(rule.Burst) - v[0]
}

// probeArgs is a report of nothing on one key, which writes nothing.
func probeArgs(rule ratelimit.Rule) []any {
	return []any{"probe", reportKeep.Milliseconds(), 1e6 / rule.Rate, rule.Burst, 0, 0, 0, 0, 0}
}

// warmPipeline leaves an open pipeline connection in l's client, so that a
// settlement made while the proxy drops replies loses the settlement's own
// reply, not the handshake of a new connection.
func warmPipeline(t testing.TB, l *Limiter) {
	t.Helper()
	_, err := l.rdb.Pipelined(context.Background(), func(p redis.Pipeliner) error {
		p.Ping(context.Background())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGCRAScriptIsIdempotent sends reports straight to the script, in the
// orders that lost replies, retries and recreated entries produce.
func TestGCRAScriptIsIdempotent(t *testing.T) {
	rdb := testClient(t)
	type report struct {
		replica      string
		incarnation  uint64
		total, acked int64
		want         int64 // what Redis has counted after the report
		// refunds and ackedRefunds: Limiter.Refund's counts, like total
		// and acked.
		refunds, ackedRefunds int64
	}
	tests := []struct {
		name    string
		reports []report
	}{
		{"replayed report applies nothing", []report{{"a", 1, 5, 0, 5, 0, 0}, {"a", 1, 5, 0, 5, 0, 0}, {"a", 1, 5, 0, 5, 0, 0}}},
		{"retry after a lost reply applies the difference", []report{{"a", 1, 3, 0, 3, 0, 0}, {"a", 1, 7, 0, 7, 0, 0}, {"a", 1, 9, 7, 9, 0, 0}}},
		{"older report arriving late applies nothing", []report{{"a", 1, 8, 0, 8, 0, 0}, {"a", 1, 6, 0, 8, 0, 0}, {"a", 1, 9, 6, 9, 0, 0}}},
		{"replicas count separately", []report{{"a", 1, 4, 0, 4, 0, 0}, {"b", 1, 4, 0, 8, 0, 0}, {"a", 1, 5, 4, 9, 0, 0}}},
		{"recreated entry counts from zero", []report{{"a", 1, 6, 0, 6, 0, 0}, {"a", 2, 2, 0, 8, 0, 0}, {"a", 2, 3, 2, 9, 0, 0}}},
		// No field for the replica (first report, or the hash expired):
		// what the replica knows was applied is the base.
		{"without a field the acknowledged count is the base", []report{{"a", 1, 7, 5, 2, 0, 0}, {"a", 1, 7, 5, 2, 0, 0}}},
		// Refunds are a count of their own, so the same holds for them.
		{"refunds give back", []report{{"a", 1, 5, 0, 3, 2, 0}, {"a", 1, 5, 0, 3, 2, 0}, {"a", 1, 6, 5, 3, 3, 2}}},
		{"older report with fewer refunds applies nothing", []report{{"a", 1, 5, 0, 2, 3, 0}, {"a", 1, 4, 0, 2, 1, 0}, {"a", 1, 5, 4, 2, 3, 1}}},
		{"refunds of a recreated entry count from zero", []report{{"a", 1, 4, 0, 2, 2, 0}, {"a", 2, 3, 0, 4, 1, 0}}},
		{"refunds never take the bucket past full", []report{{"a", 1, 2, 0, 2, 0, 0}, {"a", 1, 2, 2, 0, 5, 0}, {"a", 1, 3, 2, 1, 5, 5}}},
	}
	prefix := testPrefix(t, rdb)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("%srl:v2:case%d", prefix, i)
			for j, r := range tt.reports {
				err := gcraScript.Run(context.Background(), rdb, []string{name}, r.replica, reportKeep.Milliseconds(),
					1e6/slowRule.Rate, slowRule.Burst, r.incarnation, r.total, r.acked, r.refunds, r.ackedRefunds).Err()
				if err != nil {
					t.Fatal(err)
				}
				if got := counted(t, rdb, name, slowRule); got != r.want {
					t.Fatalf("after report %d %+v: Redis counted %d, want %d", j, r, got, r.want)
				}
			}
			ttl, err := rdb.PTTL(context.Background(), name).Result()
			if err != nil || ttl < reportKeep-time.Second {
				t.Errorf("hash kept for %v (%v), want at least reportKeep %v", ttl, err, reportKeep)
			}
		})
	}
	// One call settles each of its keys by that key's own report and rule.
	t.Run("several keys in one call", func(t *testing.T) {
		fast := ratelimit.Rule{Name: "fast", Rate: 0.002, Burst: 50}
		keys := []string{prefix + "rl:v2:multi0", prefix + "rl:v2:multi1", prefix + "rl:v2:multi2"}
		args := []any{"a", reportKeep.Milliseconds(),
			1e6 / slowRule.Rate, slowRule.Burst, 1, 3, 0, 0, 0,
			1e6 / fast.Rate, fast.Burst, 2, 7, 2, 0, 0,
			1e6 / slowRule.Rate, slowRule.Burst, 3, 0, 0, 0, 0}
		for range 2 { // the second call is a replay
			v, err := gcraScript.Run(context.Background(), rdb, keys, args...).Int64Slice()
			if err != nil || len(v) != 9 {
				t.Fatalf("answer %v, %v: want three per key", v, err)
			}
			if v[0] != 97 || v[3] != 45 || v[6] != 100 {
				t.Fatalf("left %d, %d, %d: want 97, 45, 100", v[0], v[3], v[6])
			}
		}
	})
}

// TestSettlementReplayNeverCountsTwice loses settlements the way a loaded
// Redis does: the script runs but the reply misses the read timeout, and
// the next settlement reports again.
func TestSettlementReplayNeverCountsTwice(t *testing.T) {
	rdb := testClient(t)
	tests := []struct {
		name  string
		steps []replayStep
	}{
		{"reply lost once", []replayStep{{admit: 4, lose: true}, {}}},
		{"replies lost twice, admissions between", []replayStep{{admit: 3, lose: true}, {admit: 2, lose: true}, {admit: 1}}},
		{"report never arrived", []replayStep{{admit: 4, down: true}, {}}},
		{"lost, then settled normally", []replayStep{{admit: 2, lose: true}, {admit: 3}, {admit: 1}}},
	}
	for i, tt := range tests {
		for _, perCall := range []int{keysPerCall, 1} {
			t.Run(fmt.Sprintf("%s/%d keys a call", tt.name, perCall), func(t *testing.T) {
				testReplay(t, rdb, perCall, i, tt.steps)
			})
		}
	}
}

type replayStep struct {
	admit int  // requests admitted before the settlement
	lose  bool // Redis applies the report, the reply is lost
	down  bool // the report never reaches Redis
}

func testReplay(t *testing.T, rdb *redis.Client, perCall, i int, steps []replayStep) {
	p := startProxy(t, redisAddr(t), true)
	// A long interval keeps the blips below degradeAfter, so the limiter
	// keeps counting while the test runs.
	l := NewLimiter(clientVia(t, p.Addr()), LimiterConfig{Prefix: testPrefix(t, rdb), Interval: time.Second})
	if perCall == 1 {
		l.perCall, l.perPipeline = 1, clusterKeysPerPipeline
	}
	ctx := context.Background()
	if err := l.settle(ctx); err != nil {
		t.Fatal(err)
	}
	key := ratelimit.NameKey(fmt.Sprintf("10001123456789%02d", i))
	name := l.keyName(slowRule, key)
	var admitted int64
	for j, st := range steps {
		for range st.admit {
			if d := l.Allow(ctx, key, slowRule); !d.Allowed {
				t.Fatalf("step %d: refused %+v", j, d)
			}
			admitted++
		}
		before := counted(t, rdb, name, slowRule)
		if st.lose {
			warmPipeline(t, l)
		}
		p.dropReplies.Store(st.lose)
		p.SetUp(!st.down)
		err := l.settle(ctx)
		p.dropReplies.Store(false)
		p.SetUp(true)
		if failed := st.lose || st.down; failed != (err != nil) {
			t.Fatalf("step %d: settle error %v, want failure %v", j, err, failed)
		}
		switch {
		case st.lose:
			eventually(t, time.Second, "Redis applied the report whose reply was lost", func() bool {
				return counted(t, rdb, name, slowRule) == admitted
			})
		case st.down:
			if got := counted(t, rdb, name, slowRule); got != before {
				t.Fatalf("step %d: Redis counted %d with the report undelivered, want %d", j, got, before)
			}
		default:
			if got := counted(t, rdb, name, slowRule); got != admitted {
				t.Fatalf("step %d: Redis counted %d, want the %d admitted", j, got, admitted)
			}
		}
		if l.Degraded() {
			t.Fatalf("step %d: degraded by a single failed settlement", j)
		}
	}
}

// TestFailedSettlementRefusesOnlyWhatTheRuleRefuses: with its share spent
// and its settlement lost, a replica must neither refuse what the cluster
// still has nor admit past the rule.
func TestFailedSettlementRefusesOnlyWhatTheRuleRefuses(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	p := startProxy(t, redisAddr(t), true)
	ctx := context.Background()
	l := NewLimiter(clientVia(t, p.Addr()), LimiterConfig{Prefix: prefix, Interval: time.Second})
	// An idle second replica, so that this one gets half of what is left.
	other := NewLimiter(testClient(t), LimiterConfig{Prefix: prefix, Interval: time.Second})
	for _, lim := range []*Limiter{other, l} {
		if err := lim.settle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if l.Replicas() != 2 {
		t.Fatalf("%d replicas counted, want 2", l.Replicas())
	}
	rule := ratelimit.Rule{Name: "cert", Rate: 0.001, Burst: 10}
	key := ratelimit.NameKey("1000112345678901")
	admitUntilRefused := func() int {
		n := 0
		for ; n <= rule.Burst && l.Allow(ctx, key, rule).Allowed; n++ {
		}
		return n
	}
	if !l.Allow(ctx, key, rule).Allowed {
		t.Fatal("first request refused")
	}
	if err := l.settle(ctx); err != nil {
		t.Fatal(err)
	}
	// 9 left in the cluster: this replica's share is ⌈9/2⌉.
	if n := admitUntilRefused(); n != 5 {
		t.Fatalf("admitted %d on the share, want 5", n)
	}
	warmPipeline(t, l)
	p.dropReplies.Store(true)
	if err := l.settle(ctx); err == nil {
		t.Fatal("settlement with its reply lost succeeded")
	}
	p.dropReplies.Store(false)
	// The cluster still has 4; the settlement failed, so the rule decides.
	if n := admitUntilRefused(); n != 4 {
		t.Fatalf("admitted %d after the failed settlement, want the 4 the rule has left", n)
	}
	if err := l.settle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := counted(t, rdb, l.keyName(rule, key), rule); got != int64(rule.Burst) {
		t.Fatalf("Redis counted %d, want the %d admitted", got, rule.Burst)
	}
	if d := l.Allow(ctx, key, rule); d.Allowed {
		t.Fatalf("admitted past the spent burst after settling: %+v", d)
	}
}

// TestIdleKeyRegainsWhatTheClusterRegained: a key whose share was spent and
// that then went idle (so was not settled again) must not be refused once
// the cluster's bucket has refilled.
func TestIdleKeyRegainsWhatTheClusterRegained(t *testing.T) {
	rdb := testClient(t)
	l := NewLimiter(testClient(t), LimiterConfig{Prefix: testPrefix(t, rdb), Interval: time.Second})
	ctx := context.Background()
	if err := l.settle(ctx); err != nil {
		t.Fatal(err)
	}
	rule := ratelimit.Rule{Name: "verify-ip", Rate: 2, Burst: 2}
	key := ratelimit.AddrKey(netip.MustParseAddr("198.51.100.20"))
	tests := []struct {
		name  string
		sleep time.Duration
		want  []bool
	}{
		{"spend the burst", 0, []bool{true, true, false}},
		{"spent, just settled", 0, []bool{false}},
		{"idle until refilled", 1100 * time.Millisecond, []bool{true, true, false}},
	}
	for _, tt := range tests {
		time.Sleep(tt.sleep)
		for i, want := range tt.want {
			if d := l.Allow(ctx, key, rule); d.Allowed != want {
				t.Fatalf("%s: request %d: %+v, want allowed=%v", tt.name, i, d, want)
			}
		}
		if err := l.settle(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSettleManyKeys settles more keys than one pipeline could answer
// within the hot-path read timeout. On a machine loaded enough to stall a
// chunk past its deadline the settlement is retried, as Run would, and
// every key must still be counted exactly once.
func TestSettleManyKeys(t *testing.T) {
	rdb := testClient(t)
	tests := []struct{ keys, perCall, perPipeline int }{
		{keysPerCall - 1, keysPerCall, keysPerPipeline},
		{keysPerCall + 1, keysPerCall, keysPerPipeline},
		{keysPerPipeline + 1, keysPerCall, keysPerPipeline},
		{5000, keysPerCall, keysPerPipeline},
		{5000, 1, clusterKeysPerPipeline}, // as a cluster client settles
	}
	for _, tt := range tests {
		n := tt.keys
		t.Run(fmt.Sprintf("%d keys, %d a call", n, tt.perCall), func(t *testing.T) {
			prefix := testPrefix(t, rdb)
			l := NewLimiter(clientVia(t, redisAddr(t)), LimiterConfig{Prefix: prefix, MaxBatch: 8192})
			l.perCall, l.perPipeline = tt.perCall, tt.perPipeline
			ctx := context.Background()
			if err := l.settle(ctx); err != nil { // counts from here on
				t.Fatal(err)
			}
			keys := make([]ratelimit.Key, n)
			for i := range keys {
				keys[i] = ratelimit.NameKey(fmt.Sprintf("1000%012d", i))
				if !l.Allow(ctx, keys[i], slowRule).Allowed {
					t.Fatalf("key %d refused", i)
				}
			}
			start := time.Now()
			// Retried for as long as a loaded CI machine (race detector,
			// other packages' tests) may need: what is tested is that
			// every key ends up counted exactly once, not the speed.
			err := l.settle(ctx)
			for retry := 1; err != nil && time.Since(start) < 60*time.Second; retry++ {
				t.Logf("settlement %d: %v (retrying)", retry, err)
				time.Sleep(50 * time.Millisecond)
				err = l.settle(ctx)
			}
			if err != nil {
				t.Fatalf("settling %d keys: %v", n, err)
			}
			t.Logf("settled %d keys in %v", n, time.Since(start))
			pipe := rdb.Pipeline()
			probes := make([]*redis.Cmd, n)
			for i, k := range keys {
				probes[i] = gcraScript.Eval(ctx, pipe, []string{l.keyName(slowRule, k)}, probeArgs(slowRule)...)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			for i, c := range probes {
				v, err := c.Int64Slice()
				if err != nil || int64(slowRule.Burst)-v[0] != 1 {
					t.Fatalf("key %d: Redis answers %v, %v: want it counted once", i, v, err)
				}
			}
		})
	}
}

// TestRevocationsStayLiveUnderSettlementLoad shares one hot-path client
// between a limiter settling 5,000 keys back to back and the revocation
// subscription, as serve does: the subscription must never be reported
// lost, and revocations must still arrive within a second.
func TestRevocationsStayLiveUnderSettlementLoad(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	shared := clientVia(t, redisAddr(t))
	s := subscribe(t, NewRevocations(shared, prefix, nil))
	eventually(t, 5*time.Second, "subscribed", s.rev.Live)

	l := NewLimiter(shared, LimiterConfig{Prefix: prefix, MaxBatch: 8192})
	keys := make([]ratelimit.Key, 5000)
	for i := range keys {
		keys[i] = ratelimit.NameKey(fmt.Sprintf("2000%012d", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.settle(ctx); err != nil { // counts from here on
		t.Fatal(err)
	}
	done := make(chan int)
	go func() {
		rounds := 0
		for ctx.Err() == nil {
			for _, k := range keys {
				l.Allow(ctx, k, slowRule)
			}
			if l.settle(ctx) == nil {
				rounds++
			}
		}
		done <- rounds
	}()
	pub := NewRevocations(rdb, prefix, nil)
	for end, published := time.Now().Add(2*time.Second), false; time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if !s.rev.Live() {
			cancel()
			<-done
			t.Fatal("subscription reported lost while settlements ran")
		}
		if !published && time.Until(end) < time.Second {
			published = true
			if err := pub.Publish(context.Background(), "3000112345678901"); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			eventually(t, time.Second, "revocation heard under load", func() bool {
				_, ok := s.heard("3000112345678901")
				return ok
			})
			t.Logf("revocation heard after %v", time.Since(sent))
		}
	}
	cancel()
	rounds := <-done
	t.Logf("%d settlements of %d keys ran meanwhile", rounds, len(keys))
	if rounds < 2 {
		t.Fatalf("only %d settlements succeeded: no load was put on the client", rounds)
	}
	if n := s.resyncs.Load(); n != 1 {
		t.Fatalf("%d resyncs, want 1: the subscription was re-established", n)
	}
}
