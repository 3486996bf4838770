// Package token verifies the bearer tokens (JWT) that identify agencies,
// degree holders, contractors and officials, and signs the receipts that
// prove what the public verification showed.
//
// Tokens come from external identity providers named in the
// trusted-issuers file (Config); the gateway only verifies. Verification
// follows RFC 8725: asymmetric algorithms only (EdDSA, ES256, RS256), each
// key bound to one algorithm; keys only from the issuer's configured JWKS
// (never jku, x5u, jwk or x5c from a token); iss, aud and exp required; a
// maximum lifetime per issuer; 30 s of clock leeway. Verified tokens are
// remembered by their SHA-256 until they expire, so a client that reuses
// its token pays a hash and a map lookup, not a signature check.
//
// Receipts (Signer) are compact JWS over Ed25519 whose kid is the RFC 7638
// thumbprint of the key; Signer.JWKS is served at /.well-known/jwks.json so
// anyone can check a receipt offline with any JOSE library.
//
// Beyond the standard library it uses golang-jwt (parsing and claim
// checks), golang-lru (the verified-token cache) and x/sync/singleflight
// (one JWKS refresh shared by concurrent requests); no storage driver.
// Replay state shared across replicas lives in gateway/redisstate behind
// the ReplayCache interface.
package token
