package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/net/html"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/web"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

func webForm(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

const formType = "application/x-www-form-urlencoded"

// htmlPage is one HTML answer, checked for what every page must have.
type htmlPage struct {
	status int
	header http.Header
	body   string
}

func (f *fixture) htmlPage(t *testing.T, method, path, contentType, body string, header ...string) htmlPage {
	t.Helper()
	resp := f.do(t, method, path, contentType, body, header...)
	p := htmlPage{resp.StatusCode, resp.Header, readBody(t, resp)}
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("%s %s: content type %q, want HTML (status %d)", method, path, ct, p.status)
	}
	assertSecurityHeaders(t, p.header)
	assertWellFormed(t, p.body)
	assertNoPersonalData(t, method+" "+path, p.body, f.records)
	return p
}

func assertSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-") {
		t.Errorf("Content-Security-Policy allows scripts or unsafe sources: %q", csp)
	}
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

// voidElements have no end tag in HTML.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// assertWellFormed checks what a browser would forgive but a careful page
// must not do: unbalanced or misnested tags, duplicate ids, form controls
// without a label, images without alt, and more or fewer than one h1.
func assertWellFormed(t *testing.T, doc string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(doc))
	var stack []string
	ids := map[string]bool{}
	labelled := map[string]bool{}
	var inputs []string
	h1, htmlLang := 0, false
	svgDepth := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("tokenizer: %v", z.Err())
			}
			break
		}
		tok := z.Token()
		attr := map[string]string{}
		for _, a := range tok.Attr {
			attr[a.Key] = a.Val
		}
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if id, ok := attr["id"]; ok {
				if ids[id] {
					t.Errorf("id %q used twice", id)
				}
				ids[id] = true
			}
			switch tok.Data {
			case "html":
				htmlLang = attr["lang"] != ""
			case "h1":
				h1++
			case "label":
				labelled[attr["for"]] = true
			case "input":
				if attr["type"] != "hidden" {
					inputs = append(inputs, attr["id"])
				}
			case "img":
				if _, ok := attr["alt"]; !ok {
					t.Error("img without alt")
				}
			case "svg":
				svgDepth++
			}
			if tt == html.StartTagToken && !voidElements[tok.Data] && svgDepth == 0 {
				stack = append(stack, tok.Data)
			}
			if tok.Data == "svg" && tt == html.SelfClosingTagToken {
				svgDepth--
			}
		case html.EndTagToken:
			if tok.Data == "svg" {
				svgDepth--
				continue
			}
			if svgDepth > 0 {
				continue
			}
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				t.Fatalf("</%s> does not close the open element (open: %v)", tok.Data, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Errorf("elements left open: %v", stack)
	}
	if !htmlLang {
		t.Error("<html> has no lang")
	}
	if h1 != 1 {
		t.Errorf("%d h1 elements, want 1", h1)
	}
	for _, id := range inputs {
		if id == "" || !labelled[id] {
			t.Errorf("input %q has no label", id)
		}
	}
	if _, err := html.Parse(strings.NewReader(doc)); err != nil {
		t.Errorf("html.Parse: %v", err)
	}
}

