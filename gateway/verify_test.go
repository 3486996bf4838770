package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

func verifyBody(cert, name string) string {
	b, _ := json.Marshal(map[string]string{"certificate_number": cert, "name": name})
	return string(b)
}

func TestVerifyMatchShowsOnlyMaskedDataWithAReceipt(t *testing.T) {
	f := newFixture(t, 200, fixtureOptions{})
	r := f.find(t, func(r registry.Record) bool { return r.Status == registry.StatusFiled })
	resp := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, " "+r.Name+" "))
	body := readBody(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got verifyResponse
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Result != "match" || got.Status != "valid" || got.Receipt == "" {
		t.Fatalf("answer %+v", got)
	}
	for _, forbidden := range []string{"id_number", "birth_date", "phone", "email", "student_number", "thesis_title", "thesis_keywords"} {
		if _, ok := got.Degree[forbidden]; ok {
			t.Errorf("public answer shows %s", forbidden)
		}
	}
	if got.Degree["name"] == r.Name || !strings.Contains(got.Degree["name"], "*") {
		t.Errorf("name not masked")
	}
	if got.Degree["unit_name"] != r.UnitName {
		t.Errorf("unit name %q, want %q", got.Degree["unit_name"], r.UnitName)
	}
	assertNoPersonalData(t, "public answer", body, f.records)

	// The receipt verifies with an independent JOSE implementation against
	// the published key set, and signs exactly what was shown.
	jwksResp := f.do(t, "GET", "/.well-known/jwks.json", "", "")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(readBody(t, jwksResp)), &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks: %v", err)
	}
	sig, err := jose.ParseSigned(got.Receipt, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(sig.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("receipt kid not in the published set")
	}
	payload, err := sig.Verify(keys[0])
	if err != nil {
		t.Fatalf("receipt does not verify: %v", err)
	}
	var rc receiptClaims
	json.Unmarshal(payload, &rc)
	if rc.Result != "match" || rc.Status != "valid" || rc.ID == "" || rc.PolicyVersion == "" || rc.CertificateNumber != r.CertificateNumber {
		t.Errorf("receipt payload %+v", rc)
	}
	for k, v := range got.Degree {
		if rc.Degree[k] != v {
			t.Errorf("receipt says %s=%q, the answer showed %q", k, rc.Degree[k], v)
		}
	}
	// Audited, with the address hashed.
	es := f.audit.all()
	if len(es) != 1 || es[0].Action != "verify.public" || es[0].RecordRef != r.CertificateNumber || !strings.HasPrefix(es[0].Actor, "public:") {
		t.Fatalf("audit %+v", es)
	}
	if !strings.Contains(es[0].Detail, rc.ID) {
		t.Error("audit entry does not name the receipt")
	}
}

func TestVerifyRevokedSaysRevoked(t *testing.T) {
	f := newFixture(t, 2000, fixtureOptions{})
	r := f.find(t, func(r registry.Record) bool { return r.Status == registry.StatusRevoked })
	var got verifyResponse
	json.Unmarshal([]byte(readBody(t, f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, r.Name)))), &got)
	if got.Result != "match" || got.Status != "revoked" {
		t.Fatalf("revoked record answered %+v", got)
	}
}

