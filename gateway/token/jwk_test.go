package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestThumbprintKnownAnswers uses the worked examples of the RFCs, so the
// expected values come from outside this code.
func TestThumbprintKnownAnswers(t *testing.T) {
	rows := []struct {
		name string
		key  JWK
		want string
	}{
		{
			name: "RFC 7638 §3.1 (RSA)",
			key: JWK{Kty: "RSA", E: "AQAB", Alg: "RS256", Kid: "2011-04-29",
				N: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
			want: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
		},
		{
			name: "RFC 8037 A.3 (Ed25519)",
			key:  JWK{Kty: "OKP", Crv: "Ed25519", X: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
			want: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
		},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := Thumbprint(r.key)
			if err != nil {
				t.Fatal(err)
			}
			if got != r.want {
				t.Errorf("thumbprint %s, want %s", got, r.want)
			}
		})
	}
}

func TestParseJWKSMixedSet(t *testing.T) {
	b, err := os.ReadFile("testdata/jwks-mixed.json")
	if err != nil {
		t.Fatal(err)
	}
	set, err := ParseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	var doc JWKSet
	_ = json.Unmarshal(b, &doc)
	noKid := doc.Keys[len(doc.Keys)-1]
	tp, _ := Thumbprint(noKid)
	want := []string{"ec-1", "ed-1", "rsa-1", tp}
	slices.Sort(want)
	if got := set.KeyIDs(); !slices.Equal(got, want) {
		t.Errorf("usable keys %v, want %v (enc, P-384 and oct keys skipped; a key without kid named by thumbprint)", got, want)
	}
	for kid, alg := range map[string]string{"ed-1": AlgEdDSA, "ec-1": AlgES256, "rsa-1": AlgRS256} {
		if k, _ := set.lookup(kid); k.alg != alg {
			t.Errorf("%s bound to %q, want %q", kid, k.alg, alg)
		}
	}
}

func TestParseJWKSRejects(t *testing.T) {
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	edJWK, _ := PublicJWK(ed)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecJWK, _ := PublicJWK(&ec.PublicKey)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	weakJWK := JWK{Kty: "RSA", N: b64.EncodeToString(weak.N.Bytes()), E: "AQAB", Kid: "weak"}
	with := func(k JWK, f func(*JWK)) JWK { f(&k); return k }
	set := func(keys ...JWK) []byte { b, _ := json.Marshal(JWKSet{Keys: keys}); return b }

	rows := []struct {
		name string
		doc  []byte
		want string
		is   error
	}{
		{"RSA under 2048 bits", set(edJWK, weakJWK), "2048", ErrWeakKey},
		{"RSA under 2048 bits, alg RS256", set(with(weakJWK, func(k *JWK) { k.Alg = AlgRS256 })), "2048", ErrWeakKey},
		{"private key material", set(with(edJWK, func(k *JWK) { k.D = k.X })), "private", nil},
		{"duplicate kid", set(edJWK, with(ecJWK, func(k *JWK) { k.Kid = edJWK.Kid })), "twice", nil},
		{"no usable key", set(JWK{Kty: "oct", Kid: "h"}), "no usable", nil},
		{"empty set", []byte(`{"keys":[]}`), "no usable", nil},
		{"not JSON", []byte(`keys`), "not a JSON", nil},
		{"keys not an array", []byte(`{"keys":{}}`), "not a JSON", nil},
		{"Ed25519 x too short", set(with(edJWK, func(k *JWK) { k.X = k.X[:20] })), "x", nil},
		{"EC point off the curve", set(with(ecJWK, func(k *JWK) { k.Y = k.X })), "P-256", nil},
		{"EC x padded", set(with(ecJWK, func(k *JWK) { k.X += "==" })), "base64url", nil},
		{"RSA e even", set(with(JWK{Kty: "RSA", N: b64.EncodeToString(rsaKey().N.Bytes())}, func(k *JWK) { k.E = "AQAA" })), "odd", nil},
		{"kid too long", set(with(edJWK, func(k *JWK) { k.Kid = strings.Repeat("k", 300) })), "kid", nil},
		{"too many keys", set(slices.Repeat([]JWK{{Kty: "oct"}}, 65)...), "at most", nil},
		{"too large", append([]byte(`{"keys":[],"x":"`), append([]byte(strings.Repeat("a", MaxJWKSBytes)), '"', '}')...), "larger", nil},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, err := ParseJWKS(r.doc)
			if err == nil || !strings.Contains(err.Error(), r.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, r.want)
			}
			if r.is != nil && !errors.Is(err, r.is) {
				t.Errorf("error %v is not %v", err, r.is)
			}
		})
	}
}

// TestPublicJWKRoundTrip: what PublicJWK writes, ParseJWKS reads back as
// the same key, bound to the right algorithm, named by its thumbprint.
func TestPublicJWKRoundTrip(t *testing.T) {
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, r := range []struct {
		pub interface{ Equal(crypto.PublicKey) bool }
		alg string
	}{{ed, AlgEdDSA}, {&ec.PublicKey, AlgES256}, {&rsaKey().PublicKey, AlgRS256}} {
		j, err := PublicJWK(r.pub)
		if err != nil {
			t.Fatal(err)
		}
		tp, _ := Thumbprint(j)
		if j.Kid != tp || j.Alg != r.alg || j.Use != "sig" {
			t.Errorf("%s JWK %+v", r.alg, j)
		}
		b, _ := json.Marshal(JWKSet{Keys: []JWK{j}})
		set, err := ParseJWKS(b)
		if err != nil {
			t.Fatal(err)
		}
		k, ok := set.lookup(j.Kid)
		if !ok || k.alg != r.alg || !r.pub.Equal(k.pub) {
			t.Errorf("%s key did not round-trip", r.alg)
		}
	}
	if _, err := PublicJWK(&weakRSA(t).PublicKey); !errors.Is(err, ErrWeakKey) {
		t.Errorf("PublicJWK of a 1024-bit key: %v", err)
	}
}

func weakRSA(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
