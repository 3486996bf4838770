package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// sharedReport is what a share code shows: the report the holder chose to
// share, masked by the holder_code policy at the code's level, with a
// signed receipt. The JSON route and the web page both render it.
type sharedReport struct {
	Result            string              `json:"result"` // always "shared"
	Status            string              `json:"status"` // valid | revoked
	CertificateNumber string              `json:"certificate_number"`
	Level             string              `json:"level"`
	LevelDescription  policies.Text       `json:"level_description"`
	Degree            policies.Disclosure `json:"degree"`
	ExpiresAt         time.Time           `json:"expires_at"`
	PolicyVersion     string              `json:"policy_version"`
	Receipt           string              `json:"receipt"`
	// rules are the decision's field rules, for the page's privacy note.
	rules []policies.FieldRule
}

// viewSharedReport shows the report behind a share code; the JSON route
// and the web page (GET /code/{code}) both call it. It applies the
// holder_code limits (per address, per block, per code), checks the
// code's shape, and asks disclose.Service.SharedReport, which counts the
// view, audits it and signs a receipt. It sets the rate-limit,
// policy-version and no-store headers on c. Errors are Problems: 400 for
// a code of the wrong shape, 404 code-not-found, 410 code-expired or
// code-withdrawn, 429, 503.
//
// Expired and withdrawn codes get their own answers rather than a 404:
// nobody can find such a code by guessing (2^100), so telling them apart
// from unknown codes teaches a guesser nothing, while it tells the person
// the holder gave the code to what to do (ask for a new one).
func (s *Server) viewSharedReport(c *fiber.Ctx, code string) (sharedReport, error) {
	// The code is a bearer secret in the URL: keep it out of caches and
	// out of Referer headers of any link on the page.
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	addr := s.clientAddr(c)
	canon, wellFormed := disclose.CanonicalCode(code)
	var ref disclose.CodeRef
	if wellFormed {
		ref = disclose.CodeRefOf(canon)
	}
	if err := s.limit(c, s.limits.holderCode(addr, ref.ID)); err != nil {
		return sharedReport{}, err
	}
	if !wellFormed {
		return sharedReport{}, invalid(map[string]string{"code": fmt.Sprintf("want %d letters and digits (no 0, 1, I or O), '-' allowed", disclose.CodeLength)})
	}
	viewer := disclose.Principal{Actor: s.disclose.PublicActor(addr), Decide: func(scope policies.Scope, level string) (policies.Decision, error) {
		d, err := s.deps.Policy.Decide(policies.Request{Audience: policies.HolderCode, Scope: scope, Level: level})
		c.Set("Degreegate-Policy-Version", s.deps.Policy.Version())
		// A refusal here means the policy no longer offers the code's level.
		return d, policyProblem(err, fiber.StatusForbidden, "The policy no longer allows this report")
	}}
	rep, err := s.disclose.SharedReport(c.UserContext(), viewer, ref)
	if err != nil {
		return sharedReport{}, disclosureProblem(err)
	}
	return sharedReport{
		Result: "shared", Status: rep.Status, CertificateNumber: rep.CertificateNumber, Level: rep.Level,
		LevelDescription: s.levelDescription(rep.Level), Degree: rep.Degree, ExpiresAt: second(rep.ExpiresAt),
		PolicyVersion: rep.PolicyVersion, Receipt: rep.Receipt, rules: rep.Rules,
	}, nil
}

func (s *Server) handleSharedReport() fiber.Handler {
	return func(c *fiber.Ctx) error {
		rep, err := s.viewSharedReport(c, c.Params("code"))
		if err != nil {
			return err
		}
		return c.JSON(rep)
	}
}

type codeSummary struct {
	ID          string     `json:"id"`
	Level       string     `json:"level"`
	State       string     `json:"state"` // active | expired | withdrawn
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	WithdrawnAt *time.Time `json:"withdrawn_at,omitempty"`
	Views       int64      `json:"views"`
}

type issueCodeRequest struct {
	CertificateNumber string `json:"certificate_number"`
	Level             string `json:"level,omitempty"`
	// ValidFor is a Go duration ("72h", "90m"), whole days ("7d"), or a
	// number of seconds; absent means the policy's default.
	ValidFor json.RawMessage `json:"valid_for,omitempty"`
}

type issuedCode struct {
	// Code is shown this once; only its hash is kept.
	Code              string        `json:"code"`
	ID                string        `json:"id"`
	CertificateNumber string        `json:"certificate_number"`
	Level             string        `json:"level"`
	LevelDescription  policies.Text `json:"level_description"`
	CreatedAt         time.Time     `json:"created_at"`
	ExpiresAt         time.Time     `json:"expires_at"`
	// URL is the JSON view, PageURL the web page; both relative to this
	// service, so that no Host header can redirect them.
	URL           string `json:"url"`
	PageURL       string `json:"page_url"`
	PolicyVersion string `json:"policy_version"`
}

