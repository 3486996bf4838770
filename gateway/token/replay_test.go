package token

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryReplayCache(t *testing.T) {
	ctx := context.Background()
	c := newClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	rc := NewMemoryReplayCache(3, c.now)
	until := c.now().Add(time.Minute)

	steps := []struct {
		name      string
		iss, jti  string
		until     time.Time
		advance   time.Duration
		want      bool
		wantErr   error
		wantCount int
	}{
		{name: "first use", iss: "a", jti: "1", until: until, want: false, wantCount: 1},
		{name: "replay", iss: "a", jti: "1", until: until, want: true, wantCount: 1},
		{name: "same jti, other issuer", iss: "b", jti: "1", until: until, want: false, wantCount: 2},
		{name: "issuer/jti split elsewhere is another id", iss: "a\x001", jti: "", until: until, want: false, wantCount: 3},
		{name: "full of live ids: fail closed", iss: "a", jti: "2", until: until, wantErr: ErrReplayCacheFull, wantCount: 3},
		{name: "still a replay just before until", iss: "a", jti: "1", until: until, advance: time.Minute - time.Nanosecond, want: true, wantCount: 3},
		{name: "forgotten at until, room again", iss: "a", jti: "2", until: until.Add(time.Minute), advance: time.Nanosecond, want: false, wantCount: 1},
		{name: "old id usable again once forgotten", iss: "a", jti: "1", until: until.Add(time.Minute), want: false, wantCount: 2},
		{name: "already past its time: not kept", iss: "a", jti: "3", until: c.now().Add(-time.Hour), want: false, wantCount: 2},
	}
	for _, s := range steps {
		c.advance(s.advance)
		got, err := rc.Seen(ctx, s.iss, s.jti, s.until)
		if !errors.Is(err, s.wantErr) || (err == nil && got != s.want) {
			t.Fatalf("%s: Seen = %v, %v; want %v, %v", s.name, got, err, s.want, s.wantErr)
		}
		if n := rc.Len(); n != s.wantCount {
			t.Fatalf("%s: holds %d ids, want %d", s.name, n, s.wantCount)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := rc.Seen(cctx, "a", "9", until); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

// TestReplayCacheConcurrent: of many requests racing with one jti,
// exactly one passes.
func TestReplayCacheConcurrent(t *testing.T) {
	rc := NewMemoryReplayCache(0, nil)
	p := Principal{Issuer: agencyIss, JTI: "batch-7", ExpiresAt: time.Now().Add(time.Minute)}
	var passed, replayed atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Go(func() {
			switch err := RequireFreshJTI(context.Background(), p, rc); {
			case err == nil:
				passed.Add(1)
			case errors.Is(err, ErrReplayed):
				replayed.Add(1)
			default:
				t.Errorf("unexpected %v", err)
			}
		})
	}
	wg.Wait()
	if passed.Load() != 1 || replayed.Load() != 63 {
		t.Fatalf("passed %d, replayed %d; want 1 and 63", passed.Load(), replayed.Load())
	}
}

// failingCache stands in for a replay store that cannot answer.
type failingCache struct{}

func (failingCache) Seen(context.Context, string, string, time.Time) (bool, error) {
	return false, errors.New("store unreachable")
}

// recordingCache records what RequireFreshJTI asks to be kept.
type recordingCache struct{ until time.Time }

func (r *recordingCache) Seen(_ context.Context, _, _ string, until time.Time) (bool, error) {
	r.until = until
	return false, nil
}

func TestRequireFreshJTI(t *testing.T) {
	exp := time.Date(2026, 3, 1, 9, 5, 0, 0, time.UTC)
	p := Principal{Issuer: agencyIss, JTI: "j1", ExpiresAt: exp}
	err := RequireFreshJTI(context.Background(), p, failingCache{})
	if err == nil || errors.Is(err, ErrInvalidToken) {
		t.Errorf("store failure: %v; want an error that is not a 401", err)
	}
	rec := &recordingCache{}
	if err := RequireFreshJTI(context.Background(), p, rec); err != nil {
		t.Fatal(err)
	}
	// Verify accepts the token until exp + leeway; the id must outlive that.
	if rec.until.Before(exp.Add(ClockLeeway)) {
		t.Errorf("jti kept until %v, but the token is accepted until %v", rec.until, exp.Add(ClockLeeway))
	}
	p.JTI = ""
	if err := RequireFreshJTI(context.Background(), p, rec); !errors.Is(err, ErrMissingClaim) {
		t.Errorf("no jti: %v", err)
	}
}

func BenchmarkMemoryReplayCache(b *testing.B) {
	rc := NewMemoryReplayCache(1<<20, nil)
	until := time.Now().Add(time.Hour)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, err := rc.Seen(ctx, agencyIss, fmt.Sprint(i), until); err != nil {
			b.Fatal(err)
		}
	}
}
