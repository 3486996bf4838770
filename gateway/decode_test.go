package gateway

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUnknownFieldEchoesOnlyFieldNames: an unknown key is named back only
// when it is shaped like the API's field names; a key holding an ID
// number, a phone number or a name is not reflected.
func TestUnknownFieldEchoesOnlyFieldNames(t *testing.T) {
	for _, tc := range []struct {
		key  string
		echo bool
	}{
		{"shoe_size", true},
		{"320111199510068292", false},
		{"13812345678", false},
		{"id320111199510068292", false},
		{"张三", false},
		{"Name", false},
		{strings.Repeat("a", 41), false},
	} {
		var v struct{ Known string }
		dec := json.NewDecoder(strings.NewReader(`{"` + tc.key + `":1}`))
		dec.DisallowUnknownFields()
		reason := jsonReason(dec.Decode(&v))
		if got := strings.Contains(reason, tc.key); got != tc.echo {
			t.Errorf("key %q: reason %q (echoed %v, want %v)", tc.key, reason, got, tc.echo)
		}
		if !strings.HasPrefix(reason, "unknown field") {
			t.Errorf("key %q: reason %q, want unknown field", tc.key, reason)
		}
	}
}

// TestProblemConventions: RFC 9110 and 9457 as a client expects them — a
// path under the wrong method is 405 with Allow, a body that is JSON but
// not an object says so, and every problem names its instance (the
// route, not the caller's input).
func TestProblemConventions(t *testing.T) {
	f := newFixture(t, 3, fixtureOptions{})
	for _, tc := range []struct {
		method, path, body string
		status             int
		typ, allow, detail string
		instance           string
	}{
		{"DELETE", "/v1/verify", "", 405, "/problems/method-not-allowed", "POST", "this path takes POST", "/v1/verify"},
		{"PUT", "/", "", 405, "/problems/method-not-allowed", "GET, HEAD", "", "/"},
		{"POST", "/v1/holder/codes/ABCDE", "", 405, "/problems/method-not-allowed", "DELETE", "", "/v1/holder/codes/ABCDE"},
		{"GET", "/v1/nothing-here", "", 404, "/problems/not-found", "", "", "/v1/nothing-here"},
		{"POST", "/v1/verify", "[]", 400, "/problems/malformed-json", "", "expected a JSON object, not an array", "/v1/verify"},
		{"POST", "/v1/verify", "42", 400, "/problems/malformed-json", "", "expected a JSON object, not a number", "/v1/verify"},
		{"GET", "/v1/verify/ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ", "", 503, "/problems/codes-unavailable", "", "", "/v1/verify/:code"},
	} {
		t.Run(tc.method+" "+tc.path+" "+tc.body, func(t *testing.T) {
			ct := ""
			if tc.body != "" {
				ct = "application/json"
			}
			resp := f.do(t, tc.method, tc.path, ct, tc.body)
			var p Problem
			body := readBody(t, resp)
			if err := json.Unmarshal([]byte(body), &p); err != nil || resp.StatusCode != tc.status || relType(p.Type) != tc.typ {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, tc.status, tc.typ)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if tc.detail != "" && p.Detail != tc.detail {
				t.Errorf("detail %q, want %q", p.Detail, tc.detail)
			}
			if p.Instance != tc.instance {
				t.Errorf("instance %q, want %q", p.Instance, tc.instance)
			}
		})
	}
}
