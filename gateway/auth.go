package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
)

// TokenVerifier checks a bearer token; *token.Verifier is one.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (token.Principal, error)
}

const principalKey = "degreegate.principal"

// authenticate admits requests whose bearer token verifies and was issued
// for audience; it stores the Principal for the handler. The token's own
// words (claims, values) never reach a response or a log.
func (s *Server) authenticate(audience token.Audience) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.deps.Tokens == nil {
			return problemNoTokens
		}
		raw, ok := bearer(c.Get(fiber.HeaderAuthorization))
		if !ok {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="degreegate"`)
			return problemUnauthenticated
		}
		p, err := s.deps.Tokens.Verify(c.UserContext(), raw)
		if err != nil {
			if !errors.Is(err, token.ErrInvalidToken) {
				return fmt.Errorf("verify token: %w", err)
			}
			code := "invalid_token"
			var te *token.Error
			if errors.As(err, &te) {
				code = te.Code()
			}
			c.Set(fiber.HeaderWWWAuthenticate, fmt.Sprintf(`Bearer realm="degreegate", error="invalid_token", error_description=%q`, code))
			return problemInvalidToken.with(code)
		}
		if p.Audience != audience {
			return problemWrongAudience
		}
		// The issuer's own maximum was checked by the verifier; the policy
		// may be stricter for this audience. Without iat the lifetime is
		// what is left of it, exp − now, as the verifier judges it.
		if max := s.deps.Policy.Limits(policies.Audience(p.Audience)).MaxTokenLifetime; max > 0 &&
			p.ExpiresAt.Sub(issuedOrNow(p.IssuedAt, s.deps.Now)) > max {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="degreegate", error="invalid_token", error_description="lifetime_too_long"`)
			return problemInvalidToken.with("lifetime_too_long")
		}
		c.Locals(principalKey, p)
		return c.Next()
	}
}

// issuedOrNow is a token's iat, or now for a token without one.
func issuedOrNow(iat time.Time, now func() time.Time) time.Time {
	if iat.IsZero() {
		return now()
	}
	return iat
}

// bearer takes the token out of an Authorization header.
func bearer(h string) (string, bool) {
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	t := strings.TrimSpace(h[len(prefix):])
	return t, t != ""
}

// principal is the verified caller of a token-scoped route.
func principal(c *fiber.Ctx) token.Principal {
	p, _ := c.Locals(principalKey).(token.Principal)
	return p
}

// decide asks the policy what this caller may do for scope and purpose,
// and stamps the policy version on the answer whatever it decides. A
// refusal is a 403 whose type names the reason.
func (s *Server) decide(c *fiber.Ctx, scope policies.Scope, purpose, level string) (policies.Decision, error) {
	p := principal(c)
	d, err := s.deps.Policy.Decide(policies.Request{
		Audience: policies.Audience(p.Audience),
		Scope:    scope,
		Granted:  p.Scopes.All(),
		Org:      p.Org,
		Purpose:  purpose,
		Level:    level,
	})
	c.Set("Degreegate-Policy-Version", s.deps.Policy.Version())
	var denied *policies.DeniedError
	switch {
	case errors.As(err, &denied):
		return d, policyProblem(err, fiber.StatusForbidden, "The policy does not allow this")
	case err != nil:
		return d, fmt.Errorf("policy decision: %w", err)
	}
	return d, nil
}

// principalFor is the token's caller as package disclose sees it: its
// name in the trail, its organisation, and its policy questions for
// purpose, answered by decide.
func (s *Server) principalFor(c *fiber.Ctx, purpose string) disclose.Principal {
	p := principal(c)
	return disclose.Principal{Actor: s.actorOf(p), Org: p.Org, Decide: func(scope policies.Scope, level string) (policies.Decision, error) {
		return s.decide(c, scope, purpose, level)
	}}
}

// actorOf is how a tokened caller appears in the audit trail.
func (s *Server) actorOf(p token.Principal) string {
	switch p.Audience {
	case token.AudienceHolder:
		return s.disclose.HolderActor(p.Issuer, p.Subject)
	case token.AudienceOffice:
		return "office:" + p.Subject
	}
	return "org:" + p.Org + "/sub:" + p.Subject
}
