package gateway

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// agencyFixture is a gateway that trusts a dev issuer, with an in-process
// replay cache and quota, over the embedded store of newFixture.
type agencyFixture struct {
	*fixture
	issuer *token.DevIssuer
}

const (
	agencyOrg     = "gov:test-bureau"
	agencyPurpose = "employment_background_check"
	agencyScopes  = "degree.verify degree.verify.batch degree.verify.by_id"
)

func newAgencyFixture(t testing.TB, n int, o fixtureOptions) *agencyFixture {
	t.Helper()
	f := newFixture(t, n, o)
	issuer, err := token.NewDevIssuer()
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(context.Background(), issuer.Config(), token.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.deps.Tokens = v
	f.srv.deps.Replay = token.NewMemoryReplayCache(10_000, nil)
	f.srv.deps.Quota = ratelimit.NewMemoryQuota(nil)
	f.srv.deps.AuditSearch = f.store
	f.rewire(t)
	return &agencyFixture{fixture: f, issuer: issuer}
}

// setPolicy swaps the policy for one changed by edit (a replacement in
// the default document), for limits the default sets too high to test.
func (f *agencyFixture) setPolicy(t testing.TB, old, new string) {
	t.Helper()
	doc := policies.DefaultDocument()
	if !bytes.Contains(doc, []byte(old)) {
		t.Fatalf("the default policy no longer contains %q", old)
	}
	pol, err := policies.Parse(bytes.Replace(doc, []byte(old), []byte(new), 1))
	if err != nil {
		t.Fatal(err)
	}
	f.srv.deps.Policy = pol
	f.rewire(t)
}

// mint makes a token of audience a for org with scopes, valid for an hour.
func (f *agencyFixture) mint(t testing.TB, a token.Audience, org, scopes string) string {
	t.Helper()
	c := f.issuer.Claims(a, "officer-7")
	c.Org, c.Scope = org, scopes
	tok, err := f.issuer.Mint(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// holderToken is a holder's token, as a real-name provider issues it.
func (f *agencyFixture) holderToken(t testing.TB) string {
	t.Helper()
	r := f.records[0]
	c := f.issuer.Claims(token.AudienceHolder, "holder-1")
	c.Scope, c.IDType, c.IDNumber = "holder.read", string(r.IDType), r.IDNumber
	tok, err := f.issuer.Mint(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *agencyFixture) agencyToken(t testing.TB) string {
	return f.mint(t, token.AudienceAgency, agencyOrg, agencyScopes)
}

// verify posts a JSON agency request.
func (f *agencyFixture) verify(t testing.TB, tok string, body any) *http.Response {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return f.do(t, "POST", "/v1/agency/verify", "application/json", string(b), "Authorization", "Bearer "+tok)
}

func decodeAgency(t testing.TB, r *http.Response) disclose.AgencyResponse {
	t.Helper()
	body := readBody(t, r)
	if r.StatusCode != 200 {
		t.Fatalf("status %d, want 200: %s", r.StatusCode, body)
	}
	var out disclose.AgencyResponse
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("answer is not the agency JSON: %v", err)
	}
	return out
}

// problemOf reads a problem+json answer and checks its status and type.
func problemOf(t testing.TB, r *http.Response, status int, typ string) Problem {
	t.Helper()
	body := readBody(t, r)
	var p Problem
	if r.StatusCode != status || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") ||
		json.Unmarshal([]byte(body), &p) != nil || relType(p.Type) != typ {
		t.Fatalf("got %d %s %s, want %d problem+json of type %s", r.StatusCode, r.Header.Get("Content-Type"), body, status, typ)
	}
	return p
}

func q(cert, name string) disclose.AgencyQuery {
	return disclose.AgencyQuery{CertificateNumber: cert, Name: name}
}

func qID(r registry.Record, name string) disclose.AgencyQuery {
	return disclose.AgencyQuery{IDType: string(r.IDType), IDNumber: r.IDNumber, Name: name}
}

func req(queries ...disclose.AgencyQuery) agencyRequest {
	return agencyRequest{Purpose: agencyPurpose, Queries: queries}
}

// addRecord files r in the fixture's store beside the synthetic ones.
func (f *agencyFixture) addRecord(t testing.TB, r registry.Record) registry.Record {
	t.Helper()
	sealed, err := f.keys.Seal(r)
	if err != nil {
		t.Fatal(err)
	}
	out, err := registry.Insert(context.Background(), f.store, testLogKey, []registry.Sealed{sealed}, registry.Change{Actor: "test", At: time.Now()})
	if err != nil || out[0] != registry.Inserted {
		t.Fatalf("insert: %v %v", out, err)
	}
	f.records = append(f.records, r)
	return r
}

// withRevoked adds a revoked record (synthetic ones are 0.3 % revoked,
// too few for a small fixture) and returns it.
func (f *agencyFixture) withRevoked(t testing.TB) registry.Record {
	t.Helper()
	r := f.find(t, filed)
	r.CertificateNumber = r.CertificateNumber[:len(r.CertificateNumber)-4] + "9997"
	r.Name = "欧阳娜娜"
	r.Status = registry.StatusRevoked
	r.RevokedOn = registry.NewDate(2024, 5, 6)
	r.RevocationResolution = "学位撤字〔2024〕1号"
	r.RevocationReason = "test"
	return f.addRecord(t, r)
}

func filed(r registry.Record) bool   { return r.Status == registry.StatusFiled }
func revoked(r registry.Record) bool { return r.Status == registry.StatusRevoked }

// agencyFields are the fields the default policy lets an agency see.
func agencyFields(t testing.TB, pol *policies.Policy, scope policies.Scope) map[string]policies.Mask {
	t.Helper()
	d, err := pol.Decide(policies.Request{Audience: policies.Agency, Scope: scope,
		Granted: strings.Fields(agencyScopes), Org: agencyOrg, Purpose: agencyPurpose})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]policies.Mask{}
	for _, f := range d.Fields() {
		out[f.Field] = f.Mask
	}
	return out
}

// checkDegree checks one disclosed degree against its record: only
// fields the policy grants, the certificate and name in clear, the ID
// number masked (never whole).
func checkDegree(t testing.TB, shown map[string]string, r registry.Record, allowed map[string]policies.Mask) {
	t.Helper()
	for k := range shown {
		if _, ok := allowed[k]; !ok {
			t.Errorf("field %s disclosed but not granted", k)
		}
	}
	if shown["certificate_number"] != r.CertificateNumber || shown["name"] != r.Name {
		t.Errorf("the degree shown is not the record asked about")
	}
	id := shown["id_number"]
	if allowed["id_number"] == policies.MaskIDNumber {
		if id == "" || id == r.IDNumber || len([]rune(id)) != len([]rune(r.IDNumber)) ||
			!strings.HasSuffix(r.IDNumber, strings.TrimLeft(id[len(id)-2:], "*")) {
			t.Errorf("id_number not masked as the policy says (len %d vs %d)", len(id), len(r.IDNumber))
		}
	}
}

func TestAgencySingleMatch(t *testing.T) {
	f := newAgencyFixture(t, 50, fixtureOptions{})
	f.withRevoked(t)
	for _, tc := range []struct {
		name       string
		pick       func(registry.Record) bool
		wantStatus string
	}{
		{"filed", filed, "valid"},
		{"revoked", revoked, "revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.find(t, tc.pick)
			// Lower case, padding and a full-width name still match: both
			// sides are normalised.
			resp := f.verify(t, f.agencyToken(t), req(q(" "+strings.ToLower(r.CertificateNumber)+" ", " "+r.Name)))
			if v := resp.Header.Get("Degreegate-Policy-Version"); v != f.srv.deps.Policy.Version() {
				t.Errorf("policy version header %q", v)
			}
			out := decodeAgency(t, resp)
			if out.PolicyVersion != f.srv.deps.Policy.Version() || out.Purpose != agencyPurpose || out.RequestID == "" {
				t.Errorf("envelope %+v", out)
			}
			if len(out.Results) != 1 {
				t.Fatalf("%d results", len(out.Results))
			}
			it := out.Results[0]
			if it.Result != "match" || it.Status != tc.wantStatus {
				t.Fatalf("item %+v", it)
			}
			checkDegree(t, it.Degree, r, agencyFields(t, f.srv.deps.Policy, policies.ScopeVerify))
		})
	}
}

func TestAgencyBatchItemsOnTheirOwn(t *testing.T) {
	f := newAgencyFixture(t, 60, fixtureOptions{})
	b := f.withRevoked(t)
	a := f.find(t, filed)
	c := f.find(t, func(r registry.Record) bool { return filed(r) && r.CertificateNumber != a.CertificateNumber })
	// A second degree of c's holder, so an item by ID finds two records.
	second := c
	second.CertificateNumber = c.CertificateNumber[:len(c.CertificateNumber)-4] + "9999"
	f.addRecord(t, second)
	unknown := "1000" + strings.Repeat("7", 12)

	type want struct {
		result   string
		records  []registry.Record
		errField string
	}
	cases := []struct {
		q    disclose.AgencyQuery
		want want
	}{
		{q(a.CertificateNumber, a.Name), want{result: "match", records: []registry.Record{a}}},
		{q(b.CertificateNumber, b.Name), want{result: "match", records: []registry.Record{b}}},
		{q(a.CertificateNumber, b.Name), want{result: "no_match"}},
		{q(unknown, a.Name), want{result: "no_match"}},
		{q("12-34", a.Name), want{result: "invalid", errField: "certificate_number"}},
		{q(a.CertificateNumber, ""), want{result: "invalid", errField: "name"}},
		{q(a.CertificateNumber, "x\x00y"), want{result: "invalid", errField: "name"}},
		{disclose.AgencyQuery{CertificateNumber: a.CertificateNumber, IDType: "resident_id", IDNumber: a.IDNumber, Name: a.Name}, want{result: "invalid", errField: "certificate_number"}},
		{disclose.AgencyQuery{Name: a.Name}, want{result: "invalid", errField: "certificate_number"}},
		{qID(c, c.Name), want{result: "match", records: []registry.Record{c, second}}},
		{qID(a, "无名氏"), want{result: "no_match"}}, // a name nobody has
		{disclose.AgencyQuery{IDType: "driving_licence", IDNumber: a.IDNumber, Name: a.Name}, want{result: "invalid", errField: "id_type"}},
		{disclose.AgencyQuery{IDType: "resident_id", IDNumber: badCheckDigit(t, f), Name: a.Name}, want{result: "invalid", errField: "id_number"}},
		{disclose.AgencyQuery{IDType: "resident_id", Name: a.Name}, want{result: "invalid", errField: "id_number"}},
	}
	var queries []disclose.AgencyQuery
	for _, tc := range cases {
		queries = append(queries, tc.q)
	}
	out := decodeAgency(t, f.verify(t, f.agencyToken(t), req(queries...)))
	if len(out.Results) != len(cases) {
		t.Fatalf("%d results for %d queries", len(out.Results), len(cases))
	}
	certFields := agencyFields(t, f.srv.deps.Policy, policies.ScopeVerifyBatch)
	idFields := agencyFields(t, f.srv.deps.Policy, policies.ScopeVerifyByID)
	for i, tc := range cases {
		it := out.Results[i]
		if it.Index != i || it.Result != tc.want.result {
			t.Errorf("query %d: index %d result %s, want %s", i, it.Index, it.Result, tc.want.result)
			continue
		}
		switch {
		case tc.want.errField != "":
			if it.Errors[tc.want.errField] == "" || it.Degree != nil || it.Degrees != nil {
				t.Errorf("query %d: errors %v, want one for %s and nothing disclosed", i, it.Errors, tc.want.errField)
			}
		case tc.q.IDType != "":
			if len(it.Degrees) != len(tc.want.records) || it.Degree != nil {
				t.Errorf("query %d: %d degrees, want %d", i, len(it.Degrees), len(tc.want.records))
				continue
			}
			for _, r := range tc.want.records {
				k := slices.IndexFunc(it.Degrees, func(m disclose.AgencyMatch) bool {
					return m.Degree["certificate_number"] == r.CertificateNumber
				})
				if k < 0 {
					t.Errorf("query %d: a record of the person is missing", i)
					continue
				}
				checkDegree(t, it.Degrees[k].Degree, r, idFields)
			}
		case tc.want.result == "match":
			checkDegree(t, it.Degree, tc.want.records[0], certFields)
		default:
			if it.Degree != nil || it.Degrees != nil || it.Status != "" {
				t.Errorf("query %d: a no_match discloses %+v", i, it)
			}
		}
	}
	assertAgencyAudit(t, f, out)
	assertNoPersonalData(t, "logs", f.logs.String(), f.records)
}

// assertAgencyAudit checks that every item answered from the registry
// has its entry, with everything Art. 15 and the issue ask for.
func assertAgencyAudit(t *testing.T, f *agencyFixture, out disclose.AgencyResponse) {
	t.Helper()
	type key struct {
		index int
		ref   string
	}
	entries := map[key]agencyAuditDetail{}
	for _, e := range f.audit.all() {
		if e.Action != "verify.agency" {
			continue
		}
		var d agencyAuditDetail
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
			t.Fatalf("detail is not JSON: %v", err)
		}
		if d.Request != out.RequestID {
			continue
		}
		if e.Actor != "org:"+agencyOrg+"/sub:officer-7" || e.Purpose != agencyPurpose || d.LegalBasis != "Art. 20" ||
			d.PolicyVersion != out.PolicyVersion {
			t.Errorf("entry %+v detail %+v lacks caller, purpose, legal basis or policy version", e, d)
		}
		assertNoPersonalData(t, "audit detail", e.Detail+e.Actor+e.RecordRef, f.records)
		entries[key{d.Index, e.RecordRef}] = d
	}
	want := 0
	for _, it := range out.Results {
		switch {
		case it.Result == "invalid":
			for k := range entries {
				if k.index == it.Index {
					t.Errorf("invalid item %d audited as an access", it.Index)
				}
			}
		case it.Degree != nil:
			want++
			assertEntry(t, entries, key{it.Index, it.Degree["certificate_number"]}, it.Degree)
		case it.Degrees != nil:
			for _, m := range it.Degrees {
				want++
				assertEntry(t, entries, key{it.Index, m.Degree["certificate_number"]}, m.Degree)
			}
		default:
			want++
			found := false
			for k, d := range entries {
				found = found || (k.index == it.Index && d.Result == "no_match" && len(d.Fields) == 0)
			}
			if !found {
				t.Errorf("no_match item %d has no entry", it.Index)
			}
		}
	}
	if len(entries) != want {
		t.Errorf("%d entries for %d items answered from the registry", len(entries), want)
	}
}

