package redisstate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Revocation broadcast timing.
const (
	// healthEvery is how long the subscriber waits for a message before it
	// pings; a ping unanswered for pongWithin, and then for lastRead more,
	// has the connection replaced, which catches half-open connections TCP
	// would keep for minutes. staleAfter, their sum, stays under a second
	// so that Live turns false (and the replica stops trusting its cache)
	// within the one second a revocation may take to show.
	healthEvery = 250 * time.Millisecond
	pongWithin  = 450 * time.Millisecond
	lastRead    = 50 * time.Millisecond
	staleAfter  = healthEvery + pongWithin + lastRead
	// maxBackoff bounds the wait between reconnection attempts.
	maxBackoff = time.Second
)

// Revocations broadcasts revoked certificate numbers to every replica over
// Redis pub/sub, so that each drops what it cached about them within a
// second (delivery takes about a millisecond).
//
// Pub/sub delivers only to connected subscribers: a replica that was
// disconnected may have missed revocations. So Live reports false from the
// moment a subscription is known lost (at most staleAfter, 0.75 s, even
// for a silently dead connection), and the replica must not serve from
// cache while it is false; and every (re)subscription calls the handler's
// Resync, when the replica must drop its whole cache.
type Revocations struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger
	live    atomic.Bool
}

// RevocationHandler receives the broadcast.
type RevocationHandler struct {
	// Revoked is called with each revoked certificate number.
	Revoked func(certificateNumber string)
	// Resync is called whenever a subscription is (re)established: any
	// revocation before it may have been missed. Optional.
	Resync func()
}

// NewRevocations uses the channel prefix + "revocations". log may be nil.
func NewRevocations(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Revocations {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Revocations{rdb: rdb, channel: prefix + "revocations", log: log}
}

// Publish tells every subscribed replica that certificateNumber was
// revoked. The caller has already recorded the revocation in the store;
// an error here means replicas learn it only from their caches' expiry,
// so the caller should retry or report it.
func (r *Revocations) Publish(ctx context.Context, certificateNumber string) error {
	if certificateNumber == "" {
		return errors.New("redisstate: revocations: empty certificate number")
	}
	if err := r.rdb.Publish(ctx, r.channel, certificateNumber).Err(); err != nil {
		return fmt.Errorf("redisstate: publish revocation: %w", err)
	}
	return nil
}

// Live reports whether a subscription currently stands.
func (r *Revocations) Live() bool { return r.live.Load() }

// Subscribe delivers revocations to h until ctx ends, resubscribing with
// backoff after any connection loss. It blocks; run it in a goroutine. It
// returns ctx's error.
func (r *Revocations) Subscribe(ctx context.Context, h RevocationHandler) error {
	if h.Revoked == nil {
		return errors.New("redisstate: revocations: no handler")
	}
	sub, closeSub := r.subscriber()
	defer closeSub()
	backoff := 50 * time.Millisecond
	for {
		subscribed, err := r.session(ctx, sub, h)
		r.live.Store(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if subscribed {
			backoff = 50 * time.Millisecond
		}
		r.log.Warn("revocation subscription lost; resubscribing", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// subscriber returns the client the subscription runs on, and how to
// close it. For a single-node client that is a client of its own with the
// same address and credentials: the subscription then shares no pool,
// dial-error back-off or timeouts with the settlement loop and the request
// path, and gets timeouts for a mostly idle connection instead of the hot
// path's 50 ms, which a loaded machine can miss for a handshake or a ping
// write and which would then report the subscription lost. Its own
// staleness check (staleAfter) still notices a dead connection within a
// second. Other clients (cluster, ring) subscribe on a connection of their
// own already and are used as they are.
func (r *Revocations) subscriber() (redis.UniversalClient, func()) {
	c, ok := r.rdb.(*redis.Client)
	if !ok {
		return r.rdb, func() {}
	}
	opt := *c.Options()
	opt.ReadTimeout = max(opt.ReadTimeout, staleAfter)
	opt.WriteTimeout = max(opt.WriteTimeout, healthEvery)
	opt.PoolSize, opt.MinIdleConns, opt.MaxIdleConns = 1, 0, 1
	sub := redis.NewClient(&opt)
	return sub, func() { _ = sub.Close() }
}

// session runs one subscription on sub until it fails or ctx ends, and
// reports whether it ever stood.
func (r *Revocations) session(ctx context.Context, sub redis.UniversalClient, h RevocationHandler) (bool, error) {
	ps := sub.Subscribe(ctx, r.channel)
	defer ps.Close()
	// Closing the subscription ends a receive in progress at once, so
	// Subscribe returns promptly when ctx ends.
	defer context.AfterFunc(ctx, func() { _ = ps.Close() })()
	subscribed := false
	lastHeard := time.Now()
	// Silence is timed from the ping actually sent, not from the last
	// message: when this goroutine is itself starved of CPU (a loaded
	// replica), its late ping must not count against the connection. And
	// a read whose deadline passed while the goroutine waited for a core
	// reports a timeout even with the pong already received, so one more
	// short read (final) decides.
	var pingedAt time.Time
	final := false
	for {
		var wait time.Duration
		switch {
		case final:
			wait = lastRead
		case pingedAt.IsZero():
			wait = healthEvery - time.Since(lastHeard)
		default:
			wait = pongWithin - time.Since(pingedAt)
		}
		msg, err := ps.ReceiveTimeout(ctx, max(wait, time.Millisecond))
		if ctx.Err() != nil {
			return subscribed, ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return subscribed, err
			}
			switch {
			case final:
				return subscribed, errors.New("redisstate: revocations: connection silent")
			case pingedAt.IsZero():
				if err := ps.Ping(ctx); err != nil {
					return subscribed, err
				}
				pingedAt = time.Now()
			case time.Since(pingedAt) >= pongWithin:
				final = true
			}
			continue
		}
		lastHeard, pingedAt, final = time.Now(), time.Time{}, false
		switch m := msg.(type) {
		case *redis.Subscription:
			// go-redis resubscribes by itself after some failures; each
			// confirmation means a gap may lie behind us.
			if m.Kind == "subscribe" && m.Channel == r.channel {
				subscribed = true
				r.live.Store(true)
				if h.Resync != nil {
					h.Resync()
				}
			}
		case *redis.Message:
			if m.Channel == r.channel && m.Payload != "" {
				h.Revoked(m.Payload)
			}
		case *redis.Pong:
		}
	}
}
