package redisstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The tests run against a real Redis named by this variable, e.g.
// redis://127.0.0.1:6379/0 (scripts/test.sh sets it). Each test works
// under a random key prefix and deletes its keys afterwards, so tests and
// other users of the server do not see each other.
const envRedisURL = "DEGREEGATE_TEST_REDIS_URL"

func redisURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(envRedisURL)
	if url == "" {
		t.Skipf("%s is not set: skipping tests that need a real Redis (scripts/test.sh sets it)", envRedisURL)
	}
	return url
}

// TestMain silences go-redis's own logger, which would print every
// refused dial of the failure tests.
func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// testClient connects to the test Redis with the package's options, but
// with timeouts long enough for a loaded two-core test machine (where a
// goroutine can wait 100 ms for a core), and fails the test if Redis does
// not answer. The failure tests use clientVia, with the real timeouts.
func testClient(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := Options(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = time.Second, time.Second, time.Second, time.Second
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("%s is set but Redis does not answer: %v", envRedisURL, err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// testPrefix returns a fresh key prefix and deletes its keys when the test
// ends.
func testPrefix(t testing.TB, rdb *redis.Client) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "degreegate-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
	})
	return prefix
}

// clientVia returns a client with the hot-path options whose connections
// go to addr instead of the test Redis.
func clientVia(t testing.TB, addr string) *redis.Client {
	t.Helper()
	opt, err := Options(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.Addr = addr
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// proxy is a TCP relay to the test Redis that the test can cut: down, it
// drops every connection and refuses new ones, as a failed Redis would
// look from the gateway, without touching the real server others use.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  map[net.Conn]struct{}
	// silent makes open connections swallow everything, as a peer that
	// vanished without closing would (a half-open connection).
	silent atomic.Bool
	// dropReplies passes requests on to Redis but swallows its answers:
	// Redis acts on a command whose reply the client never gets.
	dropReplies atomic.Bool
}

func startProxy(t testing.TB, target string, up bool) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, up: up, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.SetUp(false)
	})
	return p
}

func (p *proxy) Addr() string { return p.ln.Addr().String() }

// SetUp switches the relay on or off; off closes every open connection.
func (p *proxy) SetUp(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.relay(c)
	}
}

func (p *proxy) relay(c net.Conn) {
	p.mu.Lock()
	up := p.up
	p.mu.Unlock()
	if !up {
		_ = c.Close()
		return
	}
	s, err := net.DialTimeout("tcp", p.target, time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	if !p.up {
		p.mu.Unlock()
		_ = c.Close()
		_ = s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn, reply bool) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !p.silent.Load() && !(reply && p.dropReplies.Load()) {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(s, c, false)
	go pipe(c, s, true)
	<-done
	_ = c.Close()
	_ = s.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// redisAddr is the host:port of the test Redis.
func redisAddr(t testing.TB) string {
	t.Helper()
	opt, err := redis.ParseURL(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	return opt.Addr
}

// eventually polls cond every 10 ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOptions(t *testing.T) {
	opt, err := Options("redis://:secret-pw@127.0.0.1:6379/2?read_timeout=200ms")
	if err != nil {
		t.Fatal(err)
	}
	if opt.ReadTimeout != 200*time.Millisecond {
		t.Errorf("URL's read_timeout overridden: %v", opt.ReadTimeout)
	}
	if opt.WriteTimeout != DefaultWriteTimeout || opt.DialTimeout != DefaultDialTimeout || opt.PoolSize != DefaultPoolSize {
		t.Errorf("defaults not applied: %+v", opt)
	}
	if opt.MaxRetries != -1 || opt.DialerRetries != 1 || !opt.ContextTimeoutEnabled || opt.DB != 2 {
		t.Errorf("retries/db: %d %d %v %d", opt.MaxRetries, opt.DialerRetries, opt.ContextTimeoutEnabled, opt.DB)
	}
	for _, bad := range []string{"", "http://x", "redis://:secret-pw@[::1"} {
		_, err := Options(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "secret-pw") {
			t.Errorf("error repeats the URL: %v", err)
		}
	}
}
