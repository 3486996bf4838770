package gateway

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordfile"
)

// publicPolicy is what the policy fixes for public verification, decided
// once at start-up: the public needs no token, so nothing per request can
// change the decision.
type publicPolicy struct {
	decision policies.Decision
	perAddr  ratelimit.Rule
	perBlock ratelimit.Rule
	perCert  ratelimit.Rule
	has      [3]bool
}

func newPublicPolicy(p *policies.Policy) (publicPolicy, error) {
	d, err := p.Decide(policies.Request{Audience: policies.Public, Scope: policies.ScopeVerify})
	if err != nil {
		return publicPolicy{}, fmt.Errorf("the policy grants no public verification: %w", err)
	}
	l := p.Limits(policies.Public)
	pp := publicPolicy{decision: d}
	pp.perAddr, pp.has[0] = rule("public.address", l.PerClient)
	pp.perBlock, pp.has[1] = rule("public.block", l.PerBlock)
	pp.perCert, pp.has[2] = rule("public.certificate", l.PerCertificate)
	return pp, nil
}

type verifyRequest struct {
	CertificateNumber string `json:"certificate_number"`
	Name              string `json:"name"`
}

// normalise trims and upper-cases the number (old certificates carry
// letters) and normalises the name as the registry stored it.
func (r *verifyRequest) normalise() map[string]string {
	r.CertificateNumber = strings.ToUpper(strings.TrimSpace(r.CertificateNumber))
	whyNumber, whyName := checkCertificateNumber(r.CertificateNumber), checkText(r.Name, 64)
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

// checkCertificateNumber accepts the shapes the registry accepts: 16
// digits, or an older certificate's up to 17 letters and digits.
func checkCertificateNumber(s string) string {
	if s == "" {
		return "required"
	}
	if len(s) < 6 || len(s) > 17 {
		return "want 16 digits (older certificates: 6 to 17 letters and digits)"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return "want 16 digits (older certificates: 6 to 17 letters and digits)"
		}
	}
	return ""
}

// publicAnswer is what verifyPublic found. degree (shown, encoded) and
// receipt are in the scratch verifyPublic was given: copy them before it
// goes back to the pool.
type publicAnswer struct {
	match   bool
	status  string // "valid" or "revoked", for a match
	shown   []policies.Shown
	degree  []byte
	receipt []byte
}

// appendJSON is the answer's body: the object json.Marshal writes for
// DESIGN.md's {result, status, degree, receipt} (TestHandEncodedBodies).
func (a *publicAnswer) appendJSON(dst []byte) []byte {
	if !a.match {
		return append(dst, `{"result":"no_match"}`...)
	}
	dst = append(dst, `{"result":"match"`...)
	dst = appendField(dst, "status", a.status)
	if len(a.shown) > 0 {
		dst = append(dst, `,"degree":`...)
		dst = append(dst, a.degree...)
	}
	dst = append(dst, `,"receipt":"`...)
	dst = append(dst, a.receipt...) // base64url and dots: nothing to escape
	return append(dst, `"}`...)
}

// verifyScratch is one public verification's working memory, pooled: a
// match encodes its disclosure, the receipt payload, the receipt and the
// answer, about 3 KB a request, and collecting that garbage was a tenth
// of the route's CPU.
type verifyScratch struct {
	// ver is the version looked up, read in place. Kept here because
	// its record would otherwise move to the heap on every match:
	// recordfile reads fields through a table of accessors, which escape
	// analysis cannot follow.
	ver     registry.Version
	shown   [24]policies.Shown
	degree  []byte
	payload []byte
	receipt []byte
	body    []byte
}

// maxPooledScratch bounds what goes back to the pool, so that one odd
// record cannot pin large buffers for good.
const maxPooledScratch = 64 << 10

func (s *Server) getScratch() *verifyScratch { return s.scratch.Get().(*verifyScratch) }

// putScratch returns sc to the pool, emptied: no personal data waits in
// the pool for the next request.
func (s *Server) putScratch(sc *verifyScratch) {
	sc.ver = registry.Version{}
	clear(sc.shown[:])
	for _, b := range []*[]byte{&sc.degree, &sc.payload, &sc.receipt, &sc.body} {
		clear(*b)
		*b = (*b)[:0]
		if cap(*b) > maxPooledScratch {
			*b = nil
		}
	}
	s.scratch.Put(sc)
}

// receipt is what a receipt signs: exactly what was shown, and when.
type receipt struct {
	Issuer            string              `json:"iss"`
	ID                string              `json:"jti"`
	IssuedAt          int64               `json:"iat"`
	Result            string              `json:"result"`
	Status            string              `json:"status"`
	CertificateNumber string              `json:"certificate_number"`
	Degree            policies.Disclosure `json:"degree"`
	PolicyVersion     string              `json:"policy_version"`
}

// appendJSON is the receipt's payload with degree (r.Degree encoded) in
// its place: the same object json.Marshal(r) writes, without reflection.
func (r *receipt) appendJSON(dst, degree []byte) []byte {
	dst = append(dst, '{')
	dst = appendField(dst, "iss", r.Issuer)
	dst = appendField(dst, "jti", r.ID)
	dst = appendInt(dst, "iat", r.IssuedAt)
	dst = appendField(dst, "result", r.Result)
	dst = appendField(dst, "status", r.Status)
	dst = appendField(dst, "certificate_number", r.CertificateNumber)
	dst = append(dst, `,"degree":`...)
	dst = append(dst, degree...)
	dst = appendField(dst, "policy_version", r.PolicyVersion)
	return append(dst, '}')
}