func TestWebHomeSpeaksBothLanguages(t *testing.T) {
	f := newFixture(t, 5, fixtureOptions{})
	cases := []struct {
		path, accept string
		want         string // html lang
	}{
		{"/", "", "zh-Hans"},
		{"/", "en-US,en;q=0.9", "en"},
		{"/?lang=en", "zh-CN", "en"},
		{"/?lang=zh", "en", "zh-Hans"},
		{"/?lang=xx", "en", "en"},
	}
	for _, c := range cases {
		p := f.htmlPage(t, "GET", c.path, "", "", "Accept-Language", c.accept)
		if p.status != 200 || !strings.Contains(p.body, `<html lang="`+c.want+`">`) {
			t.Errorf("GET %s (Accept-Language %q): %d, want lang %s", c.path, c.accept, p.status, c.want)
			continue
		}
		switchTo, label, field := "?lang=en", "证书编号", "姓名"
		if c.want == "en" {
			switchTo, label, field = "?lang=zh", "Certificate number", "Name"
		}
		for _, want := range []string{`href="/` + switchTo + `"`, label, field, `action="/verify"`, `method="post"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("GET %s in %s lacks %q", c.path, c.want, want)
			}
		}
		if p.header.Get("Vary") != "Accept-Language" {
			t.Errorf("GET %s: Vary %q", c.path, p.header.Get("Vary"))
		}
	}
}

func TestWebHomePrefillsOnlyACertificateNumber(t *testing.T) {
	f := newFixture(t, 5, fixtureOptions{})
	p := f.htmlPage(t, "GET", "/?certificate_number=1000142020123456", "", "")
	if !strings.Contains(p.body, `value="1000142020123456"`) {
		t.Error("a valid number is not pre-filled")
	}
	for _, evil := range []string{`"><b>x</b>`, "请致电 400-000-0000", "12"} {
		p := f.htmlPage(t, "GET", "/?certificate_number="+url.QueryEscape(evil), "", "")
		if strings.Contains(p.body, evil) || strings.Contains(p.body, html.EscapeString(evil)) && len(evil) > 2 {
			t.Errorf("GET / reflects %q", evil)
		}
	}
}

// verifyPage posts the form for r with name.
func (f *fixture) verifyPage(t *testing.T, cert, name, lang string, header ...string) htmlPage {
	t.Helper()
	return f.htmlPage(t, "POST", "/verify", formType, webForm("certificate_number", cert, "name", name, "lang", lang), header...)
}

var jwsInPage = regexp.MustCompile(`<pre class="jws" id="receipt">([A-Za-z0-9_.-]+)</pre>`)

func TestWebVerifyShowsTheMaskedResult(t *testing.T) {
	f := newFixture(t, 2000, fixtureOptions{})
	filed := f.find(t, func(r registry.Record) bool { return r.Status == registry.StatusFiled && r.Phone != "" })
	revoked := f.find(t, func(r registry.Record) bool { return r.Status == registry.StatusRevoked })
	cases := []struct {
		rec        registry.Record
		lang       string
		word, desc string
	}{
		{filed, "zh", "有效", "已备案"},
		{filed, "en", "Valid", "on file"},
		{revoked, "zh", "已撤销", "已被撤销"},
		{revoked, "en", "Revoked", "revoked"},
	}
	for _, c := range cases {
		r := c.rec
		p := f.verifyPage(t, strings.ToLower(" "+r.CertificateNumber+" "), " "+r.Name, c.lang)
		if p.status != 200 {
			t.Fatalf("%s %s: status %d", r.Status, c.lang, p.status)
		}
		status := regexp.MustCompile(`(?s)<p class="status-word" id="status"><strong>(.*?)</strong>`).FindStringSubmatch(p.body)
		if status == nil || status[1] != c.word || !strings.Contains(p.body, c.desc) {
			t.Errorf("%s in %s: status %v, want %q", r.Status, c.lang, status, c.word)
		}
		masked, _ := policies.MaskName.Apply(r.Name, policies.ApplyOptions{})
		for what, want := range map[string]string{
			"masked name": `<dd data-field="name">` + masked + `</dd>`, "unit": r.UnitName,
			"conferral month": r.ConferralDate.String()[:7], "number": r.CertificateNumber,
			"Chinese label": "学位授予单位", "English label": "Degree-granting unit",
			"receipt download": `download="degreegate-receipt-` + r.CertificateNumber + `.jws"`,
			"QR code":          `<svg xmlns="http://www.w3.org/2000/svg" class="qr-svg"`,
			"QR link":          "/?certificate_number=" + r.CertificateNumber,
			"privacy note":     map[string]string{"zh": "第二十二条", "en": "Article 22"}[c.lang],
		} {
			if !strings.Contains(p.body, want) {
				t.Errorf("%s in %s: page lacks the %s", r.Status, c.lang, what)
			}
		}
		if p.header.Get("Degreegate-Policy-Version") == "" {
			t.Error("policy version header missing")
		}
		for what, v := range map[string]string{"full name": r.Name, "birth date": r.BirthDate.String(), "ID number": r.IDNumber,
			"phone": r.Phone, "e-mail": r.Email, "student number": r.StudentNumber, "thesis": r.ThesisTitle} {
			if len(v) >= 4 && strings.Contains(p.body, v) {
				t.Errorf("%s in %s: page shows the %s", r.Status, c.lang, what)
			}
		}
		checkReceiptInPage(t, f, p.body, r)
	}
}

// checkReceiptInPage: the receipt on the page verifies with an
// independent JOSE implementation, the download link carries the same
// receipt, and it signs what the page showed.
func checkReceiptInPage(t *testing.T, f *fixture, body string, r registry.Record) {
	t.Helper()
	m := jwsInPage.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no receipt on the page")
	}
	if !strings.Contains(body, `href="data:application/jose;charset=us-ascii,`+m[1]+`"`) {
		t.Error("the download link does not carry the receipt shown")
	}
	var set jose.JSONWebKeySet
	json.Unmarshal([]byte(readBody(t, f.do(t, "GET", "/.well-known/jwks.json", "", ""))), &set)
	sig, err := jose.ParseSigned(m[1], []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(sig.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatal("receipt kid not published")
	}
	payload, err := sig.Verify(keys[0])
	if err != nil {
		t.Fatalf("receipt does not verify: %v", err)
	}
	var rc receiptClaims
	json.Unmarshal(payload, &rc)
	if rc.CertificateNumber != r.CertificateNumber || rc.Result != "match" {
		t.Errorf("receipt payload %+v", rc)
	}
	for field, v := range rc.Degree {
		if field == "status" || field == "kind" || field == "degree_level" || field == "degree_type" {
			continue // shown translated
		}
		if !strings.Contains(body, ">"+v+"</dd>") {
			t.Errorf("receipt signs %s, which the page does not show as signed", field)
		}
	}
}

func TestWebNoMatchIsTheSameForAWrongNameAndAnUnknownNumber(t *testing.T) {
	f := newFixture(t, 50, fixtureOptions{})
	r := f.records[0]
	unknown := r.CertificateNumber[:10] + "999999"
	const wrong = "欧阳反射测试"
	a := f.verifyPage(t, r.CertificateNumber, wrong, "zh")
	b := f.verifyPage(t, unknown, r.Name, "zh")
	if a.status != 200 || b.status != 200 {
		t.Fatalf("statuses %d %d", a.status, b.status)
	}
	if strings.Contains(a.body, wrong) || strings.Contains(a.body, url.QueryEscape(wrong)) {
		t.Error("a wrong name is reflected into the page")
	}
	if !strings.Contains(a.body, "未找到匹配的学位") || !strings.Contains(a.body, `value="`+r.CertificateNumber+`"`) {
		t.Error("no-match page lacks its message or the number for another try")
	}
	if strings.Contains(a.body, `id="receipt"`) || strings.Contains(a.body, "<svg") {
		t.Error("a no-match page carries a receipt or QR code")
	}
	if strings.ReplaceAll(a.body, r.CertificateNumber, "N") != strings.ReplaceAll(b.body, unknown, "N") {
		t.Error("a wrong name and an unknown number give different pages")
	}
}

func TestWebBadInputIsAFriendlyPage(t *testing.T) {
	f := newFixture(t, 5, fixtureOptions{})
	r := f.records[0]
	const secret = "王不回显"
	cases := []struct {
		name, contentType, body string
		status                  int
		wants                   []string
	}{
		{"empty form", formType, "", 400, []string{"必填"}},
		{"bad number", formType, webForm("certificate_number", "12-34", "name", secret), 400, []string{"应为 16 位数字"}},
		{"control character", formType, webForm("certificate_number", r.CertificateNumber, "name", secret+"\x07"), 400, []string{"不允许的字符"}},
		{"long name", formType, webForm("certificate_number", r.CertificateNumber, "name", strings.Repeat("王", 65)), 400, []string{"不允许的字符或过长"}},
		{"not UTF-8", formType, "certificate_number=" + r.CertificateNumber + "&name=%ff%fe", 400, []string{"不允许的字符"}},
		{"unknown field", formType, webForm("certificate_number", r.CertificateNumber, "name", secret, "id_number", "1"), 400, []string{"多余或重复"}},
		{"repeated field", formType, webForm("certificate_number", r.CertificateNumber, "name", secret, "name", "x"), 400, []string{"多余或重复"}},
		{"bad escape", formType, "certificate_number=%zz", 400, nil},
		{"JSON body", "application/json", verifyBody(r.CertificateNumber, secret), 415, []string{"表单"}},
		{"multipart", "multipart/form-data; boundary=x", "--x--", 415, nil},
		{"huge form", formType, webForm("certificate_number", r.CertificateNumber, "name", strings.Repeat("王", 3000)), 413, []string{"过长"}},
	}
	for _, c := range cases {
		p := f.htmlPage(t, "POST", "/verify", c.contentType, c.body)
		if p.status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, p.status, c.status)
		}
		for _, w := range c.wants {
			if !strings.Contains(p.body, w) {
				t.Errorf("%s: page lacks %q", c.name, w)
			}
		}
		if !strings.Contains(p.body, `role="alert"`) {
			t.Errorf("%s: no alert", c.name)
		}
		if strings.Contains(p.body, secret) {
			t.Errorf("%s: the submitted name is reflected", c.name)
		}
	}
	if n := len(f.audit.all()); n != 0 {
		t.Errorf("bad input reached the lookup: %d audit entries", n)
	}
	// The English page explains in English.
	p := f.htmlPage(t, "POST", "/verify", formType, webForm("certificate_number", "x", "name", "y", "lang", "en"))
	if p.status != 400 || !strings.Contains(p.body, "should be 16 digits") {
		t.Errorf("English bad-input page: %d", p.status)
	}
}

