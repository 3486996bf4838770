package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// holderClock is the gateway's injected clock (Deps.Now); tokens keep real
// time, so moving it ages codes without expiring tokens.
type holderClock struct{ ns atomic.Int64 }

func (c *holderClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *holderClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// holderAuditor records like recordingAuditor and also appends to the
// store's trail at once, so the access log can search what was recorded.
type holderAuditor struct {
	*recordingAuditor
	trail registry.AuditLog
}

func (a *holderAuditor) Record(ctx context.Context, e registry.AuditEntry) error {
	if err := a.recordingAuditor.Record(ctx, e); err != nil {
		return err
	}
	return a.trail.AppendAudit(ctx, []registry.AuditEntry{e})
}

func (a *holderAuditor) RecordBatch(ctx context.Context, es []registry.AuditEntry) error {
	if err := a.recordingAuditor.RecordBatch(ctx, es); err != nil {
		return err
	}
	return a.trail.AppendAudit(ctx, es)
}

// holderFixture is newFixture with token verification by a dev issuer,
// the store's share codes and audit search, and a clock the test moves.
type holderFixture struct {
	*fixture
	dev   *token.DevIssuer
	clock *holderClock
	doc   validator.Validator
}

func newHolderFixture(t testing.TB, n int, o fixtureOptions) *holderFixture {
	t.Helper()
	f := newFixture(t, n, o)
	dev, err := token.NewDevIssuer()
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(context.Background(), dev.Config(), token.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := &holderClock{}
	clock.ns.Store(time.Now().UnixNano())
	// Set before the first request and rewired, these are the same as
	// passed to New.
	f.srv.deps.Tokens = v
	f.srv.deps.Codes = f.store
	f.srv.deps.AuditSearch = f.store
	f.srv.deps.Audit = &holderAuditor{recordingAuditor: f.audit, trail: logged(f.store)}
	f.srv.deps.Now = clock.now
	f.rewire(t)
	doc, err := libopenapi.NewDocument(f.srv.openAPI)
	if err != nil {
		t.Fatal(err)
	}
	val, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	return &holderFixture{fixture: f, dev: dev, clock: clock, doc: val}
}

const holderScopes = "holder.read holder.codes"

// holderToken mints a holder token for the person of rec.
func (h *holderFixture) holderToken(t testing.TB, rec registry.Record, scopes string) string {
	t.Helper()
	c := h.dev.Claims(token.AudienceHolder, "rn-"+rec.CertificateNumber)
	c.Scope = scopes
	c.IDType, c.IDNumber = string(rec.IDType), rec.IDNumber
	raw, err := h.dev.Mint(c, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// call sends a request, checks the answer against openapi.json, and
// returns status, body and headers.
func (h *holderFixture) call(t testing.TB, method, path, tok, body string, header ...string) (int, string, http.Header) {
	t.Helper()
	if tok != "" {
		header = append(header, "Authorization", "Bearer "+tok)
	}
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	resp := h.do(t, method, path, ctype, body, header...)
	b := readBody(t, resp)
	// Validate the answer as received against the document.
	req := httptest.NewRequest(method, "http://localhost"+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	check := &http.Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: holderBody(b), Request: req}
	if ok, errs := h.doc.ValidateHttpResponse(req, check); !ok {
		for _, e := range errs {
			t.Errorf("%s %s → %d does not match openapi.json: %s: %s", method, path, resp.StatusCode, e.Message, e.Reason)
		}
	}
	return resp.StatusCode, b, resp.Header
}

type holderBodyReader struct{ *strings.Reader }

func (holderBodyReader) Close() error { return nil }

func holderBody(s string) holderBodyReader { return holderBodyReader{strings.NewReader(s)} }

// recordsOf are the fixture's records of rec's person.
func (h *holderFixture) recordsOf(rec registry.Record) []registry.Record {
	var out []registry.Record
	for _, r := range h.records {
		if r.IDType == rec.IDType && r.IDNumber == rec.IDNumber {
			out = append(out, r)
		}
	}
	return out
}

// otherPerson is a filed record of someone other than rec's person.
func (h *holderFixture) otherPerson(t testing.TB, rec registry.Record) registry.Record {
	return h.find(t, func(r registry.Record) bool {
		return r.Status == registry.StatusFiled && (r.IDType != rec.IDType || r.IDNumber != rec.IDNumber) && r.Name != rec.Name
	})
}

func holderProblem(t testing.TB, body string) Problem {
	t.Helper()
	var p Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("not a problem: %s", body)
	}
	p.Type = relType(p.Type)
	return p
}

func (h *holderFixture) issue(t testing.TB, tok, body string) issuedCode {
	t.Helper()
	st, b, _ := h.call(t, "POST", "/v1/holder/codes", tok, body)
	if st != 201 {
		t.Fatalf("issue %s: %d %s", body, st, b)
	}
	var ic issuedCode
	if err := json.Unmarshal([]byte(b), &ic); err != nil {
		t.Fatal(err)
	}
	return ic
}

func codeBody(cert string, extra ...string) string {
	m := map[string]any{"certificate_number": cert}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestHolderDegreesShowsOwnRecordsOnly(t *testing.T) {
	h := newHolderFixture(t, 300, fixtureOptions{})
	me := h.records[3]
	mine := h.recordsOf(me)
	tok := h.holderToken(t, me, holderScopes)
	st, body, hdr := h.call(t, "GET", "/v1/holder/degrees", tok, "")
	if st != 200 {
		t.Fatalf("degrees: %d %s", st, body)
	}
	if hdr.Get("Degreegate-Policy-Version") != h.srv.deps.Policy.Version() {
		t.Errorf("policy version header %q", hdr.Get("Degreegate-Policy-Version"))
	}
	var got holderDegrees
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Degrees) != len(mine) {
		t.Fatalf("%d degrees, the person has %d", len(got.Degrees), len(mine))
	}
	want := map[string]registry.Record{}
	for _, r := range mine {
		want[r.CertificateNumber] = r
	}
	maskedID, _ := policies.MaskIDNumber.Apply(me.IDNumber, policies.ApplyOptions{})
	for _, d := range got.Degrees {
		r, ok := want[d.CertificateNumber]
		if !ok {
			t.Fatalf("a degree that is not the holder's")
		}
		if d.Degree["name"] != r.Name || d.Degree["unit_name"] != r.UnitName {
			t.Errorf("own record not shown in full")
		}
		// The policy masks the ID number even for its owner.
		if d.Degree["id_number"] != maskedID {
			t.Errorf("id_number shown as the holder policy does not say")
		}
	}
	others := []registry.Record{}
	for _, r := range h.records {
		if r.IDNumber != me.IDNumber {
			others = append(others, r)
		}
	}
	assertNoPersonalData(t, "degrees answer", body, others)
	if strings.Contains(body, me.IDNumber) {
		t.Error("degrees answer carries the full ID number")
	}
	// Audited per record, by a keyed hash of the holder, with fields.
	n := 0
	for _, e := range h.audit.all() {
		if e.Action != disclose.ActionHolderRead {
			continue
		}
		n++
		if !strings.HasPrefix(e.Actor, "holder:") || strings.Contains(e.Actor, "rn-") || !strings.Contains(e.Detail, `"fields"`) ||
			!strings.Contains(e.Detail, h.srv.deps.Policy.Version()) {
			t.Errorf("audit entry %+v", e)
		}
		if _, ok := want[e.RecordRef]; !ok {
			t.Errorf("audit names a record not the holder's")
		}
	}
	if n != len(mine) {
		t.Errorf("%d holder.read entries for %d records", n, len(mine))
	}
}

func TestHolderRoutesRefuseWrongCallers(t *testing.T) {
	h := newHolderFixture(t, 20, fixtureOptions{})
	me := h.records[0]
	agency := h.dev.Claims(token.AudienceAgency, "officer")
	agency.Scope, agency.Org = "degree.verify", "gov:mps"
	agencyTok, _ := h.dev.Mint(agency, 10*time.Minute)
	readOnly := h.holderToken(t, me, "holder.read")
	other, _ := token.NewDevIssuer()
	forgedClaims := other.Claims(token.AudienceHolder, "x")
	forgedClaims.IDType, forgedClaims.IDNumber, forgedClaims.Scope = string(me.IDType), me.IDNumber, holderScopes
	forged, _ := other.Mint(forgedClaims, 10*time.Minute)
	cases := []struct {
		name, method, path, tok, body string
		status                        int
		ptype                         string
	}{
		{"no token", "GET", "/v1/holder/degrees", "", "", 401, "/problems/unauthenticated"},
		{"no token on log", "GET", "/v1/holder/access-log", "", "", 401, "/problems/unauthenticated"},
		{"garbage token", "GET", "/v1/holder/degrees", "abc.def.ghi", "", 401, "/problems/invalid-token"},
		{"untrusted issuer key", "GET", "/v1/holder/degrees", forged, "", 401, "/problems/invalid-token"},
		{"agency token", "GET", "/v1/holder/degrees", agencyTok, "", 403, "/problems/wrong-audience"},
		{"agency token issuing", "POST", "/v1/holder/codes", agencyTok, codeBody(me.CertificateNumber), 403, "/problems/wrong-audience"},
		{"agency token withdrawing", "DELETE", "/v1/holder/codes/ABCDE-FGHJK-LMNPQ-RSTUV", agencyTok, "", 403, "/problems/wrong-audience"},
		{"scope missing", "POST", "/v1/holder/codes", readOnly, codeBody(me.CertificateNumber), 403, "/problems/scope-denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, body, _ := h.call(t, c.method, c.path, c.tok, c.body)
			if st != c.status || holderProblem(t, body).Type != c.ptype {
				t.Fatalf("%d %s, want %d %s", st, body, c.status, c.ptype)
			}
			assertNoPersonalData(t, "refusal", body, h.records)
		})
	}
}

func TestHolderCodeLifecycle(t *testing.T) {
	h := newHolderFixture(t, 100, fixtureOptions{})
	me := h.find(t, func(r registry.Record) bool { return r.Status == registry.StatusFiled })
	tok := h.holderToken(t, me, holderScopes)
	ic := h.issue(t, tok, codeBody(me.CertificateNumber, "valid_for", "72h"))
	if !regexp.MustCompile(`^[2-9A-HJ-NP-Z]{5}(-[2-9A-HJ-NP-Z]{5}){3}$`).MatchString(ic.Code) {
		t.Fatalf("code %q has not the documented shape", ic.Code)
	}
	rules := h.srv.deps.Policy.HolderCodes()
	if ic.Level != rules.DefaultLevel || !ic.CreatedAt.Equal(h.clock.now().UTC().Truncate(time.Second)) || ic.ExpiresAt.Sub(ic.CreatedAt) != 72*time.Hour {
		t.Errorf("level %q expires %v", ic.Level, ic.ExpiresAt)
	}
	if ic.URL != "/v1/verify/"+ic.Code || ic.PageURL != "/code/"+ic.Code {
		t.Errorf("urls %q %q", ic.URL, ic.PageURL)
	}
	// The store keeps the hash, never the code.
	codes, _ := h.store.ShareCodesOf(context.Background(), h.srv.deps.Registry.PersonIndex(me.IDType, me.IDNumber))
	if len(codes) != 1 || strings.Contains(string(codes[0].Hash), strings.ReplaceAll(ic.Code, "-", "")) {
		t.Fatalf("stored codes %d", len(codes))
	}

	// Viewed in any case, with or without separators; each view counts.
	for i, form := range []string{ic.Code, strings.ToLower(ic.Code), strings.ReplaceAll(ic.Code, "-", "")} {
		st, body, hdr := h.call(t, "GET", "/v1/verify/"+form, "", "")
		if st != 200 {
			t.Fatalf("view %d: %d %s", i, st, body)
		}
		if hdr.Get("Cache-Control") != "no-store" || hdr.Get("Degreegate-Policy-Version") == "" {
			t.Errorf("headers %v", hdr)
		}
		assertTimestamps(t, body)
		var rep sharedReport
		json.Unmarshal([]byte(body), &rep)
		if rep.Result != "shared" || rep.Status != "valid" || rep.CertificateNumber != me.CertificateNumber || rep.Level != ic.Level {
			t.Fatalf("report %+v", rep)
		}
		// The basic level masks the name.
		if rep.Degree["name"] == me.Name || rep.Degree["name"] == "" {
			t.Errorf("basic level shows the name %q", rep.Degree["name"])
		}
		if _, ok := rep.Degree["id_number"]; ok {
			t.Error("basic level shows the ID number")
		}
		if i == 0 {
			checkSharedReceipt(t, h, rep)
		}
	}
	st, body, _ := h.call(t, "GET", "/v1/holder/degrees", tok, "")
	if st != 200 || !strings.Contains(body, `"views":3`) || !strings.Contains(body, `"state":"active"`) || strings.Contains(body, ic.Code) {
		t.Fatalf("listing after 3 views: %s", body)
	}
	views := 0
	for _, e := range h.audit.all() {
		if e.Action == disclose.ActionCodeView && e.RecordRef == me.CertificateNumber && strings.Contains(e.Detail, `"result":"shown"`) {
			views++
			if e.Actor != "code:"+ic.ID || e.Purpose != disclose.PurposeSharedReport || !strings.Contains(e.Detail, `"fields"`) {
				t.Errorf("view audit %+v", e)
			}
		}
	}
	if views != 3 {
		t.Errorf("%d audited views, want 3", views)
	}

	// Expiry by the gateway's clock.
	h.clock.advance(72 * time.Hour)
	st, body, _ = h.call(t, "GET", "/v1/verify/"+ic.Code, "", "")
	if st != 410 || holderProblem(t, body).Type != "/problems/code-expired" {
		t.Fatalf("expired: %d %s", st, body)
	}

	// Withdrawal: a fresh code, withdrawn by the code, then by its id.
	ic2 := h.issue(t, tok, codeBody(me.CertificateNumber, "level", "full"))
	st, body, _ = h.call(t, "GET", "/v1/verify/"+ic2.Code, "", "")
	var full sharedReport
	json.Unmarshal([]byte(body), &full)
	if st != 200 || full.Degree["name"] != me.Name || full.Degree["id_number"] == me.IDNumber {
		t.Fatalf("full level: %d name shown=%v", st, full.Degree["name"] == me.Name)
	}
	for _, ref := range []string{ic2.Code, ic2.ID} {
		if st, body, _ := h.call(t, "DELETE", "/v1/holder/codes/"+ref, tok, ""); st != 204 {
			t.Fatalf("withdraw by %s: %d %s", ref, st, body)
		}
	}
	st, body, _ = h.call(t, "GET", "/v1/verify/"+ic2.Code, "", "")
	if st != 410 || holderProblem(t, body).Type != "/problems/code-withdrawn" {
		t.Fatalf("withdrawn: %d %s", st, body)
	}
	for _, a := range []string{disclose.ActionCodeIssue, disclose.ActionCodeWithdraw} {
		found := false
		for _, e := range h.audit.all() {
			found = found || (e.Action == a && e.RecordRef == me.CertificateNumber && strings.Contains(e.Detail, ic2.ID))
		}
		if !found {
			t.Errorf("no %s audit entry", a)
		}
	}
	assertNoPersonalData(t, "logs", h.logs.String(), h.records)
}

func checkSharedReceipt(t *testing.T, h *holderFixture, rep sharedReport) {
	t.Helper()
	sig, err := jose.ParseSigned(rep.Receipt, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	set := h.signer.JWKS()
	pub, err := set.Keys[0].PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	payload, err := sig.Verify(pub)
	if err != nil {
		t.Fatalf("receipt does not verify: %v", err)
	}
	var claims struct {
		Result            string              `json:"result"`
		Level             string              `json:"level"`
		CertificateNumber string              `json:"certificate_number"`
		Degree            policies.Disclosure `json:"degree"`
	}
	json.Unmarshal(payload, &claims)
	if claims.Result != "shared" || claims.Level != rep.Level || claims.CertificateNumber != rep.CertificateNumber || len(claims.Degree) != len(rep.Degree) {
		t.Errorf("receipt claims %s", payload)
	}
}

func TestHolderCodeGuessedOrMalformed(t *testing.T) {
	h := newHolderFixture(t, 20, fixtureOptions{})
	me := h.records[0]
	tok := h.holderToken(t, me, holderScopes)
	ic := h.issue(t, tok, codeBody(me.CertificateNumber))
	guess := []byte(strings.ReplaceAll(ic.Code, "-", ""))
	// One letter changed: a well-formed code nobody issued.
	if guess[0] == 'A' {
		guess[0] = 'B'
	} else {
		guess[0] = 'A'
	}
	cases := []struct {
		name, code string
		status     int
		ptype      string
	}{
		{"guessed", string(guess), 404, "/problems/code-not-found"},
		{"fresh random", disclose.NewShareCode(), 404, "/problems/code-not-found"},
		{"too short", "ABCDE-FGHJK", 400, "/problems/invalid-request"},
		{"ambiguous letters", "O0I1A-FGHJK-LMNPQ-RSTUV", 400, "/problems/invalid-request"},
		{"too long", strings.Repeat("A", 21), 400, "/problems/invalid-request"},
		{"huge", strings.Repeat("A", 500), 400, "/problems/invalid-request"},
		{"symbols", "ABCDE%2FFGHJK-LMNPQ-RSTUV", 400, "/problems/invalid-request"},
	}
	for _, c := range cases {
		st, body, _ := h.call(t, "GET", "/v1/verify/"+c.code, "", "")
		if st != c.status || holderProblem(t, body).Type != c.ptype {
			t.Errorf("%s: %d %s, want %d %s", c.name, st, body, c.status, c.ptype)
		}
	}
	// Someone else's code and an unknown code are withdrawn alike: 404,
	// same body, and the code still works.
	otherTok := h.holderToken(t, h.otherPerson(t, me), holderScopes)
	st1, b1, _ := h.call(t, "DELETE", "/v1/holder/codes/"+ic.Code, otherTok, "")
	st2, b2, _ := h.call(t, "DELETE", "/v1/holder/codes/"+string(guess), otherTok, "")
	st3, b3, _ := h.call(t, "DELETE", "/v1/holder/codes/"+ic.ID, otherTok, "")
	if st1 != 404 || b1 != b2 || st2 != 404 || b3 != b1 || st3 != 404 {
		t.Fatalf("someone else's: %d %s; unknown: %d %s; by id: %d %s", st1, b1, st2, b2, st3, b3)
	}
	if st, _, _ := h.call(t, "GET", "/v1/verify/"+ic.Code, "", ""); st != 200 {
		t.Fatalf("another holder's withdrawal touched the code: %d", st)
	}
	for _, e := range h.audit.all() {
		if e.Action == disclose.ActionCodeWithdraw {
			t.Errorf("a refused withdrawal was audited as one: %+v", e)
		}
	}
	if st, body, _ := h.call(t, "DELETE", "/v1/holder/codes/not-a-code", tok, ""); st != 400 {
		t.Errorf("malformed withdrawal: %d %s", st, body)
	}
}

func TestHolderCannotShareAnothersDegree(t *testing.T) {
	h := newHolderFixture(t, 100, fixtureOptions{})
	me := h.records[0]
	tok := h.holderToken(t, me, holderScopes)
	other := h.otherPerson(t, me)
	unknown := "9999999999999999"
	st1, b1, _ := h.call(t, "POST", "/v1/holder/codes", tok, codeBody(other.CertificateNumber))
	st2, b2, _ := h.call(t, "POST", "/v1/holder/codes", tok, codeBody(unknown))
	if st1 != 404 || st2 != 404 || b1 != b2 || holderProblem(t, b1).Type != "/problems/certificate-not-found" {
		t.Fatalf("another's: %d %s; unknown: %d %s", st1, b1, st2, b2)
	}
	assertNoPersonalData(t, "refusal", b1, h.records)
	codes, _ := h.store.ShareCodesOf(context.Background(), h.srv.deps.Registry.PersonIndex(me.IDType, me.IDNumber))
	if len(codes) != 0 {
		t.Fatalf("%d codes stored for refused requests", len(codes))
	}
}

func TestHolderCodePolicyBounds(t *testing.T) {
	h := newHolderFixture(t, 20, fixtureOptions{})
	me := h.records[0]
	tok := h.holderToken(t, me, holderScopes)
	rules := h.srv.deps.Policy.HolderCodes()
	over := fmt.Sprintf("%dh", int((rules.MaxValidity+time.Hour)/time.Hour))
	under := (rules.MinValidity - time.Second).String()
	cert := me.CertificateNumber
	cases := []struct {
		name, body string
		status     int
		ptype      string
		validity   time.Duration // for 201
	}{
		{"default", codeBody(cert), 201, "", rules.DefaultValidity},
		{"hours", codeBody(cert, "valid_for", "72h"), 201, "", 72 * time.Hour},
		{"days", codeBody(cert, "valid_for", "2d"), 201, "", 48 * time.Hour},
		{"seconds", fmt.Sprintf(`{"certificate_number":%q,"valid_for":%d}`, cert, int(rules.MinValidity/time.Second)+60), 201, "", rules.MinValidity + time.Minute},
		{"null validity", fmt.Sprintf(`{"certificate_number":%q,"valid_for":null}`, cert), 201, "", rules.DefaultValidity},
		{"over max", codeBody(cert, "valid_for", over), 400, "/problems/validity-out-of-bounds", 0},
		{"under min", codeBody(cert, "valid_for", under), 400, "/problems/validity-out-of-bounds", 0},
		{"unknown level", codeBody(cert, "level", "everything"), 400, "/problems/level-rejected", 0},
		{"negative seconds", fmt.Sprintf(`{"certificate_number":%q,"valid_for":-5}`, cert), 400, "/problems/invalid-request", 0},
		{"fraction", fmt.Sprintf(`{"certificate_number":%q,"valid_for":1.5}`, cert), 400, "/problems/invalid-request", 0},
		{"words", codeBody(cert, "valid_for", "a week"), 400, "/problems/invalid-request", 0},
		{"huge days", codeBody(cert, "valid_for", "99999999999d"), 400, "/problems/invalid-request", 0},
		{"bool", fmt.Sprintf(`{"certificate_number":%q,"valid_for":true}`, cert), 400, "/problems/invalid-request", 0},
		{"bad number", codeBody("12-34"), 400, "/problems/invalid-request", 0},
		{"unknown field", fmt.Sprintf(`{"certificate_number":%q,"id_number":"x"}`, cert), 400, "/problems/malformed-json", 0},
		{"control char level", codeBody(cert, "level", "a\x00"), 400, "/problems/invalid-request", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, body, _ := h.call(t, "POST", "/v1/holder/codes", tok, c.body)
			if st != c.status {
				t.Fatalf("%d %s, want %d", st, body, c.status)
			}
			if st != 201 {
				if p := holderProblem(t, body); p.Type != c.ptype {
					t.Fatalf("type %s, want %s", p.Type, c.ptype)
				}
				return
			}
			var ic issuedCode
			json.Unmarshal([]byte(body), &ic)
			if got := ic.ExpiresAt.Sub(ic.CreatedAt); got != c.validity {
				t.Errorf("validity %v, want %v", got, c.validity)
			}
			// Tidy up so that the cases do not run into max_active.
			h.call(t, "DELETE", "/v1/holder/codes/"+ic.Code, tok, "")
		})
	}
	if st, body, _ := h.call(t, "POST", "/v1/holder/codes", tok, codeBody(cert)); st != 201 {
		t.Fatalf("after the cases: %d %s", st, body)
	}
}

func TestHolderMaxActiveCodes(t *testing.T) {
	h := newHolderFixture(t, 20, fixtureOptions{})
	me := h.records[0]
	tok := h.holderToken(t, me, holderScopes)
	maxActive := h.srv.deps.Policy.HolderCodes().MaxActive
	if maxActive <= 0 {
		t.Skip("the policy sets no bound")
	}
	var first issuedCode
	for i := 0; i < maxActive; i++ {
		ic := h.issue(t, tok, codeBody(me.CertificateNumber))
		if i == 0 {
			first = ic
		}
	}
	st, body, _ := h.call(t, "POST", "/v1/holder/codes", tok, codeBody(me.CertificateNumber))
	if st != 409 || holderProblem(t, body).Type != "/problems/too-many-codes" {
		t.Fatalf("over max_active: %d %s", st, body)
	}
	h.call(t, "DELETE", "/v1/holder/codes/"+first.ID, tok, "")
	h.issue(t, tok, codeBody(me.CertificateNumber))
	// Expired codes do not count.
	h.clock.advance(h.srv.deps.Policy.HolderCodes().MaxValidity)
	h.issue(t, tok, codeBody(me.CertificateNumber))
}

func TestHolderAccessLog(t *testing.T) {
	h := newHolderFixture(t, 200, fixtureOptions{})
	me := h.find(t, func(r registry.Record) bool { return r.Status == registry.StatusFiled })
	other := h.otherPerson(t, me)
	tok, otherTok := h.holderToken(t, me, holderScopes), h.holderToken(t, other, holderScopes)

	// Accesses to my record: a public match, a public wrong name, a code
	// view and an agency verification.
	h.do(t, "POST", "/v1/verify", "application/json", verifyBody(me.CertificateNumber, me.Name)).Body.Close()
	h.do(t, "POST", "/v1/verify", "application/json", verifyBody(me.CertificateNumber, "某某某")).Body.Close()
	mine := h.issue(t, tok, codeBody(me.CertificateNumber))
	h.call(t, "GET", "/v1/verify/"+mine.Code, "", "")
	purpose := h.srv.deps.Policy.Purposes()[0]
	h.srv.deps.Audit.Record(context.Background(), registry.AuditEntry{At: h.clock.now(), Actor: "org:gov:mps/sub:officer-7", Action: disclose.ActionAgencyVerify,
		RecordRef: me.CertificateNumber, Purpose: purpose.ID, Detail: `{"result":"match","fields":["name","unit_name"]}`})
	// Accesses to someone else's record must not show.
	h.do(t, "POST", "/v1/verify", "application/json", verifyBody(other.CertificateNumber, other.Name)).Body.Close()
	theirs := h.issue(t, otherTok, codeBody(other.CertificateNumber))
	h.call(t, "GET", "/v1/verify/"+theirs.Code, "", "")
	h.call(t, "GET", "/v1/verify/"+disclose.NewShareCode(), "", "") // a guess

	st, body, hdr := h.call(t, "GET", "/v1/holder/access-log", tok, "")
	if st != 200 || hdr.Get("Degreegate-Policy-Version") == "" {
		t.Fatalf("access log: %d %s", st, body)
	}
	assertTimestamps(t, body)
	var page disclose.AccessLogPage
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range page.Entries {
		if e.CertificateNumber != me.CertificateNumber {
			t.Errorf("entry about another record")
		}
		kinds[e.Who.Kind+"/"+e.Result]++
		if e.Summary.EN == "" || e.Summary.ZH == "" {
			t.Errorf("entry without plain words: %+v", e)
		}
		switch e.Who.Kind {
		case "agency":
			if e.Who.Org != "gov:mps" || e.Purpose == nil || e.Purpose.Description != purpose.Description ||
				!strings.Contains(e.Summary.EN, purpose.Description.EN) {
				t.Errorf("agency entry %+v", e)
			}
		case "code":
			if e.Who.CodeID != mine.ID || e.Who.Description.EN == "" {
				t.Errorf("code entry %+v", e)
			}
		case "public":
			if !strings.Contains(e.Who.Description.EN, "address withheld") {
				t.Errorf("public entry %+v", e)
			}
		}
	}
	want := map[string]int{"public/match": 1, "public/no_match": 1, "code/shown": 1, "agency/match": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%s: %d entries, want %d (all: %v)", k, kinds[k], n, kinds)
		}
	}
	if len(page.Entries) != 4 {
		t.Errorf("%d entries, want 4: %v", len(page.Entries), kinds)
	}
	if strings.Contains(body, "officer-7") || strings.Contains(body, "public:") || strings.Contains(body, me.IDNumber) {
		t.Error("access log shows an official's subject, an address hash or the ID number")
	}
	assertNoPersonalData(t, "access log", body, []registry.Record{other})

	// Pages of one: the cursor walks the same four entries.
	var seen []int64
	after := int64(0)
	for i := 0; i < 10; i++ {
		st, body, _ := h.call(t, "GET", fmt.Sprintf("/v1/holder/access-log?limit=1&after=%d", after), tok, "")
		var p disclose.AccessLogPage
		json.Unmarshal([]byte(body), &p)
		if st != 200 {
			t.Fatalf("page: %d %s", st, body)
		}
		for _, e := range p.Entries {
			seen = append(seen, e.Seq)
		}
		if p.NextAfter == 0 {
			break
		}
		after = p.NextAfter
	}
	if len(seen) != len(page.Entries) {
		t.Errorf("paging saw %d entries, one page %d", len(seen), len(page.Entries))
	}
	for _, q := range []string{"limit=0", "limit=999", "limit=x", "after=-1", "after=99999999999999999999"} {
		if st, body, _ := h.call(t, "GET", "/v1/holder/access-log?"+q, tok, ""); st != 400 {
			t.Errorf("%s: %d %s", q, st, body)
		}
	}
	// The other holder sees their own accesses, none of mine.
	_, body, _ = h.call(t, "GET", "/v1/holder/access-log", otherTok, "")
	if strings.Contains(body, me.CertificateNumber) || !strings.Contains(body, other.CertificateNumber) {
		t.Errorf("other holder's log: %s", body)
	}
}

func TestHolderRoutesRefuseWhenTheTrailIsDown(t *testing.T) {
	h := newHolderFixture(t, 20, fixtureOptions{})
	me := h.records[0]
	tok := h.holderToken(t, me, holderScopes)
	ic := h.issue(t, tok, codeBody(me.CertificateNumber))
	h.audit.mu.Lock()
	h.audit.refuse = true
	h.audit.mu.Unlock()
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/holder/degrees", ""},
		{"GET", "/v1/verify/" + ic.Code, ""},
		{"POST", "/v1/holder/codes", codeBody(me.CertificateNumber)},
		{"GET", "/v1/holder/access-log", ""},
		{"DELETE", "/v1/holder/codes/" + ic.Code, ""},
	} {
		tk := tok
		if strings.HasPrefix(c.path, "/v1/verify/") {
			tk = ""
		}
		st, body, _ := h.call(t, c.method, c.path, tk, c.body)
		if st != 503 || holderProblem(t, body).Type != "/problems/audit-unavailable" {
			t.Errorf("%s %s with the trail down: %d %s", c.method, c.path, st, body)
		}
		if strings.Contains(body, me.UnitName) || strings.Contains(body, "receipt") {
			t.Errorf("%s %s served data unaudited", c.method, c.path)
		}
	}
	// The refused issue left no working code behind, and the refused
	// withdrawal left the old one working.
	h.audit.mu.Lock()
	h.audit.refuse = false
	h.audit.mu.Unlock()
	codes, _ := h.store.ShareCodesOf(context.Background(), h.srv.deps.Registry.PersonIndex(me.IDType, me.IDNumber))
	usable := 0
	for _, c := range codes {
		if c.Usable(h.clock.now()) == nil {
			usable++
		}
	}
	if usable != 1 {
		t.Errorf("%d usable codes after refusals, want the first one only", usable)
	}
}