func assertEntry[K comparable](t *testing.T, entries map[K]agencyAuditDetail, k K, shown policies.Disclosure) {
	t.Helper()
	d, ok := entries[k]
	if !ok {
		t.Errorf("no audit entry for %+v", k)
		return
	}
	if d.Result != "match" || !slices.Equal(d.Fields, shown.Fields()) {
		t.Errorf("entry %+v: fields %v, disclosed %v", k, d.Fields, shown.Fields())
	}
}

func TestAgencyRefusals(t *testing.T) {
	f := newAgencyFixture(t, 20, fixtureOptions{})
	r := f.find(t, filed)
	one := req(q(r.CertificateNumber, r.Name))
	two := req(q(r.CertificateNumber, r.Name), q(r.CertificateNumber, r.Name))
	over := make([]disclose.AgencyQuery, 1001)
	for i := range over {
		over[i] = q(r.CertificateNumber, r.Name)
	}
	expired := func(t testing.TB) string {
		c := f.issuer.Claims(token.AudienceAgency, "officer-7")
		c.Org, c.Scope = agencyOrg, agencyScopes
		m := f.issuer.Minter.WithClock(func() time.Time { return time.Now().Add(-2 * time.Hour) })
		tok, err := m.Mint(c, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	other, err := token.NewDevIssuer() // trusted by nobody here
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		tok    func(testing.TB) string
		body   any
		status int
		typ    string
	}{
		{"no token", func(testing.TB) string { return "" }, one, 401, "/problems/unauthenticated"},
		{"garbage token", func(testing.TB) string { return "not.a.jwt" }, one, 401, "/problems/invalid-token"},
		{"expired token", expired, one, 401, "/problems/invalid-token"},
		{"untrusted issuer", func(t testing.TB) string {
			c := other.Claims(token.AudienceAgency, "x")
			c.Org, c.Scope = agencyOrg, agencyScopes
			tok, _ := other.Mint(c, time.Hour)
			return tok
		}, one, 401, "/problems/invalid-token"},
		{"holder token", f.holderToken, one, 403, "/problems/wrong-audience"},
		{"contractor token", func(t testing.TB) string {
			return f.mint(t, token.AudienceContractor, "pub:lab", "dataset.read")
		}, one, 403, "/problems/wrong-audience"},
		{"office token", func(t testing.TB) string { return f.mint(t, token.AudienceOffice, "office:national", "audit.read") }, one, 403, "/problems/wrong-audience"},
		{"company as agency", func(t testing.TB) string {
			return f.mint(t, token.AudienceAgency, "com:acme", agencyScopes)
		}, one, 403, "/problems/org-denied"},
		{"purpose unknown", f.agencyToken, agencyRequest{Purpose: "curiosity", Queries: one.Queries}, 403, "/problems/purpose-rejected"},
		{"purpose forbidden", f.agencyToken, agencyRequest{Purpose: "commercial_use", Queries: one.Queries}, 403, "/problems/purpose-forbidden"},
		{"purpose not for this org", func(t testing.TB) string {
			return f.mint(t, token.AudienceAgency, "pub:hospital", agencyScopes)
		}, agencyRequest{Purpose: "civil_service_recruitment", Queries: one.Queries}, 403, "/problems/purpose-rejected"},
		{"purpose missing", f.agencyToken, agencyRequest{Queries: one.Queries}, 400, "/problems/invalid-request"},
		{"no batch scope", func(t testing.TB) string { return f.mint(t, token.AudienceAgency, agencyOrg, "degree.verify") }, two, 403, "/problems/scope-denied"},
		{"no single scope", func(t testing.TB) string {
			return f.mint(t, token.AudienceAgency, agencyOrg, "degree.verify.batch")
		}, one, 403, "/problems/scope-denied"},
		{"no by_id scope", func(t testing.TB) string {
			return f.mint(t, token.AudienceAgency, agencyOrg, "degree.verify degree.verify.batch")
		}, req(qID(r, r.Name)), 403, "/problems/scope-denied"},
		{"unknown scope in token", func(t testing.TB) string {
			return f.mint(t, token.AudienceAgency, agencyOrg, agencyScopes+" degree.everything")
		}, one, 403, "/problems/unknown-scope"},
		{"batch over the limit", f.agencyToken, req(over...), 400, "/problems/batch-too-large"},
		{"no queries", f.agencyToken, req(), 400, "/problems/invalid-request"},
		{"unknown member", f.agencyToken, map[string]any{"purpose": agencyPurpose, "queries": one.Queries, "all": true}, 400, "/problems/malformed-json"},
		{"wrong type", f.agencyToken, map[string]any{"purpose": agencyPurpose, "queries": "all"}, 400, "/problems/invalid-request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.audit.all())
			resp := f.verify(t, tc.tok(t), tc.body)
			// Past authentication, every answer names the policy.
			authed := tc.status != 401 && tc.typ != "/problems/wrong-audience"
			if v := resp.Header.Get("Degreegate-Policy-Version"); authed && v != f.srv.deps.Policy.Version() {
				t.Errorf("policy version header %q", v)
			}
			p := problemOf(t, resp, tc.status, tc.typ)
			if tc.status == 403 && tc.typ != "/problems/wrong-audience" && p.PolicyVersion == "" {
				t.Errorf("a policy refusal without the policy version")
			}
			if n := len(f.audit.all()); n != before {
				t.Errorf("a refused call wrote %d audit entries", n-before)
			}
		})
	}
}

