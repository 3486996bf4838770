package disclose

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// The agency data-sharing interface (Art. 20, 22): government bodies,
// public institutions and degree-granting units verify one record or a
// batch, for a declared purpose, and see the fields the policy grants
// them. Each item is answered on its own; the whole batch is on the
// audit trail before any of it is returned.

// AgencyQuery is one item: a certificate number and a name, or an
// identity document (type and number) and a name.
type AgencyQuery struct {
	CertificateNumber string `json:"certificate_number,omitempty"`
	IDType            string `json:"id_type,omitempty"`
	IDNumber          string `json:"id_number,omitempty"`
	Name              string `json:"name"`
}

// AgencyGuards are the caller's checks that the sequence calls where they
// belong: after the policy has spoken, before anything is looked up
// (FreshToken), and once the registry has answered, before the trail
// (Charge).
type AgencyGuards struct {
	// FreshToken refuses a token that is not single-use or was used
	// before; called only when the policy demands single-use tokens.
	FreshToken func(ctx context.Context) error
	// TokenSpent: the caller has already spent the token (an upload, see
	// AgencyUploadNeedsFreshToken), so FreshToken is not called.
	TokenSpent bool
	// Charge counts n items against the organisation's daily quota of
	// limit items (limit > 0). refund gives them back when the answer
	// cannot be given after all; nil when nothing was charged.
	Charge func(ctx context.Context, n, limit int64) (refund func(), err error)
}

// AgencyMatch is one record that answered an item.
type AgencyMatch struct {
	Status string              `json:"status"`
	Degree policies.Disclosure `json:"degree"`
}

// AgencyItem answers one query. Items by certificate number carry status
// and degree; items by identity document carry degrees, one per record
// of that person under that name.
type AgencyItem struct {
	Index   int                 `json:"index"`
	Result  string              `json:"result"` // match, no_match or invalid
	Status  string              `json:"status,omitempty"`
	Degree  policies.Disclosure `json:"degree,omitempty"`
	Degrees []AgencyMatch       `json:"degrees,omitempty"`
	Errors  map[string]string   `json:"errors,omitempty"`
}

// AgencyResponse is the answer to a batch, as the JSON route sends it.
type AgencyResponse struct {
	PolicyVersion string       `json:"policy_version"`
	RequestID     string       `json:"request_id"`
	Purpose       string       `json:"purpose"`
	Results       []AgencyItem `json:"results"`
}