// TestVerifyIsNoOracle: an unknown number and a wrong name for a real one
// must be indistinguishable in status, headers and body.
func TestVerifyIsNoOracle(t *testing.T) {
	f := newFixture(t, 50, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{})})
	r := f.records[0]
	unknown := r.CertificateNumber[:10] + "999999"
	if unknown == r.CertificateNumber {
		unknown = r.CertificateNumber[:10] + "888888"
	}
	a := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(unknown, r.Name), "X-Forwarded-For", "1.2.3.4")
	b := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, r.Name+"某"))
	ab, bb := readBody(t, a), readBody(t, b)
	if a.StatusCode != b.StatusCode || ab != bb || ab != `{"result":"no_match"}` {
		t.Fatalf("unknown number: %d %s; wrong name: %d %s", a.StatusCode, ab, b.StatusCode, bb)
	}
	ownCount := regexp.MustCompile(`;r=[0-9]+`)
	for k := range a.Header {
		if k == "Date" {
			continue // the clock
		}
		if k == "Ratelimit" {
			// This client's own count aside, the same.
			if ownCount.ReplaceAllString(a.Header.Get(k), "") != ownCount.ReplaceAllString(b.Header.Get(k), "") {
				t.Errorf("header %s differs: %q vs %q", k, a.Header.Get(k), b.Header.Get(k))
			}
			continue
		}
		if a.Header.Get(k) != b.Header.Get(k) {
			t.Errorf("header %s differs: %q vs %q", k, a.Header.Get(k), b.Header.Get(k))
		}
	}
	if len(a.Header) != len(b.Header) {
		t.Errorf("header sets differ: %v vs %v", a.Header, b.Header)
	}
}

func TestVerifyBadInput(t *testing.T) {
	f := newFixture(t, 10, fixtureOptions{})
	r := f.records[0]
	cases := []struct {
		name, ctype, body string
		status            int
		ptype             string
		field             string
	}{
		{"malformed json", "application/json", `{"certificate_number":`, 400, "/problems/malformed-json", ""},
		{"not an object", "application/json", `[1,2]`, 400, "/problems/malformed-json", ""},
		{"wrong type", "application/json", `{"certificate_number":12,"name":"x"}`, 400, "/problems/invalid-request", "certificate_number"},
		{"unknown field", "application/json", `{"certificate_number":"1000142020000000","name":"x","id_number":"1"}`, 400, "/problems/malformed-json", ""},
		{"missing name", "application/json", `{"certificate_number":"1000142020000000"}`, 400, "/problems/invalid-request", "name"},
		{"missing number", "application/json", `{"name":"张三"}`, 400, "/problems/invalid-request", "certificate_number"},
		{"empty body", "application/json", ``, 400, "/problems/malformed-json", ""},
		{"two values", "application/json", verifyBody(r.CertificateNumber, r.Name) + `{}`, 400, "/problems/malformed-json", ""},
		{"wrong shape number", "application/json", verifyBody("10001-4202", "张三"), 400, "/problems/invalid-request", "certificate_number"},
		{"number too long", "application/json", verifyBody(strings.Repeat("1", 40), "张三"), 400, "/problems/invalid-request", "certificate_number"},
		{"over-long name", "application/json", verifyBody(r.CertificateNumber, strings.Repeat("张", 65)), 400, "/problems/invalid-request", "name"},
		{"control character", "application/json", verifyBody(r.CertificateNumber, "张\u0000三"), 400, "/problems/invalid-request", "name"},
		{"not utf-8", "application/json", "{\"certificate_number\":\"1000142020000000\",\"name\":\"\xff\xfe\"}", 400, "/problems/invalid-request", "name"},
		{"form post", "application/x-www-form-urlencoded", "certificate_number=1&name=2", 415, "/problems/unsupported-media-type", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := f.do(t, "POST", "/v1/verify", c.ctype, c.body)
			body := readBody(t, resp)
			if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d, type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			var p Problem
			if err := json.Unmarshal([]byte(body), &p); err != nil || relType(p.Type) != c.ptype || p.Status != c.status {
				t.Fatalf("problem %+v (%v), want type %s", p, err, c.ptype)
			}
			if c.field != "" && p.Errors[c.field] == "" {
				t.Errorf("problem does not name field %s: %+v", c.field, p.Errors)
			}
			if strings.Contains(body, r.Name) {
				t.Error("problem echoes the name")
			}
		})
	}
	if n := len(f.audit.all()); n != 0 {
		t.Errorf("%d audit entries for requests that never reached a record", n)
	}
	if m := f.do(t, "GET", "/v1/verify", "", ""); m.StatusCode != 404 && m.StatusCode != 405 {
		t.Errorf("GET /v1/verify: %d", m.StatusCode)
	}
}