func TestSharedReportRateLimits(t *testing.T) {
	h := newHolderFixture(t, 20, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{})})
	limits := h.srv.deps.Policy.Limits(policies.HolderCode)
	if limits.PerClient.Unlimited() {
		t.Skip("the policy sets no per-client limit for codes")
	}
	// Guessing from one address stops at the address burst.
	refused := 0
	n := limits.PerClient.Burst + 5
	for i := 0; i < n; i++ {
		st, body, hdr := h.call(t, "GET", "/v1/verify/"+disclose.NewShareCode(), "", "")
		switch st {
		case 404:
		case 429:
			refused++
			if hdr.Get("Retry-After") == "" || holderProblem(t, body).Type != "/problems/rate-limited" {
				t.Fatalf("429 without Retry-After or type: %v %s", hdr, body)
			}
		default:
			t.Fatalf("guess %d: %d %s", i, st, body)
		}
	}
	if refused < n-limits.PerClient.Burst-1 || refused == 0 {
		t.Errorf("%d of %d guesses refused with a burst of %d", refused, n, limits.PerClient.Burst)
	}
	// Guesses refused by the limiter never reach the store or the trail.
	guesses := 0
	for _, e := range h.audit.all() {
		if e.Action == disclose.ActionCodeView {
			guesses++
		}
	}
	if guesses != n-refused {
		t.Errorf("%d guesses audited, %d reached the store", guesses, n-refused)
	}
}

