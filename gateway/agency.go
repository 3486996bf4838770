package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordfile"
)

// The agency data-sharing interface (Art. 20, 22): government bodies,
// public institutions and degree-granting units verify one record or a
// batch, for a declared purpose, and see the fields the policy grants
// them. Each item is answered on its own; each item answered from the
// registry is on the audit trail before the answer leaves.

// agencyRoutes registers POST /v1/agency/verify, which takes JSON or a
// spreadsheet (agency_sheet.go) and answers in kind.
func (s *Server) agencyRoutes() {
	s.app.Post("/v1/agency/verify", s.authenticate(token.AudienceAgency), s.handleAgencyVerify())
}

// Problems of the agency interface, beyond those decide returns.
var (
	problemQuotaExhausted = &Problem{Type: "/problems/quota-exhausted", Title: "The organisation's daily quota is used up", Status: fiber.StatusTooManyRequests}
	problemQuotaDown      = &Problem{Type: "/problems/quota-unavailable", Title: "The daily quota cannot be counted: nothing is served uncounted", Status: fiber.StatusServiceUnavailable}
	problemReplayDown     = &Problem{Type: "/problems/replay-check-unavailable", Title: "Token reuse cannot be checked: the batch is refused", Status: fiber.StatusServiceUnavailable}
	problemTokenReplayed  = &Problem{Type: "/problems/token-replayed", Title: "This single-use token was used before", Status: fiber.StatusUnauthorized}
	problemJTIRequired    = &Problem{Type: "/problems/jti-required", Title: "A batch needs a single-use token (with a jti)", Status: fiber.StatusUnauthorized}
	problemAgencyMedia    = &Problem{Type: "/problems/unsupported-media-type", Title: "Send application/json, text/csv, an XLSX workbook or multipart/form-data", Status: fiber.StatusUnsupportedMediaType}
)

// agencyQuery is one item: a certificate number and a name, or an
// identity document (type and number) and a name.
type agencyQuery struct {
	CertificateNumber string `json:"certificate_number,omitempty"`
	IDType            string `json:"id_type,omitempty"`
	IDNumber          string `json:"id_number,omitempty"`
	Name              string `json:"name"`
}

type agencyRequest struct {
	Purpose string        `json:"purpose"`
	Queries []agencyQuery `json:"queries"`
}

// agencyMatch is one record that answered an item.
type agencyMatch struct {
	Status string              `json:"status"`
	Degree policies.Disclosure `json:"degree"`
}

// agencyItem answers one query. Items by certificate number carry
// status and degree; items by identity document carry degrees, one per
// record of that person under that name.
type agencyItem struct {
	Index   int                 `json:"index"`
	Result  string              `json:"result"` // match, no_match or invalid
	Status  string              `json:"status,omitempty"`
	Degree  policies.Disclosure `json:"degree,omitempty"`
	Degrees []agencyMatch       `json:"degrees,omitempty"`
	Errors  map[string]string   `json:"errors,omitempty"`
}

type agencyResponse struct {
	PolicyVersion string       `json:"policy_version"`
	RequestID     string       `json:"request_id"`
	Purpose       string       `json:"purpose"`
	Results       []agencyItem `json:"results"`
}

// agencyAnswer is a response with what a spreadsheet answer also needs:
// the fields the policy could disclose, in contract order.
type agencyAnswer struct {
	agencyResponse
	fields []string
}

const (
	resultMatch   = "match"
	resultNoMatch = "no_match"
	resultInvalid = "invalid"
)

