package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// The signature algorithms a token or receipt may use. Each is tied to one
// key type, so a key can never be used under another algorithm.
const (
	AlgEdDSA = "EdDSA" // Ed25519 (RFC 8037)
	AlgES256 = "ES256" // ECDSA P-256 with SHA-256
	AlgRS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, modulus ≥ 2048 bits
)

// Limits on JWK sets: enough for any real identity provider, small enough
// that a hostile or broken JWKS endpoint cannot make us parse megabytes or
// run thousands of big-number conversions.
const (
	MaxJWKSBytes  = 256 << 10
	maxJWKSKeys   = 64
	minRSABits    = 2048
	maxRSABits    = 8192
	maxKeyIDBytes = 256
)

// b64 is the JOSE base64url encoding: no padding, and (Strict) no stray
// bits in the last character, so one key has exactly one spelling.
var b64 = base64.RawURLEncoding.Strict()

// JWK is one JSON Web Key (RFC 7517, 7518, 8037) of the kinds degreegate
// reads and publishes: public OKP/Ed25519, EC/P-256 and RSA keys, and, for
// the dev issuer's file only, an Ed25519 private key in D.
type JWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid,omitempty"`
	Use    string   `json:"use,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
	D      string   `json:"d,omitempty"`
}

// JWKSet is a JWK set document as published at a jwks_uri.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// verificationKey is a parsed public key and the one algorithm it may verify.
type verificationKey struct {
	alg string
	pub crypto.PublicKey
}

// KeySet is a parsed, validated JWK set: public keys by key id.
type KeySet struct {
	keys map[string]verificationKey
}

// Len is the number of usable keys.
func (s *KeySet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// KeyIDs lists the usable keys' ids, sorted.
func (s *KeySet) KeyIDs() []string {
	if s == nil {
		return nil
	}
	ids := make([]string, 0, len(s.keys))
	for id := range s.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (s *KeySet) lookup(kid string) (verificationKey, bool) {
	if s == nil {
		return verificationKey{}, false
	}
	k, ok := s.keys[kid]
	return k, ok
}

// errSkip marks a key this package does not understand (another curve, an
// encryption key, an algorithm we never accept). RFC 7517 §5 says to ignore
// such keys rather than refuse the set, so real providers' mixed sets load.
var errSkip = errors.New("key skipped")

// ParseJWKS parses a JWK set for token verification. Keys of types or
// algorithms this package does not use are ignored (RFC 7517 §5); a key
// that is ours but broken, an RSA key under 2048 bits (ErrWeakKey), any
// private key material, duplicate key ids, or a set with no usable key make
// the whole set fail, so a bad configuration is seen at load, not at the
// first request. A key without "kid" gets its RFC 7638 thumbprint as id.
func ParseJWKS(b []byte) (*KeySet, error) {
	if len(b) > MaxJWKSBytes {
		return nil, fmt.Errorf("JWK set: larger than %d bytes", MaxJWKSBytes)
	}
	var doc JWKSet
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("JWK set: not a JSON JWK set: %w", err)
	}
	if len(doc.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("JWK set: %d keys, at most %d", len(doc.Keys), maxJWKSKeys)
	}
	set := &KeySet{keys: make(map[string]verificationKey, len(doc.Keys))}
	for i, k := range doc.Keys {
		vk, err := k.verificationKey()
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("JWK set: key %d: %w", i, err)
		}
		kid := k.Kid
		if kid == "" {
			if kid, err = Thumbprint(k); err != nil {
				return nil, fmt.Errorf("JWK set: key %d: %w", i, err)
			}
		}
		if len(kid) > maxKeyIDBytes {
			return nil, fmt.Errorf("JWK set: key %d: kid longer than %d bytes", i, maxKeyIDBytes)
		}
		if _, dup := set.keys[kid]; dup {
			return nil, fmt.Errorf("JWK set: key %d: kid used twice", i)
		}
		set.keys[kid] = vk
	}
	if len(set.keys) == 0 {
		return nil, errors.New("JWK set: no usable signature-verification key (EdDSA, ES256 or RS256)")
	}
	return set, nil
}

// verificationKey checks one JWK and converts it to a public key.
func (k JWK) verificationKey() (verificationKey, error) {
	if k.D != "" {
		// A private key in a public set is a leak at the provider; trusting
		// the set anyway would hide that from the operator.
		return verificationKey{}, errors.New("holds private key material (d)")
	}
	if k.Use != "" && k.Use != "sig" {
		return verificationKey{}, errSkip
	}
	if len(k.KeyOps) > 0 && !slices.Contains(k.KeyOps, "verify") {
		return verificationKey{}, errSkip
	}
	var want string
	switch {
	case k.Kty == "OKP" && k.Crv == "Ed25519":
		want = AlgEdDSA
	case k.Kty == "EC" && k.Crv == "P-256":
		want = AlgES256
	case k.Kty == "RSA":
		want = AlgRS256
	default:
		return verificationKey{}, errSkip
	}
	if k.Alg != "" && k.Alg != want {
		// e.g. an RSA key meant for PS256: not ours to use.
		return verificationKey{}, errSkip
	}
	pub, err := k.PublicKey()
	if err != nil {
		return verificationKey{}, err
	}
	return verificationKey{alg: want, pub: pub}, nil
}

// PublicKey converts the JWK's public part to ed25519.PublicKey,
// *ecdsa.PublicKey (P-256) or *rsa.PublicKey (2048–8192 bits).
func (k JWK) PublicKey() (crypto.PublicKey, error) {
	switch k.Kty {
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, errors.New("OKP key: only crv Ed25519 is supported")
		}
		x, err := decodeFixed(k.X, ed25519.PublicKeySize, "x")
		if err != nil {
			return nil, err
		}
		return ed25519.PublicKey(x), nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, errors.New("EC key: only crv P-256 is supported")
		}
		x, err := decodeFixed(k.X, 32, "x")
		if err != nil {
			return nil, err
		}
		y, err := decodeFixed(k.Y, 32, "y")
		if err != nil {
			return nil, err
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, errors.New("EC key: point not on P-256")
		}
		return pub, nil
	case "RSA":
		nb, err := b64.DecodeString(k.N)
		if err != nil || len(nb) == 0 {
			return nil, errors.New("RSA key: n is not base64url")
		}
		n := new(big.Int).SetBytes(nb)
		if n.BitLen() < minRSABits {
			return nil, fmt.Errorf("%w: RSA modulus of %d bits, at least %d required", ErrWeakKey, n.BitLen(), minRSABits)
		}
		if n.BitLen() > maxRSABits {
			return nil, fmt.Errorf("RSA key: modulus of %d bits, at most %d", n.BitLen(), maxRSABits)
		}
		eb, err := b64.DecodeString(k.E)
		if err != nil || len(eb) == 0 || len(eb) > 4 {
			return nil, errors.New("RSA key: e is not a base64url integer of at most 4 bytes")
		}
		e := new(big.Int).SetBytes(eb)
		if e.Cmp(big.NewInt(3)) < 0 || e.Bit(0) == 0 || e.BitLen() > 31 {
			return nil, errors.New("RSA key: e must be odd, at least 3 and below 2^31")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	default:
		return nil, errors.New("unsupported kty")
	}
}

func decodeFixed(s string, size int, name string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64url", name)
	}
	if len(b) != size {
		return nil, fmt.Errorf("%s must be %d bytes, is %d", name, size, len(b))
	}
	return b, nil
}

// PublicJWK describes a public key (ed25519.PublicKey, *ecdsa.PublicKey on
// P-256, or *rsa.PublicKey) as a JWK with alg, use "sig" and, as kid, its
// RFC 7638 thumbprint.
func PublicJWK(pub crypto.PublicKey) (JWK, error) {
	var k JWK
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return JWK{}, errors.New("Ed25519 public key of wrong size")
		}
		k = JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(p), Alg: AlgEdDSA}
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return JWK{}, errors.New("ECDSA key: only P-256 is supported")
		}
		raw, err := p.Bytes()
		if err != nil {
			return JWK{}, fmt.Errorf("ECDSA key: %w", err)
		}
		k = JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(raw[1:33]), Y: b64.EncodeToString(raw[33:]), Alg: AlgES256}
	case *rsa.PublicKey:
		if p.N.BitLen() < minRSABits {
			return JWK{}, fmt.Errorf("%w: RSA modulus of %d bits", ErrWeakKey, p.N.BitLen())
		}
		k = JWK{Kty: "RSA", N: b64.EncodeToString(p.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(p.E)).Bytes()), Alg: AlgRS256}
	default:
		return JWK{}, fmt.Errorf("unsupported public key type %T", pub)
	}
	k.Use = "sig"
	kid, err := Thumbprint(k)
	if err != nil {
		return JWK{}, err
	}
	k.Kid = kid
	return k, nil
}

// Thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url): the hash
// of the key's required members only, in lexicographic order, so it names
// the key itself whatever else the JWK says.
func Thumbprint(k JWK) (string, error) {
	var (
		doc []byte
		err error
	)
	// Struct fields marshal in declaration order, which is the order RFC
	// 7638 asks for; the values are base64url or fixed names, so encoding/json
	// adds no escapes.
	switch k.Kty {
	case "OKP":
		doc, err = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{k.Crv, k.Kty, k.X})
	case "EC":
		doc, err = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{k.Crv, k.Kty, k.X, k.Y})
	case "RSA":
		doc, err = json.Marshal(struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{k.E, k.Kty, k.N})
	default:
		return "", errors.New("thumbprint: unsupported kty")
	}
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	sum := sha256.Sum256(doc)
	return b64.EncodeToString(sum[:]), nil
}