// stubVerifier admits any token as p, with a fresh jti unless noJTI.
type stubVerifier struct {
	p     token.Principal
	noJTI bool
}

func (v stubVerifier) Verify(_ context.Context, raw string) (token.Principal, error) {
	p := v.p
	if !v.noJTI {
		p.JTI = disclose.NewID()
	}
	return p, nil
}

func agencyPrincipal() token.Principal {
	return token.Principal{Issuer: "stub", Subject: "officer-7", Org: agencyOrg, Audience: token.AudienceAgency,
		Scopes: token.NewScopeSet(strings.Fields(agencyScopes)...), ExpiresAt: time.Now().Add(time.Hour)}
}

func TestAgencyBatchTokenSingleUse(t *testing.T) {
	f := newAgencyFixture(t, 20, fixtureOptions{})
	r := f.find(t, filed)
	two := req(q(r.CertificateNumber, r.Name), q(r.CertificateNumber, "某某"))
	tok := f.agencyToken(t)
	decodeAgency(t, f.verify(t, tok, two))
	problemOf(t, f.verify(t, tok, two), 401, "/problems/token-replayed")
	// A single query does not use the token up.
	one := req(q(r.CertificateNumber, r.Name))
	decodeAgency(t, f.verify(t, tok, one))
	decodeAgency(t, f.verify(t, tok, one))

	f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal(), noJTI: true}
	problemOf(t, f.verify(t, "x", two), 401, "/problems/jti-required")
	decodeAgency(t, f.verify(t, "x", one))

	f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal()}
	f.srv.deps.Replay = nil
	problemOf(t, f.verify(t, "x", two), 503, "/problems/replay-check-unavailable")
}

