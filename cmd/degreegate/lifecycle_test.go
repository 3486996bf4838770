package main

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestLifecycleClosesInReverseAfterTheWorkers(t *testing.T) {
	l := newLifecycle()
	var order []string
	l.onClose(func() error { order = append(order, "pool"); return nil })
	l.onClose(func() error { order = append(order, "redis"); return errors.New("redis: closed twice") })
	l.onClose(func() error { order = append(order, "audit flush"); return nil })
	l.Go(func(ctx context.Context) {
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // a worker that takes a moment to stop
		order = append(order, "worker")
	})
	err := l.close()
	if got := strings.Join(order, ", "); got != "worker, audit flush, redis, pool" {
		t.Errorf("closed in the order %s", got)
	}
	if err == nil || !strings.Contains(err.Error(), "redis") {
		t.Errorf("close: %v, want the failing closer's error", err)
	}
}

// serveUntilCancelled runs the gateway verb args until it listens, calls use
// with its address, then cancels it and checks that it returned only
// after every goroutine it started had ended.
func serveUntilCancelled(t *testing.T, vars map[string]string, use func(base string), args ...string) {
	t.Helper()
	before := countGoroutines()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, logs lockedBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, mapEnv(vars), nil, &out, &logs) }()
	listening := regexp.MustCompile(`listening on (http://\S+)`)
	var base string
	for deadline := time.Now().Add(60 * time.Second); base == ""; {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("%s stopped before listening: %v\n%s", args[0], err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen within 60 s\n%s", args[0], logs.String())
		}
	}
	use(base)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", args[0], err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30 s of its context's end", args[0])
	}
	// Returned: nothing of ours or Fiber's may still run.
	for _, g := range goroutines() {
		if strings.Contains(g, "_test.go") || strings.Contains(g, "testing.tRunner") {
			continue // the test's own goroutines
		}
		for _, ours := range []string{"github.com/degreegate/degreegate/", "gofiber", "net/http.(*Server)"} {
			if strings.Contains(g, ours) {
				t.Errorf("%s returned while a goroutine still runs:\n%s", args[0], g)
				break
			}
		}
	}
	// And the count is back where it was. The test's own goroutines, and
	// pgx's health check (its Close signals it without waiting), may take
	// a moment to end.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := countGoroutines()
		if n <= before {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines after %s returned, %d before", n, args[0], before)
			break
		}
	}
}

// goroutines are the stacks of every goroutine but fasthttp's own: its
// clock ticks for the whole process, and its idle-worker cleaner notices
// a stopped server only at its next wake-up, up to 10 s later.
func goroutines() []string {
	buf := make([]byte, 4<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if !strings.Contains(g, "valyala/fasthttp.updateServerDate") && !strings.Contains(g, "valyala/fasthttp.(*workerPool).Start") {
			out = append(out, g)
		}
	}
	return out
}

func countGoroutines() int { return len(goroutines()) }

func getOK(t *testing.T, url string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d", url, resp.StatusCode)
	}
}

func TestDevReturnsAfterItsGoroutines(t *testing.T) {
	serveUntilCancelled(t, nil, func(base string) {
		getOK(t, base+"/readyz")
	}, "dev", "--records", "20", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--state-dir", t.TempDir())
}

func TestServeReturnsAfterItsGoroutines(t *testing.T) {
	redisURL := testRedis(t)
	dbURL, _ := testDatabase(t)
	dir := t.TempDir()
	vars := map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": redisURL,
		"DEGREEGATE_KEYS_DIR": filepath.Join(dir, "keys"), "DEGREEGATE_DATASETS_DIR": filepath.Join(dir, "datasets"), "DEGREEGATE_CHECKPOINTS_DIR": filepath.Join(dir, "checkpoints"),
	}
	for _, args := range [][]string{{"keys", "init"}, {"migrate"}} {
		if err := run(context.Background(), args, mapEnv(vars), nil, &lockedBuffer{}, &lockedBuffer{}); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	serveUntilCancelled(t, vars, func(base string) {
		getOK(t, base+"/readyz")
	}, "serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--redis-prefix", "dglife:"+filepath.Base(dir)+":")
}
