package postgres

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// TestShareCodeGuard: behind the store's back, a code's terms cannot be
// changed, its views cannot shrink and a withdrawal cannot be undone.
func TestShareCodeGuard(t *testing.T) {
	s, u := newStore(t)
	admin := adminConn(t, u)
	ctx := context.Background()
	hash := sha256.Sum256([]byte("guarded"))
	created := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	c := registry.ShareCode{
		Hash: hash[:], CertificateNumber: "1000123202500001", Owner: []byte("person-index"),
		Level: "full", CreatedAt: created, ExpiresAt: created.Add(time.Hour),
	}
	if err := s.PutShareCode(ctx, c, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ViewShareCode(ctx, c.Hash, created); err != nil {
		t.Fatal(err)
	}
	if err := s.WithdrawShareCode(ctx, c.Hash, c.Owner, created.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	refused := []struct{ name, set string }{
		{"extend", "expires_at = expires_at + interval '1 year'"},
		{"back-date", "created_at = created_at - interval '1 day'"},
		{"hand over", "owner = '\\x01'::bytea"},
		{"change the level", "level = 'other'"},
		{"change the certificate", "certificate_number = '1000123202500002'"},
		{"rekey", "hash = sha256('other'::bytea)"},
		{"reset the views", "views = 0"},
		{"undo the withdrawal", "withdrawn_at = NULL"},
		{"move the withdrawal", "withdrawn_at = withdrawn_at + interval '1 second'"},
	}
	for _, tc := range refused {
		if _, err := admin.Exec(ctx, "UPDATE share_codes SET "+tc.set+" WHERE hash = $1", c.Hash); err == nil {
			t.Errorf("%s: UPDATE succeeded", tc.name)
		}
	}
	// What the store itself does stays allowed.
	mustExec(t, admin, "UPDATE share_codes SET views = views + 1 WHERE hash = $1", c.Hash)
	got, err := s.ShareCode(ctx, c.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.Views != 2 || !got.ExpiresAt.Equal(c.ExpiresAt) || got.WithdrawnAt.IsZero() {
		t.Errorf("after the refused updates: views %d, expires %s, withdrawn %s", got.Views, got.ExpiresAt, got.WithdrawnAt)
	}
}
