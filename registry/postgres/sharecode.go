package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/degreegate/degreegate/registry"
)

var _ registry.ShareCodeStore = (*Store)(nil)

// shareCodeCols are the columns every share-code query selects, in the
// order scanShareCode reads them.
const shareCodeCols = `hash, certificate_number, owner, level, created_at, expires_at, withdrawn_at, views`

func scanShareCode(row pgx.Row) (registry.ShareCode, error) {
	var (
		c         registry.ShareCode
		withdrawn *time.Time
	)
	if err := row.Scan(&c.Hash, &c.CertificateNumber, &c.Owner, &c.Level,
		&c.CreatedAt, &c.ExpiresAt, &withdrawn, &c.Views); err != nil {
		return registry.ShareCode{}, err
	}
	c.CreatedAt = c.CreatedAt.UTC()
	c.ExpiresAt = c.ExpiresAt.UTC()
	if withdrawn != nil {
		c.WithdrawnAt = withdrawn.UTC()
	}
	return c, nil
}

// nullTime is t for a nullable column: NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = dbTime(t)
	return &t
}

// shareCodeOwnerLock is the first key of the advisory locks PutShareCode
// takes per owner (the second is a hash of the owner): a namespace of
// its own, apart from the migrations' lock.
const shareCodeOwnerLock int32 = 0x53430001

// PutShareCode inserts a new code; the primary key on hash refuses a
// duplicate. With a bound, the inserting transaction first takes an
// advisory lock on the owner and counts the owner's usable codes
// (share_codes_owner): a row lock could not cover an owner's first code,
// which has no row to lock yet. Owners whose lock keys collide only wait
// for each other.
func (s *Store) PutShareCode(ctx context.Context, c registry.ShareCode, maxUsable int) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("put share code: %w", err)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if maxUsable > 0 {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(encode($2, 'hex')))`,
				shareCodeOwnerLock, c.Owner); err != nil {
				return err
			}
			var usable int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM share_codes
				WHERE owner = $1 AND withdrawn_at IS NULL AND expires_at > $2`,
				c.Owner, dbTime(c.CreatedAt)).Scan(&usable); err != nil {
				return err
			}
			if usable >= maxUsable {
				return registry.ErrTooManyCodes
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO share_codes (`+shareCodeCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.Hash, c.CertificateNumber, c.Owner, c.Level, dbTime(c.CreatedAt), dbTime(c.ExpiresAt),
			nullTime(c.WithdrawnAt), c.Views)
		return err
	})
	if errors.Is(err, registry.ErrTooManyCodes) {
		return fmt.Errorf("put share code: %w", err)
	}
	if isUniqueViolation(err) {
		return fmt.Errorf("put share code: %w", registry.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("put share code: %w", err)
	}
	return nil
}

// ShareCode reads a code without counting a view.
func (s *Store) ShareCode(ctx context.Context, hash []byte) (registry.ShareCode, error) {
	c, err := scanShareCode(s.pool.QueryRow(ctx, `SELECT `+shareCodeCols+` FROM share_codes WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return registry.ShareCode{}, fmt.Errorf("share code: %w", registry.ErrNotFound)
	}
	if err != nil {
		return registry.ShareCode{}, fmt.Errorf("read share code: %w", err)
	}
	return c, nil
}

// ViewShareCode counts the view in the UPDATE that checks the code is
// usable: the row lock serialises concurrent views, and a usable code —
// the common case — costs one round trip. Only when nothing was counted
// does a second query find out why.
func (s *Store) ViewShareCode(ctx context.Context, hash []byte, now time.Time) (registry.ShareCode, error) {
	now = dbTime(now)
	c, err := scanShareCode(s.pool.QueryRow(ctx, `UPDATE share_codes SET views = views + 1
		WHERE hash = $1 AND withdrawn_at IS NULL AND expires_at > $2
		RETURNING `+shareCodeCols, hash, now))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return registry.ShareCode{}, fmt.Errorf("view share code: %w", err)
	}
	c, err = s.ShareCode(ctx, hash)
	if err != nil {
		return registry.ShareCode{}, fmt.Errorf("view %w", err)
	}
	if err := c.Usable(now); err != nil {
		return c, fmt.Errorf("view share code: %w", err)
	}
	// The trigger forbids reviving or extending a code, so a code the
	// UPDATE found unusable cannot be usable now.
	return registry.ShareCode{}, errors.New("view share code: code changed while it was viewed")
}

// WithdrawShareCode sets withdrawn_at on a code of owner's, keeping the
// first withdrawal. Matching on hash and owner together makes someone
// else's code look exactly like an unknown one.
func (s *Store) WithdrawShareCode(ctx context.Context, hash, owner []byte, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE share_codes SET withdrawn_at = coalesce(withdrawn_at, $3)
		WHERE hash = $1 AND owner = $2`, hash, owner, dbTime(at))
	if err != nil {
		return fmt.Errorf("withdraw share code: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("withdraw share code: %w", registry.ErrNotFound)
	}
	return nil
}

// ShareCodesOf lists owner's codes, newest first, in the order of the
// share_codes_owner index (bytea compares bytewise, like bytes.Compare).
func (s *Store) ShareCodesOf(ctx context.Context, owner []byte) ([]registry.ShareCode, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+shareCodeCols+` FROM share_codes
		WHERE owner = $1 ORDER BY created_at DESC, hash`, owner)
	if err != nil {
		return nil, fmt.Errorf("list share codes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.ShareCode, error) { return scanShareCode(r) })
	if err != nil {
		return nil, fmt.Errorf("list share codes: %w", err)
	}
	return out, nil
}
