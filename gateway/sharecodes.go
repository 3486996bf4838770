package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// Share codes (Art. 22): a holder shares a fuller report of one
// certificate through a time-limited code (POST /v1/holder/codes) and
// withdraws it (DELETE /v1/holder/codes/{code}); anyone holding it sees
// the report at the level the holder chose (GET /v1/verify/{code}).
//
// A code is 20 characters from a 32-letter alphabet, 100 bits from
// crypto/rand, shown in four groups of five (e.g. 7KQ4M-XW2ZP-…). The
// alphabet leaves out 0, 1, I and O, so nothing a reader copies can be
// ambiguous, and input is case-insensitive with '-' and ' ' ignored.
// Why 100 bits and not the minimum 80: codes are guessed online only, and
// the per-address and per-block limits are the defence. A botnet spread
// over a million /24 blocks at the policy's block rate makes ~10^7 guesses
// a second; against a million live codes 80 bits would fall in about a
// year of such effort, 100 bits in a million years. The extra four
// characters are cheap in a link or a QR code.
//
// Only the SHA-256 of a code is stored. A plain hash is enough here: the
// preimage space is 2^100, so a copy of the table yields no working code.

const (
	codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" // 32 letters: 5 bits each
	codeLength   = 20                                 // 100 bits
	codeGroup    = 5
	// maxCodeInput bounds what is read as a code before anything else.
	maxCodeInput = 64
	// codeIDLength is the hex length of a code's id: the first 8 bytes of
	// its hash, a handle for listings and the audit trail that does not
	// reveal the code (finding a code from it is a 2^100 search).
	codeIDLength = 16
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
	canon, wellFormed := canonicalCode(code)
	var ref disclose.CodeRef
	if wellFormed {
		ref.Hash, ref.ID = codeHash(canon)
	}
	if err := s.limit(c, s.limits.holderCode(addr, ref.ID)); err != nil {
		return sharedReport{}, err
	}
	if !wellFormed {
		return sharedReport{}, invalid(map[string]string{"code": fmt.Sprintf("want %d letters and digits (no 0, 1, I or O), '-' allowed", codeLength)})
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
		LevelDescription: s.levelDescription(rep.Level), Degree: rep.Degree, ExpiresAt: rep.ExpiresAt,
		PolicyVersion: rep.PolicyVersion, Receipt: rep.Receipt,
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
		d, err := s.decide(c, policies.ScopeHolderCodes, "", "")
		if err != nil {
			return err
		}
		if s.deps.Codes == nil {
			return problemCodesDown
		}
		var req issueCodeRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		errs := map[string]string{}
		req.CertificateNumber = strings.ToUpper(strings.TrimSpace(req.CertificateNumber))
		if why := disclose.CheckCertificateNumber(req.CertificateNumber); why != "" {
			errs["certificate_number"] = why
		}
		if req.Level != "" {
			if why := checkText(req.Level, 32); why != "" {
				errs["level"] = why
			}
		}
		validity, why := parseValidFor(req.ValidFor)
		if why != "" {
			errs["valid_for"] = why
		}
		if len(errs) > 0 {
			return invalid(errs)
		}
		level, validity, err := s.deps.Policy.CheckHolderCode(req.Level, validity)
		if errors.As(err, new(*policies.DeniedError)) {
			// The holder's choice is out of the policy's range: a bad
			// request, answered with the bounds to choose within.
			return policyProblem(err, fiber.StatusBadRequest, "The code's level or validity is outside the policy")
		} else if err != nil {
			return fmt.Errorf("issue code: policy: %w", err)
		}
		h, err := s.holderOf(c)
		if err != nil {
			return err
		}
		ctx := c.UserContext()
		if err := s.ownsCertificate(c, h, req.CertificateNumber); err != nil {
			return err
		}
		now := s.deps.Now()
		maxActive := s.deps.Policy.HolderCodes().MaxActive
		var code, id string
		sc := registry.ShareCode{CertificateNumber: req.CertificateNumber, Owner: h.owner, Level: level,
			CreatedAt: now, ExpiresAt: now.Add(validity)}
		for attempt := 0; ; attempt++ {
			code = newShareCode()
			sc.Hash, id = codeHash(code)
			// The store counts the holder's unexpired codes and inserts in
			// one step, so racing requests cannot pass the bound together.
			err = s.deps.Codes.PutShareCode(ctx, sc, maxActive)
			if !errors.Is(err, registry.ErrDuplicate) || attempt == 2 {
				break
			}
		}
		if errors.Is(err, registry.ErrTooManyCodes) {
			return problemTooManyCodes.with(fmt.Sprintf("at most %d unexpired codes; withdraw one first", maxActive))
		}
		if err != nil {
			return fmt.Errorf("issue code: store: %w", err)
		}
		if err := s.deps.Audit.Record(s.holderEntry(h, now, actionCodeIssue, req.CertificateNumber, d, map[string]any{
			"code": id, "level": level, "expires_at": sc.ExpiresAt.UTC().Format(time.RFC3339),
		})); err != nil {
			// Unaudited, the code must not work: take it back.
			if werr := s.deps.Codes.WithdrawShareCode(ctx, sc.Hash, h.owner, now); werr != nil {
				s.deps.Logger.Error("issue code: withdraw unaudited code", "code_id", id, "err", werr)
			}
			return problemAuditDown
		}
		display := groupCode(code)
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Location("/v1/verify/" + display)
		return c.Status(fiber.StatusCreated).JSON(issuedCode{
			Code: display, ID: id, CertificateNumber: req.CertificateNumber, Level: level,
			LevelDescription: s.levelDescription(level), CreatedAt: sc.CreatedAt.UTC(), ExpiresAt: sc.ExpiresAt.UTC(),
			URL: "/v1/verify/" + display, PageURL: "/code/" + display, PolicyVersion: d.PolicyVersion,
		})
	}
}

