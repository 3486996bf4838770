package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestVerifyAttacks is issue 4's "Bad input and attacks" list for tokens,
// one row each, plus the near misses that must still pass. Every refusal
// must be the expected reason, match ErrInvalidToken (the gateway's 401),
// and never quote a holder's ID number.
func TestVerifyAttacks(t *testing.T) {
	ctx := context.Background()
	rows := []struct {
		name  string
		token func(t *testing.T, f *fixture) string
		// then, when set, runs on the verified principal and its error is
		// the one checked (for attacks that pass Verify by design).
		then func(ctx context.Context, f *fixture, p Principal) error
		want error
	}{
		{
			name: "alg none",
			token: func(t *testing.T, f *fixture) string {
				c := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
				return signRaw(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, c, map[string]any{"kid": f.ed.KeyID()})
			},
			want: ErrAlgorithm,
		},
		{
			name: "alg none, any capitalisation",
			token: func(t *testing.T, f *fixture) string {
				return hand(map[string]any{"alg": "nOnE", "kid": f.ed.KeyID()}, agencyClaims(), f)
			},
			want: ErrAlgorithm,
		},
		{
			name: "HS256 with the Ed25519 public key bytes as secret",
			token: func(t *testing.T, f *fixture) string {
				pub := f.ed.key.Public().(ed25519.PublicKey)
				c := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
				return signRaw(t, jwt.SigningMethodHS256, []byte(pub), c, map[string]any{"kid": f.ed.KeyID()})
			},
			want: ErrAlgorithm,
		},
		{
			name: "HS256 with the RSA public key PEM as secret",
			token: func(t *testing.T, f *fixture) string {
				der, err := x509.MarshalPKIXPublicKey(f.rs.key.Public())
				if err != nil {
					t.Fatal(err)
				}
				secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
				c := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
				return signRaw(t, jwt.SigningMethodHS256, secret, c, map[string]any{"kid": f.rs.KeyID()})
			},
			want: ErrAlgorithm,
		},
		{
			name: "HS256 with the JWK x member as secret",
			token: func(t *testing.T, f *fixture) string {
				c := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
				return signRaw(t, jwt.SigningMethodHS256, []byte(f.ed.PublicJWK().X), c, map[string]any{"kid": f.ed.KeyID()})
			},
			want: ErrAlgorithm,
		},
		{
			name: "PS256 is not on the list",
			token: func(t *testing.T, f *fixture) string {
				c := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
				return signRaw(t, jwt.SigningMethodPS256, rsaKey(), c, map[string]any{"kid": f.rs.KeyID()})
			},
			want: ErrAlgorithm,
		},
		{
			name: "ES256 header naming the Ed25519 key",
			token: func(t *testing.T, f *fixture) string {
				c := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
				return signRaw(t, jwt.SigningMethodES256, f.es.key, c, map[string]any{"kid": f.ed.KeyID()})
			},
			want: ErrAlgorithm,
		},
		{
			name: "RS256 where the issuer allows EdDSA only",
			token: func(t *testing.T, f *fixture) string {
				c := timed(holderClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
				return signRaw(t, jwt.SigningMethodRS256, f.rs.key, c, map[string]any{"kid": f.rs.KeyID()})
			},
			want: ErrAlgorithm,
		},
		{
			name: "expired",
			token: func(t *testing.T, f *fixture) string {
				return mintAt(t, f, f.ed, agencyClaims(), -time.Hour, 10*time.Minute)
			},
			want: ErrExpired,
		},
		{
			name: "expired by more than the leeway",
			token: func(t *testing.T, f *fixture) string {
				return mintAt(t, f, f.ed, agencyClaims(), -(10*time.Minute + ClockLeeway + 2*time.Second), 10*time.Minute)
			},
			want: ErrExpired,
		},
		{
			name: "expired within the leeway still passes",
			token: func(t *testing.T, f *fixture) string {
				return mintAt(t, f, f.ed, agencyClaims(), -(10*time.Minute + ClockLeeway/2), 10*time.Minute)
			},
		},
		{
			name: "nbf in the future",
			token: func(t *testing.T, f *fixture) string {
				c := timed(agencyClaims(), f.clock.now(), dur(0), dur(5*time.Minute), dur(10*time.Minute))
				return signRaw(t, jwt.SigningMethodEdDSA, f.ed.key, c, map[string]any{"kid": f.ed.KeyID()})
			},
			want: ErrNotYetValid,
		},
		{
			name: "iat in the future",
			token: func(t *testing.T, f *fixture) string {
				c := timed(agencyClaims(), f.clock.now(), dur(5*time.Minute), nil, dur(10*time.Minute))
				return signRaw(t, jwt.SigningMethodEdDSA, f.ed.key, c, map[string]any{"kid": f.ed.KeyID()})
			},
			want: ErrNotYetValid,
		},
		{
			name: "wrong aud",
			token: func(t *testing.T, f *fixture) string {
				c := agencyClaims()
				c.Audience = jwt.ClaimStrings{"some-other-service"}
				return mint(t, f.ed, c, time.Minute)
			},
			want: ErrWrongAudience,
		},
		{
			name: "no aud",
			token: func(t *testing.T, f *fixture) string {
				c := agencyClaims()
				c.Audience = nil
				return mint(t, f.ed, c, time.Minute)
			},
			want: ErrMissingClaim,
		},
		{
			name: "aud list with ours among others passes",
			token: func(t *testing.T, f *fixture) string {
				c := agencyClaims()
				c.Audience = jwt.ClaimStrings{"other", testAud}
				return mint(t, f.ed, c, time.Minute)
			},
		},
		{
			name: "unknown iss",
			token: func(t *testing.T, f *fixture) string {
				c := agencyClaims()
				c.Issuer = "https://evil.example/"
				return mint(t, f.ed, c, time.Minute)
			},
			want: ErrUnknownIssuer,
		},
		{
			name: "no iss",
			token: func(t *testing.T, f *fixture) string {
				c := agencyClaims()
				c.Issuer = ""
				return mint(t, f.ed, c, time.Minute)
			},
			want: ErrUnknownIssuer,
		},
		{
			name: "iss of another trusted issuer, signed with the agency key",
			token: func(t *testing.T, f *fixture) string {
				c := holderClaims()
				return mint(t, f.ed, c, time.Minute)
			},
			want: ErrUnknownKey,
		},
		{
			name: "iss in other case",
			token: func(t *testing.T, f *fixture) string {
				c := agencyClaims()
				c.Issuer = strings.ToUpper(agencyIss)
				return mint(t, f.ed, c, time.Minute)
			},
			want: ErrUnknownIssuer,
		},
		{
			name: "unknown kid",
			token: func(t *testing.T, f *fixture) string {
				c := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
				return signRaw(t, jwt.SigningMethodEdDSA, f.ed.key, c, map[string]any{"kid": "no-such-key"})
			},
			want: ErrUnknownKey,
		},
		{
			name: "no kid",
			token: func(t *testing.T, f *fixture) string {
				c := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
				return signRaw(t, jwt.SigningMethodEdDSA, f.ed.key, c, nil)
			},
			want: ErrUnknownKey,
		},
		{
			name: "no exp",
			token: func(t *testing.T, f *fixture) string {
				c := timed(agencyClaims(), f.clock.now(), dur(0), nil, nil)
				return signRaw(t, jwt.SigningMethodEdDSA, f.ed.key, c, map[string]any{"kid": f.ed.KeyID()})
			},
			want: ErrMissingClaim,
		},
		{
			name: "exp as a string (RFC 7519 wants a number)",
			token: func(t *testing.T, f *fixture) string {
				now := f.clock.now()
				c := jwt.MapClaims{"iss": agencyIss, "aud": testAud, "sub": "officer-17", "org": "11100000000013127D",
					"scope": "agency:verify", "iat": now.Unix(), "exp": strconv.FormatInt(now.Add(time.Minute).Unix(), 10)}
				return signRaw(t, jwt.SigningMethodEdDSA, f.ed.key, c, map[string]any{"kid": f.ed.KeyID()})
			},
			want: ErrMalformed,
		},
		{
			name: "iat as a string",
			token: func(t *testing.T, f *fixture) string {
				now := f.clock.now()
				c := jwt.MapClaims{"iss": agencyIss, "aud": testAud, "sub": "officer-17", "org": "11100000000013127D",
					"scope": "agency:verify", "iat": strconv.FormatInt(now.Unix(), 10), "exp": now.Add(time.Minute).Unix()}
				return signRaw(t, jwt.SigningMethodEdDSA, f.ed.key, c, map[string]any{"kid": f.ed.KeyID()})
			},
			want: ErrMalformed,
		},
		{
			name:  "lifetime over the maximum (exp - iat)",
			token: func(t *testing.T, f *fixture) string { return mint(t, f.ed, agencyClaims(), agencyMax+time.Minute) },
			want:  ErrLifetimeTooLong,
		},
		{
			name: "lifetime over the maximum, iat backdated",
			token: func(t *testing.T, f *fixture) string {
				// exp is near, but the issuer claims to have issued it long ago.
				return mintAt(t, f, f.ed, agencyClaims(), -agencyMax, agencyMax+time.Minute)
			},
			want: ErrLifetimeTooLong,
		},
		{
			name: "lifetime over the maximum (exp - now, no iat)",
			token: func(t *testing.T, f *fixture) string {
				c := timed(agencyClaims(), f.clock.now(), nil, nil, dur(agencyMax+time.Minute))
				return signRaw(t, jwt.SigningMethodEdDSA, f.ed.key, c, map[string]any{"kid": f.ed.KeyID()})
			},
			want: ErrLifetimeTooLong,
		},
		{
			name:  "lifetime at the maximum passes",
			token: func(t *testing.T, f *fixture) string { return mint(t, f.ed, agencyClaims(), agencyMax) },
		},
		{
			name: "tampered payload",
			token: func(t *testing.T, f *fixture) string {
				tok := mint(t, f.ed, agencyClaims(), time.Minute)
				h, p, s := split(tok)
				var m map[string]any
				decode(t, p, &m)
				m["scope"] = "office:approve agency:verify"
				return h + "." + encode(t, m) + "." + s
			},
			want: ErrBadSignature,
		},
		{
			name: "tampered header (kid swapped to another trusted key)",
			token: func(t *testing.T, f *fixture) string {
				tok := mint(t, f.es, agencyClaims(), time.Minute)
				_, p, s := split(tok)
				return encode(t, map[string]any{"alg": "ES256", "typ": "JWT", "kid": f.es.KeyID(), "x": 1}) + "." + p + "." + s
			},
			want: ErrBadSignature,
		},
		{
			name: "signature of another token",
			token: func(t *testing.T, f *fixture) string {
				a := mint(t, f.ed, agencyClaims(), time.Minute)
				c := agencyClaims()
				c.Subject = "someone-else"
				b := mint(t, f.ed, c, time.Minute)
				h, p, _ := split(a)
				_, _, s := split(b)
				return h + "." + p + "." + s
			},
			want: ErrBadSignature,
		},
		{
			name: "signature stripped",
			token: func(t *testing.T, f *fixture) string {
				h, p, _ := split(mint(t, f.ed, agencyClaims(), time.Minute))
				return h + "." + p + "."
			},
			want: ErrBadSignature,
		},
		{
			name: "signed by a stranger who names a trusted kid",
			token: func(t *testing.T, f *fixture) string {
				_, evil, _ := ed25519.GenerateKey(rand.Reader)
				c := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
				return signRaw(t, jwt.SigningMethodEdDSA, evil, c, map[string]any{"kid": f.ed.KeyID()})
			},
			want: ErrBadSignature,
		},
		{
			name: "jwk header with the attacker's own key",
			token: func(t *testing.T, f *fixture) string {
				_, evil, _ := ed25519.GenerateKey(rand.Reader)
				j, _ := PublicJWK(evil.Public())
				c := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
				return signRaw(t, jwt.SigningMethodEdDSA, evil, c, map[string]any{"kid": j.Kid, "jwk": j})
			},
			want: ErrUnknownKey,
		},
		{
			name:  "over 8 KB",
			token: func(t *testing.T, f *fixture) string { return strings.Repeat("A", MaxTokenBytes+1) },
			want:  ErrTooLarge,
		},
		{
			name: "over 8 KB and validly signed",
			token: func(t *testing.T, f *fixture) string {
				c := agencyClaims()
				c.Scope = strings.TrimSpace(strings.Repeat("agency:verify ", MaxTokenBytes/10))
				return mint(t, f.ed, c, time.Minute)
			},
			want: ErrTooLarge,
		},
		{
			name: "replayed jti",
			token: func(t *testing.T, f *fixture) string {
				c := agencyClaims()
				c.ID = "batch-0001"
				return mint(t, f.ed, c, time.Minute)
			},
			then: func(ctx context.Context, f *fixture, p Principal) error {
				rc := NewMemoryReplayCache(10, f.clock.now)
				if err := RequireFreshJTI(ctx, p, rc); err != nil {
					return errors.New("first use refused: " + err.Error())
				}
				return RequireFreshJTI(ctx, p, rc)
			},
			want: ErrReplayed,
		},
		{
			name:  "single-use route without jti",
			token: func(t *testing.T, f *fixture) string { return hand(nil, agencyClaims(), f) },
			then: func(ctx context.Context, f *fixture, p Principal) error {
				return RequireFreshJTI(ctx, p, NewMemoryReplayCache(10, f.clock.now))
			},
			want: ErrMissingClaim,
		},
		{
			name: "crit header",
			token: func(t *testing.T, f *fixture) string {
				return hand(map[string]any{"crit": []string{"exp"}}, agencyClaims(), f)
			},
			want: ErrMalformed,
		},
		{
			name: "a receipt offered as a token",
			token: func(t *testing.T, f *fixture) string {
				return hand(map[string]any{"typ": ReceiptType}, agencyClaims(), f)
			},
			want: ErrMalformed,
		},
		{
			name: "alg given twice in different case",
			token: func(t *testing.T, f *fixture) string {
				return hand(map[string]any{"Alg": "HS256"}, agencyClaims(), f)
			},
		},
		{
			name: "holder token without id_number",
			token: func(t *testing.T, f *fixture) string {
				c := holderClaims()
				c.IDNumber = ""
				return mint(t, f.hold, c, time.Minute)
			},
			want: ErrMissingClaim,
		},
		{
			name: "holder id_number with a control character",
			token: func(t *testing.T, f *fixture) string {
				c := holderClaims()
				c.IDNumber = holderIDNumber + "\n"
				return mint(t, f.hold, c, time.Minute)
			},
			want: ErrMalformed,
		},
		{
			name: "agency token without org",
			token: func(t *testing.T, f *fixture) string {
				c := agencyClaims()
				c.Org = ""
				return mint(t, f.ed, c, time.Minute)
			},
			want: ErrMissingClaim,
		},
		{
			name: "no sub",
			token: func(t *testing.T, f *fixture) string {
				c := agencyClaims()
				c.Subject = ""
				return mint(t, f.ed, c, time.Minute)
			},
			want: ErrMissingClaim,
		},
		{
			name: "scope with a non-ASCII scope-token",
			token: func(t *testing.T, f *fixture) string {
				c := agencyClaims()
				c.Scope = "agency:verify 查询"
				return mint(t, f.ed, c, time.Minute)
			},
			want: ErrMalformed,
		},
		{
			name: "scope as a JSON array",
			token: func(t *testing.T, f *fixture) string {
				return hand(nil, map[string]any{"scope": []string{"agency:verify"}}, f)
			},
			want: ErrMalformed,
		},
		{
			name: "exp as a string",
			token: func(t *testing.T, f *fixture) string {
				return hand(nil, map[string]any{"exp": "tomorrow"}, f)
			},
			want: ErrMalformed,
		},
		{name: "two segments", token: func(*testing.T, *fixture) string { return "eyJhbGciOiJFZERTQSJ9.e30" }, want: ErrMalformed},
		{name: "four segments", token: func(*testing.T, *fixture) string { return "a.b.c.d" }, want: ErrMalformed},
		{name: "empty", token: func(*testing.T, *fixture) string { return "" }, want: ErrMalformed},
		{name: "padded base64", token: func(t *testing.T, f *fixture) string {
			h, p, s := split(mint(t, f.ed, agencyClaims(), time.Minute))
			return h + "==." + p + "." + s
		}, want: ErrMalformed},
		{name: "EdDSA passes", token: func(t *testing.T, f *fixture) string { return mint(t, f.ed, agencyClaims(), time.Minute) }},
		{name: "ES256 passes", token: func(t *testing.T, f *fixture) string { return mint(t, f.es, agencyClaims(), time.Minute) }},
		{name: "RS256 passes", token: func(t *testing.T, f *fixture) string { return mint(t, f.rs, agencyClaims(), time.Minute) }},
		{name: "holder passes", token: func(t *testing.T, f *fixture) string { return mint(t, f.hold, holderClaims(), time.Minute) }},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			raw := r.token(t, f)
			p, err := f.verifier.Verify(ctx, raw)
			if err == nil && r.then != nil {
				err = r.then(ctx, f, p)
			}
			if r.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				return
			}
			if !errors.Is(err, r.want) {
				t.Fatalf("error = %v, want %v", err, r.want)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("error %v does not match ErrInvalidToken (the gateway's 401)", err)
			}
			var te *Error
			if !errors.As(err, &te) || te.Code() == "" {
				t.Errorf("error %v carries no *Error code", err)
			}
			if strings.Contains(err.Error(), holderIDNumber) {
				t.Errorf("error quotes the ID number: %v", err)
			}
			if r.then == nil && (p.Issuer != "" || p.TokenHash != [32]byte{}) {
				t.Errorf("refused token still returned a principal")
			}
		})
	}
}