func (s *Server) handleAgencyVerify() fiber.Handler {
	return func(c *fiber.Ctx) error {
		// Every answer names the policy, refusals before a decision too.
		c.Set("Degreegate-Policy-Version", s.deps.Policy.Version())
		// Rate limits count calls and come first, before any parsing.
		if err := s.limit(c, s.agencyLimits(principal(c))); err != nil {
			return err
		}
		mt, _, err := mime.ParseMediaType(string(c.Request().Header.ContentType()))
		if err != nil {
			return problemAgencyMedia
		}
		switch mt {
		case fiber.MIMEApplicationJSON:
			var req agencyRequest
			if err := decodeJSON(c, &req); err != nil {
				return err
			}
			ans, err := s.answerAgency(c, req.Purpose, req.Queries)
			if err != nil {
				return err
			}
			return c.JSON(ans.agencyResponse)
		case mimeCSV, mimeXLSX, fiber.MIMEMultipartForm:
			return s.handleAgencySheet(c, mt)
		}
		return problemAgencyMedia
	}
}

// agencyLimits are the policy's per-call limits for this caller.
func (s *Server) agencyLimits(p token.Principal) []limitCheck {
	l := s.deps.Policy.Limits(policies.Agency)
	checks := make([]limitCheck, 0, 3)
	if r, ok := rule("agency.org", l.PerOrg); ok {
		checks = append(checks, limitCheck{r, ratelimit.NameKey("org:" + p.Org)})
	}
	if r, ok := rule("agency.subject", l.PerSubject); ok {
		// The issuer is part of the key: two identity providers may
		// well name different officers alike.
		checks = append(checks, limitCheck{r, ratelimit.NameKey("sub:" + p.Issuer + "\x00" + p.Subject)})
	}
	return checks
}

// checkedQuery is a query after normalisation: which lookup it needs, or
// why it is invalid.
type checkedQuery struct {
	byID   bool
	cert   string
	index  []byte // person blind index, for byID
	name   string
	errors map[string]string
}

// answerAgency answers a batch whatever format it came in. It sets the
// policy, rate-limit and quota headers on c; errors are Problems, except
// internal failures.
func (s *Server) answerAgency(c *fiber.Ctx, purpose string, queries []agencyQuery) (agencyAnswer, error) {
	n := len(queries)
	if n == 0 {
		return agencyAnswer{}, invalid(map[string]string{"queries": "required: at least one query"})
	}
	if why := checkText(purpose, 64); why != "" {
		return agencyAnswer{}, invalid(map[string]string{"purpose": why})
	}
	scope := policies.ScopeVerify
	if n > 1 {
		scope = policies.ScopeVerifyBatch
	}
	d, err := s.decide(c, scope, purpose, "")
	if err != nil {
		return agencyAnswer{}, err
	}
	if err := d.CheckBatch(n); err != nil {
		return agencyAnswer{}, deniedProblem(err, fiber.StatusBadRequest)
	}
	checked := make([]checkedQuery, n)
	anyByID := false
	for i := range queries {
		checked[i] = s.checkQuery(queries[i])
		anyByID = anyByID || (checked[i].byID && checked[i].errors == nil)
	}
	// Items by identity document need their own scope, and are answered
	// with its fields.
	dID := d
	if anyByID {
		if dID, err = s.decide(c, policies.ScopeVerifyByID, purpose, ""); err != nil {
			return agencyAnswer{}, err
		}
	}
	p := principal(c)
	if d.RequireJTI {
		if err := s.requireFreshJTI(c, p); err != nil {
			return agencyAnswer{}, err
		}
	}
	certs, persons, err := s.lookupAgency(c, checked)
	if err != nil {
		return agencyAnswer{}, err
	}

	requestID := newID()
	au := agencyAudit{
		actor: "org:" + p.Org + "/sub:" + p.Subject, purpose: d.Purpose, request: requestID,
		at: s.deps.Now(),
	}
	resp := agencyResponse{PolicyVersion: d.PolicyVersion, RequestID: requestID, Purpose: d.Purpose, Results: make([]agencyItem, n)}
	entries := make([]registry.AuditEntry, 0, n)
	for i, q := range checked {
		item := agencyItem{Index: i}
		switch {
		case q.errors != nil:
			item.Result, item.Errors = resultInvalid, q.errors
		case q.byID:
			for _, v := range persons[string(q.index)] {
				if !nameMatches(q.name, v.Record.Name, true) || !answerable(v.Record.Status) {
					continue
				}
				m, err := s.disclose(dID, v)
				if err != nil {
					return agencyAnswer{}, err
				}
				item.Degrees = append(item.Degrees, m)
				entries = append(entries, au.entry(i, dID, "id", v.CertificateNumber, m.Degree))
			}
			item.Result = resultMatch
			if len(item.Degrees) == 0 {
				item.Result = resultNoMatch
				// No record reference: the only one would be the ID
				// number, which the trail never holds.
				entries = append(entries, au.entry(i, dID, "id", "", nil))
			}
		default:
			v, found := certs[q.cert]
			stored := decoyName
			if found {
				stored = v.Record.Name
			}
			if !nameMatches(q.name, stored, found) || !answerable(v.Record.Status) {
				item.Result = resultNoMatch
				entries = append(entries, au.entry(i, d, "certificate_number", q.cert, nil))
				break
			}
			m, err := s.disclose(d, v)
			if err != nil {
				return agencyAnswer{}, err
			}
			item.Result, item.Status, item.Degree = resultMatch, m.Status, m.Degree
			entries = append(entries, au.entry(i, d, "certificate_number", q.cert, m.Degree))
		}
		resp.Results[i] = item
	}
	// The quota is charged once the registry has answered, not before:
	// a lookup or an opening that fails uses none of the day's items,
	// and nothing has left yet, so a refusal here still discloses
	// nothing. Rate limits, taken first, bound the lookups a caller over
	// quota can cause.
	refund, err := s.takeQuota(c, p.Org, int64(n), d.Limits.DailyQuotaPerOrg)
	if err != nil {
		return agencyAnswer{}, err
	}
	// Audited before anything is shown: no trail, no data. All the
	// batch's entries or none, since a refusal shows nothing, and then
	// the items it charged are given back: the gateway's failure is not
	// the caller's to pay for.
	if err := s.deps.Audit.RecordBatch(entries); err != nil {
		if refund != nil {
			refund()
		}
		return agencyAnswer{}, problemAuditDown
	}
	return agencyAnswer{agencyResponse: resp, fields: disclosableFields(d, dID, anyByID)}, nil
}

