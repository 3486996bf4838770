package token

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"
)

// MaxTokenBytes bounds a token before anything parses it: real tokens are
// well under 2 KB, and the bound keeps base64 and JSON work per request small.
const MaxTokenBytes = 8 << 10

// ClockLeeway is the clock skew tolerated on exp, nbf and iat. A replay
// cache must remember a jti until exp + ClockLeeway (RequireFreshJTI does).
const ClockLeeway = 30 * time.Second

// Options tune a Verifier; the zero value is the production default.
type Options struct {
	// HTTPClient fetches JWKS URLs. It is copied, given FetchTimeout if it
	// has no shorter one, and a redirect policy that stays on https.
	HTTPClient *http.Client
	// FetchTimeout bounds one JWKS fetch (default 5s).
	FetchTimeout time.Duration
	// RefreshInterval is the least time between two refreshes of one
	// issuer's keys (default 30s).
	RefreshInterval time.Duration
	// MaxKeyAge makes keys older than this refresh in the background, so
	// keys an issuer withdraws stop being trusted (default 15m).
	MaxKeyAge time.Duration
	// CacheSize is the number of verified tokens remembered (default
	// 10,000; negative turns the cache off).
	CacheSize int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives key-refresh failures; never token contents.
	Logger *slog.Logger
}

// Verifier checks bearer tokens against the trusted issuers. It is safe
// for concurrent use.
type Verifier struct {
	issuers map[string]*issuer
	cache   *lru.Cache[[32]byte, Principal] // nil when off
	now     func() time.Time
}

// issuer is one trusted issuer with its own parser: each has its own
// audiences and algorithms, and iss is pinned with WithIssuer.
type issuer struct {
	cfg    IssuerConfig
	parser *jwt.Parser
	keys   *keySource
}

// NewVerifier validates cfg and loads every issuer's keys; a JWKS that
// cannot be read or parsed stops here with a message naming the issuer, so
// a bad configuration is seen at start-up.
func NewVerifier(ctx context.Context, cfg Config, opt Options) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("trusted issuers: %w", err)
	}
	opt = opt.withDefaults()
	client := jwksClient(opt.HTTPClient, opt.FetchTimeout)
	v := &Verifier{issuers: make(map[string]*issuer, len(cfg.Issuers)), now: opt.Now}
	if opt.CacheSize > 0 {
		c, err := lru.New[[32]byte, Principal](opt.CacheSize)
		if err != nil {
			return nil, fmt.Errorf("token cache: %w", err)
		}
		v.cache = c
	}
	for _, ic := range cfg.Issuers {
		// Own copies: the caller's Config must not reach into a live verifier.
		ic.Audience, ic.Algorithms = slices.Clone(ic.Audience), slices.Clone(ic.Algorithms)
		ks := &keySource{
			issuer:      ic.Issuer,
			now:         opt.Now,
			minInterval: opt.RefreshInterval,
			maxAge:      opt.MaxKeyAge,
			timeout:     opt.FetchTimeout,
			log:         opt.Logger,
		}
		switch {
		case ic.Keys != nil:
			ks.set = ic.Keys
		case strings.HasPrefix(ic.JWKS, "https://"):
			ks.fetch = httpFetcher(client, ic.JWKS)
		default:
			ks.fetch = fileFetcher(ic.JWKS)
		}
		if ks.fetch != nil {
			lctx, cancel := context.WithTimeout(ctx, opt.FetchTimeout)
			set, err := ks.load(lctx)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("trusted issuer %q: %w", ic.Issuer, err)
			}
			ks.set = set
		}
		ks.loadedAt, ks.lastAttempt = opt.Now(), opt.Now()
		v.issuers[ic.Issuer] = &issuer{
			cfg:  ic,
			keys: ks,
			parser: jwt.NewParser(
				jwt.WithValidMethods(ic.Algorithms),
				jwt.WithIssuer(ic.Issuer),
				jwt.WithAudience(ic.Audience...),
				jwt.WithExpirationRequired(),
				jwt.WithIssuedAt(),
				jwt.WithLeeway(ClockLeeway),
				jwt.WithTimeFunc(opt.Now),
				jwt.WithStrictDecoding(),
			),
		}
	}
	return v, nil
}

