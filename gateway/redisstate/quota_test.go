package redisstate

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestQuotaAcrossReplicas(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	a, b := NewQuota(rdb, prefix), NewQuota(testClient(t), prefix)
	const limit = 10
	steps := []struct {
		q         *Quota
		org       string
		n         int64
		allowed   bool
		used      int64
		remaining int64
	}{
		{a, "agency-1", 4, true, 4, 6},
		{b, "agency-1", 4, true, 8, 2},
		{a, "agency-1", 3, false, 8, 2}, // would pass the limit: refused, nothing spent
		{b, "agency-1", 2, true, 10, 0},
		{a, "agency-1", 1, false, 10, 0},
		{b, "agency-2", 10, true, 10, 0}, // another organisation counts apart
		{a, "agency-2", 1, false, 10, 0},
	}
	for i, s := range steps {
		d, err := s.q.Take(context.Background(), s.org, s.n, limit)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if d.Allowed != s.allowed || d.Used != s.used || d.Remaining != s.remaining || d.Limit != limit {
			t.Fatalf("step %d: got %+v, want allowed=%v used=%d remaining=%d", i, d, s.allowed, s.used, s.remaining)
		}
	}
	for _, bad := range []struct {
		org string
		n   int64
	}{{"agency-1", 0}, {"agency-1", -3}, {"", 1}} {
		if _, err := a.Take(context.Background(), bad.org, bad.n, limit); err == nil {
			t.Errorf("Take(%q, %d) accepted", bad.org, bad.n)
		}
	}
	if d, err := a.Take(context.Background(), "agency-3", 1, 0); err != nil || d.Allowed {
		t.Errorf("zero limit: %+v %v", d, err)
	}
}

func TestQuotaResetIsShanghaiMidnight(t *testing.T) {
	tests := []struct {
		utc   string
		reset time.Duration
	}{
		{"2025-03-01T15:00:00Z", time.Hour},        // 23:00 in Shanghai
		{"2025-03-01T16:00:00Z", 24 * time.Hour},   // midnight there: a whole day
		{"2025-03-01T00:00:00Z", 16 * time.Hour},   // 08:00 there
		{"2024-12-31T15:59:59Z", time.Second},      // year end
		{"2025-07-10T15:30:00Z", 30 * time.Minute}, // no daylight saving in summer
	}
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	for _, tt := range tests {
		now, err := time.Parse(time.RFC3339, tt.utc)
		if err != nil {
			t.Fatal(err)
		}
		q := NewQuota(rdb, prefix)
		q.now = func() time.Time { return now }
		d, err := q.Take(context.Background(), "org", 1, 100)
		if err != nil || d.Reset != tt.reset {
			t.Errorf("%s: reset %v (err %v), want %v", tt.utc, d.Reset, err, tt.reset)
		}
	}
}

func TestQuotaExpiresAtDayEnd(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	// A clock that reaches Shanghai midnight 300 ms from now.
	start := time.Now()
	midnight := time.Date(2025, 3, 2, 0, 0, 0, 0, shanghai)
	clock := func() time.Time { return midnight.Add(-300 * time.Millisecond).Add(time.Since(start)) }
	a, b := NewQuota(rdb, prefix), NewQuota(testClient(t), prefix)
	a.now, b.now = clock, clock
	ctx := context.Background()
	if d, err := a.Take(ctx, "org", 5, 5); err != nil || !d.Allowed {
		t.Fatalf("before midnight: %+v %v", d, err)
	}
	if d, err := b.Take(ctx, "org", 1, 5); err != nil || d.Allowed {
		t.Fatalf("quota not shared before midnight: %+v %v", d, err)
	}
	key := prefix + "quota:org:20250301"
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > 300*time.Millisecond {
		t.Fatalf("counter expires in %v, want by midnight (≤ 300 ms)", ttl)
	}
	time.Sleep(time.Until(start.Add(450 * time.Millisecond)))
	if n := rdb.Exists(ctx, key).Val(); n != 0 {
		t.Fatal("yesterday's counter outlived the day")
	}
	if d, err := b.Take(ctx, "org", 5, 5); err != nil || !d.Allowed || d.Used != 5 {
		t.Fatalf("after midnight: %+v %v, want a fresh day", d, err)
	}
}