// AgencyAnswer is a response with what a spreadsheet answer also needs:
// the fields the policy could disclose, in contract order.
type AgencyAnswer struct {
	AgencyResponse
	Fields []string
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

// agencyBatch is one call on its way through the sequence.
type agencyBatch struct {
	p        Principal
	purpose  string
	d, dID   policies.Decision // by certificate; by identity document
	anyByID  bool
	checked  []checkedQuery
	certs    map[string]registry.Version
	persons  map[string][]registry.Version
	response AgencyResponse
	entries  []registry.AuditEntry
}

// Agency answers a batch of queries for a declared purpose. The policy
// decides the batch (ScopeVerify for one item, ScopeVerifyBatch for more)
// and, when any item is by identity document, those items
// (ScopeVerifyByID); the guards run; every record the valid items need is
// read in at most two round trips; each item is matched and masked; the
// quota is charged; and all the batch's entries reach the trail, or none
// and nothing is returned.
func (s *Service) Agency(ctx context.Context, p Principal, purpose string, queries []AgencyQuery, g AgencyGuards) (AgencyAnswer, error) {
	b, err := s.decideAgency(p, purpose, queries)
	if err != nil {
		return AgencyAnswer{}, err
	}
	if b.d.RequireJTI && !g.TokenSpent {
		if err := g.FreshToken(ctx); err != nil {
			return AgencyAnswer{}, err
		}
	}
	if b.certs, b.persons, err = s.lookupAgency(ctx, b.checked); err != nil {
		return AgencyAnswer{}, err
	}
	if err := s.answerItems(b); err != nil {
		return AgencyAnswer{}, err
	}
	// The quota is charged once the registry has answered, not before:
	// a lookup or an opening that fails uses none of the day's items,
	// and nothing has left yet, so a refusal here still discloses
	// nothing. Rate limits, taken first, bound the lookups a caller over
	// quota can cause.
	var refund func()
	if limit := b.d.Limits.DailyQuotaPerOrg; limit > 0 {
		if refund, err = g.Charge(ctx, int64(len(queries)), limit); err != nil {
			return AgencyAnswer{}, err
		}
	}
	// Audited before anything is shown: no trail, no data. All the
	// batch's entries or none, since a refusal shows nothing, and then
	// the items it charged are given back: the gateway's failure is not
	// the caller's to pay for.
	if err := s.deps.Audit.RecordBatch(ctx, b.entries); err != nil {
		if refund != nil {
			refund()
		}
		return AgencyAnswer{}, ErrAuditUnavailable
	}
	return AgencyAnswer{AgencyResponse: b.response, Fields: disclosableFields(b.d, b.dID, b.anyByID)}, nil
}

// AgencyMaxBatch is how many items a call of p may carry: the policy's
// batch limit when it grants p batches for its purpose, else one. A
// reader of uploads bounds its rows by it before the call is decided.
func AgencyMaxBatch(p Principal) int {
	d, err := p.Decide(policies.ScopeVerifyBatch, "")
	if err != nil || d.MaxBatch < 1 {
		return 1
	}
	return d.MaxBatch
}

// AgencyUploadNeedsFreshToken reports whether an uploaded sheet of p
// must spend a single-use token before it is read: a sheet is a batch
// whatever rows it turns out to hold, and reading a workbook costs
// enough that a token must not pay for more than one, not even of a
// sheet without rows. The caller spends it and tells Agency so
// (AgencyGuards.TokenSpent).
func AgencyUploadNeedsFreshToken(p Principal) bool {
	d, err := p.Decide(policies.ScopeVerifyBatch, "")
	return err == nil && d.RequireJTI
}

// decideAgency checks the call's shape, asks the policy, and normalises
// every item.
func (s *Service) decideAgency(p Principal, purpose string, queries []AgencyQuery) (*agencyBatch, error) {
	n := len(queries)
	if n == 0 {
		return nil, &InvalidError{map[string]string{"queries": "required: at least one query"}}
	}
	if why := CheckText(purpose, 64); why != "" {
		return nil, &InvalidError{map[string]string{"purpose": why}}
	}
	scope := policies.ScopeVerify
	if n > 1 {
		scope = policies.ScopeVerifyBatch
	}
	d, err := p.Decide(scope, "")
	if err != nil {
		return nil, err
	}
	if err := d.CheckBatch(n); err != nil {
		var denied *policies.DeniedError
		if errors.As(err, &denied) {
			return nil, &BatchError{denied}
		}
		return nil, err
	}
	b := &agencyBatch{p: p, purpose: purpose, d: d, dID: d, checked: make([]checkedQuery, n)}
	for i := range queries {
		b.checked[i] = s.checkQuery(queries[i])
		b.anyByID = b.anyByID || (b.checked[i].byID && b.checked[i].errors == nil)
	}
	// Items by identity document need their own scope, and are answered
	// with its fields.
	if b.anyByID {
		if b.dID, err = p.Decide(policies.ScopeVerifyByID, ""); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// answerItems matches and masks every item and writes its audit entry.
func (s *Service) answerItems(b *agencyBatch) error {
	requestID := NewID()
	au := agencyAudit{actor: b.p.Actor, purpose: b.d.Purpose, request: requestID, at: s.deps.Now()}
	b.response = AgencyResponse{PolicyVersion: b.d.PolicyVersion, RequestID: requestID, Purpose: b.d.Purpose, Results: make([]AgencyItem, len(b.checked))}
	b.entries = make([]registry.AuditEntry, 0, len(b.checked))
	for i, q := range b.checked {
		item := AgencyItem{Index: i}
		switch {
		case q.errors != nil:
			item.Result, item.Errors = ResultInvalid, q.errors
		case q.byID:
			for _, v := range b.persons[string(q.index)] {
				if !nameMatches(q.name, v.Record.Name, true) || !answerable(v.Record.Status) {
					continue
				}
				m, err := s.open(b.dID, v)
				if err != nil {
					return err
				}
				item.Degrees = append(item.Degrees, m)
				b.entries = append(b.entries, au.entry(i, b.dID, "id", v.CertificateNumber, m.Degree))
			}
			item.Result = ResultMatch
			if len(item.Degrees) == 0 {
				item.Result = ResultNoMatch
				// No record reference: the only one would be the ID
				// number, which the trail never holds.
				b.entries = append(b.entries, au.entry(i, b.dID, "id", "", nil))
			}
		default:
			v, found := b.certs[q.cert]
			stored := decoyName
			if found {
				stored = v.Record.Name
			}
			if !nameMatches(q.name, stored, found) || !answerable(v.Record.Status) {
				item.Result = ResultNoMatch
				b.entries = append(b.entries, au.entry(i, b.d, "certificate_number", q.cert, nil))
				break
			}
			m, err := s.open(b.d, v)
			if err != nil {
				return err
			}
			item.Result, item.Status, item.Degree = ResultMatch, m.Status, m.Degree
			b.entries = append(b.entries, au.entry(i, b.d, "certificate_number", q.cert, m.Degree))
		}
		b.response.Results[i] = item
	}
	return nil
}

// checkQuery normalises one query and says what is wrong with it, naming
// fields and rules, never values.
func (s *Service) checkQuery(q AgencyQuery) checkedQuery {
	errs := map[string]string{}
	out := checkedQuery{}
	if why := CheckText(q.Name, 64); why != "" {
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
		if why := CheckCertificateNumber(out.cert); why != "" {
			errs["certificate_number"] = why
		}
	case hasID:
		out.byID = true
		t := registry.IDType(strings.TrimSpace(q.IDType))
		if !knownIDType(t) {
			errs["id_type"] = "want resident_id, passport, hk_macao_permit, taiwan_permit, foreign_permanent_id or other"
		}
		if why := CheckText(q.IDNumber, 32); why != "" {
			errs["id_number"] = why
		} else if num := registry.NormalizeIDNumber(t, q.IDNumber); knownIDType(t) {
			if !registry.ValidIDNumber(t, num) {
				errs["id_number"] = "not a valid number for this id_type"
			} else {
				out.index = s.deps.Registry.PersonIndex(t, num)
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

// lookupAgency reads every record the valid queries need in at most two
// round trips: the certificates (CurrentMany) and the persons, through
// the blind index (ByPersons).
func (s *Service) lookupAgency(ctx context.Context, qs []checkedQuery) (map[string]registry.Version, map[string][]registry.Version, error) {
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
		// A single certificate goes the public path's way: serve's
		// cache, whose misses are batched with other callers' into few
		// queries. Single-item calls are the busy agency traffic; a batch
		// is already one query.
		v, err := s.deps.Registry.Current(ctx, numbers[0])
		switch {
		case err == nil:
			certs[v.CertificateNumber] = v
		case !errors.Is(err, registry.ErrNotFound):
			return nil, nil, failed("agency verify: lookup certificate", err)
		}
	default:
		vs, err := s.deps.Registry.CurrentMany(ctx, numbers)
		if err != nil {
			return nil, nil, failed("agency verify: lookup certificates", err)
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
	vs, err := s.deps.Registry.ByPersons(ctx, indexes)
	if err != nil {
		return nil, nil, failed("agency verify: lookup persons", err)
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

// open decrypts a record and masks it for the decision.
func (s *Service) open(d policies.Decision, v registry.Version) (AgencyMatch, error) {
	rec, err := s.deps.Registry.Open(v)
	if err != nil {
		return AgencyMatch{}, failed("agency verify: open record", err)
	}
	shown, err := apply(d, &rec)
	if err != nil {
		return AgencyMatch{}, failed("agency verify: apply policy", err)
	}
	status, _ := shownStatus(rec.Status)
	return AgencyMatch{Status: status, Degree: shown}, nil
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
	result := ResultNoMatch
	fields := []string{}
	if shown != nil {
		result, fields = ResultMatch, shown.Fields()
	}
	detail, _ := json.Marshal(agencyDetail{
		Request: a.request, Index: index, Query: query, Result: result, Scope: string(d.Scope),
		LegalBasis: d.LegalBasis, Fields: fields, PolicyVersion: d.PolicyVersion,
	})
	return registry.AuditEntry{
		At: a.at, Actor: a.actor, Action: ActionAgencyVerify, RecordRef: ref,
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
