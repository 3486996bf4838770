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
	// pings; a connection that answers nothing within staleAfter is
	// replaced, which catches half-open connections TCP would keep for
	// minutes. staleAfter stays under a second so that Live turns false
	// (and the replica stops trusting its cache) within the one second a
	// revocation may take to show.
	healthEvery = 250 * time.Millisecond
	staleAfter  = 3 * healthEvery
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
	backoff := 50 * time.Millisecond
	for {
		subscribed, err := r.session(ctx, h)
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

// session runs one subscription until it fails or ctx ends, and reports
// whether it ever stood.
func (r *Revocations) session(ctx context.Context, h RevocationHandler) (bool, error) {
	ps := r.rdb.Subscribe(ctx, r.channel)
	defer ps.Close()
	// Closing the subscription ends a receive in progress at once, so
	// Subscribe returns promptly when ctx ends.
	defer context.AfterFunc(ctx, func() { _ = ps.Close() })()
	subscribed := false
	lastHeard := time.Now()
	for {
		// Wake up by the time the connection would count as stale, so
		// that a silent one is noticed within staleAfter, not later.
		wait := min(healthEvery, max(staleAfter-time.Since(lastHeard), time.Millisecond))
		msg, err := ps.ReceiveTimeout(ctx, wait)
		if ctx.Err() != nil {
			return subscribed, ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return subscribed, err
			}
			if time.Since(lastHeard) >= staleAfter {
				return subscribed, errors.New("redisstate: revocations: connection silent")
			}
			if err := ps.Ping(ctx); err != nil {
				return subscribed, err
			}
			continue
		}
		lastHeard = time.Now()
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
