package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/degreegate/degreegate/datasets"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
)

// datasetFixture is a gateway with the dataset service over the embedded
// store, a clock the test moves, and tokens for two officials and two
// contractors.
type datasetFixture struct {
	*agencyFixture
	svc   *datasets.Service
	clock *testClock
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const (
	contractorOrg   = "pub:test-institute"
	otherContractor = "pub:other-institute"
	datasetPurpose  = "education_statistics_research"
	officeScopes    = "dataset.request dataset.approve"
)

func newDatasetFixture(t testing.TB) *datasetFixture {
	t.Helper()
	f := newAgencyFixture(t, 2000, fixtureOptions{})
	clock := &testClock{now: time.Now()}
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := datasets.NewService(datasets.Config{
		Store: inmem.NewDatasets(), Records: f.store, Keys: keys, Policy: f.srv.deps.Policy, Audit: f.audit,
		Dir: t.TempDir(), Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.deps.Datasets = svc
	f.srv.deps.Now = clock.Now
	f.rewire(t)
	return &datasetFixture{agencyFixture: f, svc: svc, clock: clock}
}

func (f *datasetFixture) contractorToken(t testing.TB, org string) string {
	return f.mint(t, token.AudienceContractor, org, "dataset.read")
}

func (f *datasetFixture) call(t testing.TB, method, path, tok string, body any) (*http.Response, string) {
	t.Helper()
	var b string
	ctype := ""
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		b, ctype = string(raw), "application/json"
	}
	resp := f.do(t, method, path, ctype, b, "Authorization", "Bearer "+tok)
	return resp, readBody(t, resp)
}

// requestBody is a request the default policy accepts.
func requestBody(edit func(map[string]any)) map[string]any {
	b := map[string]any{
		"contractor": contractorOrg, "purpose": datasetPurpose,
		"fields":  []string{"gender", "degree_level", "conferral_date", "unit_code", "discipline_code", "status"},
		"filters": map[string]any{"conferral_year_from": 1990},
		"k":       5, "term_days": 30,
	}
	if edit != nil {
		edit(b)
	}
	return b
}

type officeDatasetT struct {
	ID          string   `json:"id"`
	Status      string   `json:"status"`
	Formats     []string `json:"formats"`
	Contractor  string   `json:"contractor"`
	RequestedBy string   `json:"requested_by"`
	DecidedBy   string   `json:"decided_by"`
	Failure     string   `json:"failure"`
	Manifest    struct {
		RowsOut   int64 `json:"rows_out"`
		AchievedK int64 `json:"achieved_k"`
		Files     []struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	} `json:"manifest"`
}

func decodeDataset(t testing.TB, resp *http.Response, body string, status int) officeDatasetT {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	var d officeDatasetT
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("not a dataset: %v: %s", err, body)
	}
	return d
}

// requestAndApprove files a request as official-1, has official-2
// approve it, and builds it.
func (f *datasetFixture) requestAndApprove(t testing.TB, body map[string]any) officeDatasetT {
	t.Helper()
	resp, b := f.call(t, "POST", "/v1/office/datasets", f.officeToken(t, "official-1", officeScopes), body)
	d := decodeDataset(t, resp, b, 201)
	resp, b = f.call(t, "POST", "/v1/office/datasets/"+d.ID+"/approve", f.officeToken(t, "official-2", officeScopes), map[string]string{"note": "同意"})
	decodeDataset(t, resp, b, 200)
	if _, err := f.svc.BuildPending(t.Context()); err != nil {
		t.Fatalf("BuildPending: %v", err)
	}
	return d
}

func TestDatasetLifecycle(t *testing.T) {
	f := newDatasetFixture(t)
	o1, o2 := f.officeToken(t, "official-1", officeScopes), f.officeToken(t, "official-2", officeScopes)
	ct := f.contractorToken(t, contractorOrg)

	resp, body := f.call(t, "POST", "/v1/office/datasets", o1, requestBody(nil))
	d := decodeDataset(t, resp, body, 201)
	if d.Status != "requested" || d.RequestedBy != datasets.OfficialID(token.DevIssuerID(token.AudienceOffice), "official-1") || d.Contractor != contractorOrg {
		t.Fatalf("request answered %+v", d)
	}
	if resp.Header.Get("Degreegate-Policy-Version") == "" {
		t.Error("no policy version on the answer")
	}
	// Nobody approves their own request.
	resp, body = f.call(t, "POST", "/v1/office/datasets/"+d.ID+"/approve", o1, nil)
	if resp.StatusCode != 403 || !strings.Contains(body, "/problems/self-decision") {
		t.Fatalf("self-approval: %d %s", resp.StatusCode, body)
	}
	// Before approval, nothing for the contractor to download.
	resp, body = f.call(t, "GET", "/v1/datasets/"+d.ID+"/data", ct, nil)
	if resp.StatusCode != 409 {
		t.Fatalf("download before approval: %d %s", resp.StatusCode, body)
	}
	resp, body = f.call(t, "POST", "/v1/office/datasets/"+d.ID+"/approve", o2, nil)
	if got := decodeDataset(t, resp, body, 200); got.Status != "approved" || got.DecidedBy != datasets.OfficialID(token.DevIssuerID(token.AudienceOffice), "official-2") {
		t.Fatalf("approval answered %+v", got)
	}
	// A second decision finds the request decided.
	resp, _ = f.call(t, "POST", "/v1/office/datasets/"+d.ID+"/reject", f.officeToken(t, "official-3", officeScopes), nil)
	if resp.StatusCode != 409 {
		t.Errorf("a second decision: %d, want 409", resp.StatusCode)
	}
	if _, err := f.svc.BuildPending(t.Context()); err != nil {
		t.Fatal(err)
	}

	resp, body = f.call(t, "GET", "/v1/datasets", ct, nil)
	var list struct{ Datasets []officeDatasetT }
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Datasets) != 1 {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	if got := list.Datasets[0]; got.Status != "ready" || len(got.Formats) != 2 || got.ID != d.ID {
		t.Fatalf("listed %+v", got)
	}
	if strings.Contains(body, "official-") || strings.Contains(body, `"key"`) {
		t.Error("the contractor's list names officials or keys")
	}
	resp, body = f.call(t, "GET", "/v1/datasets/"+d.ID, ct, nil)
	got := decodeDataset(t, resp, body, 200)
	if got.Manifest.AchievedK < 5 || len(got.Manifest.Files) != 3 {
		t.Fatalf("manifest %+v", got.Manifest)
	}
	// The manifest tells the contractor what was released, not which
	// officials asked and approved (issue 16, item 6).
	if strings.Contains(body, "official-") || strings.Contains(body, "requested_by") || strings.Contains(body, "approved_by") {
		t.Errorf("the contractor's dataset names officials: %s", body)
	}

	before := len(f.audit.all())
	for _, format := range []string{"csv", "parquet"} {
		resp, body = f.call(t, "GET", "/v1/datasets/"+d.ID+"/data?format="+format, ct, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("download %s: %d %s", format, resp.StatusCode, body)
		}
		sum := sha256.Sum256([]byte(body))
		if want := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"; resp.Header.Get("Repr-Digest") != want {
			t.Errorf("%s: Repr-Digest %q does not match the body", format, resp.Header.Get("Repr-Digest"))
		}
		inManifest := false
		for _, fi := range got.Manifest.Files {
			inManifest = inManifest || fmt.Sprintf("%x", sum) == fi.SHA256
		}
		if !inManifest {
			t.Errorf("%s: the file's SHA-256 is not in the manifest", format)
		}
		if format == "parquet" && !strings.HasPrefix(body, "PAR1") {
			t.Error("the parquet download is not Parquet")
		}
		if format == "csv" {
			assertNoPersonalData(t, "the CSV download", body, f.records)
			if rows := strings.Count(body, "\n") - 1; int64(rows) != got.Manifest.RowsOut {
				t.Errorf("CSV has %d rows, manifest %d", rows, got.Manifest.RowsOut)
			}
		}
	}
	// Every step is on the trail; each download before it was sent.
	actions := map[string]int{}
	for _, e := range f.audit.all() {
		actions[e.Action]++
	}
	for _, a := range []string{"dataset.request", "dataset.approve", "dataset.build", "dataset.download"} {
		if actions[a] == 0 {
			t.Errorf("no %s on the trail (have %v)", a, actions)
		}
	}
	downloads := f.audit.all()[before:]
	if len(downloads) != 2 {
		t.Fatalf("%d entries for two downloads", len(downloads))
	}
	var detail struct {
		LegalBasis    string   `json:"legal_basis"`
		PolicyVersion string   `json:"policy_version"`
		Fields        []string `json:"fields"`
		SHA256        string   `json:"sha256"`
	}
	if err := json.Unmarshal([]byte(downloads[0].Detail), &detail); err != nil {
		t.Fatal(err)
	}
	if downloads[0].Actor != "org:"+contractorOrg+"/sub:officer-7" || downloads[0].Purpose != datasetPurpose ||
		downloads[0].RecordRef != "dataset:"+d.ID || detail.LegalBasis == "" || detail.PolicyVersion == "" ||
		len(detail.Fields) != 7 || detail.SHA256 == "" {
		t.Errorf("download audited as %+v / %+v", downloads[0], detail)
	}
	assertNoPersonalData(t, "the logs", f.logs.String(), f.records)
}