// ownsCertificate answers 404 unless the holder has a record with this
// number that a code may show: one answer for a number that does not
// exist and one that is someone else's, so no holder can probe either.
func (s *Server) ownsCertificate(c *fiber.Ctx, h holderCaller, number string) error {
	entries, err := s.deps.Registry.ByPerson(c.UserContext(), h.idType, h.idNum)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return fmt.Errorf("issue code: lookup: %w", err)
	}
	for _, e := range entries {
		if e.Record.CertificateNumber == number {
			if _, ok := disclose.Status(e.Record.Status); ok {
				return nil
			}
		}
	}
	return problemNotYourCert
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
// lost a code can still withdraw it). Unknown and someone else's codes
// get the same 404. Withdrawing twice succeeds.
func (s *Server) handleWithdrawCode() fiber.Handler {
	return func(c *fiber.Ctx) error {
		d, err := s.decide(c, policies.ScopeHolderCodes, "", "")
		if err != nil {
			return err
		}
		if s.deps.Codes == nil {
			return problemCodesDown
		}
		h, err := s.holderOf(c)
		if err != nil {
			return err
		}
		ctx := c.UserContext()
		param := c.Params("code")
		var sc registry.ShareCode
		found := false
		if canon, ok := canonicalCode(param); ok {
			hash, _ := codeHash(canon)
			sc, err = s.deps.Codes.ShareCode(ctx, hash)
			switch {
			case errors.Is(err, registry.ErrNotFound):
			case err != nil:
				return fmt.Errorf("withdraw code: %w", err)
			default:
				found = hmac.Equal(sc.Owner, h.owner)
			}
		} else if isCodeID(param) {
			codes, err := s.deps.Codes.ShareCodesOf(ctx, h.owner)
			if err != nil {
				return fmt.Errorf("withdraw code: list: %w", err)
			}
			want := strings.ToLower(param)
			for _, x := range codes {
				if hex.EncodeToString(x.Hash[:codeIDLength/2]) == want {
					sc, found = x, true
					break
				}
			}
		} else {
			return invalid(map[string]string{"code": fmt.Sprintf("want the %d-character code or its %d-character id", codeLength, codeIDLength)})
		}
		if !found {
			return problemCodeNotFound
		}
		now := s.deps.Now()
		_, id := codeHashID(sc.Hash)
		// Audited first; if the trail refuses, nothing changes and the
		// holder may simply retry.
		if err := s.deps.Audit.Record(s.holderEntry(h, now, actionCodeWithdraw, sc.CertificateNumber, d,
			map[string]any{"code": id})); err != nil {
			return problemAuditDown
		}
		err = s.deps.Codes.WithdrawShareCode(ctx, sc.Hash, h.owner, now)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			return problemCodeNotFound
		case err != nil:
			return fmt.Errorf("withdraw code: %w", err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// newShareCode returns a fresh code in canonical form: 20 letters from
// codeAlphabet, each from one random byte (256 is a multiple of 32, so
// every letter is equally likely).
func newShareCode() string {
	var b [codeLength]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	for i := range b {
		b[i] = codeAlphabet[b[i]&31]
	}
	return string(b[:])
}

// groupCode shows a canonical code in groups of five joined by '-'.
func groupCode(canon string) string {
	var sb strings.Builder
	for i := 0; i < len(canon); i += codeGroup {
		if i > 0 {
			sb.WriteByte('-')
		}
		sb.WriteString(canon[i:min(i+codeGroup, len(canon))])
	}
	return sb.String()
}

// canonicalCode reads a code as a person may type it: any case, with '-'
// or ' ' anywhere. ok is false for anything that is not exactly
// codeLength letters of the alphabet.
func canonicalCode(s string) (string, bool) {
	if len(s) > maxCodeInput {
		return "", false
	}
	var b [codeLength]byte
	n := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '-' || ch == ' ':
			continue
		case 'a' <= ch && ch <= 'z':
			ch -= 'a' - 'A'
		}
		if n == codeLength || strings.IndexByte(codeAlphabet, ch) < 0 {
			return "", false
		}
		b[n] = ch
		n++
	}
	if n != codeLength {
		return "", false
	}
	return string(b[:]), true
}

// codeHash is the stored SHA-256 of a canonical code and its id.
func codeHash(canon string) ([]byte, string) {
	sum := sha256.Sum256([]byte(canon))
	return codeHashID(sum[:])
}

func codeHashID(hash []byte) ([]byte, string) {
	return hash, disclose.CodeID(hash)
}

// isCodeID reports whether s has the shape of a code id.
func isCodeID(s string) bool {
	if len(s) != codeIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower-case letters; digits unchanged
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func summariseCode(sc registry.ShareCode, now time.Time) codeSummary {
	_, id := codeHashID(sc.Hash)
	out := codeSummary{ID: id, Level: sc.Level, State: "active", CreatedAt: sc.CreatedAt.UTC(), ExpiresAt: sc.ExpiresAt.UTC(), Views: sc.Views}
	switch {
	case sc.Withdrawn():
		w := sc.WithdrawnAt.UTC()
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
