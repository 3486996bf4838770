package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/anonymizer"
	"github.com/degreegate/degreegate/filing"
	"github.com/degreegate/degreegate/filing/filingtest"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/registry"
)

type tableRegions struct{}

func (tableRegions) UnitProvince(u string) string { return anonymizer.UnitProvince(u) }

// filingFixture is the agency fixture's gateway with the filing desk
// over its store, and staff tokens.
type filingFixture struct {
	*agencyFixture
	collector, checker, province, otherProvince, unitAsReviewer, national string
}

func newFilingFixture(t *testing.T) *filingFixture {
	f := newAgencyFixture(t, 3, fixtureOptions{})
	f.srv.deps.Filing = filing.NewDesk(f.store, f.store, f.keys, testLogKey, tableRegions{}, time.Now)
	f.rewire(t)
	mint := func(sub, org, scope string) string {
		c := f.issuer.Claims(token.AudienceOffice, sub)
		c.Org, c.Scope = org, scope
		tok, err := f.issuer.Mint(c, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return &filingFixture{agencyFixture: f,
		collector:      mint("staff-1", "unit:10001", "filing.collect"),
		checker:        mint("staff-2", "unit:10001", "filing.check"),
		province:       mint("reviewer-1", "province:11", "filing.review"),
		otherProvince:  mint("reviewer-9", "province:31", "filing.review"),
		unitAsReviewer: mint("staff-3", "unit:10001", "filing.review"),
		national:       mint("office-9", "national", "filing.consent"),
	}
}

func (f *filingFixture) call(t *testing.T, tok, method, path, ct, body string, header ...string) (*http.Response, string) {
	t.Helper()
	resp := f.do(t, method, path, ct, body, append([]string{"Authorization", "Bearer " + tok}, header...)...)
	return resp, readBody(t, resp)
}

// upload sends content as a staged upload in parts of partSize.
func (f *filingFixture) upload(t *testing.T, kind, format string, content []byte, partSize int) string {
	t.Helper()
	resp, body := f.call(t, f.collector, "POST", "/v1/filing/uploads", "application/json",
		fmt.Sprintf(`{"kind":%q,"format":%q,"size":%d}`, kind, format, len(content)))
	if resp.StatusCode != 201 {
		t.Fatalf("start upload: %d %s", resp.StatusCode, body)
	}
	var u struct{ ID string }
	json.Unmarshal([]byte(body), &u)
	for off := 0; off < len(content); off += partSize {
		part := content[off:min(off+partSize, len(content))]
		resp, body := f.call(t, f.collector, "PATCH", "/v1/filing/uploads/"+u.ID, "application/offset+octet-stream", string(part),
			"Upload-Offset", strconv.Itoa(off))
		if resp.StatusCode != 200 || resp.Header.Get("Upload-Offset") != strconv.Itoa(off+len(part)) {
			t.Fatalf("part at %d: %d %s (offset %s)", off, resp.StatusCode, body, resp.Header.Get("Upload-Offset"))
		}
	}
	return u.ID
}

var resolutionPDF = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

func filingProblemOf(t *testing.T, body string) Problem {
	t.Helper()
	var p Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("not a problem: %s", body)
	}
	p.Type = relType(p.Type)
	return p
}

// TestFilingAPIWalk walks a batch through the API: staged uploads,
// batch, check by another person, submission, one record returned, the
// rest accepted and then verifiable by the public; scopes, regions and
// duties are enforced, and neither answers nor logs carry personal data
// beyond what the caller handed in.
func TestFilingAPIWalk(t *testing.T) {
	f := newFilingFixture(t)
	recs := filingtest.Records(21, 3, "10001", "学位〔2026〕7号")
	doc := f.upload(t, filing.StagedResolution, "pdf", resolutionPDF, 40)
	records := f.upload(t, filing.StagedRecords, "csv", filingtest.CSV(t, recs), 1000)

	// A part at the wrong offset is refused, and told where to send it.
	resp, body := f.call(t, f.collector, "PATCH", "/v1/filing/uploads/"+doc, "application/offset+octet-stream", "x", "Upload-Offset", "0")
	if resp.StatusCode != 409 || filingProblemOf(t, body).Type != "/problems/upload-offset" || resp.Header.Get("Upload-Offset") != strconv.Itoa(len(resolutionPDF)) {
		t.Errorf("a stale part: %d %s, offset %q", resp.StatusCode, body, resp.Header.Get("Upload-Offset"))
	}
	// Another unit's staff do not see the upload.
	if resp, _ := f.call(t, f.checker, "GET", "/v1/filing/uploads/"+doc, "", ""); resp.StatusCode != 403 {
		t.Errorf("a checker reads the collector's upload: %d", resp.StatusCode)
	}

	resp, body = f.call(t, f.collector, "POST", "/v1/filing/batches", "application/json", fmt.Sprintf(
		`{"resolution_number":"学位〔2026〕7号","resolution_effective":%q,"resolution_upload":%q,"records_upload":%q}`,
		time.Now().AddDate(0, 0, -3).Format(time.DateOnly), doc, records))
	if resp.StatusCode != 201 {
		t.Fatalf("new batch: %d %s", resp.StatusCode, body)
	}
	assertNoPersonalData(t, "the batch", body, recs)
	var batch struct {
		ID      string
		Records []struct{ CertificateNumber, State string } `json:"records"`
	}
	json.Unmarshal([]byte(body), &batch)
	if len(batch.Records) != 3 || batch.Records[0].State != "draft" || resp.Header.Get("Location") != "/v1/filing/batches/"+batch.ID {
		t.Fatalf("new batch: %s", body)
	}
	act := func(tok, action, numbers, reason string) (*http.Response, string) {
		return f.call(t, tok, "POST", "/v1/filing/batches/"+batch.ID+"/actions", "application/json",
			fmt.Sprintf(`{"action":%q,"certificate_numbers":%s,"reason":%q}`, action, numbers, reason))
	}
	// The collector holds no check scope; the checker does.
	if resp, body := act(f.collector, "check", "null", ""); resp.StatusCode != 403 || filingProblemOf(t, body).Type != "/problems/scope-denied" {
		t.Errorf("the collector checks: %d %s", resp.StatusCode, body)
	}
	if resp, body := act(f.checker, "check", "null", ""); resp.StatusCode != 200 {
		t.Fatalf("check: %d %s", resp.StatusCode, body)
	}
	// Accepting before submission is a state conflict, named per record.
	if resp, body := act(f.province, "accept", fmt.Sprintf("[%q]", recs[0].CertificateNumber), ""); resp.StatusCode != 422 ||
		filingProblemOf(t, body).Type != "/problems/filing-refused" || !strings.Contains(body, recs[0].CertificateNumber) {
		t.Errorf("accept before submission: %d %s", resp.StatusCode, body)
	}
	if resp, body := act(f.collector, "submit", "null", ""); resp.StatusCode != 200 {
		t.Fatalf("submit: %d %s", resp.StatusCode, body)
	}
	// A unit may not hold the review scope; another province sees nothing.
	if resp, body := act(f.unitAsReviewer, "accept", "null", ""); resp.StatusCode != 403 || filingProblemOf(t, body).Type != "/problems/org-denied" {
		t.Errorf("a unit reviews: %d %s", resp.StatusCode, body)
	}
	if resp, _ := act(f.otherProvince, "accept", "null", ""); resp.StatusCode != 404 {
		t.Errorf("another province accepts: %d", resp.StatusCode)
	}
	bad := recs[1].CertificateNumber
	if resp, body := act(f.province, "return", fmt.Sprintf("[%q]", bad), ""); resp.StatusCode != 400 || filingProblemOf(t, body).Code != "reason-required" {
		t.Errorf("return without a reason: %d %s", resp.StatusCode, body)
	}
	if resp, body := act(f.province, "return", fmt.Sprintf("[%q]", bad), "导师姓名有误"); resp.StatusCode != 200 {
		t.Fatalf("return: %d %s", resp.StatusCode, body)
	}
	resp, body = act(f.province, "accept", "null", "")
	if resp.StatusCode != 200 || strings.Count(body, `"version":1`) != 2 {
		t.Fatalf("accept the rest: %d %s", resp.StatusCode, body)
	}

	// The accepted records are filed: the public verifies them.
	resp = f.do(t, "POST", "/v1/verify", "application/json", verifyBody(recs[0].CertificateNumber, recs[0].Name))
	if b := readBody(t, resp); !strings.Contains(b, `"result":"match"`) {
		t.Errorf("public verification of a filed record: %s", b)
	}
	resp = f.do(t, "POST", "/v1/verify", "application/json", verifyBody(bad, recs[1].Name))
	if b := readBody(t, resp); !strings.Contains(b, `"no_match"`) {
		t.Errorf("public verification of a returned record: %s", b)
	}

	// The province's queue holds the returned record; the resolution is
	// served to it, and the read recorded.
	resp, body = f.call(t, f.province, "GET", "/v1/filing/queue?state=returned", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, bad) || strings.Count(body, "certificate_number") != 1 {
		t.Errorf("the queue of returned records: %d %s", resp.StatusCode, body)
	}
	if resp, body := f.call(t, f.province, "GET", "/v1/filing/queue?state=nonsense", "", ""); resp.StatusCode != 400 {
		t.Errorf("a queue of no state: %d %s", resp.StatusCode, body)
	}
	resp, body = f.call(t, f.province, "GET", "/v1/filing/batches/"+batch.ID+"/resolution", "", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || body != string(resolutionPDF) {
		t.Errorf("the resolution: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Nothing of a batch submitted today is overdue.
	if resp, body := f.call(t, f.province, "GET", "/v1/filing/overdue", "", ""); resp.StatusCode != 200 || body != `{"overdue":[]}` {
		t.Errorf("the province's overdue summary: %d %s", resp.StatusCode, body)
	}
	read := false
	if err := f.store.ScanAudit(t.Context(), 1, func(e registry.AuditEntry) error {
		read = read || e.Action == "filing.read_resolution"
		return nil
	}); err != nil || !read {
		t.Errorf("the resolution's read is not in the trail (%v)", err)
	}
	assertNoPersonalData(t, "the log", f.logs.String(), recs)
}

// TestFilingAPIRejectsRows: a file with bad rows is refused whole, each
// row named by line, field and code, without echoing what it held.
func TestFilingAPIRejectsRows(t *testing.T) {
	f := newFilingFixture(t)
	recs := filingtest.Records(22, 3, "10001", "R-1")
	recs[2].UnitCode, recs[2].CertificateNumber = "10002", "10002"+recs[2].CertificateNumber[5:]
	doc := f.upload(t, filing.StagedResolution, "pdf", resolutionPDF, 1<<20)
	records := f.upload(t, filing.StagedRecords, "csv", filingtest.CSV(t, recs), 1<<20)
	resp, body := f.call(t, f.collector, "POST", "/v1/filing/batches", "application/json", fmt.Sprintf(
		`{"resolution_number":"R-1","resolution_effective":%q,"resolution_upload":%q,"records_upload":%q}`,
		time.Now().Format(time.DateOnly), doc, records))
	p := filingProblemOf(t, body)
	if resp.StatusCode != 422 || p.Type != "/problems/rows-rejected" || len(p.Rejections) != 1 ||
		p.Rejections[0].Line != 4 || p.Rejections[0].Code != filing.RejectOtherUnit {
		t.Fatalf("a file with another unit's row: %d %s", resp.StatusCode, body)
	}
	assertNoPersonalData(t, "the rejection", body, recs)
	// A PDF that is not one.
	fake := f.upload(t, filing.StagedResolution, "pdf", []byte("PK\x03\x04 not a pdf"), 1<<20)
	resp, body = f.call(t, f.collector, "POST", "/v1/filing/batches", "application/json", fmt.Sprintf(
		`{"resolution_number":"R-1","resolution_effective":%q,"resolution_upload":%q,"records_upload":%q}`,
		time.Now().Format(time.DateOnly), fake, records))
	if resp.StatusCode != 415 || filingProblemOf(t, body).Type != "/problems/document-not-pdf" {
		t.Errorf("a resolution that is no PDF: %d %s", resp.StatusCode, body)
	}
	// An upload larger than a resolution may be.
	resp, body = f.call(t, f.collector, "POST", "/v1/filing/uploads", "application/json",
		fmt.Sprintf(`{"kind":"resolution","format":"pdf","size":%d}`, filing.MaxDocument+1))
	if resp.StatusCode != 413 {
		t.Errorf("a resolution too large: %d %s", resp.StatusCode, body)
	}
}

// fileThrough takes recs through the API to filed.
func (f *filingFixture) fileThrough(t *testing.T, recs []registry.Record) {
	t.Helper()
	doc := f.upload(t, filing.StagedResolution, "pdf", resolutionPDF, 1<<20)
	records := f.upload(t, filing.StagedRecords, "csv", filingtest.CSV(t, recs), 1<<20)
	resp, body := f.call(t, f.collector, "POST", "/v1/filing/batches", "application/json", fmt.Sprintf(
		`{"resolution_number":%q,"resolution_effective":%q,"resolution_upload":%q,"records_upload":%q}`,
		recs[0].ResolutionNumber, time.Now().Format(time.DateOnly), doc, records))
	if resp.StatusCode != 201 {
		t.Fatalf("new batch: %d %s", resp.StatusCode, body)
	}
	var b struct{ ID string }
	json.Unmarshal([]byte(body), &b)
	for _, s := range []struct{ tok, action string }{{f.checker, "check"}, {f.collector, "submit"}, {f.province, "accept"}} {
		if resp, body := f.call(t, s.tok, "POST", "/v1/filing/batches/"+b.ID+"/actions", "application/json", `{"action":"`+s.action+`"}`); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", s.action, resp.StatusCode, body)
		}
	}
}

// TestFilingAPIRequests: a change of a key field through the province
// and the national office, and a reported revocation the public then
// sees; the answers name changed fields, never their values.
func TestFilingAPIRequests(t *testing.T) {
	f := newFilingFixture(t)
	recs := filingtest.Records(23, 2, "10001", "R-9")
	f.fileThrough(t, recs)
	evidence := f.upload(t, filing.StagedResolution, "pdf", resolutionPDF, 1<<20)

	fixed := recs[0]
	fixed.Name = "王小明"
	rec, err := json.Marshal(fixed)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := f.call(t, f.collector, "POST", "/v1/filing/requests", "application/json", fmt.Sprintf(
		`{"kind":"change","certificate_number":%q,"reason":"姓名录入有误","evidence_upload":%q,"record":%s}`,
		fixed.CertificateNumber, evidence, rec))
	if resp.StatusCode != 201 || !strings.Contains(body, `"changed":["name"]`) || !strings.Contains(body, `"key_field":true`) {
		t.Fatalf("a change request: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "王小明") {
		t.Error("the request's answer holds the new name")
	}
	assertNoPersonalData(t, "the request", body, recs)
	var r struct{ ID string }
	json.Unmarshal([]byte(body), &r)
	decide := func(tok, action, reason string) (*http.Response, string) {
		return f.call(t, tok, "POST", "/v1/filing/requests/"+r.ID+"/decision", "application/json",
			fmt.Sprintf(`{"action":%q,"reason":%q}`, action, reason))
	}
	if resp, body := decide(f.province, "consent", ""); resp.StatusCode != 403 {
		t.Errorf("a province consents: %d %s", resp.StatusCode, body)
	}
	if resp, body := decide(f.province, "approve_change", ""); resp.StatusCode != 200 || !strings.Contains(body, `"state":"awaiting_consent"`) {
		t.Fatalf("approve: %d %s", resp.StatusCode, body)
	}
	if resp, body := decide(f.national, "consent", ""); resp.StatusCode != 200 || !strings.Contains(body, `"outcome":"consent"`) {
		t.Fatalf("consent: %d %s", resp.StatusCode, body)
	}
	resp = f.do(t, "POST", "/v1/verify", "application/json", verifyBody(fixed.CertificateNumber, "王小明"))
	if b := readBody(t, resp); !strings.Contains(b, `"result":"match"`) {
		t.Errorf("the changed name does not verify: %s", b)
	}

	// A revocation, reported and confirmed, shows to the public.
	resp, body = f.call(t, f.collector, "POST", "/v1/filing/requests", "application/json", fmt.Sprintf(
		`{"kind":"revocation","certificate_number":%q,"reason":"撤销学位","evidence_upload":%q,"revocation":{"revoked_on":"2026-06-30","revocation_resolution":"学位〔2026〕12号","revocation_reason":"学术不端"}}`,
		recs[1].CertificateNumber, evidence))
	if resp.StatusCode != 201 || !strings.Contains(body, `"late_report":true`) {
		t.Fatalf("a revocation reported months after its resolution: %d %s", resp.StatusCode, body)
	}
	json.Unmarshal([]byte(body), &r)
	if resp, body := decide(f.province, "confirm_revocation", ""); resp.StatusCode != 200 || !strings.Contains(body, `"state":"revoked"`) {
		t.Fatalf("confirm: %d %s", resp.StatusCode, body)
	}
	resp = f.do(t, "POST", "/v1/verify", "application/json", verifyBody(recs[1].CertificateNumber, recs[1].Name))
	if b := readBody(t, resp); !strings.Contains(b, `"status":"revoked"`) {
		t.Errorf("a confirmed revocation does not show: %s", b)
	}
	// A deletion, approved: the public and the holder see nothing of it.
	deleted := filingtest.Records(25, 1, "10001", "R-11")[0]
	deleted.CertificateNumber = deleted.CertificateNumber[:10] + "777777"
	f.fileThrough(t, []registry.Record{deleted})
	resp, body = f.call(t, f.collector, "POST", "/v1/filing/requests", "application/json", fmt.Sprintf(
		`{"kind":"deletion","certificate_number":%q,"reason":"重复报送","evidence_upload":%q}`, deleted.CertificateNumber, evidence))
	if resp.StatusCode != 201 || !strings.Contains(body, `"state":"deletion_requested"`) {
		t.Fatalf("a deletion request: %d %s", resp.StatusCode, body)
	}
	json.Unmarshal([]byte(body), &r)
	if resp, body := decide(f.province, "approve_deletion", ""); resp.StatusCode != 200 || !strings.Contains(body, `"state":"deleted"`) {
		t.Fatalf("approve the deletion: %d %s", resp.StatusCode, body)
	}
	resp = f.do(t, "POST", "/v1/verify", "application/json", verifyBody(deleted.CertificateNumber, deleted.Name))
	if b := readBody(t, resp); !strings.Contains(b, `"result":"no_match"`) {
		t.Errorf("a deleted record verifies: %s", b)
	}
	hc := f.issuer.Claims(token.AudienceHolder, "holder-deleted")
	hc.Scope, hc.IDType, hc.IDNumber = "holder.read", string(deleted.IDType), deleted.IDNumber
	holder, err := f.issuer.Mint(hc, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := f.call(t, holder, "GET", "/v1/holder/degrees", "", ""); resp.StatusCode != 200 || strings.Contains(body, deleted.CertificateNumber) {
		t.Errorf("the holder's degrees show a deleted record: %d %s", resp.StatusCode, body)
	}

	resp, body = f.call(t, f.province, "GET", "/v1/filing/requests?state=revoked", "", "")
	if resp.StatusCode != 200 || strings.Count(body, `"id"`) != 1 {
		t.Errorf("the province's revoked requests: %d %s", resp.StatusCode, body)
	}
	assertNoPersonalData(t, "the log", f.logs.String(), append(recs, fixed))
}

// TestFilingBatchesAreReadFewAtATime: a batch read waits for a free slot
// and, when its request runs out first, answers 503 filing-busy.
func TestFilingBatchesAreReadFewAtATime(t *testing.T) {
	f := newFilingFixture(t)
	recs := filingtest.Records(24, 1, "10001", "R-10")
	doc := f.upload(t, filing.StagedResolution, "pdf", resolutionPDF, 1<<20)
	records := f.upload(t, filing.StagedRecords, "csv", filingtest.CSV(t, recs), 1<<20)
	for range maxBatchReads {
		f.srv.batchReads <- struct{}{}
	}
	f.srv.deps.RequestTimeout = 100 * time.Millisecond
	body := fmt.Sprintf(`{"resolution_number":"R-10","resolution_effective":%q,"resolution_upload":%q,"records_upload":%q}`,
		time.Now().Format(time.DateOnly), doc, records)
	resp, got := f.call(t, f.collector, "POST", "/v1/filing/batches", "application/json", body)
	if resp.StatusCode != 503 || filingProblemOf(t, got).Type != "/problems/filing-busy" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("with every slot taken: %d %s", resp.StatusCode, got)
	}
	<-f.srv.batchReads
	f.srv.deps.RequestTimeout = 10 * time.Second
	if resp, got := f.call(t, f.collector, "POST", "/v1/filing/batches", "application/json", body); resp.StatusCode != 201 {
		t.Errorf("with a slot free: %d %s", resp.StatusCode, got)
	}
}
