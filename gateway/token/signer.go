package token

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// ReceiptType is the "typ" header of a receipt (RFC 8725 §3.11 explicit
// typing): a receipt can never be mistaken for an access token, and the
// Verifier refuses anything that carries it.
const ReceiptType = "receipt+jwt"

// Signer makes receipts: compact JWS (RFC 7515) signed with Ed25519
// ("alg": "EdDSA", RFC 8037), whose "kid" is the RFC 7638 thumbprint of
// the signing key. It publishes, through JWKS, the current key and any
// older keys kept for verification only, so the signing key can rotate
// without breaking receipts already handed out. Safe for concurrent use.
//
// Signing is the largest cost of a public match, so it goes through
// curve25519-voi (Oasis's audited Ed25519, with precomputed base-point
// tables and amd64 assembly), which signs in about 60 % of the standard
// library's time here. Ed25519 signatures are deterministic (RFC 8032), so
// its signatures are byte for byte those crypto/ed25519 makes
// (TestSignerMatchesStandardLibrary); keys stay crypto/ed25519 keys.
type Signer struct {
	priv   voi.PrivateKey
	kid    string
	header string // base64url of the fixed protected header
	set    JWKSet
}

// NewSigner signs with priv (e.g. registry.LoadReceiptKey's key) and
// publishes older, verification-only public keys beside it.
func NewSigner(priv ed25519.PrivateKey, older ...ed25519.PublicKey) (*Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, errors.New("receipt signer: not an Ed25519 private key")
	}
	cur, err := PublicJWK(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("receipt signer: %w", err)
	}
	s := &Signer{priv: voi.PrivateKey(slices.Clone(priv)), kid: cur.Kid, set: JWKSet{Keys: []JWK{cur}}}
	for i, pub := range older {
		k, err := PublicJWK(pub)
		if err != nil {
			return nil, fmt.Errorf("receipt signer: older key %d: %w", i, err)
		}
		if !slices.ContainsFunc(s.set.Keys, func(j JWK) bool { return j.Kid == k.Kid }) {
			s.set.Keys = append(s.set.Keys, k)
		}
	}
	h, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{AlgEdDSA, s.kid, ReceiptType})
	if err != nil {
		return nil, fmt.Errorf("receipt signer: %w", err)
	}
	s.header = b64.EncodeToString(h)
	return s, nil
}

// KeyID is the kid of the current signing key.
func (s *Signer) KeyID() string { return s.kid }

// JWKS is the public key set to serve at /.well-known/jwks.json: the
// current key first, then the older ones. The caller gets its own copy.
func (s *Signer) JWKS() JWKSet {
	keys := make([]JWK, len(s.set.Keys))
	for i, k := range s.set.Keys {
		k.KeyOps = slices.Clone(k.KeyOps)
		keys[i] = k
	}
	return JWKSet{Keys: keys}
}

// Sign marshals payload to JSON and returns the compact JWS over it.
func (s *Signer) Sign(payload any) (string, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("receipt: %w", err)
	}
	return s.SignJSON(b)
}

// SignJSON signs payload, which must be one JSON object, as it is.
func (s *Signer) SignJSON(payload []byte) (string, error) {
	if !json.Valid(payload) || len(payload) == 0 || payload[0] != '{' {
		return "", errors.New("receipt: payload must be a JSON object")
	}
	return string(s.AppendJWS(make([]byte, 0, s.JWSLen(len(payload))), payload)), nil
}

// AppendJWS appends the compact JWS over payload to dst. Unlike SignJSON
// it does not check that payload is one JSON object: it is for callers
// that encoded the payload themselves, on a path where re-parsing it
// cost a tenth of the signature.
func (s *Signer) AppendJWS(dst, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, s.header...)
	dst = append(dst, '.')
	dst = b64.AppendEncode(dst, payload)
	sig := voi.Sign(s.priv, dst[start:]) // the JWS signing input is header.payload
	dst = append(dst, '.')
	return b64.AppendEncode(dst, sig)
}

// JWSLen is the length of the compact JWS over a payload of n bytes.
func (s *Signer) JWSLen(n int) int {
	return len(s.header) + 1 + b64.EncodedLen(n) + 1 + b64.EncodedLen(ed25519.SignatureSize)
}
