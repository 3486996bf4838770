package redisstate

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// subscriber records what one replica hears.
type subscriber struct {
	rev     *Revocations
	resyncs atomic.Int64
	mu      sync.Mutex
	got     map[string]time.Time
}

func subscribe(t *testing.T, rev *Revocations) *subscriber {
	t.Helper()
	s := &subscriber{rev: rev, got: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- rev.Subscribe(ctx, RevocationHandler{
			Revoked: func(n string) {
				s.mu.Lock()
				s.got[n] = time.Now()
				s.mu.Unlock()
			},
			Resync: func() { s.resyncs.Add(1) },
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != context.Canceled {
				t.Errorf("Subscribe returned %v, want context.Canceled", err)
			}
		case <-time.After(3 * time.Second):
			t.Error("Subscribe did not return after its context ended")
		}
	})
	return s
}

func (s *subscriber) heard(n string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.got[n]
	return at, ok
}

func TestRevocationReachesEveryReplicaWithinASecond(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	subs := []*subscriber{
		subscribe(t, NewRevocations(testClient(t), prefix, nil)),
		subscribe(t, NewRevocations(testClient(t), prefix, nil)),
	}
	for i, s := range subs {
		eventually(t, 5*time.Second, fmt.Sprintf("replica %d subscribed", i), s.rev.Live)
	}
	pub := NewRevocations(rdb, prefix, nil)
	var worst time.Duration
	for i := range 5 {
		number := fmt.Sprintf("10001123456789%02d", i)
		sent := time.Now()
		if err := pub.Publish(context.Background(), number); err != nil {
			t.Fatal(err)
		}
		for j, s := range subs {
			eventually(t, time.Second, fmt.Sprintf("replica %d heard revocation %d", j, i), func() bool {
				_, ok := s.heard(number)
				return ok
			})
			at, _ := s.heard(number)
			worst = max(worst, at.Sub(sent))
		}
	}
	t.Logf("worst publish-to-handler latency: %v", worst)
	if worst >= time.Second {
		t.Fatalf("latency %v, want under 1 s", worst)
	}
	if err := pub.Publish(context.Background(), ""); err == nil {
		t.Error("empty certificate number published")
	}
}

func TestRevocationResubscribesAfterConnectionLoss(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	p := startProxy(t, redisAddr(t), true)
	s := subscribe(t, NewRevocations(clientVia(t, p.Addr()), prefix, nil))
	eventually(t, 5*time.Second, "subscribed", s.rev.Live)
	if n := s.resyncs.Load(); n != 1 {
		t.Fatalf("%d resyncs after the first subscription, want 1", n)
	}
	pub := NewRevocations(rdb, prefix, nil)
	for round := range 2 {
		p.SetUp(false)
		eventually(t, 2*time.Second, "subscription reported lost", func() bool { return !s.rev.Live() })
		// Revoked while the replica could not hear it: Resync must follow.
		missed := fmt.Sprintf("100011234567890%d", round)
		if err := pub.Publish(context.Background(), missed); err != nil {
			t.Fatal(err)
		}
		p.SetUp(true)
		eventually(t, 3*time.Second, "resubscribed", s.rev.Live)
		if n := s.resyncs.Load(); n != int64(round+2) {
			t.Fatalf("round %d: %d resyncs, want %d: a gap went unreported", round, n, round+2)
		}
		number := fmt.Sprintf("200011234567890%d", round)
		if err := pub.Publish(context.Background(), number); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Second, "revocation heard after resubscribing", func() bool {
			_, ok := s.heard(number)
			return ok
		})
	}
}

func TestRevocationNoticesASilentConnection(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	p := startProxy(t, redisAddr(t), true)
	s := subscribe(t, NewRevocations(clientVia(t, p.Addr()), prefix, nil))
	eventually(t, 5*time.Second, "subscribed", s.rev.Live)
	// The connection stays open but nothing comes through: only the
	// subscriber's own pings can tell.
	p.silent.Store(true)
	silentAt := time.Now()
	eventually(t, 2*time.Second, "silent connection noticed", func() bool { return !s.rev.Live() })
	d := time.Since(silentAt)
	t.Logf("silent connection noticed after %v", d)
	if d >= time.Second {
		t.Fatalf("noticed after %v: a replica would trust its cache for more than a second", d)
	}
	p.silent.Store(false)
	eventually(t, 3*time.Second, "resubscribed", s.rev.Live)
	if n := s.resyncs.Load(); n != 2 {
		t.Fatalf("%d resyncs, want 2", n)
	}
}

func TestRevocationsNeedAHandler(t *testing.T) {
	r := NewRevocations(clientVia(t, closedPort(t)), "unused:", nil)
	if err := r.Subscribe(context.Background(), RevocationHandler{}); err == nil {
		t.Fatal("Subscribe without a Revoked handler accepted")
	}
	if err := r.Publish(context.Background(), "1000112345678901"); err == nil {
		t.Fatal("Publish with Redis down reported success")
	}
}