func TestWebRefusesCrossSitePosts(t *testing.T) {
	f := newFixture(t, 5, fixtureOptions{})
	r := f.records[0]
	for site, want := range map[string]int{"cross-site": 403, "same-site": 403, "same-origin": 200, "none": 200} {
		p := f.verifyPage(t, r.CertificateNumber, r.Name, "en", "Sec-Fetch-Site", site)
		if p.status != want {
			t.Errorf("Sec-Fetch-Site %s: status %d, want %d", site, p.status, want)
		}
	}
	if n := len(f.audit.all()); n != 2 {
		t.Errorf("%d lookups audited, want 2 (cross-site posts must not look anything up)", n)
	}
}

// TestWebSharesTheAPIsLimitsAndTrail: the page is the API in HTML — a
// flood is refused with 429 and Retry-After, every lookup is audited like
// the API's, and without a trail there is no answer.
func TestWebSharesTheAPIsLimitsAndTrail(t *testing.T) {
	f := newFixture(t, 20, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{})})
	r := f.records[0]
	pol, _ := policies.Default()
	burst := pol.Limits(policies.Public).PerClient.Burst
	var last htmlPage
	// Tokens refill while the test runs (slowly under -race), so send
	// until refused, up to a bound that a working limiter never reaches.
	for i := 0; i < 4*burst; i++ {
		last = f.verifyPage(t, f.records[i%len(f.records)].CertificateNumber, "某人", "en")
		if last.status == 429 {
			break
		}
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" || !strings.Contains(last.body, "Too many queries") {
		t.Fatalf("flood of %d: last status %d, Retry-After %q", 4*burst, last.status, last.header.Get("Retry-After"))
	}
	if !strings.Contains(last.body, "Please try again in "+last.header.Get("Retry-After")+" seconds.") {
		t.Error("the 429 page does not say how long to wait")
	}

	f = newFixture(t, 20, fixtureOptions{})
	p := f.verifyPage(t, r.CertificateNumber, r.Name, "zh")
	es := f.audit.all()
	if p.status != 200 || len(es) != 1 || es[0].Action != "verify.public" || es[0].RecordRef != r.CertificateNumber || !strings.HasPrefix(es[0].Actor, "public:") {
		t.Fatalf("audit after a page lookup: %+v", es)
	}
	m := jwsInPage.FindStringSubmatch(p.body)
	if m == nil || !strings.Contains(es[0].Detail, `"fields":[`) {
		t.Fatalf("audit detail %q", es[0].Detail)
	}

	f.audit.mu.Lock()
	f.audit.refuse = true
	f.audit.mu.Unlock()
	p = f.verifyPage(t, r.CertificateNumber, r.Name, "en")
	if p.status != 503 || strings.Contains(p.body, `id="receipt"`) || !strings.Contains(p.body, "audit trail") {
		t.Errorf("trail down: status %d", p.status)
	}
}

