package token

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewMinterRefuses(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rows := []struct {
		name string
		key  any
		want error
	}{
		{"HMAC secret", []byte("a shared secret, never"), ErrAlgorithm},
		{"string secret", "secret", ErrAlgorithm},
		{"nil", nil, ErrAlgorithm},
		{"a public key", ed25519.PublicKey(make([]byte, 32)), ErrAlgorithm},
		{"ECDSA P-384", p384, ErrAlgorithm},
		{"nil ECDSA", (*ecdsa.PrivateKey)(nil), ErrAlgorithm},
		{"RSA 1024", weakRSA(t), ErrWeakKey},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if _, err := NewMinter(r.key); !errors.Is(err, r.want) {
				t.Fatalf("NewMinter: %v, want %v", err, r.want)
			}
		})
	}
	m := mustMinter(t, rsaKey())
	if _, err := m.Mint(agencyClaims(), 0); err == nil {
		t.Error("zero lifetime minted")
	}
}

func TestMintSetsTimesAndJTI(t *testing.T) {
	c := newClock(time.Date(2026, 3, 1, 9, 0, 0, 500, time.UTC))
	m := newEdMinter(t, c)
	a := mint(t, m, agencyClaims(), 5*time.Minute)
	b := mint(t, m, agencyClaims(), 5*time.Minute)
	var ca, cb Claims
	_, p, _ := split(a)
	decode(t, p, &ca)
	_, p, _ = split(b)
	decode(t, p, &cb)
	if ca.ID == "" || ca.ID == cb.ID {
		t.Errorf("jti %q and %q: want distinct random ids", ca.ID, cb.ID)
	}
	if got := ca.ExpiresAt.Sub(ca.IssuedAt.Time); got != 5*time.Minute {
		t.Errorf("exp - iat = %v", got)
	}
	if !ca.IssuedAt.Equal(c.now().Truncate(time.Second)) {
		t.Errorf("iat %v, clock %v", ca.IssuedAt, c.now())
	}
	h, _, _ := split(a)
	var hdr map[string]any
	decode(t, h, &hdr)
	if hdr["kid"] != m.KeyID() || hdr["alg"] != AlgEdDSA {
		t.Errorf("header %v", hdr)
	}
}

// TestDevIssuerFiles: the files `dev --state-dir` writes are enough for a
// separate process to trust the dev tokens, via trusted-issuers.json.
func TestDevIssuerFiles(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDevIssuer(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, DevIssuerFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %v, want 0600", DevIssuerFile, info.Mode().Perm())
	}
	var pub JWKSet
	b, _ := os.ReadFile(filepath.Join(dir, DevJWKSFile))
	if err := json.Unmarshal(b, &pub); err != nil || len(pub.Keys) != 1 || pub.Keys[0].D != "" {
		t.Fatalf("%s: %v %+v (want one public key, no d)", DevJWKSFile, err, pub)
	}
	again, err := OpenDevIssuer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.KeyID() != d.KeyID() {
		t.Error("reopening the state dir made a new key")
	}

	cfg, err := LoadConfig(filepath.Join(dir, DevTrustedIssuersFile))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vMem, err := NewVerifier(context.Background(), d.Config(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range devAudiences {
		c := d.Claims(a, "demo-"+string(a))
		c.Scope = string(a) + ":demo"
		c.Org = "demo-org"
		if a == AudienceHolder {
			c.IDType, c.IDNumber = "resident_id", holderIDNumber
		}
		tok, err := again.Mint(c, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for name, ver := range map[string]*Verifier{"from files": v, "in memory": vMem} {
			p, err := ver.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("%s token, verifier %s: %v", a, name, err)
			}
			if p.Audience != a || !p.Scopes.Has(string(a)+":demo") {
				t.Errorf("%s token read as %v", a, p)
			}
		}
	}
	// A token of one audience cannot pass as another: iss decides.
	c := d.Claims(AudienceContractor, "x")
	c.Org = "o"
	tok, _ := d.Mint(c, time.Hour)
	if p, _ := v.Verify(context.Background(), tok); p.Audience != AudienceContractor {
		t.Errorf("contractor token read as %q", p.Audience)
	}
	// Minting a long token is allowed; the verifier refuses it.
	long, err := d.Mint(c, DevMaxLifetime+time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), long); !errors.Is(err, ErrLifetimeTooLong) {
		t.Errorf("dev token over the dev maximum: %v", err)
	}
}

func TestLoadDevIssuerRejects(t *testing.T) {
	dir := t.TempDir()
	d, _ := NewDevIssuer()
	good := d.PrivateJWK()
	other, _ := NewDevIssuer()
	rows := []struct {
		name string
		k    any
	}{
		{"public key only", d.PublicJWK()},
		{"x of another key", JWK{Kty: "OKP", Crv: "Ed25519", D: good.D, X: other.PublicJWK().X}},
		{"EC key", JWK{Kty: "EC", Crv: "P-256", D: good.D}},
		{"unknown field", map[string]any{"kty": "OKP", "crv": "Ed25519", "d": good.D, "k": "secret"}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p := filepath.Join(dir, "k.jwk")
			writeJSON(t, p, r.k)
			if _, err := LoadDevIssuer(p); err == nil {
				t.Fatal("loaded")
			} else if strings.Contains(err.Error(), good.D) {
				t.Fatal("error quotes the private key")
			}
		})
	}
}

// TestRedaction: a holder's identity never reaches a log line or a
// formatted string, whichever way a principal or claims are printed.
func TestRedaction(t *testing.T) {
	f := newFixture(t, Options{})
	raw := mint(t, f.hold, holderClaims(), time.Minute)
	p, err := f.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		log := slog.New(h)
		log.Info("verified", "principal", p, "claims", holderClaims())
		log.Info("pointer", "principal", &p)
	}
	fmt.Fprintf(&buf, "%v %+v %#v %s", p, p, p, p)
	c := holderClaims()
	fmt.Fprintf(&buf, "%v %+v %#v %s", c, c, c, &c)
	out := buf.String()
	for _, secret := range []string{holderIDNumber, "resident_id", "rn-8842"} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, holderIss) || !strings.Contains(out, redacted) {
		t.Errorf("redacted output lost the useful parts:\n%s", out)
	}
}
