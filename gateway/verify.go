package gateway

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// publicPolicy is what the policy fixes for public verification, decided
// once at start-up: the public needs no token, so nothing per request can
// change the decision.
type publicPolicy struct {
	decision policies.Decision
	// decide answers the public's principal with decision, whatever the
	// scope: made once, so no request allocates a closure.
	decide func(policies.Scope, string) (policies.Decision, error)
	limits *audienceLimits
}

func newPublicPolicy(p *policies.Policy, limits limitBook) (publicPolicy, error) {
	d, err := p.Decide(policies.Request{Audience: policies.Public, Scope: policies.ScopeVerify})
	if err != nil {
		return publicPolicy{}, fmt.Errorf("the policy grants no public verification: %w", err)
	}
	return publicPolicy{
		decision: d,
		decide:   func(policies.Scope, string) (policies.Decision, error) { return d, nil },
		limits:   limits[policies.Public],
	}, nil
}

type verifyRequest struct {
	CertificateNumber string `json:"certificate_number"`
	Name              string `json:"name"`
}

// normalise trims and upper-cases the number (old certificates carry
// letters) and normalises the name as the registry stored it.
func (r *verifyRequest) normalise() map[string]string {
	r.CertificateNumber = strings.ToUpper(strings.TrimSpace(r.CertificateNumber))
	whyNumber, whyName := disclose.CheckCertificateNumber(r.CertificateNumber), disclose.CheckText(r.Name, 64)
	r.Name = registry.NormalizeName(r.Name)
	if whyNumber == "" && whyName == "" {
		return nil
	}
	errs := map[string]string{}
	if whyNumber != "" {
		errs["certificate_number"] = whyNumber
	}
	if whyName != "" {
		errs["name"] = whyName
	}
	return errs
}

func (s *Server) getScratch() *disclose.Scratch { return s.scratch.Get().(*disclose.Scratch) }

// putScratch returns sc to the pool, emptied.
func (s *Server) putScratch(sc *disclose.Scratch) {
	sc.Reset()
	s.scratch.Put(sc)
}

// handlePublicVerify answers POST /v1/verify.
func (s *Server) handlePublicVerify() fiber.Handler {
	return func(c *fiber.Ctx) error {
		pc, err := s.admitPublic(c)
		if err != nil {
			return err
		}
		var req verifyRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		sc := s.getScratch()
		defer s.putScratch(sc)
		ans, err := s.verifyPublic(c, pc, req, sc)
		if err != nil {
			return err
		}
		c.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
		sc.Body = ans.AppendJSON(sc.Body)
		// SetBody copies into Fiber's own pooled buffer, so sc can go back.
		c.Response().SetBody(sc.Body)
		return nil
	}
}

// publicClient is a public caller that passed the limits on its address
// and address block, taken before its request is read: a flood from one
// address is turned away without decoding anything, and never spends the
// per-certificate allowance other callers of that number need.
type publicClient struct {
	addr   netip.Addr
	limits limitTally
}

// admitPublic takes the per-address and per-block limits and sets the
// RateLimit-* headers; errors are Problems (429).
func (s *Server) admitPublic(c *fiber.Ctx) (publicClient, error) {
	al := s.public.limits
	pc := publicClient{addr: s.clientAddr(c)}
	var buf [2]limitCheck
	checks := al.add(buf[:0], byAddress, ratelimit.AddrKey(pc.addr))
	checks = al.add(checks, byBlock, ratelimit.BlockKey(pc.addr))
	s.take(c, &pc.limits, checks)
	return pc, pc.limits.answer(c)
}

// verifyPublic is public verification for a client admitPublic let in,
// shared by the API and the web page: it checks the request's shape,
// takes the per-certificate limit, and asks disclose.Service.Public. It
// sets the rate-limit and policy headers on c; errors are Problems. Its
// answer's bytes are in sc.
//
// The per-certificate allowance is the caller's block's own (see
// ratelimit.CertificateBlockKey) and is spent by wrong names only: it is
// taken before the lookup, whatever the name, so that a refusal tells
// nothing about the name, and given back when the name matched. So
// nobody can lock a number for others, an employer who knows the name
// never runs out, and names tried against one number are bounded by the
// blocks the guesser holds (README, "Guessing names against one
// certificate number").
func (s *Server) verifyPublic(c *fiber.Ctx, pc publicClient, req verifyRequest, sc *disclose.Scratch) (disclose.PublicAnswer, error) {
	pp := &s.public
	if errs := req.normalise(); errs != nil {
		return disclose.PublicAnswer{}, invalid(errs)
	}
	var guess []limitCheck
	if pp.limits.has[byCertificate] {
		var buf [1]limitCheck
		guess = pp.limits.add(buf[:0], byCertificate, ratelimit.CertificateBlockKey(req.CertificateNumber, pc.addr))
		s.take(c, &pc.limits, guess)
		if err := pc.limits.answer(c); err != nil {
			return disclose.PublicAnswer{}, err
		}
	}
	c.Set("Degreegate-Policy-Version", pp.decision.PolicyVersion)
	p := disclose.Principal{Actor: s.disclose.PublicActor(pc.addr), Decide: s.public.decide}
	ans, err := s.disclose.Public(c.UserContext(), p, disclose.PublicQuery{CertificateNumber: req.CertificateNumber, Name: req.Name}, sc)
	if err == nil && ans.Match {
		s.refund(c, guess)
	}
	return ans, disclosureProblem(err)
}
