package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/translog"
)

// logFixture is a gateway whose audit entries go to the fixture store's
// trail, committed to its log, with a checkpointer over it.
func logFixture(t *testing.T) (*fixture, *registry.Checkpointer, *translog.Verifier) {
	t.Helper()
	f := newFixture(t, 10, fixtureOptions{})
	skey, vkey, err := translog.GenerateKey("gateway.test/log")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := translog.NewSigner(skey)
	v, _ := translog.NewVerifier(vkey)
	cp, err := registry.NewCheckpointer(f.store, s, v, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := f.srv.deps
	d.Audit = registry.DirectAudit{Log: logged(f.store)}
	d.AuditSearch = f.store // proofs by receipt find the receipt's entry
	d.Log = cp
	if f.srv, err = New(d); err != nil {
		t.Fatal(err)
	}
	return f, cp, v
}

func TestLogRoutes(t *testing.T) {
	f, cp, v := logFixture(t)
	if r := f.do(t, "GET", "/v1/log/checkpoint", "", ""); r.StatusCode != 404 {
		t.Fatalf("checkpoint of an empty log: %d %s", r.StatusCode, readBody(t, r))
	} else {
		problemOf(t, r, 404, "/problems/no-checkpoint")
	}
	type receiptLog struct {
		Origin    string `json:"origin"`
		LeafIndex int64  `json:"leaf_index"`
		LeafHash  string `json:"leaf_hash"`
	}
	var receipts []receiptLog
	var ids []string // the receipts' ids
	for i := range 5 {
		rec := f.records[i]
		body := fmt.Sprintf(`{"certificate_number":%q,"name":%q}`, rec.CertificateNumber, rec.Name)
		r := f.do(t, "POST", "/v1/verify", "application/json", body)
		var a struct{ Receipt string }
		if err := json.Unmarshal([]byte(readBody(t, r)), &a); err != nil || r.StatusCode != 200 {
			t.Fatalf("verify: %d %v", r.StatusCode, err)
		}
		parts := strings.Split(a.Receipt, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims struct {
			ID  string `json:"jti"`
			Log *receiptLog
		}
		if err := json.Unmarshal(payload, &claims); err != nil || claims.Log == nil {
			t.Fatalf("the receipt names no leaf: %s", payload)
		}
		// The fixture's records' filing entries come first.
		if claims.Log.Origin != "gateway.test/log" || claims.Log.LeafIndex != int64(len(f.records)+i) {
			t.Fatalf("receipt %d names %+v", i, claims.Log)
		}
		receipts = append(receipts, *claims.Log)
		ids = append(ids, claims.ID)
	}
	older, err := cp.Sign(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 8; i++ {
		body := fmt.Sprintf(`{"certificate_number":%q,"name":"nobody"}`, f.records[i].CertificateNumber)
		f.do(t, "POST", "/v1/verify", "application/json", body)
	}
	if _, err := cp.Sign(t.Context()); err != nil {
		t.Fatal(err)
	}

	r := f.do(t, "GET", "/v1/log/checkpoint", "", "")
	note := readBody(t, r)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("checkpoint: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	newest, err := v.Open([]byte(note))
	if err != nil {
		t.Fatalf("the served checkpoint does not verify: %v", err)
	}
	// The fixture's records' n0 filing entries, then five verifications
	// and three more.
	n0 := int64(len(f.records))
	if newest.Size != n0+8 || older.Size != n0+5 {
		t.Fatalf("checkpoints of %d and %d entries, want %d and %d", older.Size, newest.Size, n0+5, n0+8)
	}
	assertNoPersonalData(t, "checkpoint", note, f.records)
	metrics := readBody(t, f.do(t, "GET", "/metrics", "", ""))
	for _, want := range []string{fmt.Sprintf("degreegate_log_checkpoint_size %d", n0+8), "degreegate_log_checkpoints_signed_total 2", "degreegate_log_checkpoint_failures_total 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	for _, size := range []int64{0, n0 + 5} {
		q := "/v1/log/proof/inclusion?index=2"
		want := newest
		if size != 0 {
			q += fmt.Sprintf("&tree_size=%d", size)
			want = older
		}
		r = f.do(t, "GET", q, "", "")
		body := readBody(t, r)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d %s", q, r.StatusCode, body)
		}
		var a disclose.LogProof
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatal(err)
		}
		if a.TreeSize != want.Size || a.LeafIndex != 2 {
			t.Fatalf("%s: %+v", q, a)
		}
		if err := translog.CheckInclusion(want, 2, unb64(t, a.LeafHash), unb64s(t, a.Proof)); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	// Each receipt's leaf is in the newest tree, with the hash it names,
	// asked for by index and by the receipt's id and certificate number.
	for i, rc := range receipts {
		for _, q := range []string{fmt.Sprintf("index=%d", rc.LeafIndex), "receipt=" + ids[i] + "&certificate_number=" + f.records[i].CertificateNumber} {
			r := f.do(t, "GET", "/v1/log/proof/inclusion?"+q, "", "")
			var a disclose.LogProof
			if err := json.Unmarshal([]byte(readBody(t, r)), &a); err != nil || r.StatusCode != 200 {
				t.Fatalf("%s: %d %v", q, r.StatusCode, err)
			}
			if a.LeafIndex != rc.LeafIndex || a.LeafHash != rc.LeafHash {
				t.Fatalf("%s: the log holds %s at %d, the receipt names %s at %d", q, a.LeafHash, a.LeafIndex, rc.LeafHash, rc.LeafIndex)
			}
			if err := translog.CheckInclusion(newest, rc.LeafIndex, unb64(t, rc.LeafHash), unb64s(t, a.Proof)); err != nil {
				t.Errorf("receipt's leaf %d: %v", rc.LeafIndex, err)
			}
		}
	}
	// A receipt asked for with another certificate's number, or an id
	// never issued, gets the same answer.
	for _, q := range []string{
		"receipt=" + ids[0] + "&certificate_number=" + f.records[1].CertificateNumber,
		"receipt=" + strings.Repeat("A", 26) + "&certificate_number=" + f.records[0].CertificateNumber,
	} {
		problemOf(t, f.do(t, "GET", "/v1/log/proof/inclusion?"+q, "", ""), http.StatusNotFound, "/problems/receipt-not-found")
	}
	r = f.do(t, "GET", fmt.Sprintf("/v1/log/proof/consistency?first=%d", n0+5), "", "")
	body := readBody(t, r)
	var c consistencyAnswer
	if err := json.Unmarshal([]byte(body), &c); err != nil || r.StatusCode != 200 {
		t.Fatalf("consistency: %d %s", r.StatusCode, body)
	}
	if err := translog.CheckConsistency(older, newest, unb64s(t, c.Proof)); err != nil || c.TreeSize != n0+8 {
		t.Errorf("consistency %d → %d: %v", n0+5, c.TreeSize, err)
	}

	for _, tc := range []struct{ q, typ string }{
		{"/v1/log/proof/inclusion", "/problems/invalid-request"},
		{"/v1/log/proof/inclusion?index=-1", "/problems/invalid-request"},
		{"/v1/log/proof/inclusion?index=01", "/problems/invalid-request"},
		{"/v1/log/proof/inclusion?index=%2B1", "/problems/invalid-request"},
		{"/v1/log/proof/inclusion?index=1&tree_size=x", "/problems/invalid-request"},
		{"/v1/log/proof/inclusion?index=99999999999999999999", "/problems/invalid-request"},
		{"/v1/log/proof/inclusion?receipt=" + ids[0], "/problems/invalid-request"},
		{"/v1/log/proof/inclusion?receipt=not-an-id&certificate_number=" + f.records[0].CertificateNumber, "/problems/invalid-request"},
		{"/v1/log/proof/inclusion?index=1&receipt=" + ids[0] + "&certificate_number=" + f.records[0].CertificateNumber, "/problems/invalid-request"},
		{fmt.Sprintf("/v1/log/proof/inclusion?index=%d", n0+8), "/problems/log-range"},
		{fmt.Sprintf("/v1/log/proof/inclusion?index=1&tree_size=%d", n0+9), "/problems/log-range"},
		{fmt.Sprintf("/v1/log/proof/inclusion?index=%d&tree_size=%d", n0+7, n0+5), "/problems/log-range"},
		{"/v1/log/proof/consistency", "/problems/invalid-request"},
		{"/v1/log/proof/consistency?first=0", "/problems/log-range"},
		{fmt.Sprintf("/v1/log/proof/consistency?first=%d", n0+9), "/problems/log-range"},
		{"/v1/log/proof/consistency?first=3&tree_size=9223372036854775807", "/problems/log-range"},
	} {
		r := f.do(t, "GET", tc.q, "", "")
		problemOf(t, r, http.StatusBadRequest, tc.typ)
	}
}

func TestLogRoutesWithoutALog(t *testing.T) {
	f := newFixture(t, 1, fixtureOptions{})
	for _, q := range []string{"/v1/log/checkpoint", "/v1/log/proof/inclusion?index=0", "/v1/log/proof/consistency?first=1"} {
		problemOf(t, f.do(t, "GET", q, "", ""), http.StatusServiceUnavailable, "/problems/log-unavailable")
	}
}

func unb64(t *testing.T, s string) tlog.Hash {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		t.Fatalf("hash %q", s)
	}
	return tlog.Hash(b)
}

func unb64s(t *testing.T, ss []string) []tlog.Hash {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		out[i] = unb64(t, s)
	}
	return out
}

// The holder's access log carries, with each entry the newest checkpoint
// covers, the proof that the log holds it, all against that checkpoint.
func TestAccessLogEntriesComeWithProofs(t *testing.T) {
	h := newHolderFixture(t, 50, fixtureOptions{})
	me := h.find(t, func(r registry.Record) bool { return r.Status == registry.StatusFiled })
	tok := h.holderToken(t, me, holderScopes)
	skey, vkey, _ := translog.GenerateKey("holder.test/log")
	s, _ := translog.NewSigner(skey)
	v, _ := translog.NewVerifier(vkey)
	cp, err := registry.NewCheckpointer(h.store, s, v, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.srv.deps.Log = cp
	h.rewire(t)
	h.do(t, "POST", "/v1/verify", "application/json", verifyBody(me.CertificateNumber, me.Name)).Body.Close()
	h.do(t, "POST", "/v1/verify", "application/json", verifyBody(me.CertificateNumber, "某某某")).Body.Close()
	signed, err := cp.Sign(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h.do(t, "POST", "/v1/verify", "application/json", verifyBody(me.CertificateNumber, me.Name)).Body.Close()

	st, body, _ := h.call(t, "GET", "/v1/holder/access-log", tok, "")
	if st != 200 {
		t.Fatalf("access log: %d %s", st, body)
	}
	var page disclose.AccessLogPage
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 3 {
		t.Fatalf("%d entries, want 3", len(page.Entries))
	}
	proved := 0
	for _, e := range page.Entries {
		if e.Seq > signed.Size {
			if e.Log != nil {
				t.Errorf("entry %d is newer than the checkpoint of %d, yet has a proof", e.Seq, signed.Size)
			}
			continue
		}
		if e.Log == nil || e.Log.LeafIndex != e.Seq-1 || e.Log.TreeSize != signed.Size {
			t.Fatalf("entry %d: proof %+v", e.Seq, e.Log)
		}
		if err := translog.CheckInclusion(signed, e.Log.LeafIndex, unb64(t, e.Log.LeafHash), unb64s(t, e.Log.Proof)); err != nil {
			t.Errorf("entry %d: %v", e.Seq, err)
		}
		proved++
	}
	if proved != 2 {
		t.Errorf("%d entries proved, want the 2 the checkpoint covers", proved)
	}
}

// The page's check-a-receipt form: a receipt from this gateway is
// valid and its leaf proved; one with a changed claim is not valid; a
// receipt newer than the checkpoint is pending; bad forms get 400.
func TestReceiptCheckPage(t *testing.T) {
	f, cp, _ := logFixture(t)
	receiptOf := func(i int) string {
		rec := f.records[i]
		r := f.do(t, "POST", "/v1/verify", "application/json", fmt.Sprintf(`{"certificate_number":%q,"name":%q}`, rec.CertificateNumber, rec.Name))
		var a struct{ Receipt string }
		json.Unmarshal([]byte(readBody(t, r)), &a)
		return a.Receipt
	}
	signed := receiptOf(0)
	if _, err := cp.Sign(t.Context()); err != nil {
		t.Fatal(err)
	}
	fresh := receiptOf(1)

	if r := f.do(t, "GET", "/receipt?lang=en", "", ""); r.StatusCode != 200 || !strings.Contains(readBody(t, r), `action="/receipt"`) {
		t.Fatalf("GET /receipt: %d", r.StatusCode)
	}
	post := func(form url.Values) (int, string) {
		r := f.do(t, "POST", "/receipt", "application/x-www-form-urlencoded", form.Encode())
		return r.StatusCode, readBody(t, r)
	}
	st, body := post(url.Values{"lang": {"en"}, "receipt": {signed}})
	if st != 200 || !strings.Contains(body, "The signature is valid") || !strings.Contains(body, "In the newest signed checkpoint") {
		t.Fatalf("a receipt from this gateway: %d\n%s", st, body)
	}
	assertNoPersonalData(t, "receipt check page", body, f.records)
	st, body = post(url.Values{"lang": {"zh"}, "receipt": {fresh}})
	if st != 200 || !strings.Contains(body, "签名有效") || !strings.Contains(body, "尚未进入签名检查点") {
		t.Fatalf("a receipt newer than the checkpoint: %d\n%s", st, body)
	}
	parts := strings.Split(signed, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"status":"valid"`, `"status":"revoked"`, 1)))
	st, body = post(url.Values{"lang": {"en"}, "receipt": {strings.Join(parts, ".")}})
	if st != 200 || !strings.Contains(body, "The signature is not valid") || strings.Contains(body, "In the newest signed checkpoint") {
		t.Fatalf("a receipt with a changed claim: %d\n%s", st, body)
	}

	// Uploaded as a file, as the page's form sends it.
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	w.WriteField("lang", "en")
	fw, _ := w.CreateFormFile("file", "receipt.jws")
	fw.Write([]byte(signed + "\n"))
	w.Close()
	r := f.do(t, "POST", "/receipt", w.FormDataContentType(), mp.String())
	if body := readBody(t, r); r.StatusCode != 200 || !strings.Contains(body, "The signature is valid") {
		t.Fatalf("an uploaded receipt: %d\n%s", r.StatusCode, body)
	}
	mp.Reset()
	w = multipart.NewWriter(&mp)
	w.WriteField("receipt", signed)
	fw, _ = w.CreateFormFile("file", "receipt.jws")
	fw.Write([]byte(signed))
	w.Close()
	if r := f.do(t, "POST", "/receipt", w.FormDataContentType(), mp.String()); r.StatusCode != 400 {
		t.Errorf("pasted and uploaded at once: %d", r.StatusCode)
	}

	for name, tc := range map[string]struct {
		ct, body string
		status   int
	}{
		"nothing":       {"application/x-www-form-urlencoded", "lang=en", 400},
		"not a receipt": {"application/x-www-form-urlencoded", "receipt=hello", 200},
		"too long":      {"application/x-www-form-urlencoded", "receipt=" + strings.Repeat("a", 30000), 413},
		"another media": {"application/json", `{"receipt":"x"}`, 415},
	} {
		r := f.do(t, "POST", "/receipt", tc.ct, tc.body)
		if r.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", name, r.StatusCode, tc.status)
		}
	}
	r = f.do(t, "POST", "/receipt", "application/x-www-form-urlencoded", "receipt="+signed, "Sec-Fetch-Site", "cross-site")
	if r.StatusCode != 403 {
		t.Errorf("a cross-site post: %d", r.StatusCode)
	}
}

// Proofs read the store, so they take the public per-address limits; the
// checkpoint, served from memory, does not (README).
func TestLogProofsAreRateLimited(t *testing.T) {
	f := newFixture(t, 3, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{})})
	skey, vkey, _ := translog.GenerateKey("limits.test/log")
	s, _ := translog.NewSigner(skey)
	v, _ := translog.NewVerifier(vkey)
	cp, err := registry.NewCheckpointer(f.store, s, v, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := f.srv.deps
	d.Audit, d.Log = registry.DirectAudit{Log: logged(f.store)}, cp
	if f.srv, err = New(d); err != nil {
		t.Fatal(err)
	}
	rec := f.records[0]
	f.do(t, "POST", "/v1/verify", "application/json", verifyBody(rec.CertificateNumber, rec.Name)).Body.Close()
	if _, err := cp.Sign(t.Context()); err != nil {
		t.Fatal(err)
	}
	limited := false
	for range 500 {
		r := f.do(t, "GET", "/v1/log/proof/inclusion?index=0", "", "")
		r.Body.Close()
		if r.StatusCode == 429 {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("500 proofs from one address were never limited")
	}
	if r := f.do(t, "GET", "/v1/log/checkpoint", "", ""); r.StatusCode != 200 {
		t.Errorf("the checkpoint after the proofs' limit: %d", r.StatusCode)
	}
}
