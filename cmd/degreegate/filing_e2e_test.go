package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/filing/filingtest"
	"github.com/degreegate/degreegate/filing/webhook"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/registry"
)

// staffTokens makes a test issuer and office tokens for the filing
// workflow's staff; trusted is the setting that makes serve trust it.
func (f *serveFixture) staffTokens(t *testing.T) (trusted string, tok map[string]string) {
	t.Helper()
	dir := t.TempDir()
	if r := f.tr.run(t, nil, "issuer", "init", "--dir", dir); r.code != 0 {
		t.Fatalf("issuer init: exit %d %s", r.code, r.stderr)
	}
	tok = map[string]string{}
	for _, s := range []struct{ name, sub, org, scope string }{
		{"collector", "staff-1", "unit:10001", "filing.collect"},
		{"checker", "staff-2", "unit:10001", "filing.check"},
		{"reviewer1", "reviewer-1", "province:11", "filing.review"},
		{"reviewer2", "reviewer-2", "province:11", "filing.review"},
		{"national", "office-1", "national", "filing.consent"},
	} {
		r := f.tr.run(t, nil, "token", "--key", filepath.Join(dir, token.DevIssuerFile), "--audience", "office",
			"--sub", s.sub, "--org", s.org, "--scope", s.scope, "--ttl", "10m")
		if r.code != 0 {
			t.Fatalf("token: %s", r.stderr)
		}
		tok[s.name] = strings.TrimSpace(r.stdout)
	}
	return "DEGREEGATE_TRUSTED_ISSUERS=" + filepath.Join(dir, token.DevTrustedIssuersFile), tok
}