func TestDatasetRequestRefusals(t *testing.T) {
	f := newDatasetFixture(t)
	o1 := f.officeToken(t, "official-1", officeScopes)
	tests := []struct {
		name   string
		edit   func(map[string]any)
		status int
		typ    string
	}{
		{"unknown field", func(b map[string]any) { b["fields"] = []string{"gender", "shoe_size"} }, 403, "/problems/dataset-rule"},
		{"a direct identifier", func(b map[string]any) { b["fields"] = []string{"gender", "name"} }, 403, "/problems/dataset-rule"},
		{"forbidden purpose", func(b map[string]any) { b["purpose"] = "commercial_use" }, 403, "/problems/purpose-forbidden"},
		{"purpose not for datasets", func(b map[string]any) { b["purpose"] = "employment_background_check" }, 403, "/problems/purpose-rejected"},
		{"term over the maximum", func(b map[string]any) { b["term_days"] = 91 }, 403, "/problems/dataset-rule"},
		{"k below the minimum", func(b map[string]any) { b["k"] = 2 }, 403, "/problems/dataset-rule"},
		{"suppression over the maximum", func(b map[string]any) { b["max_suppression"] = 0.5 }, 403, "/problems/dataset-rule"},
		{"l without enough", func(b map[string]any) { b["sensitive"], b["l"] = "status", 1 }, 403, "/problems/dataset-rule"},
		{"no term", func(b map[string]any) { delete(b, "term_days") }, 400, "/problems/invalid-request"},
		{"no fields", func(b map[string]any) { b["fields"] = []string{} }, 400, "/problems/invalid-request"},
		{"unknown region", func(b map[string]any) { b["filters"] = map[string]any{"regions": []string{"atlantis"}} }, 400, "/problems/invalid-request"},
		{"years reversed", func(b map[string]any) {
			b["filters"] = map[string]any{"conferral_year_from": 2020, "conferral_year_to": 2010}
		}, 400, "/problems/invalid-request"},
		{"unknown level", func(b map[string]any) { b["filters"] = map[string]any{"levels": []string{"postdoc"}} }, 400, "/problems/invalid-request"},
		{"contractor not an organisation", func(b map[string]any) { b["contractor"] = "somebody" }, 400, "/problems/invalid-request"},
		{"only insensitive fields", func(b map[string]any) { b["fields"] = []string{"status"} }, 400, "/problems/invalid-request"},
		{"unknown method", func(b map[string]any) { b["method"] = "magic" }, 400, "/problems/invalid-request"},
		{"unknown body field", func(b map[string]any) { b["priority"] = "high" }, 400, "/problems/malformed-json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.call(t, "POST", "/v1/office/datasets", o1, requestBody(tc.edit))
			if resp.StatusCode != tc.status || !strings.Contains(body, `"type":"http://example.com`+tc.typ+`"`) {
				t.Fatalf("status %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.typ)
			}
		})
	}
	// Nothing of the refused requests was filed.
	if ds, _ := f.svc.Datasets(t.Context(), registry.DatasetQuery{}); len(ds) != 0 {
		t.Errorf("%d refused requests were filed", len(ds))
	}
	// The wrong caller.
	for _, tc := range []struct {
		name, tok string
		status    int
	}{
		{"a contractor token", f.contractorToken(t, contractorOrg), 403},
		{"an official without dataset.request", f.officeToken(t, "official-1", "audit.read"), 403},
		{"no token", "", 401},
	} {
		resp, body := f.call(t, "POST", "/v1/office/datasets", tc.tok, requestBody(nil))
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
		}
	}
}

