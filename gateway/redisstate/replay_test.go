package redisstate

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tokenReplayCache is gateway/token's interface, restated so that this
// package needs nothing from it: the compiler checks the method set.
type tokenReplayCache interface {
	Seen(ctx context.Context, issuer, jti string, until time.Time) (bool, error)
}

var _ tokenReplayCache = (*ReplayCache)(nil)

func TestReplayCache(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	// Two replicas' caches over one Redis.
	a, b := NewReplayCache(rdb, prefix), NewReplayCache(testClient(t), prefix)
	exp := time.Now().Add(time.Minute)
	steps := []struct {
		cache       *ReplayCache
		issuer, jti string
		seen        bool
	}{
		{a, "https://idp.example", "j1", false},
		{a, "https://idp.example", "j1", true},
		{b, "https://idp.example", "j1", true}, // the other replica sees the replay
		{b, "https://other.example", "j1", false},
		{a, "https://idp.example", "j2", false},
		{b, "https://idp.example", "j2", true},
		{a, "https://idp.example\x00j", "1", false}, // no confusion at the separator
	}
	for i, s := range steps {
		seen, err := s.cache.Seen(context.Background(), s.issuer, s.jti, exp)
		if err != nil || seen != s.seen {
			t.Fatalf("step %d: seen=%v err=%v, want %v", i, seen, err, s.seen)
		}
	}
	if _, err := a.Seen(context.Background(), "iss", "", exp); err == nil {
		t.Error("empty jti accepted")
	}
}

func TestReplayCacheExpires(t *testing.T) {
	rdb := testClient(t)
	c := NewReplayCache(rdb, testPrefix(t, rdb))
	ctx := context.Background()
	tests := []struct {
		name    string
		until   time.Duration
		wantTTL time.Duration // at most
	}{
		{"until the token's exp", 1200 * time.Millisecond, 1200 * time.Millisecond},
		{"already expired: kept a second", -time.Hour, minReplayTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jti := tt.name
			start := time.Now()
			if seen, err := c.Seen(ctx, "iss", jti, start.Add(tt.until)); seen || err != nil {
				t.Fatalf("first use: %v %v", seen, err)
			}
			if seen, err := c.Seen(ctx, "iss", jti, start.Add(tt.until)); !seen || err != nil {
				t.Fatalf("replay: %v %v", seen, err)
			}
			time.Sleep(time.Until(start.Add(tt.wantTTL + 150*time.Millisecond)))
			if seen, err := c.Seen(ctx, "iss", jti, time.Now().Add(time.Minute)); seen || err != nil {
				t.Fatalf("after expiry: seen=%v err=%v; the record outlived the token", seen, err)
			}
		})
	}
}

func TestReplayCacheRace(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	var fresh atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen, err := NewReplayCache(rdb, prefix).Seen(context.Background(), "iss", "same", time.Now().Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if !seen {
				fresh.Add(1)
			}
		}()
	}
	wg.Wait()
	if fresh.Load() != 1 {
		t.Fatalf("%d concurrent uses of one token passed, want exactly 1", fresh.Load())
	}
}

func TestReplayCacheRedisDown(t *testing.T) {
	c := NewReplayCache(clientVia(t, closedPort(t)), "unused:")
	seen, err := c.Seen(context.Background(), "iss", "j", time.Now().Add(time.Minute))
	if err == nil {
		t.Fatalf("no error with Redis down (seen=%v): batch routes would run without replay protection", seen)
	}
}
