package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestRequestContext holds requestContext to the context contract: the
// deadline ends it whether or not anyone waits, Done closes at the
// deadline for a waiter and at once on cancel, Err says why only once it
// has ended, and contexts derived from it end with it.
func TestRequestContext(t *testing.T) {
	t.Run("unwatched deadline", func(t *testing.T) {
		ctx := newRequestContext(time.Now().Add(20 * time.Millisecond))
		defer ctx.cancel()
		if err := ctx.Err(); err != nil {
			t.Fatalf("before the deadline: %v", err)
		}
		if d, ok := ctx.Deadline(); !ok || d.IsZero() {
			t.Fatal("no deadline")
		}
		time.Sleep(30 * time.Millisecond)
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("after the deadline: %v", err)
		}
		select {
		case <-ctx.Done():
		default:
			t.Fatal("Done asked after the deadline is not closed")
		}
	})
	t.Run("waited deadline", func(t *testing.T) {
		ctx := newRequestContext(time.Now().Add(20 * time.Millisecond))
		defer ctx.cancel()
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("Done did not close at the deadline")
		}
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx := newRequestContext(time.Now().Add(time.Hour))
		done := ctx.Done()
		ctx.cancel()
		select {
		case <-done:
		case <-time.After(time.Second):
			t.Fatal("cancel did not close Done")
		}
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
		ctx.cancel() // twice is harmless
	})
	t.Run("derived", func(t *testing.T) {
		ctx := newRequestContext(time.Now().Add(20 * time.Millisecond))
		defer ctx.cancel()
		child, stop := context.WithTimeout(ctx, time.Hour)
		defer stop()
		if d, _ := child.Deadline(); !d.Equal(mustDeadline(ctx)) {
			t.Errorf("child deadline %v, want the request's", d)
		}
		select {
		case <-child.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("a derived context outlived the request")
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		for range 100 {
			ctx := newRequestContext(time.Now().Add(time.Millisecond))
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() { <-ctx.Done(); _ = ctx.Err() })
			}
			wg.Go(func() { _ = ctx.Err() })
			wg.Go(ctx.cancel)
			wg.Wait()
			if ctx.Err() == nil {
				t.Fatal("ended without an error")
			}
		}
	})
}

func mustDeadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}