func TestWebAssets(t *testing.T) {
	f := newFixture(t, 1, fixtureOptions{})
	home := readBody(t, f.do(t, "GET", "/", "", ""))
	css := regexp.MustCompile(`href="(/assets/site\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(home)
	if css == nil {
		t.Fatal("page links no versioned style sheet")
	}
	resp := f.do(t, "GET", css[1], "", "")
	body := readBody(t, resp)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(body, "@media print") {
		t.Errorf("style sheet: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, bad := range []string{"/assets/nope.css", "/assets/..%2fweb.go"} {
		if resp := f.do(t, "GET", bad, "", ""); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d", bad, resp.StatusCode)
		}
	}
}

// FuzzWebVerifyForm: whatever is posted, the page answers with HTML and a
// known status, never a 500, and never shows the posted name back.
func FuzzWebVerifyForm(f *testing.F) {
	fx := newFixture(f, 5, fixtureOptions{})
	r := fx.records[0]
	for _, s := range []string{
		webForm("certificate_number", r.CertificateNumber, "name", r.Name),
		webForm("certificate_number", r.CertificateNumber, "name", "某某某"),
		"certificate_number=%00&name=%",
		"name=a&name=b", "lang=en", "&&==", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		resp := fx.do(t, "POST", "/verify", formType, body)
		out := readBody(t, resp)
		switch resp.StatusCode {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
		}
		// Reflection, told apart from text the page always holds: the same
		// form with another name must not show this name.
		v, err := url.ParseQuery(body)
		n := v.Get("name")
		if err != nil || len([]rune(n)) < 2 || !strings.Contains(out, n) {
			return
		}
		v.Set("name", "甲乙丙")
		if other := readBody(t, fx.do(t, "POST", "/verify", formType, v.Encode())); !strings.Contains(other, n) {
			t.Fatalf("posted name %q is shown back", n)
		}
	})
}

// TestWebCodeView: the report a holder shared, as a page, in both
// languages, with a receipt, a QR code back to itself, and the errors of
// a mistyped, unknown, withdrawn or expired code as friendly pages.
func TestWebCodeView(t *testing.T) {
	h := newHolderFixture(t, 300, fixtureOptions{})
	me := h.find(t, func(r registry.Record) bool { return r.Status == registry.StatusFiled })
	tok := h.holderToken(t, me, holderScopes)
	ic := h.issue(t, tok, codeBody(me.CertificateNumber, "valid_for", "48h"))
	masked, _ := policies.MaskName.Apply(me.Name, policies.ApplyOptions{})

	for _, c := range []struct{ lang, title, word, level, privacy string }{
		{"zh", "学位获得者分享的报告", "有效", ic.LevelDescription.ZH, "由学位获得者本人选择"},
		{"en", "Report shared by the degree holder", "Valid", ic.LevelDescription.EN, "The degree holder chose"},
	} {
		p := h.htmlPage(t, "GET", "/code/"+strings.ToLower(ic.Code)+"?lang="+c.lang, "", "")
		if p.status != 200 {
			t.Fatalf("%s: status %d", c.lang, p.status)
		}
		for what, want := range map[string]string{
			"title": c.title, "status": "<strong>" + c.word + "</strong>", "level": c.level, "privacy note": c.privacy,
			"masked name": `<dd data-field="name">` + masked + `</dd>`, "number": me.CertificateNumber,
			"expiry":       web.Time(ic.ExpiresAt),
			"QR to itself": `/code/` + ic.Code + `?lang=` + c.lang + `</a>`,
			"switch link":  `href="/code/` + ic.Code + `?lang=`,
		} {
			if !strings.Contains(html.UnescapeString(p.body), want) {
				t.Errorf("%s: code page lacks the %s (%q)", c.lang, what, want)
			}
		}
		if strings.Contains(p.body, me.IDNumber) || strings.Contains(p.body, me.BirthDate.String()) {
			t.Errorf("%s: the basic level shows the ID number or birth date", c.lang)
		}
		m := jwsInPage.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("%s: no receipt", c.lang)
		}
		var rep sharedReport
		json.Unmarshal([]byte(readBody(t, h.do(t, "GET", "/v1/verify/"+ic.Code, "", ""))), &rep)
		checkSharedReceipt(t, h, sharedReport{Receipt: m[1], Status: rep.Status, CertificateNumber: rep.CertificateNumber,
			Level: rep.Level, Degree: rep.Degree, ExpiresAt: rep.ExpiresAt, PolicyVersion: rep.PolicyVersion})
	}
	views := 0
	for _, e := range h.audit.all() {
		if e.Action == "code.view" && e.RecordRef == me.CertificateNumber {
			views++
		}
	}
	if views != 4 {
		t.Errorf("%d code views audited, want 4 (two pages, two API calls)", views)
	}

	// The code form sends a well-formed code on to the code view.
	resp := h.do(t, "GET", "/?lang=en&code="+strings.ToLower(strings.ReplaceAll(ic.Code, "-", "")), "", "")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/code/"+ic.Code+"?lang=en" {
		t.Errorf("code form: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range []struct {
		path   string
		status int
		want   string
	}{
		{"/?code=not-a-code", 400, "核验码: 格式不对"},
		{"/code/not-a-code", 400, "核验码: 格式不对"},
		{"/code/" + strings.Repeat("Z", 20), 404, "未找到该页面或核验码"},
	} {
		p := h.htmlPage(t, "GET", c.path, "", "")
		if p.status != c.status || !strings.Contains(p.body, c.want) || strings.Contains(p.body, "not-a-code") {
			t.Errorf("GET %s: %d, want %d with %q", c.path, p.status, c.status, c.want)
		}
	}

	if st, body, _ := h.call(t, "DELETE", "/v1/holder/codes/"+ic.Code, tok, ""); st != 204 {
		t.Fatalf("withdraw: %d %s", st, body)
	}
	if p := h.htmlPage(t, "GET", "/code/"+ic.Code, "", ""); p.status != 410 || !strings.Contains(p.body, "已撤回") {
		t.Errorf("withdrawn code: %d", p.status)
	}
	ic2 := h.issue(t, tok, codeBody(me.CertificateNumber, "valid_for", "1h"))
	h.clock.advance(2 * time.Hour)
	if p := h.htmlPage(t, "GET", "/code/"+ic2.Code+"?lang=en", "", ""); p.status != 410 || !strings.Contains(p.body, "has expired") {
		t.Errorf("expired code: %d", p.status)
	}
}

