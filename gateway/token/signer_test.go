package token

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// receipt is the shape the gateway will sign; the signer only needs JSON.
type receipt struct {
	ID            string            `json:"jti"`
	IssuedAt      int64             `json:"iat"`
	Result        string            `json:"result"`
	Status        string            `json:"status"`
	PolicyVersion string            `json:"policy_version"`
	Shown         map[string]string `json:"degree"`
}

func sampleReceipt() receipt {
	return receipt{
		ID: "r-01J9", IssuedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).Unix(),
		Result: "match", Status: "valid", PolicyVersion: "2026-03-01.1",
		Shown: map[string]string{"name": "张*三", "degree_level": "master", "unit_name": "某某大学"},
	}
}

func newSigner(t *testing.T, older ...ed25519.PublicKey) (*Signer, ed25519.PrivateKey) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := NewSigner(priv, older...)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

// verifyWithGoJose checks a receipt the way an outsider would: with
// go-jose (an independent JOSE implementation) and the published JWKS as
// served (JSON), nothing from this package.
func verifyWithGoJose(t *testing.T, jwksJSON []byte, compact string) (payload []byte, kid string, err error) {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwksJSON, &set); err != nil {
		t.Fatalf("go-jose cannot read the published JWKS: %v", err)
	}
	jws, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, "", err
	}
	kid = jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		return nil, kid, errors.New("kid not in the published set")
	}
	// go-jose computes the RFC 7638 thumbprint itself: kid must equal it.
	tp, err := keys[0].Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if b64.EncodeToString(tp) != kid {
		t.Errorf("kid %s is not the key's RFC 7638 thumbprint %s", kid, b64.EncodeToString(tp))
	}
	payload, err = jws.Verify(keys[0])
	return payload, kid, err
}

func TestReceiptVerifiesWithGoJose(t *testing.T) {
	s, _ := newSigner(t)
	r := sampleReceipt()
	compact, err := s.Sign(r)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(s.JWKS())
	payload, kid, err := verifyWithGoJose(t, jwks, compact)
	if err != nil {
		t.Fatalf("go-jose rejects the receipt: %v", err)
	}
	if kid != s.KeyID() {
		t.Errorf("kid %s, signer says %s", kid, s.KeyID())
	}
	var got receipt
	if err := json.Unmarshal(payload, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != r.ID || got.Shown["name"] != r.Shown["name"] || got.PolicyVersion != r.PolicyVersion {
		t.Errorf("payload %+v, signed %+v", got, r)
	}
	jws, _ := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.EdDSA})
	if typ := jws.Signatures[0].Header.ExtraHeaders["typ"]; typ != ReceiptType {
		t.Errorf("typ %v, want %s", typ, ReceiptType)
	}

	// Tampering is caught by the outsider too.
	h, p, sig := split(compact)
	var m map[string]any
	decode(t, p, &m)
	m["status"] = "revoked"
	if _, _, err := verifyWithGoJose(t, jwks, h+"."+encode(t, m)+"."+sig); err == nil {
		t.Error("go-jose accepted a tampered receipt")
	}
}

// TestReceiptKeyRotation: receipts signed by an old key still verify once
// the signer has moved on, because the old public key is still published.
func TestReceiptKeyRotation(t *testing.T) {
	oldSigner, oldPriv := newSigner(t)
	oldReceipt, err := oldSigner.Sign(sampleReceipt())
	if err != nil {
		t.Fatal(err)
	}
	newSigner, _ := newSigner(t, oldPriv.Public().(ed25519.PublicKey), oldPriv.Public().(ed25519.PublicKey))
	set := newSigner.JWKS()
	if len(set.Keys) != 2 || set.Keys[0].Kid != newSigner.KeyID() {
		t.Fatalf("published set %+v: want the new key first, the old once", set)
	}
	jwks, _ := json.Marshal(set)
	for name, compact := range map[string]string{"old": oldReceipt, "new": mustSign(t, newSigner)} {
		if _, _, err := verifyWithGoJose(t, jwks, compact); err != nil {
			t.Errorf("%s receipt does not verify after rotation: %v", name, err)
		}
	}
	// Dropping the old key from the set breaks the old receipt: the test
	// above depends on the publication, not on luck.
	alone, _ := json.Marshal(JWKSet{Keys: set.Keys[:1]})
	if _, _, err := verifyWithGoJose(t, alone, oldReceipt); err == nil {
		t.Error("old receipt verified without its key")
	}
}

