package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func receiptKeys(t testing.TB) (*Signer, *KeySet) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s.JWKS())
	ks, err := ParseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	return s, ks
}

func TestParseReceipt(t *testing.T) {
	s, ks := receiptKeys(t)
	claims := map[string]any{"iss": "degreegate", "jti": "R1", "iat": time.Now().Unix(), "result": "match", "status": "valid",
		"certificate_number": "1000142020123456", "degree": map[string]string{"name": "张*"}, "policy_version": "p1",
		"log": map[string]any{"origin": "o/log", "leaf_index": 7, "leaf_hash": "AAEC"}}
	jws, err := s.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseReceipt(jws, ks)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "R1" || r.Result != "match" || r.Status != "valid" || r.PolicyVersion != "p1" || r.KeyID != s.KeyID() || r.Alg != "EdDSA" ||
		r.Log == nil || r.Log.LeafIndex != 7 || r.Log.Origin != "o/log" {
		t.Fatalf("parsed %+v", r)
	}
	_, other := receiptKeys(t)
	parts := strings.Split(jws, ".")
	future := claims
	future["iat"] = time.Now().Add(time.Hour).Unix()
	futureJWS, _ := s.Sign(future)
	wrongIss := map[string]any{"iss": "someone", "jti": "R2", "iat": time.Now().Unix()}
	wrongJWS, _ := s.Sign(wrongIss)
	for name, bad := range map[string]string{
		"another gateway's key": "",
		"a changed claim":       parts[0] + "." + strings.TrimSuffix(parts[1], "Q") + "R." + parts[2],
		"not a JWS":             "hello",
		"issued in the future":  futureJWS,
		"another issuer":        wrongJWS,
		"too long":              strings.Repeat("a", MaxReceiptBytes+1),
	} {
		keys := ks
		if bad == "" {
			bad, keys = jws, other
		}
		if _, err := ParseReceipt(bad, keys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseReceipt(f *testing.F) {
	s, ks := receiptKeys(f)
	jws, _ := s.Sign(map[string]any{"iss": "degreegate", "jti": "R", "iat": 1})
	f.Add(jws)
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		_, _ = ParseReceipt(in, ks) // never panics
	})
}