// deniedProblem turns a policy refusal that decide did not make (a batch
// check) into a Problem.
func deniedProblem(err error, status int) error {
	var denied *policies.DeniedError
	if !errors.As(err, &denied) {
		return err
	}
	return &Problem{Type: "/problems/" + denied.Code(), Title: "The policy does not allow this",
		Status: status, Detail: denied.Detail, PolicyVersion: denied.PolicyVersion}
}

// checkQuery normalises one query and says what is wrong with it, naming
// fields and rules, never values.
func (s *Server) checkQuery(q agencyQuery) checkedQuery {
	errs := map[string]string{}
	out := checkedQuery{}
	if why := checkText(q.Name, 64); why != "" {
		errs["name"] = why
	}
	out.name = registry.NormalizeName(q.Name)
	hasCert := strings.TrimSpace(q.CertificateNumber) != ""
	hasID := strings.TrimSpace(q.IDType) != "" || strings.TrimSpace(q.IDNumber) != ""
	switch {
	case hasCert && hasID:
		errs["certificate_number"] = "give either certificate_number or id_type and id_number, not both"
	case hasCert:
		out.cert = strings.ToUpper(strings.TrimSpace(q.CertificateNumber))
		if why := checkCertificateNumber(out.cert); why != "" {
			errs["certificate_number"] = why
		}
	case hasID:
		out.byID = true
		t := registry.IDType(strings.TrimSpace(q.IDType))
		if !knownIDType(t) {
			errs["id_type"] = "want resident_id, passport, hk_macao_permit, taiwan_permit, foreign_permanent_id or other"
		}
		if why := checkText(q.IDNumber, 32); why != "" {
			errs["id_number"] = why
		} else if num := registry.NormalizeIDNumber(t, q.IDNumber); knownIDType(t) {
			if !registry.ValidIDNumber(t, num) {
				errs["id_number"] = "not a valid number for this id_type"
			} else {
				out.index = s.deps.Registry.Keys().PersonIndex(t, num)
			}
		}
	default:
		errs["certificate_number"] = "required (or id_type and id_number)"
	}
	if len(errs) > 0 {
		out.errors = errs
	}
	return out
}