func TestQuotaRedisDown(t *testing.T) {
	q := NewQuota(clientVia(t, closedPort(t)), "unused:")
	if d, err := q.Take(context.Background(), "org", 1, 100); err == nil {
		t.Fatalf("no error with Redis down (%+v): agency quotas must refuse", d)
	}
}

// TestQuotaCoalescesConcurrentTakes: many concurrent takes for one
// organisation are decided exactly as if they had come one at a time —
// exactly the limit's worth allowed, each allowed take with its own count
// after, refused ones spending nothing — in far fewer script calls than
// takes, and a small pool is not exhausted by them.
func TestQuotaCoalescesConcurrentTakes(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	opt := *rdb.Options()
	opt.PoolSize, opt.PoolTimeout = 2, 50*time.Millisecond
	small := redis.NewClient(&opt)
	t.Cleanup(func() { small.Close() })
	q := NewQuota(small, prefix)
	const takes, limit = 400, 250
	var (
		mu       sync.Mutex
		allowed  int64
		usedSeen = map[int64]bool{}
		wg       sync.WaitGroup
		start    = make(chan struct{}) // all start together
	)
	for i := range takes {
		n := int64(1 + i%2) // sizes 1 and 2: 600 asked for, 250 allowed
		wg.Go(func() {
			<-start
			d, err := q.Take(context.Background(), "busy-agency", n, limit)
			if err != nil {
				t.Errorf("take: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if d.Allowed {
				allowed += n
				if usedSeen[d.Used] {
					t.Errorf("two allowed takes report count %d", d.Used)
				}
				usedSeen[d.Used] = true
			}
			if d.Used > limit || d.Remaining != limit-d.Used {
				t.Errorf("decision %+v", d)
			}
		})
	}
	close(start)
	wg.Wait()
	if allowed != limit {
		t.Errorf("%d allowed in all, want exactly the limit %d", allowed, limit)
	}
	day := time.Now().In(shanghai).Format("20060102")
	if got, _ := rdb.Get(context.Background(), prefix+"quota:busy-agency:"+day).Int64(); got != limit {
		t.Errorf("counter %d, want %d", got, limit)
	}
	if calls := q.calls.Load(); calls >= takes/2 {
		t.Errorf("%d script calls for %d concurrent takes: not coalesced", calls, takes)
	} else {
		t.Logf("%d takes in %d script calls", takes, calls)
	}
	// Refused takes spent nothing: the counter stays at the limit.
	if d, err := q.Take(context.Background(), "busy-agency", 1, limit); err != nil || d.Allowed || d.Used != limit {
		t.Errorf("take after the limit: %+v %v", d, err)
	}
}

// TestQuotaTakeHonoursContext: a caller whose context ends stops waiting.
func TestQuotaTakeHonoursContext(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	q := NewQuota(rdb, prefix)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Take(ctx, "org", 1, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled take: err %v, want context.Canceled", err)
	}
	// A caller that has gone was never charged.
	day := time.Now().In(shanghai).Format("20060102")
	if n, err := rdb.Exists(context.Background(), prefix+"quota:org:"+day).Result(); err != nil || n != 0 {
		t.Errorf("counter exists after a cancelled take (%d, %v)", n, err)
	}
}

// Refund gives items back to the day charged, shared by every replica,
// never below zero, and leaves an ended day (its key gone) alone.
func TestQuotaRefund(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	a, b := NewQuota(rdb, prefix), NewQuota(testClient(t), prefix)
	ctx := context.Background()
	d, err := a.Take(ctx, "org", 4, 5)
	if err != nil || !d.Allowed || d.Day == "" {
		t.Fatalf("take: %+v %v", d, err)
	}
	if err := b.Refund(ctx, "org", 3, d.Day); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Take(ctx, "org", 4, 5); err != nil || !got.Allowed || got.Used != 5 {
		t.Fatalf("after a refund of 3: %+v %v, want 4 more to fit (used 5)", got, err)
	}
	if err := a.Refund(ctx, "org", 100, d.Day); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Take(ctx, "org", 5, 5); !got.Allowed || got.Used != 5 {
		t.Fatalf("after refunding more than was used: %+v, want the count at 0 then 5", got)
	}
	if err := a.Refund(ctx, "org", 2, "20000101"); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, prefix+"quota:org:20000101").Val(); n != 0 {
		t.Error("a refund for an ended day created its counter")
	}
	if d, _ := a.Take(ctx, "org", 1, 0); d.Day != "" {
		t.Errorf("no quota, yet a day to refund: %+v", d)
	}
}