func (o Options) withDefaults() Options {
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 5 * time.Second
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = 30 * time.Second
	}
	if o.MaxKeyAge <= 0 {
		o.MaxKeyAge = 15 * time.Minute
	}
	if o.CacheSize == 0 {
		o.CacheSize = 10_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Verify checks raw (the bearer token without "Bearer ") and returns who it
// names. Every refusal wraps one of the Err* reasons and matches
// ErrInvalidToken (answer 401). ctx bounds the wait for a key refresh the
// token may trigger; if ctx ends first, the error is ctx's, not a refusal
// (answer 503).
//
// A token verified before is answered from the cache until it expires,
// without repeating the signature check. So a key its issuer withdraws
// stops new tokens at the next refresh, while tokens already verified run
// to their exp — which the issuer's max_lifetime keeps short.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	if len(raw) > MaxTokenBytes {
		return Principal{}, ErrTooLarge
	}
	if raw == "" {
		return Principal{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	sum := sha256.Sum256([]byte(raw))
	now := v.now()
	if v.cache != nil {
		if p, ok := v.cache.Get(sum); ok {
			if now.Before(p.ExpiresAt) {
				return p, nil
			}
			v.cache.Remove(sum)
		}
	}
	p, err := v.verify(ctx, raw, now)
	if err != nil {
		return Principal{}, err
	}
	p.TokenHash = sum
	// Only tokens before their exp are cached; one inside the leeway after
	// exp is verified afresh each time, so the cache never extends it.
	if v.cache != nil && now.Before(p.ExpiresAt) {
		v.cache.Add(sum, p)
	}
	return p, nil
}

// verify does the full check. The header and the unverified iss are read
// first only to choose the issuer and key; nothing from them is trusted
// until that issuer's parser has checked the signature and the claims.
func (v *Verifier) verify(ctx context.Context, raw string, now time.Time) (Principal, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return Principal{}, fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	// Decoded into a map exactly as golang-jwt does, so both read the same
	// "alg" (a struct would also match "ALG" and "Alg").
	var hdr map[string]any
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return Principal{}, fmt.Errorf("%w: header", ErrMalformed)
	}
	alg, _ := hdr["alg"].(string)
	if !supportedAlg(alg) {
		return Principal{}, ErrAlgorithm // none, HS*, PS*, anything else
	}
	if _, ok := hdr["crit"]; ok {
		// RFC 7515 §4.1.11: extensions we do not understand must fail.
		return Principal{}, fmt.Errorf("%w: crit header", ErrMalformed)
	}
	if typ, _ := hdr["typ"].(string); strings.EqualFold(typ, ReceiptType) {
		return Principal{}, fmt.Errorf("%w: a receipt is not a token", ErrMalformed)
	}
	// jku, x5u, jwk and x5c are never read: keys come only from the
	// issuer's configured JWKS.
	kid, _ := hdr["kid"].(string)

	var peek struct {
		Iss string `json:"iss"`
		// The times as sent: golang-jwt also reads a NumericDate written
		// as a string ("1790000000"), which RFC 7519 §2 does not allow.
		Exp json.RawMessage `json:"exp"`
		Iat json.RawMessage `json:"iat"`
		Nbf json.RawMessage `json:"nbf"`
	}
	if err := decodeSegment(parts[1], &peek); err != nil {
		return Principal{}, fmt.Errorf("%w: claims", ErrMalformed)
	}
	for _, d := range []struct {
		name string
		raw  json.RawMessage
	}{{"exp", peek.Exp}, {"iat", peek.Iat}, {"nbf", peek.Nbf}} {
		if len(d.raw) > 0 && d.raw[0] == '"' {
			return Principal{}, fmt.Errorf("%w: %s must be a number of seconds (RFC 7519 NumericDate), not a string", ErrMalformed, d.name)
		}
	}
	is, ok := v.issuers[peek.Iss]
	if !ok {
		return Principal{}, ErrUnknownIssuer
	}
	if !is.allows(alg) {
		return Principal{}, ErrAlgorithm
	}
	if kid == "" {
		return Principal{}, fmt.Errorf("%w: no kid", ErrUnknownKey)
	}
	key, err := is.keys.lookup(ctx, kid)
	if err != nil {
		return Principal{}, err
	}
	if key.alg != alg {
		// e.g. an ES256 header naming an Ed25519 key, or HS256 naming any key.
		return Principal{}, fmt.Errorf("%w: key is not for %s", ErrAlgorithm, alg)
	}

	var c Claims
	_, err = is.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		// Checked again on the parser's own reading of the header.
		if t.Method == nil || t.Method.Alg() != key.alg {
			return nil, ErrAlgorithm
		}
		return key.pub, nil
	})
	if err != nil {
		return Principal{}, mapParseError(err)
	}
	return is.principal(c, now)
}

