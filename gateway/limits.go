package gateway

import (
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/policies"
)

// rule turns a policy rate into a limiter rule; ok is false for "no limit".
func rule(name string, r policies.Rate) (ratelimit.Rule, bool) {
	if r.Unlimited() {
		return ratelimit.Rule{}, false
	}
	return ratelimit.Rule{Name: name, Rate: r.PerSecond, Burst: r.Burst}, true
}

// limitCheck is one limit to pass: a rule and the key it counts under.
type limitCheck struct {
	rule ratelimit.Rule
	key  ratelimit.Key
}

// limit applies every check, sets the RateLimit-* headers from the
// tightest one, and refuses with 429 and Retry-After when any refuses.
// All checks are taken even after a refusal, so a client cannot learn
// which limit is nearest by watching which one stops counting.
func (s *Server) limit(c *fiber.Ctx, checks []limitCheck) error {
	var tightest ratelimit.Decision
	refused := false
	first := true
	for _, ch := range checks {
		d := s.deps.Limiter.Allow(c.UserContext(), ch.key, ch.rule)
		s.metrics.RecordLimit(ch.rule.Name, d.Allowed)
		if !d.Allowed {
			if !refused || d.RetryAfter > tightest.RetryAfter {
				tightest = d
			}
			refused = true
		} else if !refused && (first || d.Remaining < tightest.Remaining) {
			tightest = d
		}
		first = false
	}
	if first {
		return nil // no limits apply
	}
	c.Set("RateLimit-Limit", strconv.Itoa(tightest.Limit))
	c.Set("RateLimit-Remaining", strconv.Itoa(tightest.Remaining))
	c.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(tightest.Reset)))
	if refused {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, ceilSeconds(tightest.RetryAfter))))
		return problemRateLimited
	}
	return nil
}

func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// clientAddr is the caller's address: the TCP peer, or the address a
// trusted proxy put in X-Forwarded-For.
func (s *Server) clientAddr(c *fiber.Ctx) netip.Addr {
	peer := ratelimit.PeerAddr(c.Context().RemoteAddr())
	xff := c.Request().Header.Peek(fiber.HeaderXForwardedFor)
	if len(xff) == 0 {
		return peer
	}
	return s.deps.Proxies.ClientAddr(peer, string(xff))
}
