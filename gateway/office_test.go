package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/registry"
)

// officeTrail puts a known trail in the fixture's store: agency calls of
// two organisations whose names share a prefix, public checks, one
// holder entry, an hour apart each, from start.
func officeTrail(t testing.TB, f *agencyFixture, start time.Time) []registry.AuditEntry {
	t.Helper()
	var es []registry.AuditEntry
	add := func(actor, action, ref, purpose string) {
		es = append(es, registry.AuditEntry{At: start.Add(time.Duration(len(es)) * time.Hour), Actor: actor,
			Action: action, RecordRef: ref, Purpose: purpose, Detail: `{"result":"match"}`})
	}
	add("org:gov:a/sub:1", "verify.agency", "C1", "employment_background_check")
	add("org:gov:ab/sub:2", "verify.agency", "C2", "employment_background_check")
	add("org:gov:a/sub:1", "verify.agency", "C2", "degree_administration")
	add("public:XYZ", "verify.public", "C1", "public_verification")
	add("holder:H", "holder.read", "C3", "")
	add("org:gov:a/sub:3", "verify.agency", "C3", "employment_background_check")
	// The trail begins with the fixture's records' filing entries.
	var filed []registry.AuditEntry
	if err := f.store.ScanAudit(context.Background(), 1, func(e registry.AuditEntry) error { filed = append(filed, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := logged(f.store).AppendAudit(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	return append(filed, es...)
}

type auditPageT struct {
	PolicyVersion string `json:"policy_version"`
	Entries       []struct {
		Seq       int64           `json:"seq"`
		At        time.Time       `json:"at"`
		Actor     string          `json:"actor"`
		Action    string          `json:"action"`
		RecordRef string          `json:"record_ref"`
		Purpose   string          `json:"purpose"`
		Detail    json.RawMessage `json:"detail"`
		Hash      string          `json:"hash"`
	} `json:"entries"`
	NextAfter *int64 `json:"next_after"`
}

func (f *agencyFixture) readAudit(t testing.TB, tok string, query url.Values) (*http.Response, auditPageT) {
	t.Helper()
	resp := f.do(t, "GET", "/v1/office/audit?"+query.Encode(), "", "", "Authorization", "Bearer "+tok)
	var page auditPageT
	if resp.StatusCode == 200 {
		body := readBody(t, resp)
		assertTimestamps(t, body)
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatalf("not an audit page: %v", err)
		}
	}
	return resp, page
}

func (f *agencyFixture) officeToken(t testing.TB, sub, scopes string) string {
	t.Helper()
	c := f.issuer.Claims(token.AudienceOffice, sub)
	c.Org, c.Scope = "office:national", scopes
	tok, err := f.issuer.Mint(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestOfficeAuditFilters(t *testing.T) {
	f := newAgencyFixture(t, 1, fixtureOptions{})
	start := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	trail := officeTrail(t, f, start)
	tok := f.officeToken(t, "official-1", "audit.read")
	refs := func(p auditPageT) []string {
		var out []string
		for _, e := range p.Entries {
			out = append(out, e.Actor+"|"+e.RecordRef)
		}
		return out
	}
	// want is computed from the trail with the contract's own words, so
	// the test does not repeat the handler's mapping.
	want := func(keep func(registry.AuditEntry) bool) []string {
		var out []string
		for _, e := range trail {
			if keep(e) {
				out = append(out, e.Actor+"|"+e.RecordRef)
			}
		}
		return out
	}
	at := func(h int) string { return start.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	cases := []struct {
		name  string
		query url.Values
		keep  func(registry.AuditEntry) bool
	}{
		{"everything", url.Values{}, func(registry.AuditEntry) bool { return true }},
		{"one org, not its prefix-sharing neighbour", url.Values{"org": {"gov:a"}},
			func(e registry.AuditEntry) bool { return strings.HasPrefix(e.Actor, "org:gov:a/") }},
		{"purpose", url.Values{"purpose": {"degree_administration"}},
			func(e registry.AuditEntry) bool { return e.Purpose == "degree_administration" }},
		{"record", url.Values{"record": {"C1"}}, func(e registry.AuditEntry) bool { return e.RecordRef == "C1" }},
		{"two records", url.Values{"record": {"C1", "C3"}}, func(e registry.AuditEntry) bool { return e.RecordRef == "C1" || e.RecordRef == "C3" }},
		{"action", url.Values{"action": {"verify.public", "holder.read"}},
			func(e registry.AuditEntry) bool { return e.Action == "verify.public" || e.Action == "holder.read" }},
		{"time window", url.Values{"from": {at(1)}, "to": {at(3)}},
			func(e registry.AuditEntry) bool {
				return !e.At.Before(start.Add(time.Hour)) && e.At.Before(start.Add(3*time.Hour))
			}},
		{"window in another zone", url.Values{"from": {start.Add(2 * time.Hour).In(time.FixedZone("CST", 8*3600)).Format(time.RFC3339)}},
			func(e registry.AuditEntry) bool { return !e.At.Before(start.Add(2 * time.Hour)) }},
		{"org and record", url.Values{"org": {"gov:a"}, "record": {"C2"}},
			func(e registry.AuditEntry) bool { return e.Actor == "org:gov:a/sub:1" && e.RecordRef == "C2" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.audit.all())
			resp, page := f.readAudit(t, tok, tc.query)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, readBody(t, resp))
			}
			if got, w := refs(page), want(tc.keep); !slices.Equal(got, w) {
				t.Errorf("entries %v, want %v", got, w)
			}
			if page.PolicyVersion == "" || resp.Header.Get("Degreegate-Policy-Version") != page.PolicyVersion {
				t.Error("no policy version")
			}
			// The read itself is on the trail, naming the official.
			es := f.audit.all()
			if len(es) != before+1 || es[len(es)-1].Action != "audit.read" || es[len(es)-1].Actor != "office:official-1" {
				t.Fatalf("the read was not audited: %+v", es[before:])
			}
			var d map[string]any
			if err := json.Unmarshal([]byte(es[len(es)-1].Detail), &d); err != nil || d["found"] != float64(len(page.Entries)) {
				t.Errorf("audit.read detail %s", es[len(es)-1].Detail)
			}
		})
	}
}

func TestOfficeAuditPages(t *testing.T) {
	f := newAgencyFixture(t, 1, fixtureOptions{})
	trail := officeTrail(t, f, time.Now().Add(-24*time.Hour))
	tok := f.officeToken(t, "official-1", "audit.read")
	var seen []int64
	query := url.Values{"limit": {"4"}}
	for pages := 0; ; pages++ {
		if pages > len(trail) {
			t.Fatal("the cursor does not advance")
		}
		resp, page := f.readAudit(t, tok, query)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if len(page.Entries) > 4 {
			t.Fatalf("page of %d entries, limit 4", len(page.Entries))
		}
		for _, e := range page.Entries {
			seen = append(seen, e.Seq)
		}
		if page.NextAfter == nil {
			break
		}
		query.Set("after", fmt.Sprint(*page.NextAfter))
	}
	if len(seen) != len(trail) || !slices.IsSorted(seen) || len(slices.Compact(slices.Clone(seen))) != len(seen) {
		t.Errorf("pages gave seqs %v for %d entries", seen, len(trail))
	}
}

func TestOfficeAuditRefusals(t *testing.T) {
	f := newAgencyFixture(t, 1, fixtureOptions{})
	officeTrail(t, f, time.Now().Add(-time.Hour))
	good := f.officeToken(t, "official-1", "audit.read")
	cases := []struct {
		name   string
		tok    string
		query  string
		status int
		typ    string
	}{
		{"no token", "", "", 401, "/problems/unauthenticated"},
		{"agency token", f.agencyToken(t), "", 403, "/problems/wrong-audience"},
		{"holder token", f.holderToken(t), "", 403, "/problems/wrong-audience"},
		{"official without audit.read", f.officeToken(t, "official-2", "stats.read"), "", 403, "/problems/scope-denied"},
		{"official of no office", func() string {
			c := f.issuer.Claims(token.AudienceOffice, "x")
			c.Org, c.Scope = "gov:police", "audit.read"
			tok, _ := f.issuer.Mint(c, time.Hour)
			return tok
		}(), "", 403, "/problems/org-denied"},
		{"bad from", good, "from=yesterday", 400, "/problems/invalid-request"},
		{"to before from", good, "from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z", 400, "/problems/invalid-request"},
		{"limit 0", good, "limit=0", 400, "/problems/invalid-request"},
		{"limit too big", good, "limit=100000", 400, "/problems/invalid-request"},
		{"negative cursor", good, "after=-1", 400, "/problems/invalid-request"},
		{"purpose twice", good, "purpose=a&purpose=b", 400, "/problems/invalid-request"},
		{"control character", good, "org=gov%3Aa%00", 400, "/problems/invalid-request"},
		{"too many records", good, strings.Repeat("record=C1&", 21), 400, "/problems/invalid-request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.audit.all())
			resp := f.do(t, "GET", "/v1/office/audit?"+tc.query, "", "", "Authorization", "Bearer "+tc.tok)
			problemOf(t, resp, tc.status, tc.typ)
			if len(f.audit.all()) != before {
				t.Error("a refused read was audited as a read")
			}
		})
	}
	t.Run("audit down", func(t *testing.T) {
		f.audit.refuse = true
		defer func() { f.audit.refuse = false }()
		problemOf(t, f.do(t, "GET", "/v1/office/audit", "", "", "Authorization", "Bearer "+good), 503, "/problems/audit-unavailable")
	})
	t.Run("no searcher", func(t *testing.T) {
		f.srv.deps.AuditSearch = nil
		f.rewire(t)
		defer func() {
			f.srv.deps.AuditSearch = f.store
			f.rewire(t)
		}()
		problemOf(t, f.do(t, "GET", "/v1/office/audit", "", "", "Authorization", "Bearer "+good), 503, "/problems/audit-search-unavailable")
	})
}

func TestOfficeAuditMatchesOpenAPI(t *testing.T) {
	f := newAgencyFixture(t, 1, fixtureOptions{})
	officeTrail(t, f, time.Now().Add(-time.Hour))
	v := areaOpenAPIValidator(t, f.fixture)
	tok := f.officeToken(t, "official-1", "audit.read")
	for _, query := range []string{"limit=2", "org=gov%3Aa", "limit=0"} {
		hreq := httptest.NewRequest("GET", "http://localhost/v1/office/audit?"+query, nil)
		hreq.Header.Set("Authorization", "Bearer "+tok)
		resp := f.do(t, "GET", "/v1/office/audit?"+query, "", "", "Authorization", "Bearer "+tok)
		if ok, errs := v.ValidateHttpResponse(hreq, resp); !ok {
			for _, e := range errs {
				t.Errorf("%s: answer (%d) does not match openapi.json: %s: %s", query, resp.StatusCode, e.Message, e.Reason)
			}
		}
	}
}
