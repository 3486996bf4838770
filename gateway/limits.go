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
	var t limitTally
	s.take(c, &t, checks)
	return t.answer(c)
}

// limitTally is the tightest decision of the checks taken so far on one
// request, for routes that check in stages (public verification counts
// the client before it reads the body, the certificate after).
type limitTally struct {
	tightest ratelimit.Decision
	refused  bool
	any      bool
}

// take applies every check in checks and folds its decision in.
func (s *Server) take(c *fiber.Ctx, t *limitTally, checks []limitCheck) {
	if s.limitsOff {
		return // no limit applies: none is taken, counted or advertised
	}
	for _, ch := range checks {
		d := s.deps.Limiter.Allow(c.UserContext(), ch.key, ch.rule)
		s.metrics.RecordLimit(ch.rule.Name, d.Allowed)
		if !d.Allowed {
			if !t.refused || d.RetryAfter > t.tightest.RetryAfter {
				t.tightest = d
			}
			t.refused = true
		} else if !t.refused && (!t.any || d.Remaining < t.tightest.Remaining) {
			t.tightest = d
		}
		t.any = true
	}
}

// answer sets the RateLimit-* headers from the tally (again, when a later
// stage tightened it) and is the 429 problem when a check refused.
func (t limitTally) answer(c *fiber.Ctx) error {
	if !t.any {
		return nil // no limits apply
	}
	c.Set("RateLimit-Limit", strconv.Itoa(t.tightest.Limit))
	c.Set("RateLimit-Remaining", strconv.Itoa(t.tightest.Remaining))
	c.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(t.tightest.Reset)))
	if t.refused {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, ceilSeconds(t.tightest.RetryAfter))))
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