func TestVerifyFloodGets429(t *testing.T) {
	f := newFixture(t, 10, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{})})
	r := f.records[0]
	var last *http.Response
	limited := 0
	for i := 0; i < 200; i++ {
		// A spoofed X-Forwarded-For from an untrusted peer must not buy a fresh bucket.
		resp := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, "某人"),
			"X-Forwarded-For", fmt.Sprintf("10.0.%d.%d", i/250, i%250))
		if resp.StatusCode == 429 {
			limited++
			last = resp
		} else {
			resp.Body.Close()
		}
	}
	if limited == 0 {
		t.Fatal("200 requests from one address were never limited")
	}
	body := readBody(t, last)
	var p Problem
	json.Unmarshal([]byte(body), &p)
	if relType(p.Type) != "/problems/rate-limited" || last.Header.Get("Retry-After") == "" || rateLimitParam(last.Header.Get("RateLimit"), "r") != "0" {
		t.Fatalf("429 answer: %s headers %v", body, last.Header)
	}
}

func TestVerifyTrustedProxyAddressIsBelieved(t *testing.T) {
	f := newFixture(t, 10, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{}), proxies: "0.0.0.0/32"})
	r := f.records[0]
	// Behind a trusted proxy, each forwarded client has its own bucket:
	// many clients one request each are never limited by the address rule.
	for i := 0; i < 60; i++ {
		resp := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(fmt.Sprintf("%016d", 1000000+i), "某人"),
			"X-Forwarded-For", fmt.Sprintf("198.%d.%d.7", 18+i/200, i))
		if resp.StatusCode == 429 {
			t.Fatalf("request %d from a distinct forwarded client was limited", i)
		}
		resp.Body.Close()
	}
	_ = r
}

func TestVerifyRefusesWhenTheTrailCannotKeepUp(t *testing.T) {
	f := newFixture(t, 10, fixtureOptions{})
	f.audit.refuse = true
	r := f.records[0]
	for _, body := range []string{verifyBody(r.CertificateNumber, r.Name), verifyBody(r.CertificateNumber, "某人")} {
		resp := f.do(t, "POST", "/v1/verify", "application/json", body)
		b := readBody(t, resp)
		if resp.StatusCode != 503 || !strings.Contains(b, "/problems/audit-unavailable") {
			t.Fatalf("with the trail down: %d %s", resp.StatusCode, b)
		}
		if resp.Header.Get("Retry-After") == "" {
			t.Error("the trail's refusal has no Retry-After: it is for now, not for good")
		}
		if strings.Contains(b, "receipt") || strings.Contains(b, r.UnitName) {
			t.Fatal("data served unaudited")
		}
	}
	if resp := f.do(t, "GET", "/readyz", "", ""); resp.StatusCode != 503 {
		t.Errorf("readyz with the trail down: %d", resp.StatusCode)
	}
}

func TestLogsHoldNoPersonalData(t *testing.T) {
	f := newFixture(t, 100, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{})})
	for _, r := range f.records[:30] {
		readBody(t, f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, r.Name)))
		readBody(t, f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, r.Name+"x")))
		readBody(t, f.do(t, "POST", "/v1/verify", "application/json", `{"certificate_number":"`+r.IDNumber+`","name":"`+r.Name+`"}`))
	}
	logs := f.logs.String()
	if !strings.Contains(logs, `"route":"/v1/verify"`) {
		t.Fatal("no access log lines: the check proves nothing")
	}
	assertNoPersonalData(t, "logs", logs, f.records)
	for _, e := range f.audit.all() {
		b, _ := json.Marshal(e)
		assertNoPersonalData(t, "audit trail", string(b), f.records)
	}
}

func FuzzVerifyRequest(f *testing.F) {
	fx := newFixture(f, 20, fixtureOptions{})
	f.Add(verifyBody(fx.records[0].CertificateNumber, fx.records[0].Name))
	f.Add(`{"certificate_number":"1","name":"\u0000"}`)
	f.Add(`{"certificate_number":null}`)
	f.Add(`{{{{`)
	f.Fuzz(func(t *testing.T, body string) {
		resp := fx.do(t, "POST", "/v1/verify", "application/json", body)
		b := readBody(t, resp)
		switch resp.StatusCode {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d for %q: %s", resp.StatusCode, body, b)
		}
	})
}