func TestAgencyQuota(t *testing.T) {
	f := newAgencyFixture(t, 20, fixtureOptions{})
	f.setPolicy(t, `"daily_quota_per_org": 5000000`, `"daily_quota_per_org": 5`)
	f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal()}
	r := f.find(t, filed)
	items := func(n int) agencyRequest {
		qs := make([]disclose.AgencyQuery, n)
		for i := range qs {
			qs[i] = q(r.CertificateNumber, r.Name)
		}
		return req(qs...)
	}
	resp := f.verify(t, "x", items(3))
	if resp.Header.Get("Degreegate-Quota-Remaining") != "2" {
		t.Errorf("quota remaining %q after 3 of 5", resp.Header.Get("Degreegate-Quota-Remaining"))
	}
	decodeAgency(t, resp)
	before := len(f.audit.all())
	resp = f.verify(t, "x", items(3))
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	problemOf(t, resp, 429, "/problems/quota-exhausted")
	if len(f.audit.all()) != before {
		t.Error("a refused call was answered from the registry")
	}
	// The refused call used nothing up: two items still fit, a third not.
	decodeAgency(t, f.verify(t, "x", items(2)))
	problemOf(t, f.verify(t, "x", items(1)), 429, "/problems/quota-exhausted")
	// Another organisation has its own count.
	p := agencyPrincipal()
	p.Org = "gov:another-bureau"
	f.srv.deps.Tokens = stubVerifier{p: p}
	decodeAgency(t, f.verify(t, "x", items(1)))

	f.srv.deps.Quota = nil
	problemOf(t, f.verify(t, "x", items(1)), 503, "/problems/quota-unavailable")
}

// failingStore is a store whose batch lookups fail, as a database that
// went away would.
type failingStore struct {
	registry.Store
	certs, persons bool
}

var errStoreDown = errors.New("store down")

func (s failingStore) CurrentMany(ctx context.Context, certs []string) ([]registry.Version, error) {
	if s.certs {
		return nil, errStoreDown
	}
	return s.Store.CurrentMany(ctx, certs)
}

func (s failingStore) ByPersons(ctx context.Context, pis [][]byte) ([]registry.Version, error) {
	if s.persons {
		return nil, errStoreDown
	}
	return s.Store.ByPersons(ctx, pis)
}

// countingStore counts the lookups a call makes.
type countingStore struct {
	registry.Store
	current, currentMany, byPerson, byPersons atomic.Int64
}

func (s *countingStore) Current(ctx context.Context, cert string) (registry.Version, error) {
	s.current.Add(1)
	return s.Store.Current(ctx, cert)
}

func (s *countingStore) CurrentMany(ctx context.Context, certs []string) ([]registry.Version, error) {
	s.currentMany.Add(1)
	return s.Store.CurrentMany(ctx, certs)
}

func (s *countingStore) ByPerson(ctx context.Context, pi []byte) ([]registry.Version, error) {
	s.byPerson.Add(1)
	return s.Store.ByPerson(ctx, pi)
}

func (s *countingStore) ByPersons(ctx context.Context, pis [][]byte) ([]registry.Version, error) {
	s.byPersons.Add(1)
	return s.Store.ByPersons(ctx, pis)
}

// A batch costs at most two round trips however many items it has: one
// for the certificate numbers, one for the persons.
func TestAgencyBatchLookupRoundTrips(t *testing.T) {
	f := newAgencyFixture(t, 40, fixtureOptions{})
	a := f.find(t, filed)
	second := a
	second.CertificateNumber = a.CertificateNumber[:len(a.CertificateNumber)-4] + "9999"
	f.addRecord(t, second)
	var byID, byCert []disclose.AgencyQuery
	wantDegrees := map[int]int{} // index in byID → degrees
	for _, r := range f.records[:12] {
		if r.CertificateNumber == a.CertificateNumber || r.IDNumber == a.IDNumber || !filed(r) {
			continue
		}
		wantDegrees[len(byID)] = 1
		byID = append(byID, qID(r, r.Name))
		byCert = append(byCert, q(r.CertificateNumber, r.Name))
	}
	// a's person twice (two degrees each time), and one unknown name.
	for range 2 {
		wantDegrees[len(byID)] = 2
		byID = append(byID, qID(a, a.Name))
	}
	wantDegrees[len(byID)] = 0
	byID = append(byID, qID(f.records[0], "无名氏"))

	cases := []struct {
		name                   string
		queries                []disclose.AgencyQuery
		currentMany, byPersons int64
		lookups                int64 // Current, which serve's batching cache answers
	}{
		{"by certificate", byCert, 1, 0, 0},
		{"by id", byID, 0, 1, 0},
		{"mixed", append(slices.Clone(byID), byCert...), 1, 1, 0},
		{"one by id", byID[len(byID)-2 : len(byID)-1], 0, 1, 0},
		{"one by certificate", byCert[:1], 0, 0, 1},
	}
	reg := f.srv.deps.Registry
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := &countingStore{Store: f.store}
			f.srv.deps.Registry = registry.New(cs, f.keys, testLogKey, time.Now)
			f.rewire(t)
			t.Cleanup(func() {
				f.srv.deps.Registry = reg
				f.rewire(t)
			})
			out := decodeAgency(t, f.verify(t, f.agencyToken(t), req(tc.queries...)))
			got := [4]int64{cs.currentMany.Load(), cs.byPersons.Load(), cs.byPerson.Load(), cs.current.Load()}
			if want := [4]int64{tc.currentMany, tc.byPersons, 0, tc.lookups}; got != want {
				t.Errorf("CurrentMany, ByPersons, ByPerson, cache lookups = %v, want %v", got, want)
			}
			for i, it := range out.Results {
				if tc.queries[i].IDType == "" {
					if it.Result != disclose.ResultMatch {
						t.Errorf("item %d by certificate: %s, want match", i, it.Result)
					}
					continue
				}
				// The first equal query: both of a's ask for two degrees.
				k := slices.IndexFunc(byID, func(q disclose.AgencyQuery) bool { return q == tc.queries[i] })
				if len(it.Degrees) != wantDegrees[k] {
					t.Errorf("item %d by id: %d degrees, want %d", i, len(it.Degrees), wantDegrees[k])
				}
				var certs []string
				for _, m := range it.Degrees {
					certs = append(certs, m.Degree["certificate_number"])
				}
				if !slices.IsSorted(certs) {
					t.Errorf("item %d by id: degrees %v not in certificate-number order", i, certs)
				}
			}
		})
	}
}