// decoyName is compared against when a number is unknown, so that an
// unknown number and a wrong name cost the same work.
const decoyName = "\x00no such certificate\x00"

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
		sc.body = ans.appendJSON(sc.body)
		// SetBody copies into Fiber's own pooled buffer, so sc can go back.
		c.Response().SetBody(sc.body)
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
	pp := &s.public
	pc := publicClient{addr: s.clientAddr(c)}
	var checks [2]limitCheck
	n := 0
	if pp.has[0] {
		checks[n] = limitCheck{pp.perAddr, ratelimit.AddrKey(pc.addr)}
		n++
	}
	if pp.has[1] {
		checks[n] = limitCheck{pp.perBlock, ratelimit.BlockKey(pc.addr)}
		n++
	}
	s.take(c, &pc.limits, checks[:n])
	return pc, pc.limits.answer(c)
}

// verifyPublic is public verification, shared by the API and the web
// page, for a client admitPublic let in. An unknown number and a wrong
// name get the same answer — body, status, headers — after the same work,
// so it tells nobody which certificate numbers exist. It sets the
// rate-limit and policy headers on c; errors are Problems. Its answer's
// bytes are in sc.
func (s *Server) verifyPublic(c *fiber.Ctx, pc publicClient, req verifyRequest, sc *verifyScratch) (publicAnswer, error) {
	pp := &s.public
	if errs := req.normalise(); errs != nil {
		return publicAnswer{}, invalid(errs)
	}
	addr := pc.addr
	if pp.has[2] {
		s.take(c, &pc.limits, []limitCheck{{pp.perCert, ratelimit.CertificateKey(req.CertificateNumber)}})
		if err := pc.limits.answer(c); err != nil {
			return publicAnswer{}, err
		}
	}
	c.Set("Degreegate-Policy-Version", pp.decision.PolicyVersion)

	var err error
	sc.ver, err = s.lookup(c.UserContext(), req.CertificateNumber)
	found := err == nil
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return publicAnswer{}, fmt.Errorf("public verify: lookup: %w", err)
	}
	stored := decoyName
	if found {
		stored = sc.ver.Record.Name
	}
	match := nameMatches(req.Name, stored, found) && answerable(sc.ver.Record.Status)

	now := s.deps.Now()
	entry := registry.AuditEntry{
		At: now, Actor: s.addressActor(addr), Action: "verify.public",
		RecordRef: req.CertificateNumber, Purpose: "public_verification",
	}
	if !match {
		entry.Detail = `{"result":"no_match"}`
		if err := s.deps.Audit.Record(entry); err != nil {
			return publicAnswer{}, problemAuditDown
		}
		return publicAnswer{}, nil
	}

	rec := &sc.ver.Record
	shown, err := pp.decision.AppendApplied(sc.shown[:0], func(name string) (string, bool) { return recordfile.Value(rec, name) }, policies.ApplyOptions{})
	if err != nil {
		return publicAnswer{}, fmt.Errorf("public verify: apply policy: %w", err)
	}
	status := "valid"
	if rec.Status == registry.StatusRevoked {
		status = "revoked"
	}
	// The degree is encoded once, for the receipt and for the answer.
	sc.degree = appendShown(sc.degree[:0], shown)
	rc := receipt{
		Issuer: "degreegate", ID: newID(), IssuedAt: now.Unix(), Result: "match", Status: status,
		CertificateNumber: req.CertificateNumber, PolicyVersion: pp.decision.PolicyVersion,
	}
	detail := make([]byte, 0, 256)
	detail = append(detail, `{"result":"match","fields":`...)
	detail = appendFieldNames(detail, shown)
	detail = appendField(detail, "receipt", rc.ID)
	detail = appendField(detail, "policy_version", rc.PolicyVersion)
	entry.Detail = string(append(detail, '}'))
	// Audited before anything is shown: no trail, no data.
	if err := s.deps.Audit.Record(entry); err != nil {
		return publicAnswer{}, problemAuditDown
	}
	sc.payload = rc.appendJSON(sc.payload[:0], sc.degree)
	sc.receipt = s.deps.Receipts.AppendJWS(sc.receipt[:0], sc.payload)
	return publicAnswer{match: true, status: status, shown: shown, degree: sc.degree, receipt: sc.receipt}, nil
}

// addressActor is how a public caller appears in the audit trail: a keyed
// hash of its address, so the trail can link one caller's requests
// without holding the address.
func (s *Server) addressActor(a netip.Addr) string {
	m := s.addrMACs.Get().(*addressMAC)
	m.mac.Reset()
	// Buffers live in the pooled state: passed to the hash interface,
	// local arrays would move to the heap on every call.
	m.in, _ = a.AppendBinary(m.in[:0])
	m.mac.Write(m.in)
	m.sum = m.mac.Sum(m.sum[:0])
	var out [len("public:") + 16]byte
	copy(out[:], "public:")
	b32.Encode(out[len("public:"):], m.sum[:10])
	// Like the verification scratch, the state goes back holding no
	// caller's address.
	clear(m.in)
	s.addrMACs.Put(m)
	return string(out[:])
}

// addressMAC is an HMAC keyed with Deps.AddressKey and its buffers.
type addressMAC struct {
	mac hash.Hash
	in  []byte // the address in binary form, with room for a zone
	sum []byte
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID is a 128-bit random identifier.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return b32.EncodeToString(b[:])
}
