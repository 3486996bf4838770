package registry

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"
)

// Errors of share codes and other keyed things a store keeps.
var (
	// ErrDuplicate: something with that key is already stored.
	ErrDuplicate = errors.New("already exists")
	// ErrCodeExpired: the share code's validity has run out.
	ErrCodeExpired = errors.New("share code expired")
	// ErrCodeWithdrawn: the holder withdrew the share code.
	ErrCodeWithdrawn = errors.New("share code withdrawn")
	// ErrTooManyCodes: the owner already holds as many usable codes as
	// the caller allows.
	ErrTooManyCodes = errors.New("too many usable share codes")
)

// ShareCode is what a store keeps of a code through which a holder shares
// a fuller report of one certificate (Art. 22; DESIGN.md
// "GET /v1/verify/{code}"). The code itself, ≥ 80 bits of randomness made
// by the gateway, is never stored: only its SHA-256, so that a copy of
// the database does not hand out working codes. Unlike records, codes are
// not filed data: a store updates Views and WithdrawnAt in place.
type ShareCode struct {
	Hash              []byte // SHA-256 of the code
	CertificateNumber string
	// Owner is the holder's person index (Keyring.PersonIndex): only the
	// owner may list or withdraw the code.
	Owner []byte
	// Level names the detail level the holder chose; the policy defines
	// what each level shows.
	Level     string
	CreatedAt time.Time
	// ExpiresAt is the first instant at which the code no longer works.
	ExpiresAt   time.Time
	WithdrawnAt time.Time // zero unless withdrawn
	Views       int64     // successful views so far
}

// Expired reports whether the code no longer works at now on account of
// its validity: a code works while now is before ExpiresAt.
func (c ShareCode) Expired(now time.Time) bool { return !now.Before(c.ExpiresAt) }

// Withdrawn reports whether the holder withdrew the code.
func (c ShareCode) Withdrawn() bool { return !c.WithdrawnAt.IsZero() }

// Usable returns nil when the code may be viewed at now, or the reason it
// may not: ErrCodeWithdrawn, which wins over ErrCodeExpired since a holder
// who withdrew a code should be told so whatever its term.
func (c ShareCode) Usable(now time.Time) error {
	switch {
	case c.Withdrawn():
		return ErrCodeWithdrawn
	case c.Expired(now):
		return ErrCodeExpired
	}
	return nil
}

// Validate checks what a store needs before it keeps a new code. Above
// all, Hash must be a SHA-256 (32 bytes): a store refuses anything else
// so that no caller stores the code itself by mistake. The error is an
// *InvalidError; its messages name fields, never values.
func (c ShareCode) Validate() error {
	var vs []Violation
	add := func(field, code, msg string) {
		vs = append(vs, Violation{Field: field, Code: code, Message: msg})
	}
	if len(c.Hash) != sha256.Size {
		add("hash", "not_hashed", "must be the 32-byte SHA-256 of the code, never the code")
	}
	if c.CertificateNumber == "" {
		add("certificate_number", "required", "share code names no certificate")
	}
	if len(c.Owner) == 0 {
		add("owner", "required", "share code has no owner person index")
	}
	if c.Level == "" {
		add("level", "required", "share code names no detail level")
	}
	if c.CreatedAt.IsZero() {
		add("created_at", "required", "share code has no creation time")
	}
	// Compared as stored, to the microsecond, so that no store keeps a
	// code that expires as it is created.
	if !c.ExpiresAt.Truncate(time.Microsecond).After(c.CreatedAt.Truncate(time.Microsecond)) {
		add("expires_at", "order", "must be after created_at")
	}
	if c.Views < 0 {
		add("views", "range", "must not be negative")
	}
	if len(vs) > 0 {
		return &InvalidError{Violations: vs}
	}
	return nil
}

// ShareCodeStore keeps share codes. Implementations: registry/inmem and
// registry/postgres; both pass registrytest.Run. Times come back in UTC,
// cut to microseconds; every method fails on a cancelled context.
type ShareCodeStore interface {
	// PutShareCode stores a new code (see ShareCode.Validate). A code
	// whose Hash is already stored is refused with ErrDuplicate and
	// nothing changes. When maxUsable > 0 and the owner already holds
	// maxUsable codes usable at c.CreatedAt, it is refused with
	// ErrTooManyCodes; the count and the insert are one atomic step, so
	// racing requests cannot pass the bound together.
	PutShareCode(ctx context.Context, c ShareCode, maxUsable int) error

	// ShareCode returns the code with this hash, or ErrNotFound. It does
	// not count a view.
	ShareCode(ctx context.Context, hash []byte) (ShareCode, error)

	// ViewShareCode atomically counts one view of a code that is usable at
	// now (ShareCode.Usable) and returns it with the view counted. An
	// unknown hash gives ErrNotFound; a withdrawn or expired code gives
	// ErrCodeWithdrawn or ErrCodeExpired, together with the code as
	// stored, and counts nothing.
	ViewShareCode(ctx context.Context, hash []byte, now time.Time) (ShareCode, error)

	// WithdrawShareCode withdraws, as of at, a code that owner holds. It
	// returns ErrNotFound both when the hash is unknown and when the code
	// belongs to someone else, so that nobody learns which codes exist.
	// Withdrawing a withdrawn code again succeeds and keeps the first
	// WithdrawnAt.
	WithdrawShareCode(ctx context.Context, hash, owner []byte, at time.Time) error

	// ShareCodesOf returns every code of owner, withdrawn and expired ones
	// included, newest CreatedAt first (equal times: by Hash, bytewise).
	ShareCodesOf(ctx context.Context, owner []byte) ([]ShareCode, error)
}
