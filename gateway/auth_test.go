package gateway

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/degreegate/degreegate/gateway/token"
)

// TestPolicyCapsTokenLifetimeWithoutIat: the policy's max_token_lifetime
// (1 h for holders in the default policy) binds tokens that carry no iat
// too, judged from exp; the issuer's own cap (24 h for dev issuers) is
// looser, so only the gateway's check stands between such a token and
// a day of access.
func TestPolicyCapsTokenLifetimeWithoutIat(t *testing.T) {
	h := newHolderFixture(t, 5, fixtureOptions{})
	// An issuer trusted as the dev one is, whose key the test holds, so
	// it can sign claims Mint would not write (no iat).
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := token.NewMinter(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := h.dev.Config()
	for i := range cfg.Issuers {
		cfg.Issuers[i].Keys = m.KeySet()
	}
	v, err := token.NewVerifier(context.Background(), cfg, token.Options{Now: h.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.deps.Tokens = v
	h.rewire(t)

	rec := h.records[0]
	sign := func(iat *time.Time, exp time.Time) string {
		c := h.dev.Claims(token.AudienceHolder, "rn-"+rec.CertificateNumber)
		c.Scope = holderScopes
		c.IDType, c.IDNumber = string(rec.IDType), rec.IDNumber
		c.ExpiresAt = jwt.NewNumericDate(exp)
		if iat != nil {
			c.IssuedAt = jwt.NewNumericDate(*iat)
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["kid"] = m.KeyID()
		raw, err := tok.SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	now := h.clock.now()
	for _, tc := range []struct {
		name string
		tok  string
		want int
	}{
		{"no iat, exp in 23 h 50 min", sign(nil, now.Add(23*time.Hour+50*time.Minute)), 401},
		{"no iat, exp in 50 min", sign(nil, now.Add(50*time.Minute)), 200},
		{"iat now, exp in 2 h", sign(&now, now.Add(2*time.Hour)), 401},
		{"iat now, exp in 1 h", sign(&now, now.Add(time.Hour)), 200},
	} {
		code, body, _ := h.call(t, "GET", "/v1/holder/degrees", tc.tok, "")
		if code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
		}
		if tc.want == 401 && !strings.Contains(body, "lifetime_too_long") {
			t.Errorf("%s: refused as %s, want lifetime_too_long", tc.name, body)
		}
	}
}