// A huge body is refused by the server itself; app.Test cannot show it,
// so this goes over a real socket.
func TestVerifyHugeBodyGets413(t *testing.T) {
	f := newFixture(t, 1, fixtureOptions{})
	// Announce a 2 MiB body and send none: the server must refuse on the
	// header alone, before reading it.
	conn, err := net.Dial("tcp", serveOnSocket(t, f.srv))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 2<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := readBody(t, resp)
	if resp.StatusCode != 413 || !strings.Contains(b, "/problems/body-too-large") {
		t.Fatalf("huge body: %d %s", resp.StatusCode, b)
	}
}

// TestVerifyRefusedClientSparesTheCertificate: requests refused on their
// address are turned away before the body is read, so they neither cost
// a decode nor spend the per-certificate allowance that other callers of
// that number need (a flood from one address must not lock a holder's
// certificate out of verification).
func TestVerifyRefusedClientSparesTheCertificate(t *testing.T) {
	f := newFixture(t, 10, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{}), proxies: "0.0.0.0/32"})
	x, y := f.records[0], f.records[1]
	ask := func(from, body string) *http.Response {
		return f.do(t, "POST", "/v1/verify", "application/json", body, "X-Forwarded-For", from)
	}
	// A spends its address allowance on y…
	for i := 0; ; i++ {
		resp := ask("203.0.113.1", verifyBody(y.CertificateNumber, y.Name))
		resp.Body.Close()
		if resp.StatusCode == 429 {
			break
		}
		if i > 1000 {
			t.Fatal("one address was never limited")
		}
	}
	// …then floods x, and even sends garbage: all refused before reading.
	for i := 0; i < 100; i++ {
		body := verifyBody(x.CertificateNumber, "某人")
		if i%2 == 1 {
			body = `{"certificate_number": [`
		}
		if resp := ask("203.0.113.1", body); resp.StatusCode != 429 {
			t.Fatalf("request %d from the exhausted address: status %d: %s", i, resp.StatusCode, readBody(t, resp))
		} else {
			resp.Body.Close()
		}
	}
	// B, in another block, still verifies x: A's refused requests did not
	// spend x's allowance.
	resp := ask("198.51.100.9", verifyBody(x.CertificateNumber, x.Name))
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `"result":"match"`) {
		t.Fatalf("another client asking for the flooded number: status %d: %s", resp.StatusCode, body)
	}
}

// TestUnlimitedAdvertisesNoLimits: under ratelimit.Unlimited (dev
// --unlimited) no route claims a limit it does not apply.
func TestUnlimitedAdvertisesNoLimits(t *testing.T) {
	f := newFixture(t, 5, fixtureOptions{})
	r := f.records[0]
	resp := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, r.Name))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, h := range []string{"RateLimit", "RateLimit-Policy"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("%s: %q under Unlimited", h, v)
		}
	}
	if m := readBody(t, f.do(t, "GET", "/metrics", "", "")); strings.Contains(m, "degreegate_rate_limit_decisions_total{") {
		t.Error("limiter decisions counted under Unlimited")
	}
	limited := newFixture(t, 5, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{})})
	if v := limited.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, r.Name)).Header.Get("RateLimit-Policy"); v == "" {
		t.Error("a limited gateway sent no RateLimit-Policy")
	}
}

// verifyResponse is POST /v1/verify's answer as DESIGN.md gives it.
type verifyResponse struct {
	Result  string              `json:"result"`
	Status  string              `json:"status,omitempty"`
	Degree  policies.Disclosure `json:"degree,omitempty"`
	Receipt string              `json:"receipt,omitempty"`
}

// receiptClaims is a receipt's payload as DESIGN.md gives it.
type receiptClaims struct {
	Issuer            string              `json:"iss"`
	ID                string              `json:"jti"`
	IssuedAt          int64               `json:"iat"`
	Result            string              `json:"result"`
	Status            string              `json:"status"`
	CertificateNumber string              `json:"certificate_number"`
	Degree            policies.Disclosure `json:"degree"`
	PolicyVersion     string              `json:"policy_version"`
}