func (is *issuer) allows(alg string) bool {
	for _, a := range is.cfg.Algorithms {
		if a == alg {
			return true
		}
	}
	return false
}

// principal applies the checks golang-jwt has no option for: the
// issuer's maximum lifetime and the claims each audience needs.
func (is *issuer) principal(c Claims, now time.Time) (Principal, error) {
	exp := c.ExpiresAt.Time // WithExpirationRequired: never nil here
	start := now
	var iat time.Time
	if c.IssuedAt != nil {
		iat = c.IssuedAt.Time
		start = iat
	}
	if exp.Sub(start) > time.Duration(is.cfg.MaxLifetime) {
		return Principal{}, ErrLifetimeTooLong
	}
	if c.Subject == "" {
		return Principal{}, fmt.Errorf("%w: sub", ErrMissingClaim)
	}
	for _, f := range []struct{ name, v string }{{"sub", c.Subject}, {"org", c.Org}, {"jti", c.ID}} {
		if !printable(f.v, 256) {
			return Principal{}, fmt.Errorf("%w: %s must be printable and at most 256 bytes", ErrMalformed, f.name)
		}
	}
	scopes, err := parseScope(c.Scope)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{
		Issuer:    is.cfg.Issuer,
		Subject:   c.Subject,
		Org:       c.Org,
		Audience:  is.cfg.Kind,
		Scopes:    scopes,
		IssuedAt:  iat,
		ExpiresAt: exp,
		JTI:       c.ID,
	}
	switch is.cfg.Kind {
	case AudienceHolder:
		if c.IDType == "" || c.IDNumber == "" {
			return Principal{}, fmt.Errorf("%w: id_type and id_number", ErrMissingClaim)
		}
		if !printable(c.IDType, 64) || !printable(c.IDNumber, 64) {
			return Principal{}, fmt.Errorf("%w: id_type or id_number must be printable and at most 64 bytes", ErrMalformed)
		}
		p.IDType, p.IDNumber = c.IDType, c.IDNumber
	default:
		// Agencies, contractors and offices act for an organisation; the
		// audit trail records it.
		if c.Org == "" {
			return Principal{}, fmt.Errorf("%w: org", ErrMissingClaim)
		}
	}
	return p, nil
}

// decodeSegment decodes one base64url JWS segment as JSON into v.
func decodeSegment(seg string, v any) error {
	b, err := b64.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// mapParseError turns golang-jwt's errors into this package's reasons.
// Claim errors arrive joined; the order below picks the most telling one.
func mapParseError(err error) error {
	for _, ours := range []*Error{ErrAlgorithm, ErrUnknownKey} {
		if errors.Is(err, ours) {
			return ours
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fmt.Errorf("%w: iat in the future", ErrNotYetValid)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ErrMissingClaim
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrWrongAudience
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ErrUnknownIssuer
	default:
		return ErrMalformed
	}
}
