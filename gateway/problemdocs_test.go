package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/degreegate/degreegate/gateway/ratelimit"
)

// TestProblemTypesAreAbsoluteAndResolve (issue 16, item 14): a problem's
// type is an absolute URI on the gateway's address, and GET of it is a
// page saying, in Chinese and in English, what the type means and what to
// do; every type the code answers with has one, and no page names a type
// nothing answers.
func TestProblemTypesAreAbsoluteAndResolve(t *testing.T) {
	f := newFixture(t, 5, fixtureOptions{})
	resp := f.do(t, "POST", "/v1/verify", "application/json", `{"certificate_number":"1","name":""}`)
	var p Problem
	if err := json.Unmarshal([]byte(readBody(t, resp)), &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "http://example.com/problems/invalid-request" {
		t.Fatalf("type %q, want the absolute URI on the address the request named", p.Type)
	}

	types := answeredProblemTypes(t)
	for typ := range types {
		if _, ok := problemDocs[typ]; !ok {
			t.Errorf("%s: answered, but no page describes it (problemdocs.go)", typ)
		}
	}
	for typ, d := range problemDocs {
		if !types[typ] {
			t.Errorf("a page for %s, which nothing answers", typ)
		}
		u, _ := url.Parse(problemTypeURI("http://example.com", typ))
		for i, lang := range []string{"zh", "en"} {
			resp := f.do(t, "GET", u.Path+"?lang="+lang, "", "")
			body := readBody(t, resp)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s?lang=%s: %d %s", u.Path, lang, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			advice := guidance[typ]
			if i == 0 {
				advice = d.adviceZh
			}
			if d.status >= 500 {
				advice = serverAdvice[i]
			}
			for _, want := range []string{htmlText(d.title[i]), htmlText(sentence(advice)), "http://example.com" + typ} {
				if !strings.Contains(body, want) {
					t.Errorf("GET %s?lang=%s does not say %q", u.Path, lang, want)
				}
			}
			if strings.Contains(body, "<script") || resp.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("GET %s: a script, or no Content-Security-Policy", u.Path)
			}
		}
	}
	index := readBody(t, f.do(t, "GET", "/problems?lang=en", "", ""))
	for typ := range problemDocs {
		if !strings.Contains(index, `href="`+typ+`?lang=en"`) {
			t.Errorf("/problems does not link %s", typ)
		}
	}
	if resp := f.do(t, "GET", "/problems/no-such-type", "", ""); resp.StatusCode != 404 {
		t.Errorf("an unknown type's page: %d", resp.StatusCode)
	}
}

// TestProblemTypesOnThePublicURL: with a public address configured,
// types are on it whatever Host the request named — the flood's
// pre-encoded 429 too.
func TestProblemTypesOnThePublicURL(t *testing.T) {
	f := newFixture(t, 5, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{})})
	f.srv.deps.PublicURL = "https://verify.example.edu.cn"
	srv, err := New(f.srv.deps)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	var last Problem
	for range 40 {
		resp := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(f.records[0].CertificateNumber, "某人"), "Host", "attacker.example")
		if resp.StatusCode == http.StatusTooManyRequests {
			json.Unmarshal([]byte(readBody(t, resp)), &last)
			break
		}
		resp.Body.Close()
	}
	if last.Type != "https://verify.example.edu.cn/problems/rate-limited" {
		t.Errorf("429 type %q, want it on the public URL", last.Type)
	}
}

// TestAPIReferencePage: /docs/api shows every operation of the OpenAPI
// document, with its examples, as a page without scripts.
func TestAPIReferencePage(t *testing.T) {
	f := newFixture(t, 5, fixtureOptions{})
	resp := f.do(t, "GET", "/docs/api?lang=en", "", "")
	body := readBody(t, resp)
	if resp.StatusCode != 200 || strings.Contains(body, "<script") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("GET /docs/api: %d, script %v, CSP %q", resp.StatusCode, strings.Contains(body, "<script"), resp.Header.Get("Content-Security-Policy"))
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			RequestBody *struct {
				Content map[string]struct {
					Example  json.RawMessage
					Examples map[string]any
				}
			} `json:"requestBody"`
		}
	}
	if err := json.Unmarshal(f.srv.openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	ops := 0
	for path, item := range doc.Paths {
		for method, op := range item {
			ops++
			if !strings.Contains(body, `id="`+op.OperationID+`"`) || !strings.Contains(body, "<code>"+htmlText(path)+"</code>") {
				t.Errorf("%s %s (%s) is not on the page", method, path, op.OperationID)
			}
		}
	}
	if ops < 25 {
		t.Fatalf("%d operations: the document was not read", ops)
	}
	// The request example of public verification is shown, indented.
	if !strings.Contains(body, "<pre>{\n  &#34;certificate_number&#34;") && !strings.Contains(body, "<pre>{\n  \"certificate_number\"") {
		t.Errorf("no request example for POST /v1/verify")
	}
	// Shared answers (components/responses) are shown in place: the 429
	// every limited route refers to.
	if !strings.Contains(body, "/problems/rate-limited") {
		t.Errorf("the shared 429 answer's example is not shown")
	}
	zh := readBody(t, f.do(t, "GET", "/docs/api?lang=zh", "", ""))
	if !strings.Contains(zh, "接口参考") {
		t.Error("the Chinese page is not in Chinese")
	}
}

// htmlText is s as html/template writes it in text.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}