// A call the registry fails to answer uses none of the daily quota.
func TestAgencyQuotaNotChargedForServerErrors(t *testing.T) {
	const limit = 5
	cases := []struct {
		name    string
		store   failingStore
		byID    bool
		failing bool // the first call fails
	}{
		{"answered, certificates", failingStore{}, false, false},
		{"answered, id", failingStore{}, true, false},
		{"certificate lookup fails", failingStore{certs: true}, false, true},
		{"person lookup fails", failingStore{persons: true}, true, true},
		{"both fail", failingStore{certs: true, persons: true}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newAgencyFixture(t, 20, fixtureOptions{})
			f.setPolicy(t, `"daily_quota_per_org": 5000000`, fmt.Sprintf(`"daily_quota_per_org": %d`, limit))
			f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal()}
			reg := f.srv.deps.Registry
			items := func(n int, byID bool) agencyRequest {
				qs := make([]disclose.AgencyQuery, n)
				for i := range qs {
					r := f.records[i]
					if byID {
						qs[i] = qID(r, r.Name)
					} else {
						qs[i] = q(r.CertificateNumber, r.Name)
					}
				}
				return req(qs...)
			}
			tc.store.Store = f.store
			f.srv.deps.Registry = registry.New(tc.store, f.keys, testLogKey, time.Now)
			f.rewire(t)
			resp := f.verify(t, "x", items(3, tc.byID))
			charged := 0
			if tc.failing {
				problemOf(t, resp, 500, "/problems/internal")
			} else {
				decodeAgency(t, resp)
				charged = 3
			}
			// With the registry back, exactly what was not charged fits.
			f.srv.deps.Registry = reg
			f.rewire(t)
			resp = f.verify(t, "x", items(limit-charged, false))
			if got := resp.Header.Get("Degreegate-Quota-Remaining"); got != "0" {
				t.Errorf("after %d charged and %d more, remaining %q, want 0", charged, limit-charged, got)
			}
			decodeAgency(t, resp)
			problemOf(t, f.verify(t, "x", items(1, false)), 429, "/problems/quota-exhausted")
		})
	}
}

func TestAgencyRateLimit(t *testing.T) {
	f := newAgencyFixture(t, 20, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{})})
	f.setPolicy(t, `"per_org": {"rps": 1000, "burst": 2000}`, `"per_org": {"rps": 0.001, "burst": 2}`)
	f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal()}
	r := f.find(t, filed)
	one := req(q(r.CertificateNumber, r.Name))
	for i := 0; i < 2; i++ {
		resp := f.verify(t, "x", one)
		if rateLimitParam(resp.Header.Get("RateLimit-Policy"), "q") != "2" {
			t.Errorf("RateLimit-Policy %q", resp.Header.Get("RateLimit-Policy"))
		}
		decodeAgency(t, resp)
	}
	resp := f.verify(t, "x", one)
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	problemOf(t, resp, 429, "/problems/rate-limited")
}

func TestAgencyAuditDownDisclosesNothing(t *testing.T) {
	f := newAgencyFixture(t, 20, fixtureOptions{})
	r := f.find(t, filed)
	f.audit.refuse = true
	resp := f.verify(t, f.agencyToken(t), req(q(r.CertificateNumber, r.Name)))
	p := problemOf(t, resp, 503, "/problems/audit-unavailable")
	b, _ := json.Marshal(p)
	assertNoPersonalData(t, "the refusal", string(b), f.records)
}

// A batch the trail refuses is answered 503 and charges none of the
// day's quota: the gateway's failure is not the caller's to pay for.
func TestAgencyAuditRefusalRefundsTheQuota(t *testing.T) {
	f := newAgencyFixture(t, 20, fixtureOptions{})
	f.setPolicy(t, `"daily_quota_per_org": 5000000`, `"daily_quota_per_org": 5`)
	f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal()}
	r := f.find(t, filed)
	three := req(q(r.CertificateNumber, r.Name), q(r.CertificateNumber, r.Name), q(r.CertificateNumber, r.Name))
	f.audit.refuse = true
	resp := f.verify(t, "x", three)
	problemOf(t, resp, 503, "/problems/audit-unavailable")
	if got := resp.Header.Get("Degreegate-Quota-Remaining"); got != "5" {
		t.Errorf("quota remaining %q after a refused batch, want 5", got)
	}
	f.audit.refuse = false
	resp = f.verify(t, "x", req(q(r.CertificateNumber, r.Name), q(r.CertificateNumber, r.Name),
		q(r.CertificateNumber, r.Name), q(r.CertificateNumber, r.Name), q(r.CertificateNumber, r.Name)))
	if resp.StatusCode != 200 {
		t.Fatalf("all 5 of the day's items after the refund: status %d", resp.StatusCode)
	}
	decodeAgency(t, resp)
}

// A batch whose entries do not all fit in the audit backlog is refused
// with none of them queued: a 503 leaves no trail of items it never
// showed.
func TestAgencyBatchAuditedAllOrNothing(t *testing.T) {
	f := newAgencyFixture(t, 20, fixtureOptions{})
	w := registry.NewAuditWriter(logged(f.store), registry.AuditWriterOptions{Buffer: 3})
	t.Cleanup(func() { w.Close(context.Background()) })
	f.srv.deps.Audit = w
	f.rewire(t)
	var qs []disclose.AgencyQuery
	for _, r := range f.records[:5] {
		qs = append(qs, q(r.CertificateNumber, r.Name))
	}
	resp := f.verify(t, f.agencyToken(t), req(qs...))
	problemOf(t, resp, 503, "/problems/audit-unavailable")
	if d := w.Depth(); d != 0 {
		t.Fatalf("a refused batch of 5 left %d entries queued", d)
	}
}

// --- spreadsheets ---

func csvTable(t testing.TB, b []byte) [][]string {
	t.Helper()
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("answer is not CSV: %v", err)
	}
	return rows
}

