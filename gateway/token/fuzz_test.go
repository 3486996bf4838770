package token

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzVerify: any string is refused with a token error or accepted, never
// a panic or an error the gateway would turn into a 500. Keys are static,
// so no input can make the verifier fetch anything.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, Options{CacheSize: 16})
	good := mint(f, fx.ed, agencyClaims(), time.Minute)
	h, p, s := split(good)
	for _, seed := range []string{
		good,
		mint(f, fx.es, agencyClaims(), time.Minute),
		mint(f, fx.rs, agencyClaims(), time.Minute),
		mint(f, fx.hold, holderClaims(), time.Minute),
		h + "." + p + ".",
		h + ".." + s,
		"." + p + "." + s,
		"eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJFZERTQSIsImtpZCI6MX0.eyJpc3MiOltdfQ.AA",
		"....",
		strings.Repeat("a.", 100),
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		pr, err := fx.verifier.Verify(context.Background(), raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v is not a token refusal", err)
			}
			return
		}
		if pr.Issuer == "" || pr.Subject == "" || pr.ExpiresAt.IsZero() || !pr.Audience.Valid() {
			t.Fatalf("accepted a token with an incomplete principal: %v", pr)
		}
	})
}

// FuzzParseJWKS: any document either parses into a non-empty set of keys
// with ids and algorithms, or is refused; never a panic.
func FuzzParseJWKS(f *testing.F) {
	for _, name := range []string{"testdata/jwks-mixed.json", "testdata/jwks-weak-rsa.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		set, err := ParseJWKS(b)
		if err != nil {
			if set != nil {
				t.Fatal("error with a set")
			}
			return
		}
		if set.Len() == 0 {
			t.Fatal("an empty set parsed without error")
		}
		for _, kid := range set.KeyIDs() {
			k, _ := set.lookup(kid)
			if kid == "" || !supportedAlg(k.alg) || k.pub == nil {
				t.Fatalf("key %q: alg %q", kid, k.alg)
			}
		}
	})
}

// FuzzParseConfig: the trusted-issuers file is outside input too.
func FuzzParseConfig(f *testing.F) {
	b, err := os.ReadFile("testdata/trusted-issuers.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"issuers":[{"iss":"a","aud":["b"],"kind":"holder","jwks":"https://x/","algorithms":["EdDSA"],"max_lifetime":"1m"}]}`))
	f.Add([]byte(`{"issuers":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseConfig(bytes.NewReader(b), "")
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted what Validate refuses: %v", err)
		}
		for _, is := range cfg.Issuers {
			for _, alg := range is.Algorithms {
				if !supportedAlg(alg) {
					t.Fatalf("accepted algorithm %q", alg)
				}
			}
		}
	})
}
