package token

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims degreegate reads from (and the dev issuer writes
// into) a token. Scopes come from "scope" only, a space-separated string as
// RFC 8693 and RFC 9068 define it; the non-standard "scp" is not read, so
// no issuer can grant scopes by a second route the policy does not expect.
//
// IDType and IDNumber identify a degree holder (holder tokens only). They
// are personal data: LogValue, String and GoString redact them.
type Claims struct {
	jwt.RegisteredClaims
	Scope    string `json:"scope,omitempty"`
	Org      string `json:"org,omitempty"`
	IDType   string `json:"id_type,omitempty"`
	IDNumber string `json:"id_number,omitempty"`
}

// LogValue logs the claims without the holder's identity: id_type and
// id_number appear only as "[redacted]", and so does sub when they are
// present (a real-name provider's subject may itself identify the person).
func (c Claims) LogValue() slog.Value {
	holder := c.IDType != "" || c.IDNumber != ""
	attrs := []slog.Attr{
		slog.String("iss", c.Issuer),
		slog.String("sub", redactIf(holder, c.Subject)),
		slog.Any("aud", []string(c.Audience)),
		slog.String("jti", c.ID),
		slog.String("scope", c.Scope),
		slog.String("org", c.Org),
	}
	if c.ExpiresAt != nil {
		attrs = append(attrs, slog.Time("exp", c.ExpiresAt.Time))
	}
	if c.IssuedAt != nil {
		attrs = append(attrs, slog.Time("iat", c.IssuedAt.Time))
	}
	if c.IDType != "" {
		attrs = append(attrs, slog.String("id_type", redacted))
	}
	if c.IDNumber != "" {
		attrs = append(attrs, slog.String("id_number", redacted))
	}
	return slog.GroupValue(attrs...)
}

// String is the redacted form, so that fmt's %v and %+v never print a
// holder's identity by accident.
func (c Claims) String() string { return c.LogValue().String() }

// GoString is the redacted form for %#v.
func (c Claims) GoString() string { return "token.Claims" + c.String() }

const redacted = "[redacted]"

func redactIf(cond bool, s string) string {
	if cond && s != "" {
		return redacted
	}
	return s
}

// ScopeSet is an immutable set of scopes. A Principal may be shared by
// many requests through the verified-token cache, so nothing here can be
// changed after it is built.
type ScopeSet struct {
	sorted []string
}

// NewScopeSet builds a set from scope strings; duplicates collapse.
func NewScopeSet(scopes ...string) ScopeSet {
	s := slices.Clone(scopes)
	slices.Sort(s)
	return ScopeSet{sorted: slices.Compact(s)}
}

// Has reports whether scope is in the set.
func (s ScopeSet) Has(scope string) bool {
	_, ok := slices.BinarySearch(s.sorted, scope)
	return ok
}

// Len is the number of scopes.
func (s ScopeSet) Len() int { return len(s.sorted) }

// All returns the scopes, sorted, in a fresh slice.
func (s ScopeSet) All() []string { return slices.Clone(s.sorted) }

// String is the space-separated form of the "scope" claim.
func (s ScopeSet) String() string { return strings.Join(s.sorted, " ") }

// Limits on scope: a policy has tens of scopes, not thousands.
const (
	maxScopes     = 64
	maxScopeBytes = 128
)

// parseScope splits a "scope" claim (RFC 6749 §3.3 scope-tokens separated
// by single spaces, tolerated as any run of spaces).
func parseScope(claim string) (ScopeSet, error) {
	fields := strings.Fields(claim)
	if len(fields) > maxScopes {
		return ScopeSet{}, fmt.Errorf("%w: scope: more than %d scopes", ErrMalformed, maxScopes)
	}
	for _, f := range fields {
		if len(f) > maxScopeBytes || !scopeToken(f) {
			return ScopeSet{}, fmt.Errorf("%w: scope: not RFC 6749 scope-tokens", ErrMalformed)
		}
	}
	return NewScopeSet(fields...), nil
}

// scopeToken: %x21 / %x23-5B / %x5D-7E (printable ASCII but '"' and '\').
func scopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Principal is who a verified token says the caller is. Audience comes
// from the trusted issuer's configuration, never from the token alone.
// IDType and IDNumber are set for holders only and are personal data:
// LogValue, String and GoString redact them (and a holder's Subject).
type Principal struct {
	Issuer    string
	Subject   string
	Org       string
	Audience  Audience
	Scopes    ScopeSet
	IssuedAt  time.Time // zero when the token has no iat
	ExpiresAt time.Time
	JTI       string // "" when the token has none
	IDType    string // holder only
	IDNumber  string // holder only
	// TokenHash is the SHA-256 of the raw token: a handle for audit
	// entries, caches and revocation that does not reveal the token.
	TokenHash [32]byte
}

// LogValue logs the principal without personal data: a holder's subject,
// ID type and ID number are redacted; a short token-hash prefix is there
// to correlate log lines.
func (p Principal) LogValue() slog.Value {
	holder := p.Audience == AudienceHolder
	attrs := []slog.Attr{
		slog.String("iss", p.Issuer),
		slog.String("sub", redactIf(holder, p.Subject)),
		slog.String("aud", string(p.Audience)),
		slog.String("org", p.Org),
		slog.String("scope", p.Scopes.String()),
		slog.Time("exp", p.ExpiresAt),
		slog.String("jti", p.JTI),
		slog.String("token", hex.EncodeToString(p.TokenHash[:6])),
	}
	if p.IDType != "" {
		attrs = append(attrs, slog.String("id_type", redacted))
	}
	if p.IDNumber != "" {
		attrs = append(attrs, slog.String("id_number", redacted))
	}
	return slog.GroupValue(attrs...)
}

// String is the redacted form (see LogValue).
func (p Principal) String() string { return p.LogValue().String() }

// GoString is the redacted form for %#v.
func (p Principal) GoString() string { return "token.Principal" + p.String() }