func TestDatasetDownloadRefusals(t *testing.T) {
	f := newDatasetFixture(t)
	d := f.requestAndApprove(t, requestBody(nil))
	own, other := f.contractorToken(t, contractorOrg), f.contractorToken(t, otherContractor)
	tampered := d.ID[:len(d.ID)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(d.ID, "a")]
	tests := []struct {
		name, tok, path string
		status          int
	}{
		{"another contractor's dataset", other, "/v1/datasets/" + d.ID + "/data", 404},
		{"another contractor's manifest", other, "/v1/datasets/" + d.ID, 404},
		{"a tampered id", own, "/v1/datasets/" + tampered + "/data", 404},
		{"a malformed id", own, "/v1/datasets/ds_..%2f..%2fetc/data", 404},
		{"an unknown format", own, "/v1/datasets/" + d.ID + "/data?format=xlsx", 400},
		{"an official's token", f.officeToken(t, "official-1", officeScopes), "/v1/datasets/" + d.ID + "/data", 403},
	}
	for _, tc := range tests {
		resp, body := f.call(t, "GET", tc.path, tc.tok, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
		}
	}
	// Another contractor sees an empty list.
	if _, body := f.call(t, "GET", "/v1/datasets", other, nil); strings.Contains(body, d.ID) {
		t.Error("another contractor's list shows the dataset")
	}
	// An unaudited download is no download.
	f.audit.mu.Lock()
	f.audit.refuse = true
	f.audit.mu.Unlock()
	resp, body := f.call(t, "GET", "/v1/datasets/"+d.ID+"/data", own, nil)
	if resp.StatusCode != 503 || strings.Contains(body, "person,gender") {
		t.Errorf("download with the trail down: %d, body %q", resp.StatusCode, body[:min(len(body), 80)])
	}
	f.audit.mu.Lock()
	f.audit.refuse = false
	f.audit.mu.Unlock()

	// After the term: 410, listed as expired, then purged.
	f.clock.advance(31 * 24 * time.Hour)
	resp, body = f.call(t, "GET", "/v1/datasets/"+d.ID+"/data", own, nil)
	if resp.StatusCode != 410 || !strings.Contains(body, "/problems/dataset-expired") {
		t.Fatalf("download after expiry: %d %s", resp.StatusCode, body)
	}
	if _, body := f.call(t, "GET", "/v1/datasets", own, nil); !strings.Contains(body, `"status":"expired"`) {
		t.Errorf("an expired dataset is not listed as expired: %s", body)
	}
	purged, err := f.svc.Purge(t.Context())
	if err != nil || len(purged) != 1 {
		t.Fatalf("Purge: %v %v", purged, err)
	}
	if resp, _ := f.call(t, "GET", "/v1/datasets/"+d.ID+"/data", own, nil); resp.StatusCode != 410 {
		t.Errorf("download after purge: %d, want 410", resp.StatusCode)
	}
}