// TestRateLimitHeadersShowOnlyTheCallersAllowance (issue 16, item 2):
// others' lookups of a certificate must not show in a caller's
// RateLimit-* headers — a fresh address sees the same for a number six
// other blocks just checked as for one nobody asked about.
func TestRateLimitHeadersShowOnlyTheCallersAllowance(t *testing.T) {
	f := newFixture(t, 10, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{}), proxies: "0.0.0.0/32"})
	x, y := f.records[0], f.records[1]
	ask := func(from string, r registry.Record) http.Header {
		resp := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, r.Name), "X-Forwarded-For", from)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("verify from %s: %d", from, resp.StatusCode)
		}
		return resp.Header
	}
	for i := range 6 {
		ask(fmt.Sprintf("198.51.%d.9", 10+i), x)
	}
	hx, hy := ask("203.0.113.50", x), ask("203.0.113.80", y)
	for _, h := range []string{"RateLimit-Policy", "RateLimit"} {
		if hx.Get(h) != hy.Get(h) {
			t.Errorf("%s: %q for a number others checked, %q for one nobody did: the header shows others' lookups", h, hx.Get(h), hy.Get(h))
		}
	}
}

// rateLimitParam is the value of parameter p of a RateLimit or
// RateLimit-Policy field's (first) item, "" when absent.
func rateLimitParam(field, p string) string {
	item, _, _ := strings.Cut(field, ",")
	for _, kv := range strings.Split(item, ";")[1:] {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == p {
			return v
		}
	}
	return ""
}

// The RateLimit fields follow draft-ietf-httpapi-ratelimit-headers-10:
// RateLimit-Policy names the rule with its quota and window, RateLimit
// what remains and when it resets; on a 429, its reset is the moment
// Retry-After names, the same on consecutive refusals (issue 16, item 13).
func TestRateLimitFieldsFollowTheDraft(t *testing.T) {
	f := newFixture(t, 5, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{})})
	r := f.records[0]
	resp := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, r.Name))
	policy, limit := resp.Header.Get("RateLimit-Policy"), resp.Header.Get("RateLimit")
	item := regexp.MustCompile(`^"[a-z_.]+";q=[0-9]+;w=[0-9]+$`)
	if !item.MatchString(policy) {
		t.Fatalf("RateLimit-Policy %q", policy)
	}
	if !regexp.MustCompile(`^"[a-z_.]+";r=[0-9]+;t=[0-9]+$`).MatchString(limit) {
		t.Fatalf("RateLimit %q", limit)
	}
	if name := strings.Split(policy, ";")[0]; !strings.HasPrefix(limit, name+";") {
		t.Errorf("RateLimit %q and RateLimit-Policy %q name different policies", limit, policy)
	}
	var refusals []*http.Response
	for i := 0; i < 500 && len(refusals) < 3; i++ {
		resp := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, r.Name))
		resp.Body.Close()
		if resp.StatusCode == 429 {
			refusals = append(refusals, resp)
		}
	}
	if len(refusals) < 3 {
		t.Fatal("no three refusals in 500 requests")
	}
	for _, resp := range refusals {
		ra := resp.Header.Get("Retry-After")
		if got := rateLimitParam(resp.Header.Get("RateLimit"), "t"); ra == "" || got != ra {
			t.Errorf("429: Retry-After %q, RateLimit's reset %q: not the same moment", ra, got)
		}
		if rateLimitParam(resp.Header.Get("RateLimit"), "r") != "0" {
			t.Errorf("429 with RateLimit %q", resp.Header.Get("RateLimit"))
		}
	}
	if a, b := refusals[0].Header.Get("Retry-After"), refusals[2].Header.Get("Retry-After"); a != b && a != "1" && b != "1" {
		t.Errorf("consecutive 429s say Retry-After %s then %s", a, b)
	}
}
