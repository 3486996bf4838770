package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// rsaKey is generated once per test binary: 2048-bit generation costs
// about a tenth of a second, too much to repeat in every test.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// clock is a settable test clock, safe for the concurrent tests.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// The issuers of the fixture: an agency issuer that allows all three
// algorithms, and a holder issuer that allows EdDSA only.
const (
	agencyIss = "https://idp.agency.example/"
	holderIss = "https://realname.example/"
	testAud   = "degreegate-test"
	agencyMax = 15 * time.Minute
	holderMax = 10 * time.Minute
)

// fixture is a verifier over in-memory keys with a fixed clock, and the
// minters whose keys it trusts.
type fixture struct {
	clock             *clock
	ed, es, rs, hold  *Minter
	verifier          *Verifier
	agencyCfg, hldCfg IssuerConfig
}

func newFixture(t testing.TB, opt Options) *fixture {
	t.Helper()
	f := &fixture{clock: newClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	esPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, hPriv, _ := ed25519.GenerateKey(rand.Reader)
	f.ed = mustMinter(t, edPriv).WithClock(f.clock.now)
	f.es = mustMinter(t, esPriv).WithClock(f.clock.now)
	f.rs = mustMinter(t, rsaKey()).WithClock(f.clock.now)
	f.hold = mustMinter(t, hPriv).WithClock(f.clock.now)

	agencyKeys := mustKeySet(t, JWKSet{Keys: []JWK{f.ed.PublicJWK(), f.es.PublicJWK(), f.rs.PublicJWK()}})
	f.agencyCfg = IssuerConfig{
		Issuer: agencyIss, Audience: []string{testAud}, Kind: AudienceAgency,
		Algorithms: []string{AlgEdDSA, AlgES256, AlgRS256}, MaxLifetime: Duration(agencyMax), Keys: agencyKeys,
	}
	f.hldCfg = IssuerConfig{
		Issuer: holderIss, Audience: []string{testAud}, Kind: AudienceHolder,
		Algorithms: []string{AlgEdDSA}, MaxLifetime: Duration(holderMax), Keys: f.hold.KeySet(),
	}
	if opt.Now == nil {
		opt.Now = f.clock.now
	}
	v, err := NewVerifier(context.Background(), Config{Issuers: []IssuerConfig{f.agencyCfg, f.hldCfg}}, opt)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	f.verifier = v
	return f
}

func mustMinter(t testing.TB, key any) *Minter {
	t.Helper()
	m, err := NewMinter(key)
	if err != nil {
		t.Fatalf("NewMinter: %v", err)
	}
	return m
}

func mustKeySet(t testing.TB, set JWKSet) *KeySet {
	t.Helper()
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := ParseJWKS(b)
	if err != nil {
		t.Fatalf("ParseJWKS: %v", err)
	}
	return ks
}

// agencyClaims are valid claims for the agency issuer.
func agencyClaims() Claims {
	var c Claims
	c.Issuer = agencyIss
	c.Audience = jwt.ClaimStrings{testAud}
	c.Subject = "officer-17"
	c.Org = "11100000000013127D"
	c.Scope = "agency:verify agency:batch"
	return c
}

// holderIDNumber is a synthetic ID number; tests assert it never shows in
// an error or a log line.
const holderIDNumber = "11010519491231002X"

func holderClaims() Claims {
	var c Claims
	c.Issuer = holderIss
	c.Audience = jwt.ClaimStrings{testAud}
	c.Subject = "rn-8842"
	c.Scope = "holder:read holder:share"
	c.IDType = "resident_id"
	c.IDNumber = holderIDNumber
	return c
}

func mint(t testing.TB, m *Minter, c Claims, life time.Duration) string {
	t.Helper()
	s, err := m.Mint(c, life)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return s
}

// signRaw signs claims with any golang-jwt method and key, with extra
// header fields: for the hostile tokens Mint refuses to make.
func signRaw(t testing.TB, method jwt.SigningMethod, key any, claims jwt.Claims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

// timed returns c with iat, nbf and exp set relative to now.
func timed(c Claims, now time.Time, iat, nbf, exp *time.Duration) Claims {
	at := func(d *time.Duration) *jwt.NumericDate {
		if d == nil {
			return nil
		}
		return jwt.NewNumericDate(now.Add(*d))
	}
	c.IssuedAt, c.NotBefore, c.ExpiresAt = at(iat), at(nbf), at(exp)
	return c
}

func dur(d time.Duration) *time.Duration { return &d }
