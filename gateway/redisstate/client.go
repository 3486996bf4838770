// Package redisstate keeps the gateway state that replicas share in Redis:
// the cluster-wide rate limits (a two-tier limiter that answers from local
// buckets and settles with Redis in the background), the token replay
// cache, the revocation broadcast and the per-organisation daily quotas.
//
// Each piece decides explicitly what a Redis failure means. Public
// verification keeps serving under the local limits (never unlimited) and
// reports itself degraded; replay checks and agency quotas return an
// error, so the routes that depend on them refuse rather than run
// unchecked.
//
// Needs Redis 6.2 or later (SET with PXAT; scripts that read TIME).
package redisstate

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Hot-path client defaults. go-redis's own (three retries, 5 s timeouts,
// five dial attempts) would let one Redis hiccup hold a request for
// seconds; here a failure shows within tens of milliseconds and the caller
// decides what it means.
const (
	DefaultDialTimeout  = 100 * time.Millisecond
	DefaultReadTimeout  = 50 * time.Millisecond
	DefaultWriteTimeout = 50 * time.Millisecond
	DefaultPoolTimeout  = 50 * time.Millisecond
	// DefaultPoolSize is small on purpose: requests never wait on Redis,
	// so only the settle loop, replay checks and quota updates use the
	// pool (the revocation subscription has a connection of its own).
	DefaultPoolSize = 8
)

// Options parses a redis:// or rediss:// URL and fills every setting the
// URL leaves unset with the hot-path defaults above: no retries, one dial
// attempt, short timeouts, an explicit pool size, context deadlines
// honoured. Settings given in the URL's query (e.g. ?read_timeout=200ms)
// win. The error never repeats the URL, which may hold a password.
func Options(url string) (*redis.Options, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstate: REDIS_URL is not a valid redis:// URL")
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = DefaultDialTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = DefaultReadTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = DefaultWriteTimeout
	}
	if opt.PoolTimeout == 0 {
		opt.PoolTimeout = DefaultPoolTimeout
	}
	if opt.PoolSize == 0 {
		opt.PoolSize = DefaultPoolSize
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = -1 // -1 means none; 0 would mean go-redis's 3
	}
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1
	}
	opt.ContextTimeoutEnabled = true
	if opt.MaintNotificationsConfig == nil {
		// Cluster-upgrade push notifications need RESP3 support on the
		// server side and add a handshake command; nothing here uses them.
		opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	}
	return opt, nil
}

// NewClient is redis.NewClient with Options(url). It does not connect:
// the first command does, so a gateway can start while Redis is down.
func NewClient(url string) (*redis.Client, error) {
	opt, err := Options(url)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opt), nil
}