func mustSign(t *testing.T, s *Signer) string {
	t.Helper()
	c, err := s.Sign(sampleReceipt())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSignerFromKeysFolder reads the receipt key the way `keys init`
// writes it (Ed25519 PKCS #8 PEM), as registry.LoadReceiptKey does.
func TestSignerFromKeysFolder(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	path := filepath.Join(t.TempDir(), "receipt-signing.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(k.(ed25519.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(s.JWKS())
	if _, _, err := verifyWithGoJose(t, jwks, mustSign(t, s)); err != nil {
		t.Fatal(err)
	}
}

func TestSignerRejects(t *testing.T) {
	if _, err := NewSigner(ed25519.PrivateKey(make([]byte, 10))); err == nil {
		t.Error("short private key accepted")
	}
	if _, err := NewSigner(nil); err == nil {
		t.Error("nil key accepted")
	}
	s, _ := newSigner(t)
	if _, err := NewSigner(ed25519.PrivateKey(s.priv), ed25519.PublicKey([]byte{1, 2, 3})); err == nil {
		t.Error("malformed older key accepted")
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"a":`, `{} {}`} {
		if _, err := s.SignJSON([]byte(bad)); err == nil {
			t.Errorf("SignJSON(%q) signed a non-object", bad)
		}
	}
	if _, err := s.Sign(func() {}); err == nil {
		t.Error("unmarshalable payload signed")
	}
	// Callers cannot change the published set through the copy.
	set := s.JWKS()
	set.Keys[0].X = "tampered"
	if s.JWKS().Keys[0].X == "tampered" {
		t.Error("JWKS returned the signer's own slice")
	}
}

// TestReceiptIsNotAToken: even if an operator trusted the receipt key as
// an issuer, a receipt cannot be used as a bearer token.
func TestReceiptIsNotAToken(t *testing.T) {
	s, priv := newSigner(t)
	m := mustMinter(t, priv)
	cfg := Config{Issuers: []IssuerConfig{{
		Issuer: agencyIss, Audience: []string{testAud}, Kind: AudienceAgency,
		Algorithms: []string{AlgEdDSA}, MaxLifetime: Duration(time.Hour), Keys: m.KeySet(),
	}}}
	v, err := NewVerifier(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := agencyClaims()
	now := time.Now()
	c = timed(c, now, dur(0), nil, dur(time.Minute))
	compact, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), compact); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "receipt") {
		t.Fatalf("receipt as token: %v", err)
	}
}

// TestSignerMatchesStandardLibrary: the Signer's Ed25519 (curve25519-voi)
// makes exactly the signatures crypto/ed25519 makes, for many keys and
// messages of many lengths, so swapping the implementation changed speed
// and nothing else.
func TestSignerMatchesStandardLibrary(t *testing.T) {
	for i := range 300 {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, i*7)
		rand.Read(msg)
		payload, _ := json.Marshal(map[string][]byte{"m": msg})
		compact, err := s.SignJSON(payload)
		if err != nil {
			t.Fatal(err)
		}
		dot := strings.LastIndexByte(compact, '.')
		want := b64.EncodeToString(ed25519.Sign(priv, []byte(compact[:dot])))
		if compact[dot+1:] != want {
			t.Fatalf("key %d: signature differs from crypto/ed25519's", i)
		}
	}
}

// TestAppendJWS: appending after other bytes signs only the JWS (the
// prefix is neither part of the signing input nor overwritten), and
// JWSLen is the appended length.
func TestAppendJWS(t *testing.T) {
	s, priv := newSigner(t)
	for _, payload := range []string{`{}`, `{"result":"match","degree":{"name":"张*三"}}`, `{"m":"` + strings.Repeat("x", 1000) + `"}`} {
		prefix := `{"receipt":"`
		got := s.AppendJWS([]byte(prefix), []byte(payload))
		if !strings.HasPrefix(string(got), prefix) {
			t.Fatalf("prefix overwritten: %q", got[:len(prefix)])
		}
		jws := string(got[len(prefix):])
		if len(jws) != s.JWSLen(len(payload)) {
			t.Errorf("JWSLen(%d) = %d, appended %d", len(payload), s.JWSLen(len(payload)), len(jws))
		}
		dot := strings.LastIndexByte(jws, '.')
		sig, err := b64.DecodeString(jws[dot+1:])
		if err != nil || !ed25519.Verify(priv.Public().(ed25519.PublicKey), []byte(jws[:dot]), sig) {
			t.Fatalf("appended JWS does not verify over header.payload: %v", err)
		}
		want, err := s.SignJSON([]byte(payload))
		if err != nil || jws != want {
			t.Errorf("AppendJWS = %q, SignJSON = %q (%v)", jws, want, err)
		}
	}
}
