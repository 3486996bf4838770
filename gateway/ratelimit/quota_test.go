package ratelimit

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryQuota(t *testing.T) {
	ctx := context.Background()
	// 23:59:30 in Shanghai: the day ends in 30 s.
	now := time.Date(2025, 6, 1, 15, 59, 30, 0, time.UTC)
	q := NewMemoryQuota(func() time.Time { return now })
	type take struct {
		org         string
		n, limit    int64
		allowed     bool
		remaining   int64
		advanceDays int
	}
	steps := []take{
		{org: "gov:a", n: 3, limit: 5, allowed: true, remaining: 2},
		{org: "gov:a", n: 3, limit: 5, allowed: false, remaining: 2}, // refused: nothing used
		{org: "gov:a", n: 2, limit: 5, allowed: true, remaining: 0},
		{org: "gov:b", n: 5, limit: 5, allowed: true, remaining: 0}, // its own count
		{org: "gov:a", n: 1, limit: 5, allowed: false, remaining: 0},
		{org: "gov:a", n: 1, limit: 0, allowed: true, remaining: 0},   // no quota
		{org: "gov:a", n: 5, limit: 5, allowed: true, advanceDays: 1}, // a new day
		{org: "gov:a", n: math.MaxInt64, limit: math.MaxInt64, allowed: false, remaining: math.MaxInt64 - 5},
	}
	for i, s := range steps {
		if s.advanceDays > 0 {
			now = now.AddDate(0, 0, s.advanceDays)
		}
		d, err := q.Take(ctx, s.org, s.n, s.limit)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if d.Allowed != s.allowed || d.Remaining != s.remaining {
			t.Errorf("step %d: allowed %v remaining %d, want %v %d", i, d.Allowed, d.Remaining, s.allowed, s.remaining)
		}
		if s.limit > 0 && d.Used+d.Remaining != s.limit {
			t.Errorf("step %d: used %d + remaining %d != limit %d", i, d.Used, d.Remaining, s.limit)
		}
		if d.Reset <= 0 || d.Reset > 24*time.Hour {
			t.Errorf("step %d: reset %s", i, d.Reset)
		}
	}
	if d, _ := q.Take(ctx, "gov:a", 1, 10); d.Reset != 30*time.Second {
		t.Errorf("reset %s, want the 30 s left of the Shanghai day", d.Reset)
	}
	for _, bad := range []struct {
		org string
		n   int64
	}{{"", 1}, {"gov:a", 0}, {"gov:a", -1}} {
		if _, err := q.Take(ctx, bad.org, bad.n, 10); err == nil {
			t.Errorf("Take(%q, %d) accepted", bad.org, bad.n)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := q.Take(cancelled, "gov:a", 1, 10); err == nil {
		t.Error("Take with an ended context accepted")
	}
}

// Refund gives items back to the day charged, never below zero, and
// not to another day.
func TestMemoryQuotaRefund(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 15, 59, 30, 0, time.UTC)
	q := NewMemoryQuota(func() time.Time { return now })
	d, err := q.Take(ctx, "gov:a", 4, 5)
	if err != nil || !d.Allowed || d.Day != "20250601" {
		t.Fatalf("take: %+v %v", d, err)
	}
	if err := q.Refund(ctx, "gov:a", 3, d.Day); err != nil {
		t.Fatal(err)
	}
	if got, _ := q.Take(ctx, "gov:a", 4, 5); !got.Allowed || got.Used != 5 {
		t.Fatalf("after a refund of 3: %+v, want 4 more to fit", got)
	}
	q.Refund(ctx, "gov:a", 100, d.Day)
	if got, _ := q.Take(ctx, "gov:a", 5, 5); !got.Allowed || got.Used != 5 {
		t.Fatalf("after refunding more than was used: %+v", got)
	}
	now = now.Add(time.Minute) // the next Shanghai day
	if got, _ := q.Take(ctx, "gov:a", 5, 5); !got.Allowed {
		t.Fatalf("a new day: %+v", got)
	}
	q.Refund(ctx, "gov:a", 5, d.Day) // yesterday's: not today's count
	if got, _ := q.Take(ctx, "gov:a", 1, 5); got.Allowed {
		t.Fatalf("yesterday's refund freed today's quota: %+v", got)
	}
}

// Concurrent takes never hand out more than the limit.
func TestMemoryQuotaConcurrent(t *testing.T) {
	q := NewMemoryQuota(nil)
	const limit = 1000
	var granted atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				if d, err := q.Take(context.Background(), "gov:a", 3, limit); err == nil && d.Allowed {
					granted.Add(3)
				}
			}
		}()
	}
	wg.Wait()
	if g := granted.Load(); g > limit || g < limit-2 {
		t.Errorf("granted %d items under a limit of %d", g, limit)
	}
}
