package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// TestServeAuditsBeforeAnswering holds serve to the README's promise that
// nothing about a person or a record is shown before its audit entry is
// committed in PostgreSQL.
func TestServeAuditsBeforeAnswering(t *testing.T) {
	f := newServeFixture(t, 300)
	policy := relaxedPolicy(t, t.TempDir())
	var filed []registry.Record
	for _, r := range f.records {
		if r.Status == registry.StatusFiled {
			filed = append(filed, r)
		}
	}

	t.Run("every receipt answered is in the trail after SIGKILL", func(t *testing.T) {
		// Clients behind a trusted proxy, each from an address of its own.
		c := f.start(t, []string{"DEGREEGATE_TRUSTED_PROXIES=127.0.0.1/32"}, "--policy", policy)
		waitStatus(t, c, "ready")
		const n = 40
		receipts := make([]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				code, body, _ := postJSON(t, c.base+"/v1/verify", map[string]string{
					"certificate_number": filed[i].CertificateNumber, "name": filed[i].Name,
				}, "X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", i/200, 1+i%200))
				var ans verifyAnswer
				if err := json.Unmarshal(body, &ans); err != nil || code != 200 || ans.Result != "match" {
					t.Errorf("verify %d: %d %s", i, code, body)
					return
				}
				receipts[i] = receiptID(t, ans.Receipt)
			})
		}
		close(start)
		wg.Wait()
		// At once, with no chance to flush anything.
		if err := c.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-c.done
		if t.Failed() {
			return
		}
		var stored int
		err := f.conn.QueryRow(context.Background(), `SELECT count(*) FROM audit_entries
			WHERE action = 'verify.public' AND detail::jsonb->>'receipt' = ANY($1)`, receipts).Scan(&stored)
		if err != nil {
			t.Fatal(err)
		}
		if stored != n {
			t.Errorf("after SIGKILL the trail holds %d of the %d receipts answered", stored, n)
		}
		if r := f.tr.run(t, f.env, "audit", "verify"); r.code != 0 || !strings.Contains(r.stdout, "intact") {
			t.Errorf("audit verify: exit %d %s %s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("PostgreSQL hung: 503 with Retry-After, never data, the record cache included", func(t *testing.T) {
		px := newTCPProxy(t, pgAddr(t))
		trusted, tok := f.agencyToken(t, "degree.verify")
		c := f.start(t, []string{"DATABASE_URL=" + px.url(t, f.env), trusted}, "--policy", policy, "--cache-ttl", "10m")
		waitStatus(t, c, "ready")
		pub, item := filed[50], filed[51]
		agency := func() (int, []byte, http.Header) {
			return postJSON(t, c.base+"/v1/agency/verify", map[string]any{
				"purpose": "employment_background_check",
				"queries": []map[string]string{{"certificate_number": item.CertificateNumber, "name": item.Name}},
			}, "Authorization", "Bearer "+tok)
		}
		public := func(name string) (int, []byte, http.Header) {
			return postJSON(t, c.base+"/v1/verify", map[string]string{"certificate_number": pub.CertificateNumber, "name": name})
		}
		// Warm the record cache: these two are now answered without a read.
		if code, body, _ := public(pub.Name); code != 200 {
			t.Fatalf("public verify before the hang: %d %s", code, body)
		}
		if code, body, _ := agency(); code != 200 {
			t.Fatalf("agency verify before the hang: %d %s", code, body)
		}

		px.hang()
		defer px.resume()
		for _, tc := range []struct {
			name string
			ask  func() (int, []byte, http.Header)
		}{
			{"public match", func() (int, []byte, http.Header) { return public(pub.Name) }},
			{"public no-match", func() (int, []byte, http.Header) { return public(pub.Name + "某") }},
			{"agency item", agency},
		} {
			start := time.Now()
			code, body, h := tc.ask()
			took := time.Since(start)
			if code != 503 || h.Get("Retry-After") == "" || !strings.Contains(string(body), "/problems/") {
				t.Errorf("%s with PostgreSQL hung: %d (Retry-After %q) %s; want 503 problem+json with Retry-After",
					tc.name, code, h.Get("Retry-After"), body)
			}
			for _, r := range []registry.Record{pub, item} {
				for _, v := range []string{r.Name, r.CertificateNumber, r.BirthDate.String()} {
					if bytes.Contains(body, []byte(v)) {
						t.Errorf("%s with PostgreSQL hung: the refusal shows %q", tc.name, v)
					}
				}
			}
			// The commit's 2 s timeout answers, well before the request's
			// own 5 s deadline.
			if took > 4*time.Second {
				t.Errorf("%s with PostgreSQL hung: answered after %v, want about the 2 s commit timeout", tc.name, took)
			}
			t.Logf("%s with PostgreSQL hung: %d %s after %v", tc.name, code, problemType(body), took.Round(time.Millisecond))
		}

		px.resume()
		waitStatus(t, c, "ready")
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, body, _ := public(pub.Name)
			if code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("public verify after PostgreSQL came back: %d %s", code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The failed commits were logged without what they held.
		assertNoPersonalData(t, c.logs.String(), f.records)
		// Operators see it: commits counted, the failed ones too.
		_, m := getBody(t, c.metrics+"/metrics")
		for _, series := range []string{"degreegate_audit_commits_total", "degreegate_audit_commit_failures_total"} {
			if !regexp.MustCompile(`(?m)^` + series + ` [1-9]`).MatchString(m) {
				t.Errorf("/metrics has no positive %s", series)
			}
		}
		if err := c.stop(t); err != nil {
			t.Errorf("after SIGTERM: %v\n%s", err, c.logs)
		}
	})
}

// postJSON posts v as JSON with the header pairs given, and returns the
// status, body and headers of the answer.
func postJSON(t *testing.T, url string, v any, header ...string) (int, []byte, http.Header) {
	t.Helper()
	b, _ := json.Marshal(v)
	req, err := http.NewRequest("POST", url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", url, err)
		return 0, nil, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, resp.Header
}

// receiptID is the jti of a receipt (a compact JWS), read without
// checking its signature: the test asks only which entry it names.
func receiptID(t *testing.T, jws string) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("receipt is not a compact JWS: %q", jws)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		ID string `json:"jti"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.ID == "" {
		t.Fatalf("receipt payload %s: %v", payload, err)
	}
	return claims.ID
}

func problemType(body []byte) string {
	var p struct {
		Type string `json:"type"`
	}
	json.Unmarshal(body, &p)
	return p.Type
}
