package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
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

	"github.com/degreegate/degreegate/gateway/token"
)

// runInProcess runs one verb of the binary in process.
func runInProcess(t *testing.T, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out, errb bytes.Buffer
	err = run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeDevIssuer makes a dev token issuer and writes its key and
// trusted-issuers files into dir.
func writeDevIssuer(t *testing.T, dir string) *token.DevIssuer {
	t.Helper()
	dev, err := token.NewDevIssuer()
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	return dev
}

func TestTokenMintsWhatTheVerifierAccepts(t *testing.T) {
	dir := t.TempDir()
	dev := writeDevIssuer(t, dir)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecMinter, _ := token.NewMinter(ec)
	ecJWKS, _ := json.Marshal(ecMinter.JWKS())
	ecKeys, err := token.ParseJWKS(ecJWKS)
	if err != nil {
		t.Fatal(err)
	}
	ecConfig := token.Config{Issuers: []token.IssuerConfig{{
		Issuer: "https://idp.example/", Audience: []string{"degreegate"}, Kind: token.AudienceAgency,
		JWKS: "unused.json", Algorithms: []string{token.AlgES256}, MaxLifetime: token.Duration(time.Hour), Keys: ecKeys,
	}}}

	for _, tc := range []struct {
		name string
		cfg  token.Config
		args []string
		want token.Principal
	}{
		{
			name: "dev issuer, agency",
			cfg:  dev.Config(),
			args: []string{"--key", filepath.Join(dir, token.DevIssuerFile), "--audience", "agency", "--sub", "officer-7",
				"--scope", "degree.verify degree.verify.batch", "--org", "gov:test-bureau", "--jti", "j-1"},
			want: token.Principal{Issuer: token.DevIssuerID(token.AudienceAgency), Subject: "officer-7", Org: "gov:test-bureau",
				Audience: token.AudienceAgency, JTI: "j-1"},
		},
		{
			name: "dev issuer, holder",
			cfg:  dev.Config(),
			args: []string{"--key", filepath.Join(dir, token.DevIssuerFile), "--audience", "holder", "--sub", "h",
				"--id-type", "passport", "--id-number", "E12345678", "--scope", "holder.read"},
			want: token.Principal{Issuer: token.DevIssuerID(token.AudienceHolder), Subject: "h",
				Audience: token.AudienceHolder, IDType: "passport", IDNumber: "E12345678"},
		},
		{
			name: "PEM SEC 1 key, own issuer",
			cfg:  ecConfig,
			args: []string{"--key", writePEM(t, dir, "ec.pem", "EC PRIVATE KEY", sec1), "--audience", "agency",
				"--iss", "https://idp.example/", "--aud", "degreegate", "--sub", "s", "--ttl", "10m", "--org", "gov:x"},
			want: token.Principal{Issuer: "https://idp.example/", Subject: "s", Org: "gov:x", Audience: token.AudienceAgency},
		},
		{
			name: "PEM PKCS #8 key, own issuer",
			cfg:  ecConfig,
			args: []string{"--key", writePEM(t, dir, "ec8.pem", "PRIVATE KEY", pkcs8), "--audience", "agency",
				"--iss", "https://idp.example/", "--aud", "other,degreegate", "--sub", "s", "--org", "gov:x"},
			want: token.Principal{Issuer: "https://idp.example/", Subject: "s", Org: "gov:x", Audience: token.AudienceAgency},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runInProcess(t, nil, append([]string{"token"}, tc.args...)...)
			if err != nil || errOut != "" {
				t.Fatalf("token: %v %s", err, errOut)
			}
			raw := strings.TrimSpace(out)
			if strings.Count(out, "\n") != 1 || strings.Count(raw, ".") != 2 {
				t.Fatalf("stdout is not one compact JWS line: %q", out)
			}
			v, err := token.NewVerifier(context.Background(), tc.cfg, token.Options{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("the verifier refuses the minted token: %v", err)
			}
			if p.Issuer != tc.want.Issuer || p.Subject != tc.want.Subject || p.Org != tc.want.Org ||
				p.Audience != tc.want.Audience || p.IDType != tc.want.IDType || p.IDNumber != tc.want.IDNumber ||
				(tc.want.JTI != "" && p.JTI != tc.want.JTI) || p.JTI == "" {
				t.Errorf("principal %#v, want %#v", p, tc.want)
			}
		})
	}
}

func TestTokenRefuses(t *testing.T) {
	dir := t.TempDir()
	dev, _ := token.NewDevIssuer()
	dev.WriteFiles(dir)
	devKey := filepath.Join(dir, token.DevIssuerFile)
	secret := filepath.Join(dir, "hmac.key")
	os.WriteFile(secret, []byte("c2VjcmV0LXNoYXJlZC1obWFjLWtleQ==\n"), 0o600)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	edPEM := writePEM(t, dir, "ed.pem", "PRIVATE KEY", edDER)
	pubDER, _ := x509.MarshalPKIXPublicKey(edPriv.Public())
	pubPEM := writePEM(t, dir, "pub.pem", "PUBLIC KEY", pubDER)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalECPrivateKey(p384)
	p384PEM := writePEM(t, dir, "p384.pem", "EC PRIVATE KEY", p384DER)

	base := []string{"--audience", "agency", "--sub", "s"}
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		says  string
	}{
		{name: "no key", args: base, usage: true, says: "--key"},
		{name: "no audience", args: []string{"--key", devKey, "--sub", "s"}, usage: true, says: "--audience"},
		{name: "unknown audience", args: []string{"--key", devKey, "--sub", "s", "--audience", "public"}, usage: true, says: "--audience"},
		{name: "no subject", args: []string{"--key", devKey, "--audience", "agency"}, usage: true, says: "--sub"},
		{name: "too long", args: append([]string{"--key", devKey, "--ttl", "25h"}, base...), usage: true, says: "--ttl"},
		{name: "holder without identity", args: []string{"--key", devKey, "--audience", "holder", "--sub", "h"}, usage: true, says: "--id-type"},
		{name: "identity on an agency token", args: append([]string{"--key", devKey, "--id-type", "passport", "--id-number", "E1"}, base...), usage: true, says: "holder"},
		{name: "PEM key without issuer", args: append([]string{"--key", edPEM}, base...), usage: true, says: "--iss"},
		{name: "missing file", args: append([]string{"--key", filepath.Join(dir, "nope.pem")}, base...), says: "nope.pem"},
		{name: "a shared secret", args: append([]string{"--key", secret, "--iss", "i", "--aud", "a"}, base...), says: "neither a JWK nor PEM"},
		{name: "a public key", args: append([]string{"--key", pubPEM, "--iss", "i", "--aud", "a"}, base...), says: "not a private key"},
		{name: "P-384", args: append([]string{"--key", p384PEM, "--iss", "i", "--aud", "a"}, base...), says: "P-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runInProcess(t, nil, append([]string{"token"}, tc.args...)...)
			var u usageError
			if err == nil || errors.As(err, &u) != tc.usage || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err %v (usage %v), want one saying %q (usage %v)", err, errors.As(err, &u), tc.says, tc.usage)
			}
			if out != "" {
				t.Errorf("printed %q on failure", out)
			}
			if strings.Contains(err.Error(), "c2VjcmV0") {
				t.Error("the error quotes the key file")
			}
		})
	}
}

// FuzzLoadMinter: any key file gives a minter or an error that names the
// file and never repeats its content; nothing panics.
func FuzzLoadMinter(f *testing.F) {
	dev, _ := token.NewDevIssuer()
	jwk, _ := json.Marshal(dev.PrivateJWK())
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(ec)
	f.Add(jwk)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der[:20]}))
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","d":"AAAA"}`))
	f.Add([]byte("not a key"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "key")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		m, _, err := loadMinter(p)
		if err != nil {
			if s := strings.TrimSpace(string(b)); len(s) >= 12 && strings.Contains(err.Error(), s) {
				t.Errorf("the error repeats the key file: %v", err)
			}
			return
		}
		if m == nil {
			t.Fatal("no minter and no error")
		}
	})
}