// TestVerifyIgnoresKeyURLs: a token's jku and x5u point at a server the
// attacker controls; the verifier must never contact it, whether the token
// is forged (refused) or genuine (accepted on the configured keys alone).
func TestVerifyIgnoresKeyURLs(t *testing.T) {
	var hits atomic.Int32
	_, evil, _ := ed25519.GenerateKey(rand.Reader)
	evilJWK, _ := PublicJWK(evil.Public())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_ = json.NewEncoder(w).Encode(JWKSet{Keys: []JWK{evilJWK}})
	}))
	defer srv.Close()
	f := newFixture(t, Options{})
	hdr := func(kid string) map[string]any {
		return map[string]any{"kid": kid, "jku": srv.URL + "/jwks.json", "x5u": srv.URL + "/cert.pem"}
	}
	c := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
	forged := signRaw(t, jwt.SigningMethodEdDSA, evil, c, hdr(evilJWK.Kid))
	genuine := signRaw(t, jwt.SigningMethodEdDSA, f.ed.key, c, hdr(f.ed.KeyID()))

	if _, err := f.verifier.Verify(context.Background(), forged); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("forged token with jku/x5u: %v, want ErrUnknownKey", err)
	}
	if _, err := f.verifier.Verify(context.Background(), genuine); err != nil {
		t.Errorf("genuine token with jku/x5u: %v, want success", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the verifier sent %d requests to the token's jku/x5u", n)
	}
}

