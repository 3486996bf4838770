package gateway

import (
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
)

// rule turns a policy rate into a limiter rule; ok is false for "no limit".
func rule(name string, r policies.Rate) (ratelimit.Rule, bool) {
	if r.Unlimited() {
		return ratelimit.Rule{}, false
	}
	return ratelimit.Rule{Name: name, Rate: r.PerSecond, Burst: r.Burst}, true
}

// limitKind is what a rate limit counts by.
type limitKind int

const (
	byAddress limitKind = iota
	byBlock
	byCertificate
	byCode
	bySubject
	byOrg
	numLimitKinds
)

var limitKindNames = [numLimitKinds]string{"address", "block", "certificate", "code", "subject", "org"}

// shared reports whether a kind's allowance is spent by other callers
// too (a certificate's, by everyone in the caller's block; a share
// code's, by everyone): what is left of it tells of others' lookups, so
// it is enforced but never advertised.
func (k limitKind) shared() bool { return k == byCertificate || k == byCode }

// audienceLimits are one audience's rate limits as the policy sets them,
// as limiter rules named "<audience>.<kind>", made once at start-up.
type audienceLimits struct {
	rules [numLimitKinds]ratelimit.Rule
	has   [numLimitKinds]bool
}

// newAudienceLimits is the one place the policy's limits become rules.
func newAudienceLimits(a policies.Audience, l policies.Limits) audienceLimits {
	rates := [numLimitKinds]policies.Rate{l.PerClient, l.PerBlock, l.PerCertificate, l.PerCode, l.PerSubject, l.PerOrg}
	var al audienceLimits
	for k, r := range rates {
		al.rules[k], al.has[k] = rule(string(a)+"."+limitKindNames[k], r)
	}
	return al
}

// add appends the check of kind under key when the policy sets that limit.
func (al *audienceLimits) add(checks []limitCheck, kind limitKind, key ratelimit.Key) []limitCheck {
	if !al.has[kind] {
		return checks
	}
	return append(checks, limitCheck{al.rules[kind], key, kind.shared()})
}

// limitBook holds every audience's limits.
type limitBook map[policies.Audience]*audienceLimits

func newLimitBook(p *policies.Policy) limitBook {
	b := limitBook{}
	for _, a := range policies.Audiences() {
		al := newAudienceLimits(a, p.Limits(a))
		b[a] = &al
	}
	return b
}

// holderCode: a share code's viewer is counted per address and block,
// and, for a well-formed code, per code (id), so that one leaked code
// cannot be scraped at the address rate.
func (b limitBook) holderCode(addr netip.Addr, codeID string) []limitCheck {
	al := b[policies.HolderCode]
	checks := make([]limitCheck, 0, 3)
	checks = al.add(checks, byAddress, ratelimit.AddrKey(addr))
	checks = al.add(checks, byBlock, ratelimit.BlockKey(addr))
	if codeID != "" {
		checks = al.add(checks, byCode, ratelimit.NameKey("code:"+codeID))
	}
	return checks
}

// tokenCaller: a tokened caller is counted per subject — named by its
// issuer too, since two identity providers may name different people
// alike — and per organisation; a holder per address and per subject
// (a keyed hash: a real-name provider's subject may identify the person).
func (s *Server) tokenCaller(c *fiber.Ctx, p token.Principal) []limitCheck {
	a := policies.Audience(p.Audience)
	al, ok := s.limits[a]
	if !ok {
		return nil
	}
	// Keys are built only for the limits the policy sets: a holder's is
	// a keyed hash.
	var subject, org ratelimit.Key
	if al.has[bySubject] {
		if a == policies.Holder {
			subject = ratelimit.NameKey(s.disclose.HolderActor(p.Issuer, p.Subject))
		} else {
			subject = ratelimit.NameKey("sub:" + p.Issuer + "\x00" + p.Subject)
		}
	}
	if al.has[byOrg] {
		org = ratelimit.NameKey("org:" + p.Org)
	}
	checks := make([]limitCheck, 0, 2)
	switch a {
	case policies.Holder:
		if al.has[byAddress] {
			checks = al.add(checks, byAddress, ratelimit.AddrKey(s.clientAddr(c)))
		}
		checks = al.add(checks, bySubject, subject)
	case policies.Agency:
		checks = al.add(checks, byOrg, org)
		checks = al.add(checks, bySubject, subject)
	default:
		checks = al.add(checks, bySubject, subject)
		checks = al.add(checks, byOrg, org)
	}
	return checks
}

// limitCaller is the guard of every token route, after authenticate:
// the audience's limits for this caller, counted before anything is
// read. Every answer names the policy, refusals before a decision too.
func (s *Server) limitCaller() fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set("Degreegate-Policy-Version", s.deps.Policy.Version())
		if err := s.limit(c, s.tokenCaller(c, principal(c))); err != nil {
			return err
		}
		return c.Next()
	}
}

// limitCheck is one limit to pass: a rule and the key it counts under.
type limitCheck struct {
	rule ratelimit.Rule
	key  ratelimit.Key
	// shared: other callers spend the same allowance; an allowed
	// decision of it stays out of the RateLimit-* headers.
	shared bool
}

// limit applies every check, sets the RateLimit-* headers from the
// tightest of the caller's own (shared allowances count, unseen, until
// they refuse), and refuses with 429 and Retry-After when any refuses.
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
	rule     ratelimit.Rule // the tightest decision's
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
				t.tightest, t.rule = d, ch.rule
			}
			t.refused = true
			t.any = true
		} else if !ch.shared && !t.refused && (!t.any || d.Remaining < t.tightest.Remaining) {
			t.tightest, t.rule = d, ch.rule
			t.any = true
		}
	}
}

// refund gives back what checks took, for a request their rules should
// not count.
func (s *Server) refund(c *fiber.Ctx, checks []limitCheck) {
	if s.limitsOff {
		return
	}
	for _, ch := range checks {
		s.deps.Limiter.Refund(c.UserContext(), ch.key, ch.rule)
	}
}

// answer sets the RateLimit-* headers from the tally (again, when a later
// stage tightened it) and is the 429 problem when a check refused.
func (t limitTally) answer(c *fiber.Ctx) error {
	if !t.any {
		return nil // no limits apply
	}
	// The fields of draft-ietf-httpapi-ratelimit-headers-10, Structured
	// Field items named by the rule: RateLimit-Policy its quota (the
	// bucket) and window (the time the bucket takes to fill), RateLimit
	// what remains and when it is whole again — on a refusal, when one
	// request will pass, the moment Retry-After names.
	name := sfString(t.rule.Name)
	reset := ceilSeconds(t.tightest.Reset)
	if t.refused {
		reset = max(1, ceilSeconds(t.tightest.RetryAfter))
	}
	c.Set("RateLimit-Policy", name+";q="+strconv.Itoa(t.tightest.Limit)+";w="+strconv.Itoa(t.rule.Window()))
	c.Set("RateLimit", name+";r="+strconv.Itoa(t.tightest.Remaining)+";t="+strconv.Itoa(reset))
	if t.refused {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(reset))
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

// sfString is s as a Structured Field String (RFC 8941, 3.3.3): printable
// ASCII in quotes, with the quote and the backslash escaped; anything
// else becomes '?'.
// Rule names come from the policy file, not from requests.
func sfString(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"' || ch == '\\':
			b = append(b, '\\', ch)
		case ch < 0x20 || ch > 0x7e:
			b = append(b, '?')
		default:
			b = append(b, ch)
		}
	}
	return string(append(b, '"'))
}