// TestWebCodeViewFullLevel: a holder may share the full report; even then
// the ID number is masked and a classified thesis never shows.
func TestWebCodeViewFullLevel(t *testing.T) {
	h := newHolderFixture(t, 300, fixtureOptions{})
	me := h.find(t, func(r registry.Record) bool { return r.Status == registry.StatusFiled && r.IDNumber != "" })
	tok := h.holderToken(t, me, holderScopes)
	ic := h.issue(t, tok, codeBody(me.CertificateNumber, "level", "full"))
	resp := h.do(t, "GET", "/code/"+ic.Code, "", "")
	body := readBody(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	assertWellFormed(t, body)
	if !strings.Contains(body, ">"+me.Name+"</dd>") || !strings.Contains(body, "出生日期") {
		t.Error("the full report lacks the name or birth date the holder chose to share")
	}
	if strings.Contains(body, me.IDNumber) || strings.Contains(body, me.Phone) && me.Phone != "" {
		t.Error("the full report shows the whole ID number or the phone")
	}
}

// With a public URL configured, the QR code links there whatever Host
// the request named; without one, the request's Host names it.
func TestWebQRLinksToThePublicURL(t *testing.T) {
	f := newFixture(t, 200, fixtureOptions{})
	r := f.find(t, func(r registry.Record) bool { return r.Status == registry.StatusFiled })
	link := regexp.MustCompile(`<a[^>]* href="(https?://[^/"]+)/\?`)
	base := func() string {
		t.Helper()
		p := f.verifyPage(t, r.CertificateNumber, r.Name, "en") // Host: example.com (httptest)
		m := link.FindStringSubmatch(p.body)
		if p.status != 200 || m == nil {
			t.Fatalf("status %d, no QR link in the page", p.status)
		}
		return m[1]
	}
	if got := base(); got != "http://example.com" {
		t.Errorf("without a public URL the link goes to %q, want the Host header's", got)
	}
	f.srv.deps.PublicURL = "https://verify.example.cn"
	if got := base(); got != "https://verify.example.cn" {
		t.Errorf("with a public URL the link goes to %q", got)
	}
}

func TestParsePublicURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://verify.example.cn", "https://verify.example.cn"},
		{"https://verify.example.cn/", "https://verify.example.cn"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://[2001:db8::1]:8443", "http://[2001:db8::1]:8443"},
		{"verify.example.cn", ""},
		{"ftp://verify.example.cn", ""},
		{"https://verify.example.cn/app", ""},
		{"https://verify.example.cn/?a=1", ""},
		{"https://user@verify.example.cn", ""},
		{"https://verify.example.cn#x", ""},
		{"https://", ""},
		{"https://exa mple.cn", ""},
		{"javascript:alert(1)", ""},
		{"http://:80", ""},
		{"http://verify.example.cn:", ""},
		{"http://verify.example.cn:99999", ""},
		{"http://verify.example.cn:0", ""},
		{"http://[::1]", "http://[::1]"},
	} {
		got, err := ParsePublicURL(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParsePublicURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParsePublicURL: whatever the configuration holds, an accepted value
// is http(s)://host[:port] with nothing after it, of validHost's shape,
// and reads back as itself.
func FuzzParsePublicURL(f *testing.F) {
	for _, s := range []string{"https://verify.example.cn/", "http://[::1]:80", "https://a/b", "http://x?y", "https://%41", "https://a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := ParsePublicURL(raw)
		if err != nil {
			return
		}
		scheme, host, ok := strings.Cut(got, "://")
		if u, err := url.Parse(got); !ok || (scheme != "http" && scheme != "https") || !validHost(host) ||
			err != nil || u.Hostname() == "" {
			t.Fatalf("ParsePublicURL(%q) = %q", raw, got)
		}
		if again, err := ParsePublicURL(got); err != nil || again != got {
			t.Fatalf("ParsePublicURL(%q) = %q, which reads back as %q, %v", raw, got, again, err)
		}
	})
}