func TestParseValidFor(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{``, 0, true}, {`null`, 0, true}, {`3600`, time.Hour, true}, {`"90m"`, 90 * time.Minute, true},
		{`"7d"`, 7 * 24 * time.Hour, true}, {`"366d"`, 366 * 24 * time.Hour, true},
		{`0`, 0, false}, {`-1`, 0, false}, {`1.5`, 0, false}, {`"0d"`, 0, false}, {`"d"`, 0, false},
		{`"367d"`, 0, false}, {`"-5m"`, 0, false}, {`"1y"`, 0, false}, {`""`, 0, false}, {`true`, 0, false},
		{`[1]`, 0, false}, {`"9999h"`, 0, false}, {`99999999999999999999`, 0, false},
	}
	for _, c := range cases {
		got, why := parseValidFor(json.RawMessage(c.in))
		if (why == "") != c.ok || (c.ok && got != c.want) {
			t.Errorf("%s: %v %q, want %v ok=%v", c.in, got, why, c.want, c.ok)
		}
	}
}

func FuzzParseValidFor(f *testing.F) {
	for _, s := range []string{`3600`, `"72h"`, `"7d"`, `null`, `-1`, `"1e9h"`, `"0000000000000001d"`, `1e3`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, why := parseValidFor(json.RawMessage(s))
		if why == "" && (d < 0 || d > 366*24*time.Hour) {
			t.Fatalf("%q accepted as %v", s, d)
		}
	})
}