func (s *Server) handleIssueCode() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := principal(c)
		issued, err := s.disclose.IssueCode(c.UserContext(), s.principalFor(c, ""),
			disclose.Holder{IDType: registry.IDType(p.IDType), IDNumber: p.IDNumber}, readCodeRequest(c))
		if err != nil {
			return disclosureProblem(err)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Location("/v1/verify/" + issued.Code)
		return c.Status(fiber.StatusCreated).JSON(issuedCode{
			Code: issued.Code, ID: issued.ID, CertificateNumber: issued.CertificateNumber, Level: issued.Level,
			LevelDescription: s.levelDescription(issued.Level), CreatedAt: second(issued.CreatedAt), ExpiresAt: second(issued.ExpiresAt),
			URL: "/v1/verify/" + issued.Code, PageURL: "/code/" + issued.Code, PolicyVersion: issued.PolicyVersion,
		})
	}
}

// readCodeRequest reads POST /v1/holder/codes's body; what it cannot read
// is the request's Unreadable.
func readCodeRequest(c *fiber.Ctx) disclose.CodeRequest {
	var req issueCodeRequest
	if err := decodeJSON(c, &req); err != nil {
		return disclose.CodeRequest{Unreadable: err}
	}
	errs := map[string]string{}
	out := disclose.CodeRequest{CertificateNumber: strings.ToUpper(strings.TrimSpace(req.CertificateNumber)), Level: req.Level}
	if why := disclose.CheckCertificateNumber(out.CertificateNumber); why != "" {
		errs["certificate_number"] = why
	}
	if req.Level != "" {
		if why := disclose.CheckText(req.Level, 32); why != "" {
			errs["level"] = why
		}
	}
	validity, why := parseValidFor(req.ValidFor)
	if why != "" {
		errs["valid_for"] = why
	}
	out.ValidFor = validity
	if len(errs) > 0 {
		out.Unreadable = invalid(errs)
	}
	return out
}

// parseValidFor reads valid_for: absent or null → 0 (the policy default);
// a JSON number of whole seconds; or a string holding a Go duration or
// whole days ("7d"). It returns why the value is unusable, or "".
func parseValidFor(raw json.RawMessage) (time.Duration, string) {
	const want = `want seconds, a duration such as "72h", or days such as "7d"`
	if len(raw) == 0 || string(raw) == "null" {
		return 0, ""
	}
	var secs int64
	if err := json.Unmarshal(raw, &secs); err == nil {
		if secs <= 0 || secs > int64(366*24*time.Hour/time.Second) {
			return 0, "must be a positive number of seconds, at most a year"
		}
		return time.Duration(secs) * time.Second, ""
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil || text == "" || len(text) > 16 {
		return 0, want
	}
	if days, ok := strings.CutSuffix(text, "d"); ok {
		n := 0
		for i := 0; i < len(days); i++ {
			if days[i] < '0' || days[i] > '9' {
				return 0, want
			}
			n = n*10 + int(days[i]-'0')
		}
		if days == "" || n <= 0 || n > 366 {
			return 0, "must be between 1d and 366d"
		}
		return time.Duration(n) * 24 * time.Hour, ""
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, want
	}
	if d <= 0 || d > 366*24*time.Hour {
		return 0, "must be positive, at most a year"
	}
	return d, ""
}

// handleWithdrawCode withdraws a code the holder issued, named by the
// code itself or by the id that the degree listing shows (a holder who
// lost a code can still withdraw it).
func (s *Server) handleWithdrawCode() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := principal(c)
		err := s.disclose.WithdrawCode(c.UserContext(), s.principalFor(c, ""),
			disclose.Holder{IDType: registry.IDType(p.IDType), IDNumber: p.IDNumber}, readCodeName(c.Params("code")))
		if err != nil {
			return disclosureProblem(err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// readCodeName reads a code or a code's id from the path.
func readCodeName(param string) disclose.CodeName {
	if canon, ok := disclose.CanonicalCode(param); ok {
		ref := disclose.CodeRefOf(canon)
		return disclose.CodeName{Code: &ref}
	}
	if disclose.IsCodeID(param) {
		return disclose.CodeName{ID: strings.ToLower(param)}
	}
	return disclose.CodeName{Unreadable: invalid(map[string]string{"code": fmt.Sprintf("want the %d-character code or its %d-character id", disclose.CodeLength, disclose.CodeIDLength)})}
}

func summariseCode(sc registry.ShareCode, now time.Time) codeSummary {
	out := codeSummary{ID: disclose.CodeID(sc.Hash), Level: sc.Level, State: "active", CreatedAt: second(sc.CreatedAt), ExpiresAt: second(sc.ExpiresAt), Views: sc.Views}
	switch {
	case sc.Withdrawn():
		w := second(sc.WithdrawnAt)
		out.State, out.WithdrawnAt = "withdrawn", &w
	case sc.Expired(now):
		out.State = "expired"
	}
	return out
}

// levelDescription is the policy's description of a code level.
func (s *Server) levelDescription(level string) policies.Text {
	for _, l := range s.deps.Policy.HolderCodes().Levels {
		if l.Name == level {
			return l.Description
		}
	}
	return policies.Text{}
}

// second is t as answers give a time a person reads: RFC 3339 in UTC, to
// the second (an audit entry's instant goes to the millisecond). Every
// JSON time of the API is one of the two.
func second(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }
