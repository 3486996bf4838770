package redisstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// minReplayTTL keeps a record of a token id even when its expiry is
// already (nearly) past, so a token replayed at its very last moment is
// still caught.
const minReplayTTL = time.Second

// ReplayCache remembers token ids (jti) across replicas until the token
// expires, so a token used once is refused everywhere after. It has the
// method set of gateway/token's ReplayCache.
//
// Failure: Seen returns an error when Redis does not answer. The caller
// refuses the request (batch routes must not run without replay
// protection); there is no local fallback, since a replica's memory
// cannot know what another replica saw.
type ReplayCache struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewReplayCache stores ids under prefix + "jti:".
func NewReplayCache(rdb redis.UniversalClient, prefix string) *ReplayCache {
	return &ReplayCache{rdb: rdb, prefix: prefix + "jti:", now: time.Now}
}

// Seen records (issuer, jti) until `until` (the token's exp) and reports
// whether it had been recorded before, i.e. whether this use is a replay.
// One SET NX: atomic, so of two replicas racing with the same token
// exactly one sees false.
func (c *ReplayCache) Seen(ctx context.Context, issuer, jti string, until time.Time) (bool, error) {
	if jti == "" {
		return false, errors.New("redisstate: replay cache: token has no jti")
	}
	if floor := c.now().Add(minReplayTTL); until.Before(floor) {
		until = floor
	}
	// The id is hashed: issuers and ids are caller-chosen text of any
	// length, and a fixed-size key keeps Redis memory predictable.
	h := sha256.Sum256([]byte(issuer + "\x00" + jti))
	key := c.prefix + hex.EncodeToString(h[:16])
	err := c.rdb.SetArgs(ctx, key, 1, redis.SetArgs{Mode: "NX", ExpireAt: until}).Err()
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, redis.Nil):
		return true, nil
	}
	return false, fmt.Errorf("redisstate: replay cache: %w", err)
}