func knownIDType(t registry.IDType) bool {
	switch t {
	case registry.IDResident, registry.IDPassport, registry.IDHKMacaoPermit, registry.IDTaiwanPermit,
		registry.IDForeignPermanent, registry.IDOther:
		return true
	}
	return false
}

// requireFreshJTI refuses a batch whose token is not single-use or was
// used before. A cache that cannot answer refuses too (fail closed).
func (s *Server) requireFreshJTI(c *fiber.Ctx, p token.Principal) error {
	if s.deps.Replay == nil {
		return problemReplayDown
	}
	err := token.RequireFreshJTI(c.UserContext(), p, s.deps.Replay)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, token.ErrReplayed):
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="degreegate", error="invalid_token", error_description="replayed"`)
		return problemTokenReplayed
	case errors.Is(err, token.ErrInvalidToken):
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="degreegate", error="invalid_token", error_description="missing_claim"`)
		return problemJTIRequired
	}
	s.deps.Logger.Warn("replay cache unavailable", "err", err)
	return problemReplayDown
}

// takeQuota counts n items against the organisation's daily quota; a
// limit of 0 means the policy sets none. refund gives the items back when
// the request cannot be answered after all; it is nil when nothing was
// charged.
func (s *Server) takeQuota(c *fiber.Ctx, org string, n, limit int64) (refund func(), err error) {
	if limit <= 0 {
		return nil, nil
	}
	if s.deps.Quota == nil {
		return nil, problemQuotaDown
	}
	q, err := s.deps.Quota.Take(c.UserContext(), org, n, limit)
	if err != nil {
		s.deps.Logger.Warn("quota unavailable", "err", err)
		return nil, problemQuotaDown
	}
	c.Set("Degreegate-Quota-Limit", strconv.FormatInt(q.Limit, 10))
	c.Set("Degreegate-Quota-Remaining", strconv.FormatInt(q.Remaining, 10))
	if !q.Allowed {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, ceilSeconds(q.Reset))))
		return nil, problemQuotaExhausted.with(fmt.Sprintf("%d items asked, %d left today", n, q.Remaining))
	}
	return func() {
		// The request's own context may be ending with it; the refund
		// gets a short one of its own. If it fails the items stay
		// charged: counted too much, never too little.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.deps.Quota.Refund(ctx, org, n, q.Day); err != nil {
			s.deps.Logger.Warn("quota refund failed", "items", n, "err", err)
			return
		}
		c.Set("Degreegate-Quota-Remaining", strconv.FormatInt(min(q.Remaining+n, q.Limit), 10))
	}, nil
}