// TestVerifyPrincipal checks that what comes out is what the issuer's
// configuration and the token said, for each algorithm and audience.
func TestVerifyPrincipal(t *testing.T) {
	f := newFixture(t, Options{})
	for _, m := range []*Minter{f.ed, f.es, f.rs} {
		t.Run(m.Algorithm(), func(t *testing.T) {
			c := agencyClaims()
			c.ID = "j-" + m.Algorithm()
			raw := mint(t, m, c, 5*time.Minute)
			p, err := f.verifier.Verify(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if p.Issuer != c.Issuer || p.Subject != c.Subject || p.Org != c.Org || p.JTI != c.ID {
				t.Errorf("principal %+v does not carry the token's iss/sub/org/jti", p)
			}
			if p.Audience != AudienceAgency {
				t.Errorf("audience %q, want the issuer's kind %q", p.Audience, AudienceAgency)
			}
			for _, s := range strings.Fields(c.Scope) {
				if !p.Scopes.Has(s) {
					t.Errorf("scope %q missing from %v", s, p.Scopes)
				}
			}
			if p.Scopes.Has("agency") || p.Scopes.Has("") {
				t.Errorf("scope set %v holds a partial scope", p.Scopes)
			}
			if !p.ExpiresAt.Equal(f.clock.now().Truncate(time.Second).Add(5 * time.Minute)) {
				t.Errorf("ExpiresAt %v", p.ExpiresAt)
			}
			if p.IDType != "" || p.IDNumber != "" {
				t.Errorf("agency principal carries holder identity")
			}
			if p.TokenHash == [32]byte{} {
				t.Errorf("no token hash")
			}
		})
	}
	t.Run("holder", func(t *testing.T) {
		p, err := f.verifier.Verify(context.Background(), mint(t, f.hold, holderClaims(), time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if p.Audience != AudienceHolder || p.IDType != "resident_id" || p.IDNumber != holderIDNumber {
			t.Errorf("holder principal %v lacks its identity", p)
		}
	})
	t.Run("org in a holder token is kept, id claims in an agency token are not", func(t *testing.T) {
		c := agencyClaims()
		c.IDType, c.IDNumber = "resident_id", holderIDNumber
		p, err := f.verifier.Verify(context.Background(), mint(t, f.ed, c, time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if p.IDNumber != "" || p.IDType != "" {
			t.Errorf("an agency principal must not carry a holder identity")
		}
	})
}

// TestVerifiedTokenCache: a cached token is answered without a second
// verification, but never past its exp, and the cache stays bounded.
func TestVerifiedTokenCache(t *testing.T) {
	f := newFixture(t, Options{CacheSize: 2})
	ctx := context.Background()
	raw := mint(t, f.ed, agencyClaims(), time.Minute)
	p1, err := f.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if !f.verifier.cache.Contains(p1.TokenHash) {
		t.Fatal("verified token not cached")
	}
	// Withdraw every key: only the cache can still answer.
	for _, is := range f.verifier.issuers {
		is.keys.set = &KeySet{keys: map[string]verificationKey{}}
	}
	p2, err := f.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("second Verify not answered from the cache: %v", err)
	}
	if p1.TokenHash != p2.TokenHash || p1.Subject != p2.Subject {
		t.Errorf("cached principal differs")
	}
	scopes := p2.Scopes.All()
	scopes[0] = "office:approve"
	if p3, _ := f.verifier.Verify(ctx, raw); p3.Scopes.Has("office:approve") {
		t.Fatal("a caller changed the cached principal's scopes")
	}
	// Past exp: the cache must not extend the token, even inside the leeway.
	f.clock.advance(time.Minute + time.Second)
	if _, err := f.verifier.Verify(ctx, raw); err == nil {
		t.Fatal("expired token answered from the cache")
	}
	if f.verifier.cache.Contains(p1.TokenHash) {
		t.Error("expired entry left in the cache")
	}
	// Bounded.
	f2 := newFixture(t, Options{CacheSize: 2})
	for i := 0; i < 5; i++ {
		c := agencyClaims()
		c.ID = strings.Repeat("x", i+1)
		if _, err := f2.verifier.Verify(ctx, mint(t, f2.ed, c, time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := f2.verifier.cache.Len(); n != 2 {
		t.Errorf("cache holds %d entries, bound is 2", n)
	}
}

// TestRefusedTokensAreNotCached: a failure is checked afresh every time,
// so a token that becomes valid (nbf) is accepted once it is.
func TestRefusedTokensAreNotCached(t *testing.T) {
	f := newFixture(t, Options{})
	c := timed(agencyClaims(), f.clock.now(), dur(0), dur(2*time.Minute), dur(5*time.Minute))
	raw := signRaw(t, jwt.SigningMethodEdDSA, f.ed.key, c, map[string]any{"kid": f.ed.KeyID()})
	if _, err := f.verifier.Verify(context.Background(), raw); !errors.Is(err, ErrNotYetValid) {
		t.Fatalf("before nbf: %v", err)
	}
	f.clock.advance(2 * time.Minute)
	if _, err := f.verifier.Verify(context.Background(), raw); err != nil {
		t.Fatalf("after nbf: %v", err)
	}
}

// mintAt mints a token as if at now+offset with the given lifetime.
func mintAt(t *testing.T, f *fixture, m *Minter, c Claims, offset, life time.Duration) string {
	t.Helper()
	at := f.clock.now().Add(offset)
	return mint(t, m.WithClock(func() time.Time { return at }), c, life)
}

// hand builds an EdDSA token from explicit header fields and claims, signed
// with the fixture's agency Ed25519 key; claims may be a Claims (timed
// here) or a raw map merged over valid agency claims.
func hand(header map[string]any, claims any, f *fixture) string {
	h := map[string]any{"alg": "EdDSA", "kid": f.ed.KeyID()}
	for k, v := range header {
		h[k] = v
	}
	var body map[string]any
	base := timed(agencyClaims(), f.clock.now(), dur(0), nil, dur(time.Minute))
	if c, ok := claims.(Claims); ok {
		base = timed(c, f.clock.now(), dur(0), nil, dur(time.Minute))
	}
	b, _ := json.Marshal(base)
	_ = json.Unmarshal(b, &body)
	if m, ok := claims.(map[string]any); ok {
		for k, v := range m {
			body[k] = v
		}
	}
	hb, _ := json.Marshal(h)
	bb, _ := json.Marshal(body)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(bb)
	sig := ed25519.Sign(f.ed.key.(ed25519.PrivateKey), []byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func split(tok string) (string, string, string) {
	p := strings.Split(tok, ".")
	return p[0], p[1], p[2]
}

func decode(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func encode(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