func xlsxBytes(t testing.TB, rows [][]string) []byte {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	for i, row := range rows {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if err := x.SetCellStr("Sheet1", cell, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	buf, err := x.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xlsxTable(t testing.TB, b []byte) [][]string {
	t.Helper()
	x, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("answer is not XLSX: %v", err)
	}
	defer x.Close()
	rows, err := x.GetRows(x.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func csvBytes(rows [][]string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.WriteAll(rows)
	return buf.Bytes()
}

// multipartBody builds a form with the file and, when set, a purpose.
func multipartBody(t testing.TB, filename, partType string, file []byte, purpose string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if purpose != "" {
		w.WriteField("purpose", purpose)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, filename))
	if partType != "" {
		h.Set("Content-Type", partType)
	}
	p, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	p.Write(file)
	w.Close()
	return w.FormDataContentType(), buf.String()
}

// column finds a header's position.
func column(t testing.TB, header []string, name string) int {
	t.Helper()
	i := slices.Index(header, name)
	if i < 0 {
		t.Fatalf("answer has no %s column: %v", name, header)
	}
	return i
}

func TestAgencySpreadsheetRoundTrips(t *testing.T) {
	f := newAgencyFixture(t, 40, fixtureOptions{})
	f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal()}
	a, b := f.find(t, filed), f.withRevoked(t)
	upload := [][]string{
		{"Ref", "Certificate_Number", "Name"}, // header case and order are free
		{"=HYPERLINK(\"http://x\")", a.CertificateNumber, a.Name},
		{"r2", b.CertificateNumber, b.Name},
		{"", "", ""}, // blank rows are skipped
		{"r3", a.CertificateNumber, b.Name},
		{"r4", "nope", a.Name},
	}
	wantResult := []string{"match", "match", "no_match", "invalid"}
	wantStatus := []string{"valid", "revoked", "", ""}

	type upload_ struct {
		name, contentType, path string
		body                    []byte
		parse                   func(testing.TB, []byte) [][]string
		wantType                string
	}
	ctForm, formCSV := multipartBody(t, "queries.csv", "", csvBytes(upload), agencyPurpose)
	ctFormX, formXLSX := multipartBody(t, "queries.xlsx", mimeXLSX, xlsxBytes(t, upload), agencyPurpose)
	gbk, err := simplifiedchinese.GB18030.NewEncoder().Bytes(csvBytes(upload))
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/agency/verify?purpose=" + agencyPurpose
	for _, u := range []upload_{
		{"csv body", "text/csv", path, csvBytes(upload), csvTable, "text/csv"},
		{"csv body with BOM", "text/csv; charset=utf-8", path, append([]byte("\uFEFF"), csvBytes(upload)...), csvTable, "text/csv"},
		{"csv body in GB 18030", "text/csv", path, gbk, csvTable, "text/csv"},
		{"xlsx body", mimeXLSX, path, xlsxBytes(t, upload), xlsxTable, mimeXLSX},
		{"csv form", ctForm, "/v1/agency/verify", []byte(formCSV), csvTable, "text/csv"},
		{"xlsx form", ctFormX, "/v1/agency/verify", []byte(formXLSX), xlsxTable, mimeXLSX},
	} {
		t.Run(u.name, func(t *testing.T) {
			before := len(f.audit.all())
			resp := f.do(t, "POST", u.path, u.contentType, string(u.body), "Authorization", "Bearer x")
			body := readBody(t, resp)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), u.wantType) {
				t.Fatalf("status %d type %s: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if resp.Header.Get("Degreegate-Policy-Version") == "" {
				t.Error("no policy version header")
			}
			rows := u.parse(t, []byte(body))
			head := rows[0]
			if !slices.Equal(head[:3], []string{"ref", "certificate_number", "name"}) {
				t.Errorf("uploaded columns not kept first: %v", head)
			}
			res, st, errs := column(t, head, "result"), column(t, head, "status"), column(t, head, "errors")
			cn, nm := column(t, head, "registry.certificate_number"), column(t, head, "registry.name")
			if len(rows)-1 != len(wantResult) {
				t.Fatalf("%d answer rows, want %d", len(rows)-1, len(wantResult))
			}
			for i, row := range rows[1:] {
				for len(row) < len(head) {
					row = append(row, "") // XLSX drops trailing empty cells
				}
				if row[res] != wantResult[i] || row[st] != wantStatus[i] {
					t.Errorf("row %d: %s/%s, want %s/%s", i+1, row[res], row[st], wantResult[i], wantStatus[i])
				}
				if wantResult[i] == "match" && (row[cn] != row[1] || row[nm] != row[2]) {
					t.Errorf("row %d: disclosed record is not the one asked about", i+1)
				}
				if wantResult[i] != "match" && row[cn] != "" {
					t.Errorf("row %d: %s discloses", i+1, wantResult[i])
				}
				if (wantResult[i] == "invalid") != strings.Contains(row[errs], "certificate_number") {
					t.Errorf("row %d: errors %q", i+1, row[errs])
				}
			}
			if u.wantType == "text/csv" && !strings.HasPrefix(rows[1][0], "'=") {
				t.Errorf("a formula cell was echoed live: %q", rows[1][0])
			}
			if n := len(f.audit.all()) - before; n != 3 {
				t.Errorf("%d audit entries for 3 items answered from the registry", n)
			}
		})
	}
}

func TestAgencySpreadsheetByIDTwoDegrees(t *testing.T) {
	f := newAgencyFixture(t, 30, fixtureOptions{})
	f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal()}
	c := f.find(t, filed)
	second := c
	second.CertificateNumber = c.CertificateNumber[:len(c.CertificateNumber)-4] + "9998"
	f.addRecord(t, second)
	upload := [][]string{{"id_type", "id_number", "name"}, {string(c.IDType), c.IDNumber, c.Name}, {"resident_id", c.IDNumber, "某某某"}}
	resp := f.do(t, "POST", "/v1/agency/verify?purpose="+agencyPurpose, "text/csv", string(csvBytes(upload)), "Authorization", "Bearer x")
	rows := csvTable(t, []byte(readBody(t, resp)))
	res, cn := column(t, rows[0], "result"), column(t, rows[0], "registry.certificate_number")
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[res]+":"+r[cn])
	}
	slices.Sort(got)
	want := []string{"match:" + c.CertificateNumber, "match:" + second.CertificateNumber, "no_match:"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// zipBomb is an XLSX-shaped archive whose sheet inflates to 32 MiB.
func zipBomb(t testing.TB) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	w, _ := z.Create("[Content_Types].xml")
	w.Write([]byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`))
	w, _ = z.Create("xl/worksheets/sheet1.xml")
	w.Write(bytes.Repeat([]byte(" "), 32<<20))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAgencySpreadsheetRefusals(t *testing.T) {
	f := newAgencyFixture(t, 10, fixtureOptions{})
	f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal()}
	r := f.find(t, filed)
	many := [][]string{{"certificate_number", "name"}}
	for i := 0; i < 1001; i++ {
		many = append(many, []string{r.CertificateNumber, r.Name})
	}
	bomb := zipBomb(t)
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb (%d bytes) would be stopped by the body limit alone", len(bomb))
	}
	path := "/v1/agency/verify?purpose=" + agencyPurpose
	ctForm, noFile := multipartBody(t, "x.txt", "text/plain", []byte("hello"), agencyPurpose)
	cases := []struct {
		name, path, ct, body string
		status               int
		typ                  string
	}{
		{"too many rows", path, "text/csv", string(csvBytes(many)), 400, "/problems/batch-too-large"},
		{"zip bomb", path, mimeXLSX, string(bomb), 400, "/problems/invalid-request"},
		{"not a workbook", path, mimeXLSX, "PK\x03\x04 not really", 400, "/problems/invalid-request"},
		{"no purpose", "/v1/agency/verify", "text/csv", "certificate_number,name\n1,2\n", 400, "/problems/invalid-request"},
		{"no header", path, "text/csv", "", 400, "/problems/invalid-request"},
		{"header without name", path, "text/csv", "certificate_number\n" + r.CertificateNumber + "\n", 400, "/problems/invalid-request"},
		{"header twice", path, "text/csv", "certificate_number,name,name\n", 400, "/problems/invalid-request"},
		{"broken quotes", path, "text/csv", "certificate_number,name\n\"a,b\n", 400, "/problems/invalid-request"},
		{"not text", path, "text/csv", "certificate_number,name\n\xff\xfe\xfd\x80,x\n", 400, "/problems/invalid-request"},
		{"too wide", path, "text/csv", strings.Repeat("a,", 70) + "name,certificate_number\n", 400, "/problems/invalid-request"},
		{"form with another file", "/v1/agency/verify", ctForm, noFile, 415, "/problems/unsupported-media-type"},
		{"unknown media type", path, "text/plain", "x", 415, "/problems/unsupported-media-type"},
		{"purpose forbidden", "/v1/agency/verify?purpose=commercial_use", "text/csv", "certificate_number,name\n" + r.CertificateNumber + "," + r.Name + "\n", 403, "/problems/purpose-forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.audit.all())
			p := problemOf(t, f.do(t, "POST", tc.path, tc.ct, tc.body, "Authorization", "Bearer x"), tc.status, tc.typ)
			b, _ := json.Marshal(p)
			assertNoPersonalData(t, "the refusal", string(b), f.records)
			if len(f.audit.all()) != before {
				t.Error("a refused upload was answered from the registry")
			}
		})
	}
}

func TestAgencyAnswersMatchOpenAPI(t *testing.T) {
	f := newAgencyFixture(t, 10, fixtureOptions{})
	v := areaOpenAPIValidator(t, f.fixture)
	r := f.find(t, filed)
	tok := f.agencyToken(t)
	for _, tc := range []struct {
		ct, path, body string
	}{
		{"application/json", "/v1/agency/verify", mustJSON(req(q(r.CertificateNumber, r.Name), qID(r, r.Name), q("x", "")))},
		{"application/json", "/v1/agency/verify", mustJSON(agencyRequest{Purpose: "commercial_use", Queries: []disclose.AgencyQuery{q(r.CertificateNumber, r.Name)}})},
		{"text/csv", "/v1/agency/verify?purpose=" + agencyPurpose, "certificate_number,name\n" + r.CertificateNumber + "," + r.Name + "\n"},
	} {
		hreq := httptest.NewRequest("POST", "http://localhost"+tc.path, strings.NewReader(tc.body))
		hreq.Header.Set("Content-Type", tc.ct)
		hreq.Header.Set("Authorization", "Bearer "+tok)
		resp := f.do(t, "POST", tc.path, tc.ct, tc.body, "Authorization", "Bearer "+tok)
		if ok, errs := v.ValidateHttpResponse(hreq, resp); !ok {
			for _, e := range errs {
				t.Errorf("%s answer (%d) does not match openapi.json: %s: %s", tc.ct, resp.StatusCode, e.Message, e.Reason)
			}
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// FuzzAgencyRequest: whatever the body and its declared type, the route
// answers a well-formed JSON body or a problem, never a 5xx, and never
// panics.
func FuzzAgencyRequest(f *testing.F) {
	fx := newAgencyFixture(f, 10, fixtureOptions{})
	fx.srv.deps.Tokens = stubVerifier{p: agencyPrincipal()}
	r := fx.records[0]
	types := []string{"application/json", "text/csv", mimeXLSX, "multipart/form-data; boundary=xyz", "text/plain", ""}
	f.Add(uint8(0), mustJSON(req(q(r.CertificateNumber, r.Name))))
	f.Add(uint8(0), mustJSON(req(q(r.CertificateNumber, r.Name), qID(r, r.Name), q("", ""))))
	f.Add(uint8(0), `{"purpose":"employment_background_check","queries":[{"name":1}]}`)
	f.Add(uint8(0), `{"purpose":"employment_background_check","queries":[null,{}]}`)
	f.Add(uint8(1), "certificate_number,name\n"+r.CertificateNumber+","+r.Name+"\n")
	f.Add(uint8(1), "id_type,id_number,name\nresident_id,\"x\",y\n\n")
	f.Add(uint8(2), string(xlsxBytes(f, [][]string{{"certificate_number", "name"}, {r.CertificateNumber, r.Name}})))
	f.Add(uint8(3), "--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\ncertificate_number,name\n1,2\n\r\n--xyz--\r\n")
	f.Fuzz(func(t *testing.T, kind uint8, body string) {
		ct := types[int(kind)%len(types)]
		req := httptest.NewRequest("POST", "/v1/agency/verify?purpose="+agencyPurpose, strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer x")
		resp, err := fx.srv.App().Test(req, -1)
		if err != nil && strings.HasPrefix(ct, "multipart/") {
			// fasthttp parses a multipart body while reading the request
			// and refuses a broken one before any route runs; over a real
			// connection that is a 400 problem (see
			// TestAgencyBrokenMultipartOverTheWire), in app.Test an error.
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		b := readBody(t, resp)
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d for %s: %s", resp.StatusCode, ct, b)
		}
		if resp.StatusCode != 200 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			t.Fatalf("status %d answered as %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}

// badCheckDigit is a resident ID number of the fixture with its check
// character changed: the right shape, the wrong number.
func badCheckDigit(t testing.TB, f *agencyFixture) string {
	t.Helper()
	r := f.find(t, func(r registry.Record) bool { return r.IDType == registry.IDResident && len(r.IDNumber) == 18 })
	last := byte('0')
	if r.IDNumber[17] == '0' {
		last = '1'
	}
	return r.IDNumber[:17] + string(last)
}

// areaOpenAPIValidator validates answers against the served document.
func areaOpenAPIValidator(t testing.TB, f *fixture) validator.Validator {
	t.Helper()
	doc, err := libopenapi.NewDocument(f.srv.openAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	return v
}

func TestAgencyBrokenMultipartOverTheWire(t *testing.T) {
	f := newAgencyFixture(t, 1, fixtureOptions{})
	req, _ := http.NewRequestWithContext(t.Context(), "POST", "http://"+serveOnSocket(t, f.srv)+"/v1/agency/verify", strings.NewReader("0"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
	req.Header.Set("Authorization", "Bearer "+f.agencyToken(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	problemOf(t, resp, 400, "/problems/http")
}

// agencyAuditDetail is the Detail of a verify.agency entry as officials
// and the access log read it.
type agencyAuditDetail struct {
	Request       string   `json:"request"`
	Index         int      `json:"index"`
	Query         string   `json:"query"`
	Result        string   `json:"result"`
	Scope         string   `json:"scope"`
	LegalBasis    string   `json:"legal_basis"`
	Fields        []string `json:"fields"`
	PolicyVersion string   `json:"policy_version"`
}

// TestAgencySpreadsheetInChinese: asked in Chinese (lang=zh, or an
// Accept-Language that prefers it), the added columns carry Chinese
// headers and code labels; a request without a language keeps codes.
func TestAgencySpreadsheetInChinese(t *testing.T) {
	f := newAgencyFixture(t, 40, fixtureOptions{})
	f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal()}
	a, b := f.find(t, filed), f.withRevoked(t)
	upload := [][]string{{"certificate_number", "name"}, {a.CertificateNumber, a.Name}, {b.CertificateNumber, b.Name}, {a.CertificateNumber, b.Name}}
	path := "/v1/agency/verify?purpose=" + agencyPurpose
	for _, tc := range []struct {
		name, query, acceptLanguage string
		chinese                     bool
	}{
		{"lang=zh", "&lang=zh", "", true},
		{"Accept-Language zh-CN", "", "zh-CN,zh;q=0.9,en;q=0.5", true},
		{"lang=en over a Chinese Accept-Language", "&lang=en", "zh-CN", false},
		{"no language", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{"Authorization", "Bearer x"}
			if tc.acceptLanguage != "" {
				headers = append(headers, "Accept-Language", tc.acceptLanguage)
			}
			resp := f.do(t, "POST", path+tc.query, "text/csv", string(csvBytes(upload)), headers...)
			body := readBody(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			rows := csvTable(t, []byte(body))
			result, status, level, gender := "result", "status", "registry.degree_level", "registry.gender"
			want := [][2]string{{"match", "valid"}, {"match", "revoked"}, {"no_match", ""}}
			if tc.chinese {
				result, status, level, gender = "查询结果", "学位状态", "学位级别（登记）", "性别（登记）"
				want = [][2]string{{"相符", "有效"}, {"相符", "已撤销"}, {"不符", ""}}
			}
			res, st, lv := column(t, rows[0], result), column(t, rows[0], status), column(t, rows[0], level)
			for i, w := range want {
				row := rows[i+1]
				if row[res] != w[0] || row[st] != w[1] {
					t.Errorf("row %d: %s/%s, want %s/%s", i+1, row[res], row[st], w[0], w[1])
				}
			}
			levels := map[string]bool{"doctor": true, "master": true, "bachelor": true}
			if tc.chinese {
				levels = map[string]bool{"博士": true, "硕士": true, "学士": true}
			}
			if !levels[rows[1][lv]] {
				t.Errorf("degree level %q", rows[1][lv])
			}
			if i := slices.Index(rows[0], gender); i >= 0 && tc.chinese && rows[1][i] != "男" && rows[1][i] != "女" {
				t.Errorf("gender %q", rows[1][i])
			}
		})
	}
	// A language the sheet does not speak is refused before anything is
	// answered or audited.
	before := len(f.audit.all())
	resp := f.do(t, "POST", path+"&lang=fr", "text/csv", string(csvBytes(upload)), "Authorization", "Bearer x")
	problemOf(t, resp, 400, "/problems/invalid-request")
	if n := len(f.audit.all()) - before; n != 0 {
		t.Errorf("a refused sheet wrote %d audit entries", n)
	}
}

// TestAgencySheetReadsAreBounded: workbooks are read a few at a time; an
// upload that cannot get its turn within its request's deadline is
// answered 503 sheets-busy with Retry-After, not read.
func TestAgencySheetReadsAreBounded(t *testing.T) {
	f := newAgencyFixture(t, 10, fixtureOptions{})
	f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal()}
	a := f.find(t, filed)
	body := xlsxBytes(t, [][]string{{"certificate_number", "name"}, {a.CertificateNumber, a.Name}})
	// Every turn taken, as by maxSheetReads slow uploads.
	for range maxSheetReads {
		f.srv.sheetReads <- struct{}{}
	}
	f.srv.deps.RequestTimeout = 200 * time.Millisecond
	resp := f.do(t, "POST", "/v1/agency/verify?purpose="+agencyPurpose, mimeXLSX, string(body), "Authorization", "Bearer x")
	problemOf(t, resp, 503, "/problems/sheets-busy")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// A CSV is read at once: no workbook to unpack.
	resp = f.do(t, "POST", "/v1/agency/verify?purpose="+agencyPurpose, "text/csv", string(csvBytes([][]string{{"certificate_number", "name"}, {a.CertificateNumber, a.Name}})), "Authorization", "Bearer x")
	if resp.StatusCode != 200 {
		t.Fatalf("a CSV while workbooks wait: %d", resp.StatusCode)
	}
	<-f.srv.sheetReads
	resp = f.do(t, "POST", "/v1/agency/verify?purpose="+agencyPurpose, mimeXLSX, string(body), "Authorization", "Bearer x")
	if resp.StatusCode != 200 {
		t.Fatalf("a workbook once a turn is free: %d %s", resp.StatusCode, readBody(t, resp))
	}
}

// TestAnEmptySheetSpendsItsToken (issue 16, item 5): reading an upload
// costs the server more than answering it, so a single-use token pays
// for one read, even of a sheet without data rows — before, such a
// sheet was refused without spending the token, and one token could make
// the server unpack workbooks for free.
func TestAnEmptySheetSpendsItsToken(t *testing.T) {
	f := newAgencyFixture(t, 5, fixtureOptions{})
	header := [][]string{{"certificate_number", "name"}}
	for _, tt := range []struct {
		format string
		body   []byte
	}{
		{"text/csv", csvBytes(header)},
		{mimeXLSX, xlsxBytes(t, header)},
	} {
		t.Run(tt.format, func(t *testing.T) {
			tok := f.agencyToken(t)
			resp := f.do(t, "POST", "/v1/agency/verify?purpose="+agencyPurpose, tt.format, string(tt.body), "Authorization", "Bearer "+tok)
			problemOf(t, resp, 400, "/problems/invalid-request")
			resp = f.do(t, "POST", "/v1/agency/verify?purpose="+agencyPurpose, tt.format, string(tt.body), "Authorization", "Bearer "+tok)
			problemOf(t, resp, 401, "/problems/token-replayed")
		})
	}
	// A sheet is a batch whatever rows it holds: a token that is not
	// single-use reads none.
	f.srv.deps.Tokens = stubVerifier{p: agencyPrincipal(), noJTI: true}
	a := f.find(t, filed)
	resp := f.do(t, "POST", "/v1/agency/verify?purpose="+agencyPurpose, "text/csv", string(csvBytes([][]string{{"certificate_number", "name"}, {a.CertificateNumber, a.Name}})), "Authorization", "Bearer x")
	problemOf(t, resp, 401, "/problems/jti-required")
}
