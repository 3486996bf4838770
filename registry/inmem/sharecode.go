package inmem

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/degreegate/degreegate/registry"
)

var _ registry.ShareCodeStore = (*Store)(nil)

// shareCodes holds share codes under a lock of their own: they are
// independent of records and of the audit trail, and a burst of views
// must not hold up verification. The zero value is empty and usable.
type shareCodes struct {
	mu     sync.RWMutex
	byHash map[string]*registry.ShareCode
	// byOwner lists each owner's hashes, so that a holder's list does not
	// walk every code.
	byOwner map[string][]string
}

// PutShareCode stores a copy of a new code; the count of the owner's
// usable codes is taken under the same lock as the insert.
func (s *Store) PutShareCode(ctx context.Context, c registry.ShareCode, maxUsable int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: put share code: %w", err)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("inmem: put share code: %w", err)
	}
	c = cloneCode(c)
	c.CreatedAt = dbTime(c.CreatedAt)
	c.ExpiresAt = dbTime(c.ExpiresAt)
	c.WithdrawnAt = dbTime(c.WithdrawnAt)

	k := &s.codes
	k.mu.Lock()
	defer k.mu.Unlock()
	key := string(c.Hash)
	if _, dup := k.byHash[key]; dup {
		return fmt.Errorf("inmem: put share code: %w", registry.ErrDuplicate)
	}
	if maxUsable > 0 {
		usable := 0
		for _, h := range k.byOwner[string(c.Owner)] {
			if k.byHash[h].Usable(c.CreatedAt) == nil {
				usable++
			}
		}
		if usable >= maxUsable {
			return fmt.Errorf("inmem: put share code: %w", registry.ErrTooManyCodes)
		}
	}
	if k.byHash == nil {
		k.byHash = make(map[string]*registry.ShareCode)
		k.byOwner = make(map[string][]string)
	}
	k.byHash[key] = &c
	k.byOwner[string(c.Owner)] = append(k.byOwner[string(c.Owner)], key)
	return nil
}

// ShareCode returns a copy of the code with this hash.
func (s *Store) ShareCode(ctx context.Context, hash []byte) (registry.ShareCode, error) {
	if err := ctx.Err(); err != nil {
		return registry.ShareCode{}, fmt.Errorf("inmem: share code: %w", err)
	}
	k := &s.codes
	k.mu.RLock()
	defer k.mu.RUnlock()
	c, ok := k.byHash[string(hash)]
	if !ok {
		return registry.ShareCode{}, errNotFound("share code")
	}
	return cloneCode(*c), nil
}

// ViewShareCode counts a view of a usable code under the write lock, so
// that concurrent views are each counted once.
func (s *Store) ViewShareCode(ctx context.Context, hash []byte, now time.Time) (registry.ShareCode, error) {
	if err := ctx.Err(); err != nil {
		return registry.ShareCode{}, fmt.Errorf("inmem: view share code: %w", err)
	}
	k := &s.codes
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.byHash[string(hash)]
	if !ok {
		return registry.ShareCode{}, errNotFound("view share code")
	}
	if err := c.Usable(dbTime(now)); err != nil {
		return cloneCode(*c), fmt.Errorf("inmem: view share code: %w", err)
	}
	c.Views++
	return cloneCode(*c), nil
}

// WithdrawShareCode withdraws a code of owner's.
func (s *Store) WithdrawShareCode(ctx context.Context, hash, owner []byte, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: withdraw share code: %w", err)
	}
	k := &s.codes
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.byHash[string(hash)]
	if !ok || len(owner) == 0 || !bytes.Equal(c.Owner, owner) {
		return errNotFound("withdraw share code")
	}
	if c.WithdrawnAt.IsZero() {
		c.WithdrawnAt = dbTime(at)
	}
	return nil
}

// ShareCodesOf returns copies of owner's codes, newest first.
func (s *Store) ShareCodesOf(ctx context.Context, owner []byte) ([]registry.ShareCode, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: share codes of owner: %w", err)
	}
	k := &s.codes
	k.mu.RLock()
	keys := k.byOwner[string(owner)]
	out := make([]registry.ShareCode, 0, len(keys))
	for _, key := range keys {
		out = append(out, cloneCode(*k.byHash[key]))
	}
	k.mu.RUnlock()
	slices.SortFunc(out, func(a, b registry.ShareCode) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare(a.Hash, b.Hash)
	})
	return out, nil
}

func cloneCode(c registry.ShareCode) registry.ShareCode {
	c.Hash = slices.Clone(c.Hash)
	c.Owner = slices.Clone(c.Owner)
	return c
}

// dbTime keeps a time the way PostgreSQL would: to the microsecond, in
// UTC; the zero time stays zero (NULL there).
func dbTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}
