package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Fiber hands out the method as a view of the connection's request
// buffer. A label kept from it changed under the next request on the
// same connection ("GET" read "POS" after a POST), and once two series
// read alike Prometheus refused the whole /metrics page with a 500. This
// goes over one keep-alive connection so the buffer really is reused.
func TestMetricsLabelsSurviveBufferReuse(t *testing.T) {
	f := newFixture(t, 3, fixtureOptions{})
	conn, err := net.Dial("tcp", serveOnSocket(t, f.srv))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	send := func(method, path, body string) (int, string) {
		t.Helper()
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", method, path, len(body), body)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	r := f.records[0]
	for i := 0; i < 3; i++ {
		send("GET", "/metrics", "")
		send("POST", "/v1/verify", verifyBody(r.CertificateNumber, r.Name))
		send("DELETE", "/v1/holder/codes/x", "")
		send("PUT", "/healthz", "")
		send("GET", "/healthz", "")
	}
	code, page := send("GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics after mixed requests on one connection: %d\n%s", code, page)
	}
	methods := regexp.MustCompile(`degreegate_http_requests_total\{[^}]*method="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(methods) == 0 {
		t.Fatal("no request counters on /metrics")
	}
	for _, m := range methods {
		switch m[1] {
		case "GET", "POST", "DELETE", "PUT":
		default:
			t.Errorf("method label %q", m[1])
		}
	}
}

// A request no route matches is counted as route "unmatched", never as
// the home page's "/"; the build is described by go_build_info.
func TestMetricsUnmatchedRouteAndBuildInfo(t *testing.T) {
	f := newFixture(t, 1, fixtureOptions{})
	for _, p := range []string{"/no/such/path", "/v1/nothing", "/"} {
		readBody(t, f.do(t, "GET", p, "", ""))
	}
	page := readBody(t, f.do(t, "GET", "/metrics", "", ""))
	if !regexp.MustCompile(`degreegate_http_requests_total\{method="GET",route="unmatched",status="404"\} 2`).MatchString(page) {
		t.Errorf("unmatched requests not counted apart:\n%s", grepLines(page, "degreegate_http_requests_total"))
	}
	if !regexp.MustCompile(`degreegate_http_requests_total\{method="GET",route="/",status="200"\} 1`).MatchString(page) {
		t.Errorf("the home page's count is off:\n%s", grepLines(page, "degreegate_http_requests_total"))
	}
	if !regexp.MustCompile(`go_build_info\{[^}]*\} 1`).MatchString(page) {
		t.Error("no go_build_info")
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range regexp.MustCompile("\n").Split(s, -1) {
		if len(l) >= len(prefix) && l[:len(prefix)] == prefix {
			out = append(out, l)
		}
	}
	return fmt.Sprint(out)
}

// The filing workflow's overdue counts are a gauge by state, read from
// the last count (none before the first).
func TestMetricsFilingOverdue(t *testing.T) {
	var counts map[string]int
	m := NewMetrics(MetricSources{FilingOverdue: func() map[string]int { return counts }})
	scrape := func() string {
		rec := httptest.NewRecorder()
		promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	if page := scrape(); regexp.MustCompile(`degreegate_filing_overdue\{`).MatchString(page) {
		t.Errorf("overdue series before the first count:\n%s", grepLines(page, "degreegate_filing_overdue"))
	}
	counts = map[string]int{"submitted": 3, "change_requested": 0}
	page := scrape()
	for _, want := range []string{`degreegate_filing_overdue{state="submitted"} 3`, `degreegate_filing_overdue{state="change_requested"} 0`} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(page) {
			t.Errorf("no %s:\n%s", want, grepLines(page, "degreegate_filing_overdue"))
		}
	}
}