func TestDatasetUnmeetableRequestFails(t *testing.T) {
	f := newDatasetFixture(t)
	// No record was conferred in 1981–1982 in the fixture: an empty selection.
	d := f.requestAndApprove(t, requestBody(func(b map[string]any) {
		b["filters"] = map[string]any{"conferral_year_from": 1981, "conferral_year_to": 1982}
	}))
	resp, body := f.call(t, "GET", "/v1/office/datasets/"+d.ID, f.officeToken(t, "official-2", officeScopes), nil)
	got := decodeDataset(t, resp, body, 200)
	if got.Status != "failed" || !strings.Contains(got.Failure, "no records") {
		t.Fatalf("an empty selection built as %+v", got)
	}
	if resp, _ := f.call(t, "GET", "/v1/datasets/"+d.ID+"/data", f.contractorToken(t, contractorOrg), nil); resp.StatusCode != 409 {
		t.Errorf("download of a failed dataset: %d, want 409", resp.StatusCode)
	}
}

func TestDatasetsAnswerAsDocumented(t *testing.T) {
	f := newDatasetFixture(t)
	doc, err := libopenapi.NewDocument(f.srv.openAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	d := f.requestAndApprove(t, requestBody(nil))
	o2, ct := f.officeToken(t, "official-2", officeScopes), f.contractorToken(t, contractorOrg)
	for _, c := range []struct{ method, path, tok, body string }{
		{"GET", "/v1/datasets", ct, ""},
		{"GET", "/v1/datasets/" + d.ID, ct, ""},
		{"GET", "/v1/datasets/" + datasetIDLike(d.ID), ct, ""},
		{"GET", "/v1/office/datasets", o2, ""},
		{"GET", "/v1/office/datasets/" + d.ID, o2, ""},
		{"POST", "/v1/office/datasets", o2, `{"contractor":"pub:x","purpose":"marketing","fields":["gender"],"k":5,"term_days":3}`},
		{"POST", "/v1/office/datasets/" + d.ID + "/approve", o2, ""},
	} {
		req := httptest.NewRequest(c.method, "http://localhost"+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+c.tok)
		ctype := ""
		if c.body != "" {
			ctype = "application/json"
			req.Header.Set("Content-Type", ctype)
		}
		resp := f.do(t, c.method, c.path, ctype, c.body, "Authorization", "Bearer "+c.tok)
		body, _ := bytes.NewBufferString(readBody(t, resp)), 0
		resp.Body = nopCloser{body}
		if ok, verrs := v.ValidateHttpResponse(req, resp); !ok {
			for _, e := range verrs {
				t.Errorf("%s %s (%d) does not match openapi.json: %s: %s", c.method, c.path, resp.StatusCode, e.Message, e.Reason)
			}
		}
	}
}

// datasetIDLike is another well-formed id: a 404.
func datasetIDLike(id string) string { return "ds_" + strings.Repeat("a", len(id)-3) }

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// deadlineLog records the write deadlines a progressBody sets.
type deadlineLog struct{ set []time.Time }

func (d *deadlineLog) SetWriteDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

// TestProgressBody: each chunk read moves the write deadline to the
// stall timeout from now, never past the download's budget, and
// the body offers no WriteTo through which sendfile could skip it.
func TestProgressBody(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.csv")
	const size = 1 << 20
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), size), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
	now := start
	var log deadlineLog
	const writeTimeout = 10 * time.Second
	every := downloadStall(writeTimeout) // 60 s
	body := newProgressBody(file, &log, writeTimeout, size, func() time.Time { return now })
	if _, ok := body.(io.WriterTo); ok {
		t.Fatal("the body implements io.WriterTo: sendfile would bypass its deadlines")
	}
	budget := downloadBudget(writeTimeout, size) // 60 s + 16 s at the minimum rate
	if budget != 76*time.Second {
		t.Fatalf("budget for 1 MiB: %v, want 76s", budget)
	}
	buf := make([]byte, 256<<10)
	steps := []struct {
		wait time.Duration
		want time.Duration // deadline after start
	}{
		{0, every},
		{5 * time.Second, 65 * time.Second},
		{9 * time.Second, 74 * time.Second},
		{8 * time.Second, budget}, // at +22 s: +82 s would pass the budget's end
	}
	for i, st := range steps {
		now = now.Add(st.wait)
		n, err := body.Read(buf)
		if err != nil || n == 0 {
			t.Fatalf("read %d: %d, %v", i, n, err)
		}
		if got := log.set[len(log.set)-1].Sub(start); got != st.want {
			t.Errorf("read %d at +%v: deadline +%v, want +%v", i, now.Sub(start), got, st.want)
		}
	}
	if _, err := body.Read(buf); err != io.EOF {
		t.Errorf("read past the end: %v, want EOF", err)
	}
	if len(log.set) != len(steps) {
		t.Errorf("%d deadlines set for %d chunks (none at EOF)", len(log.set), len(steps))
	}
	if err := body.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := file.Read(buf); err == nil {
		t.Error("Close left the file open")
	}
}

