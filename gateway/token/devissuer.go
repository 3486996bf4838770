package token

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Files the dev issuer writes into `degreegate dev --state-dir DIR`.
const (
	DevIssuerFile         = "dev-issuer.jwk"       // private JWK, 0600: dev only
	DevJWKSFile           = "jwks.json"            // the public set the gateway trusts in dev
	DevTrustedIssuersFile = "trusted-issuers.json" // a Config naming jwks.json, usable with serve
)

// DevAudienceValue is the "aud" of dev tokens and what dev issuers accept.
const DevAudienceValue = "degreegate"

// DevMaxLifetime is the dev issuers' max_lifetime: long enough for a demo
// session's tokens.json to stay usable for a working day.
const DevMaxLifetime = 24 * time.Hour

// DevIssuerID is the "iss" of the dev issuer for one audience. The dev
// identity provider is one key but four issuers, because each trusted
// issuer issues one audience (see Config); ".invalid" can never resolve.
func DevIssuerID(a Audience) string {
	return "https://dev-issuer.degreegate.invalid/" + string(a)
}

var devAudiences = []Audience{AudienceAgency, AudienceHolder, AudienceContractor, AudienceOffice}

// DevIssuer is the dev identity provider: an Ed25519 key that mints
// tokens for every audience. Never for production.
type DevIssuer struct {
	*Minter
	priv ed25519.PrivateKey
}

// NewDevIssuer generates a fresh dev issuer key.
func NewDevIssuer() (*DevIssuer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dev issuer: %w", err)
	}
	return devIssuerFromKey(priv)
}

func devIssuerFromKey(priv ed25519.PrivateKey) (*DevIssuer, error) {
	m, err := NewMinter(priv)
	if err != nil {
		return nil, fmt.Errorf("dev issuer: %w", err)
	}
	return &DevIssuer{Minter: m, priv: priv}, nil
}

// OpenDevIssuer loads dir's dev-issuer.jwk, or when there is none creates
// a new issuer and writes its files (WriteFiles) into dir.
func OpenDevIssuer(dir string) (*DevIssuer, error) {
	d, err := LoadDevIssuer(filepath.Join(dir, DevIssuerFile))
	if err == nil {
		return d, d.WriteFiles(dir) // refresh the public files beside it
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if d, err = NewDevIssuer(); err != nil {
		return nil, err
	}
	return d, d.WriteFiles(dir)
}

// LoadDevIssuer reads a private Ed25519 JWK written by WriteFiles.
func LoadDevIssuer(path string) (*DevIssuer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dev issuer: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var k JWK
	if err := dec.Decode(&k); err != nil {
		return nil, fmt.Errorf("dev issuer %s: not a JWK", path)
	}
	if k.Kty != "OKP" || k.Crv != "Ed25519" {
		return nil, fmt.Errorf("dev issuer %s: want an OKP Ed25519 private key", path)
	}
	seed, err := decodeFixed(k.D, ed25519.SeedSize, "d")
	if err != nil {
		return nil, fmt.Errorf("dev issuer %s: %w", path, err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if k.X != "" && k.X != b64.EncodeToString(priv.Public().(ed25519.PublicKey)) {
		return nil, fmt.Errorf("dev issuer %s: x does not match d", path)
	}
	return devIssuerFromKey(priv)
}

// PrivateJWK is the issuer's key as a private JWK (with d). Dev only.
func (d *DevIssuer) PrivateJWK() JWK {
	k := d.PublicJWK()
	k.D = b64.EncodeToString(d.priv.Seed())
	return k
}

// Config trusts this issuer for all four audiences, with keys held in
// memory (no file needed).
func (d *DevIssuer) Config() Config {
	cfg := d.fileConfig(DevJWKSFile)
	for i := range cfg.Issuers {
		cfg.Issuers[i].Keys = d.KeySet()
	}
	return cfg
}

func (d *DevIssuer) fileConfig(jwks string) Config {
	var cfg Config
	for _, a := range devAudiences {
		cfg.Issuers = append(cfg.Issuers, IssuerConfig{
			Issuer:      DevIssuerID(a),
			Audience:    []string{DevAudienceValue},
			Kind:        a,
			JWKS:        jwks,
			Algorithms:  []string{AlgEdDSA},
			MaxLifetime: Duration(DevMaxLifetime),
		})
	}
	return cfg
}

// Claims starts the claims of a dev token for audience a: iss and aud are
// set; the caller adds scope, org and, for holders, id_type and id_number.
func (d *DevIssuer) Claims(a Audience, subject string) Claims {
	var c Claims
	c.Issuer = DevIssuerID(a)
	c.Audience = []string{DevAudienceValue}
	c.Subject = subject
	return c
}

// WriteFiles writes dev-issuer.jwk (0600), jwks.json and
// trusted-issuers.json into dir, replacing older ones atomically.
func (d *DevIssuer) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dev issuer: %w", err)
	}
	files := []struct {
		name string
		v    any
		mode os.FileMode
	}{
		{DevIssuerFile, d.PrivateJWK(), 0o600},
		{DevJWKSFile, d.JWKS(), 0o644},
		{DevTrustedIssuersFile, d.fileConfig(DevJWKSFile), 0o644},
	}
	for _, f := range files {
		b, err := json.MarshalIndent(f.v, "", "  ")
		if err != nil {
			return fmt.Errorf("dev issuer %s: %w", f.name, err)
		}
		if err := writeAtomic(filepath.Join(dir, f.name), append(b, '\n'), f.mode); err != nil {
			return fmt.Errorf("dev issuer: %w", err)
		}
	}
	return nil
}

// writeAtomic writes b to a temporary file beside path and renames it
// over path, so a reader never sees half a key file.
func writeAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(name, path)
}