func call(t *testing.T, base, tok, method, path, ct string, body []byte, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// stageUpload sends content to serve as a staged upload in parts.
func stageUpload(t *testing.T, base, tok, kind, format string, content []byte, part int) string {
	t.Helper()
	code, _, body := call(t, base, tok, "POST", "/v1/filing/uploads", "application/json",
		[]byte(fmt.Sprintf(`{"kind":%q,"format":%q,"size":%d}`, kind, format, len(content))))
	if code != 201 {
		t.Fatalf("start upload: %d %s", code, body)
	}
	var u struct{ ID string }
	json.Unmarshal([]byte(body), &u)
	for off := 0; off < len(content); off += part {
		chunk := content[off:min(off+part, len(content))]
		if code, _, body := call(t, base, tok, "PATCH", "/v1/filing/uploads/"+u.ID, "application/offset+octet-stream", chunk,
			"Upload-Offset", strconv.Itoa(off)); code != 200 {
			t.Fatalf("part at %d: %d %s", off, code, body)
		}
	}
	return u.ID
}

// TestServeFiling runs the filing workflow on serve with PostgreSQL: a
// batch of a 3 MB resolution uploaded in 1 MiB parts is checked,
// submitted and accepted, and its records then verify publicly; of two
// reviewers deciding another batch at once, exactly one wins, and the
// trail holds the winner's entries only.
func TestServeFiling(t *testing.T) {
	f := newServeFixture(t, 10)
	trusted, tok := f.staffTokens(t)
	// The test polls public verification from one address.
	r := f.start(t, []string{trusted, "DEGREEGATE_POLICY=" + relaxedPolicy(t, t.TempDir())})
	base := r.base
	// The overdue counts are on the operations listener from the start.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, page := getBody(t, r.metrics+"/metrics")
		if code == 200 && strings.Contains(page, `degreegate_filing_overdue{state="submitted"} 0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no overdue counts on /metrics: %d", code)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A scanned resolution of 3 MB: larger than any one request may be.
	pdf := append(append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("0"), 3<<20)...), "\n%%EOF\n"...)
	newBatch := func(recs []registry.Record) string {
		t.Helper()
		doc := stageUpload(t, base, tok["collector"], "resolution", "pdf", pdf, 1<<20)
		rows := stageUpload(t, base, tok["collector"], "records", "csv", filingtest.CSV(t, recs), 1<<20)
		code, _, body := call(t, base, tok["collector"], "POST", "/v1/filing/batches", "application/json", []byte(fmt.Sprintf(
			`{"resolution_number":%q,"resolution_effective":%q,"resolution_upload":%q,"records_upload":%q}`,
			recs[0].ResolutionNumber, time.Now().AddDate(0, 0, -1).Format(time.DateOnly), doc, rows)))
		if code != 201 {
			t.Fatalf("new batch: %d %s", code, body)
		}
		var b struct{ ID string }
		json.Unmarshal([]byte(body), &b)
		for _, step := range []struct{ who, action string }{{"checker", "check"}, {"collector", "submit"}} {
			if code, _, body := call(t, base, tok[step.who], "POST", "/v1/filing/batches/"+b.ID+"/actions", "application/json",
				[]byte(`{"action":"`+step.action+`"}`)); code != 200 {
				t.Fatalf("%s: %d %s", step.action, code, body)
			}
		}
		return b.ID
	}

	recs := filingtest.Records(41, 4, "10001", "学位〔2026〕9号")
	id := newBatch(recs)
	if code, v, _, err := verifyOn(base, recs[0]); err != nil || code != 200 || v.Result != "no_match" {
		t.Fatalf("a submitted record verifies: %d %+v %v", code, v, err)
	}
	if code, _, body := call(t, base, tok["reviewer1"], "POST", "/v1/filing/batches/"+id+"/actions", "application/json",
		[]byte(`{"action":"accept"}`)); code != 200 || strings.Count(body, `"version":1`) != 4 {
		t.Fatalf("accept: %d %s", code, body)
	}
	// The record cache holds a miss for at most its TTL (2 s).
	deadline = time.Now().Add(5 * time.Second)
	for {
		code, v, _, err := verifyOn(base, recs[0])
		if err == nil && code == 200 && v.Result == "match" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a filed record does not verify: %d %+v %v", code, v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A change through the workflow shows at once: the record cache held
	// the old version, and the decision's broadcast drops it.
	if code, v, _, err := verifyOn(base, recs[1]); err != nil || code != 200 || v.Result != "match" {
		t.Fatalf("before the change: %d %+v %v", code, v, err)
	}
	evidence := stageUpload(t, base, tok["collector"], "resolution", "pdf", pdf[:1024], 1<<20)
	fixed := recs[1]
	fixed.Name = "王小明"
	recJSON, _ := json.Marshal(fixed)
	code, _, body := call(t, base, tok["collector"], "POST", "/v1/filing/requests", "application/json", []byte(fmt.Sprintf(
		`{"kind":"change","certificate_number":%q,"reason":"姓名录入有误","evidence_upload":%q,"record":%s}`, fixed.CertificateNumber, evidence, recJSON)))
	if code != 415 || !strings.Contains(body, "/problems/document-not-pdf") {
		t.Fatalf("evidence that is no PDF: %d %s", code, body)
	}
	evidence = stageUpload(t, base, tok["collector"], "resolution", "pdf", pdf, 1<<20)
	code, _, body = call(t, base, tok["collector"], "POST", "/v1/filing/requests", "application/json", []byte(fmt.Sprintf(
		`{"kind":"change","certificate_number":%q,"reason":"姓名录入有误","evidence_upload":%q,"record":%s}`, fixed.CertificateNumber, evidence, recJSON)))
	if code != 201 {
		t.Fatalf("a change request: %d %s", code, body)
	}
	var req struct{ ID string }
	json.Unmarshal([]byte(body), &req)
	for _, d := range []struct{ who, action string }{{"reviewer1", "approve_change"}, {"national", "consent"}} {
		if code, _, body := call(t, base, tok[d.who], "POST", "/v1/filing/requests/"+req.ID+"/decision", "application/json",
			[]byte(`{"action":"`+d.action+`"}`)); code != 200 {
			t.Fatalf("%s: %d %s", d.action, code, body)
		}
	}
	if code, v, _, err := verifyOn(base, fixed); err != nil || code != 200 || v.Result != "match" {
		t.Errorf("right after the change, the new name: %d %+v %v", code, v, err)
	}
	if code, v, _, err := verifyOn(base, recs[1]); err != nil || code != 200 || v.Result != "no_match" {
		t.Errorf("right after the change, the old name: %d %+v %v", code, v, err)
	}
	recs = append(recs, fixed)

	code, hdr, body := call(t, base, tok["reviewer1"], "GET", "/v1/filing/batches/"+id+"/resolution", "", nil)
	if code != 200 || hdr.Get("Content-Type") != "application/pdf" || len(body) != len(pdf) {
		t.Errorf("the resolution: %d %s, %d bytes", code, hdr.Get("Content-Type"), len(body))
	}

	// Two reviewers at once on one batch.
	other := filingtest.Records(42, 6, "10001", "学位〔2026〕10号")
	for i := range other {
		// Numbers of their own: Records numbers from 1 for every seed.
		other[i].CertificateNumber = other[i].CertificateNumber[:10] + fmt.Sprintf("%06d", 500000+i)
	}
	id2 := newBatch(other)
	var before int
	f.conn.QueryRow(t.Context(), `SELECT count(*) FROM audit_entries`).Scan(&before)
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i, who := range []string{"reviewer1", "reviewer2"} {
		body := `{"action":"accept"}`
		if i == 1 {
			body = `{"action":"return","reason":"材料不全"}`
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = call(t, base, tok[who], "POST", "/v1/filing/batches/"+id2+"/actions", "application/json", []byte(body))
		}()
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case 200:
			won++
		case 409, 422:
		default:
			t.Errorf("a reviewer got %d", c)
		}
	}
	var after int
	f.conn.QueryRow(t.Context(), `SELECT count(*) FROM audit_entries`).Scan(&after)
	if won != 1 || after-before != len(other) {
		t.Errorf("two reviewers at once: answers %v, %d entries for %d records", codes, after-before, len(other))
	}
	// A submission waiting 40 days is overdue; `filing overdue` says so.
	late := filingtest.Records(43, 2, "10001", "学位〔2026〕11号")
	for i := range late {
		late[i].CertificateNumber = late[i].CertificateNumber[:10] + fmt.Sprintf("%06d", 600000+i)
	}
	id3 := newBatch(late)
	if _, err := f.conn.Exec(t.Context(), `UPDATE filing_records SET since = since - interval '40 days' WHERE batch_id = $1`, id3); err != nil {
		t.Fatal(err)
	}
	rep := f.tr.run(t, f.env, "filing", "overdue", "--province", "11", "--format", "csv")
	if rep.code != 0 {
		t.Fatalf("filing overdue: exit %d %s", rep.code, rep.stderr)
	}
	for _, rec := range late {
		if !strings.Contains(rep.stdout, rec.CertificateNumber+","+id3+",10001,submitted,") {
			t.Errorf("filing overdue does not list %s:\n%s", rec.CertificateNumber, rep.stdout)
		}
	}
	if lines := strings.Count(strings.TrimSpace(rep.stdout), "\n"); lines != len(late) {
		t.Errorf("filing overdue lists %d records, want %d:\n%s", lines, len(late), rep.stdout)
	}
	if rep := f.tr.run(t, f.env, "filing", "overdue", "--province", "31"); rep.code != 0 || !strings.Contains(rep.stdout, "0 records overdue") {
		t.Errorf("another province's overdue list: %d %s", rep.code, rep.stdout)
	}
	// A replica with the webhook tells it, on its first count, what is
	// overdue: signed, and naming units, states and counts only.
	hooks := make(chan [2]string, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- [2]string{r.Header.Get("Degreegate-Signature"), string(b)}
	}))
	defer hook.Close()
	const hookSecret = "an HMAC key of the e2e test"
	f.start(t, []string{trusted, "DEGREEGATE_FILING_WEBHOOK=" + hook.URL + "/overdue", "DEGREEGATE_FILING_WEBHOOK_SECRET=" + hookSecret})
	select {
	case got := <-hooks:
		ts, _, _ := strings.Cut(strings.TrimPrefix(got[0], "t="), ",")
		sec, _ := strconv.ParseInt(ts, 10, 64)
		if got[0] != webhook.Sign([]byte(hookSecret), time.Unix(sec, 0), []byte(got[1])) {
			t.Errorf("the webhook's signature does not verify: %s", got[0])
		}
		var ev webhook.Event
		json.Unmarshal([]byte(got[1]), &ev)
		if len(ev.Overdue) != 1 || ev.Overdue[0].Unit != "10001" || ev.Overdue[0].State != "submitted" || ev.Overdue[0].Count != len(late) {
			t.Errorf("the webhook was told %s", got[1])
		}
		for _, rec := range late {
			if strings.Contains(got[1], rec.CertificateNumber) {
				t.Error("the webhook was told a certificate number")
			}
		}
	case <-time.After(20 * time.Second):
		t.Error("the webhook was not told within 20 s")
	}
	for _, l := range f.logs {
		for _, rec := range append(recs, other...) {
			if strings.Contains(l.String(), rec.IDNumber) || strings.Contains(l.String(), rec.Name) {
				t.Fatal("serve's log holds personal data of a filed record")
			}
		}
	}
}