// TestDatasetDownloadOutlastsWriteTimeout sends a dataset file larger than
// the socket buffers to a client that reads it more slowly than the
// server's WriteTimeout allows for the whole: the download completes,
// byte for byte. A client that stops reading is still cut off.
func TestDatasetDownloadOutlastsWriteTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds of real time")
	}
	f := newDatasetFixture(t)
	d := f.requestAndApprove(t, requestBody(nil))
	// A large file in place of the built one: what matters is its size.
	const size = 12 << 20
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	if err := os.WriteFile(filepath.Join(f.svc.Folder(d.ID), datasets.DataCSV), data, 0o600); err != nil {
		t.Fatal(err)
	}
	const writeTimeout = 300 * time.Millisecond
	f.srv.app.Server().WriteTimeout = writeTimeout
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go f.srv.app.Listener(ln)
	t.Cleanup(func() { f.srv.app.Shutdown() })

	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetReadBuffer(32 << 10) // so that the server waits on us
			}
			return c, err
		},
		DisableCompression: true,
	}}
	get := func() *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+ln.Addr().String()+"/v1/datasets/"+d.ID+"/data?format=csv", nil)
		req.Header.Set("Authorization", "Bearer "+f.contractorToken(t, contractorOrg))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("download: %d %s", resp.StatusCode, readBody(t, resp))
		}
		return resp
	}

	// At most 6 MB/s: 12 MB take 2 s or more, several WriteTimeouts.
	resp := get()
	start := time.Now()
	h := sha256.New()
	buf := make([]byte, 48<<10)
	for {
		n, err := resp.Body.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %v: %v", time.Since(start), err)
		}
		time.Sleep(8 * time.Millisecond)
	}
	resp.Body.Close()
	took := time.Since(start)
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("the download took %v and differs from the file", took)
	}
	if took < 3*writeTimeout {
		t.Fatalf("the download took %v: too fast to show anything against a %v WriteTimeout", took, writeTimeout)
	}

	// A client that stops reading: the server gives up once a chunk
	// waits longer than the stall timeout, long before the budget.
	resp = get()
	time.Sleep(downloadStall(writeTimeout) + time.Second)
	got, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if got >= size {
		t.Errorf("a client that stopped reading for %v still got all %d bytes", downloadStall(writeTimeout)+time.Second, got)
	}
}