func FuzzAccessLogParams(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"10", "50"}, {"-1", "0"}, {"999999999999999999", "200"}, {"1e3", "x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, after, limit string) {
		q := accessLogParams(after, limit)
		if q.Errors == nil && (q.After < 0 || q.Limit < 1 || q.Limit > accessLogMaxPage) {
			t.Fatalf("(%q, %q) accepted as %d, %d", after, limit, q.After, q.Limit)
		}
	})
}

// FuzzHolderRequests sends arbitrary code bodies and code paths through
// the whole stack: never a 500, always problem+json on refusal.
func FuzzHolderRequests(f *testing.F) {
	h := newHolderFixture(f, 10, fixtureOptions{})
	me := h.records[0]
	tok := h.holderToken(f, me, holderScopes)
	f.Add(codeBody(me.CertificateNumber), "ABCDE-FGHJK-LMNPQ-RSTUV")
	f.Add(`{"certificate_number":1}`, "x")
	f.Add(`{"certificate_number":"`+me.CertificateNumber+`","valid_for":"7d","level":"full"}`, "%00")
	f.Add(`{"valid_for":{}}`, strings.Repeat("9", 80))
	f.Fuzz(func(t *testing.T, body, code string) {
		resp := h.do(t, "POST", "/v1/holder/codes", "application/json", body, "Authorization", "Bearer "+tok)
		b := readBody(t, resp)
		if resp.StatusCode >= 500 || (resp.StatusCode >= 400 && !strings.Contains(resp.Header.Get("Content-Type"), "problem+json")) {
			t.Fatalf("POST %q: %d %s", body, resp.StatusCode, b)
		}
		if resp.StatusCode == 201 {
			var ic issuedCode
			json.Unmarshal([]byte(b), &ic)
			h.call(t, "DELETE", "/v1/holder/codes/"+ic.ID, tok, "")
		}
		seg := url.PathEscape(code)
		if seg == "" {
			seg = "x"
		}
		path := "/v1/verify/" + seg
		resp = h.do(t, "GET", path, "", "")
		b = readBody(t, resp)
		if resp.StatusCode >= 500 {
			t.Fatalf("GET %q: %d %s", path, resp.StatusCode, b)
		}
	})
}
