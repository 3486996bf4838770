package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Minter signs tokens with one asymmetric key, for the dev issuer, the
// `degreegate token` command and tests. The algorithm follows from the key
// type (Ed25519 → EdDSA, ECDSA P-256 → ES256, RSA ≥ 2048 bits → RS256), so
// no HMAC secret or "none" can ever be used.
type Minter struct {
	key    crypto.Signer
	method jwt.SigningMethod
	jwk    JWK
	now    func() time.Time
}

// NewMinter returns a Minter for key: an ed25519.PrivateKey, an
// *ecdsa.PrivateKey on P-256 or an *rsa.PrivateKey of at least 2048 bits.
// Anything else — a []byte HMAC secret above all — is ErrAlgorithm.
func NewMinter(key any) (*Minter, error) {
	var (
		signer crypto.Signer
		method jwt.SigningMethod
	)
	switch k := key.(type) {
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, errors.New("minter: Ed25519 private key of wrong size")
		}
		signer, method = k, jwt.SigningMethodEdDSA
	case *ecdsa.PrivateKey:
		if k == nil || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: minter: ECDSA keys must be on P-256", ErrAlgorithm)
		}
		signer, method = k, jwt.SigningMethodES256
	case *rsa.PrivateKey:
		if k == nil || k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("%w: minter: RSA key under %d bits", ErrWeakKey, minRSABits)
		}
		signer, method = k, jwt.SigningMethodRS256
	default:
		return nil, fmt.Errorf("%w: minter: only Ed25519, ECDSA P-256 and RSA keys; never HMAC or none", ErrAlgorithm)
	}
	pub, err := PublicJWK(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("minter: %w", err)
	}
	return &Minter{key: signer, method: method, jwk: pub, now: time.Now}, nil
}

// WithClock returns a copy of m that reads the time from now (tests).
func (m *Minter) WithClock(now func() time.Time) *Minter {
	c := *m
	c.now = now
	return &c
}

// KeyID is the kid the Minter puts in every header.
func (m *Minter) KeyID() string { return m.jwk.Kid }

// Algorithm is the JWS alg the Minter signs with.
func (m *Minter) Algorithm() string { return m.method.Alg() }

// PublicJWK is the Minter's public key, for a JWKS.
func (m *Minter) PublicJWK() JWK { return m.jwk }

// JWKS is a set holding the Minter's public key alone.
func (m *Minter) JWKS() JWKSet { return JWKSet{Keys: []JWK{m.jwk}} }

// KeySet is the Minter's public key parsed for a Verifier (IssuerConfig.Keys).
func (m *Minter) KeySet() *KeySet {
	vk, err := m.jwk.verificationKey()
	if err != nil {
		// PublicJWK built this key from a valid private key.
		panic("token: minter's own public key does not parse: " + err.Error())
	}
	return &KeySet{keys: map[string]verificationKey{m.jwk.Kid: vk}}
}

// Mint signs c as a token valid for lifetime from now: it sets iat and exp
// (and nbf to iat), and a random jti when c has none.
func (m *Minter) Mint(c Claims, lifetime time.Duration) (string, error) {
	if lifetime <= 0 {
		return "", errors.New("minter: lifetime must be positive")
	}
	if m.method != jwt.SigningMethodEdDSA && m.method != jwt.SigningMethodES256 && m.method != jwt.SigningMethodRS256 {
		return "", ErrAlgorithm // unreachable through NewMinter; kept as the last guard
	}
	now := m.now().Truncate(time.Second)
	c.IssuedAt = jwt.NewNumericDate(now)
	c.NotBefore = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(lifetime))
	if c.ID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("minter: jti: %w", err)
		}
		c.ID = base64.RawURLEncoding.EncodeToString(b[:])
	}
	t := jwt.NewWithClaims(m.method, c)
	t.Header["kid"] = m.jwk.Kid
	s, err := t.SignedString(m.key)
	if err != nil {
		return "", fmt.Errorf("minter: %w", err)
	}
	return s, nil
}