// lookupAgency reads every record the valid queries need in at most two
// round trips: the certificates (CurrentMany) and the persons, through
// the blind index (ByPersons).
func (s *Server) lookupAgency(c *fiber.Ctx, qs []checkedQuery) (map[string]registry.Version, map[string][]registry.Version, error) {
	ctx := c.UserContext()
	var numbers []string
	persons := map[string][]registry.Version{}
	for _, q := range qs {
		switch {
		case q.errors != nil:
		case q.byID:
			persons[string(q.index)] = nil
		default:
			numbers = append(numbers, q.cert)
		}
	}
	certs := make(map[string]registry.Version, len(numbers))
	switch len(numbers) {
	case 0:
	case 1:
		// A single certificate goes the public path's way: serve's cache,
		// whose misses are batched with other callers' into few queries
		// (revocations reach it within a second, and it is bypassed while
		// they cannot). Single-item calls are the busy agency traffic; a
		// batch is already one query.
		v, err := s.lookup(ctx, numbers[0])
		switch {
		case err == nil:
			certs[v.CertificateNumber] = v
		case !errors.Is(err, registry.ErrNotFound):
			return nil, nil, fmt.Errorf("agency verify: lookup certificate: %w", err)
		}
	default:
		vs, err := s.deps.Registry.Store().CurrentMany(ctx, numbers)
		if err != nil {
			return nil, nil, fmt.Errorf("agency verify: lookup certificates: %w", err)
		}
		for _, v := range vs {
			certs[v.CertificateNumber] = v
		}
	}
	if len(persons) == 0 {
		return certs, persons, nil
	}
	indexes := make([][]byte, 0, len(persons))
	for k := range persons {
		indexes = append(indexes, []byte(k))
	}
	vs, err := s.deps.Registry.Store().ByPersons(ctx, indexes)
	if err != nil {
		return nil, nil, fmt.Errorf("agency verify: lookup persons: %w", err)
	}
	// In certificate-number order, so each person's degrees are too.
	for _, v := range vs {
		k := string(v.PersonIndex)
		if ps, asked := persons[k]; asked {
			persons[k] = append(ps, v)
		}
	}
	return certs, persons, nil
}

// answerable: only filed and revoked records are answered; states the
// filing workflow will add (submitted, returned …) are not yet the
// registry's word.
func answerable(st registry.Status) bool {
	return st == registry.StatusFiled || st == registry.StatusRevoked
}

// disclose opens a record and masks it for the decision.
func (s *Server) disclose(d policies.Decision, v registry.Version) (agencyMatch, error) {
	rec, err := s.deps.Registry.Keys().Open(v.Sealed)
	if err != nil {
		return agencyMatch{}, fmt.Errorf("agency verify: open record: %w", err)
	}
	shown, err := d.Apply(func(name string) (string, bool) { return recordfile.Value(&rec, name) }, policies.ApplyOptions{})
	if err != nil {
		return agencyMatch{}, fmt.Errorf("agency verify: apply policy: %w", err)
	}
	status := "valid"
	if rec.Status == registry.StatusRevoked {
		status = "revoked"
	}
	return agencyMatch{Status: status, Degree: shown}, nil
}

// agencyAudit builds the entries of one call.
type agencyAudit struct {
	actor, purpose, request string
	at                      time.Time
}

// agencyDetail is the Detail of an agency audit entry: everything an
// official or the holder's access log needs, no personal data.
type agencyDetail struct {
	Request       string   `json:"request"`
	Index         int      `json:"index"`
	Query         string   `json:"query"` // certificate_number or id
	Result        string   `json:"result"`
	Scope         string   `json:"scope"`
	LegalBasis    string   `json:"legal_basis"`
	Fields        []string `json:"fields"`
	PolicyVersion string   `json:"policy_version"`
}

func (a agencyAudit) entry(index int, d policies.Decision, query, ref string, shown policies.Disclosure) registry.AuditEntry {
	result := resultNoMatch
	fields := []string{}
	if shown != nil {
		result, fields = resultMatch, shown.Fields()
	}
	detail, _ := json.Marshal(agencyDetail{
		Request: a.request, Index: index, Query: query, Result: result, Scope: string(d.Scope),
		LegalBasis: d.LegalBasis, Fields: fields, PolicyVersion: d.PolicyVersion,
	})
	return registry.AuditEntry{
		At: a.at, Actor: a.actor, Action: "verify.agency", RecordRef: ref,
		Purpose: a.purpose, Detail: string(detail),
	}
}

// disclosableFields lists every field the call's decisions may show, in
// the contract's order: the columns of a spreadsheet answer.
func disclosableFields(d, dID policies.Decision, byID bool) []string {
	has := map[string]bool{}
	for _, f := range d.Fields() {
		has[f.Field] = true
	}
	if byID {
		for _, f := range dID.Fields() {
			has[f.Field] = true
		}
	}
	out := make([]string, 0, len(has))
	for _, f := range policies.Fields() {
		if has[f.Name] {
			out = append(out, f.Name)
		}
	}
	return out
}
