package recordcache

import (
	"context"

	"github.com/degreegate/degreegate/registry"
)

// Store is a registry.Store whose Current reads through a Cache; every
// other method is the wrapped store's own. The registry is built over it
// in serve and over the bare store in dev, so both look records up the
// same way: public verification, single agency items and shared reports
// all ask Registry.Current.
type Store struct {
	registry.Store
	cache *Cache
}

// NewStore wraps s with a cache that reads through s.
func NewStore(s registry.Store, opt Options) *Store {
	return &Store{Store: s, cache: New(s, opt)}
}

// Current answers from the cache (see Cache.Get).
func (s *Store) Current(ctx context.Context, certificateNumber string) (registry.Version, error) {
	v, _, err := s.cache.Get(ctx, certificateNumber)
	return v, err
}

// Cache is the cache itself, for invalidations and statistics.
func (s *Store) Cache() *Cache { return s.cache }

var _ registry.Store = (*Store)(nil)
