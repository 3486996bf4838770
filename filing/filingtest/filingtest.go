// Package filingtest is the contract every filing.Store passes, run
// through the Desk as the gateway uses it: registry/inmem and
// registry/postgres call Run from their tests.
package filingtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/filing"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordfile"
	"github.com/degreegate/degreegate/registry/synth"
)

// Backend is a store of the workflow that is also the registry and its
// trail, as both implementations are: filing writes versions and
// entries in the same transactions as its moves.
type Backend interface {
	filing.Store
	registry.Store
	registry.AuditLog
}

// Run runs every contract test; open is called once per subtest and
// returns an empty backend.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	t.Helper()
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"TheWholeWay", testTheWholeWay},
		{"UploadRefusals", testUploadRefusals},
		{"RowsRejectedStoreNothing", testRowsRejectedStoreNothing},
		{"NoSecondBatchOfTheSameRecords", testNoSecondBatch},
		{"FiledAlready", testFiledAlready},
		{"ConcurrentReviewersOneWins", testConcurrentReviewers},
		{"AcceptIsAllOrNothing", testAcceptAllOrNothing},
		{"Scope", testScope},
		{"LateSubmission", testLateSubmission},
		{"QueuePagesAndDeadlines", testQueue},
		{"StaleMoveAppliesNothing", testStaleMove},
		{"StagedUploads", testStagedUploads},
		{"ChangeWithConsent", testChangeWithConsent},
		{"ChangeAndRevocation", testChangeAndRevocation},
		{"RequestOnAMovedRecord", testRequestOnMovedRecord},
		{"Deletion", testDeletion},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newEnv(t, open(t)))
		})
	}
}

// The actors of the suite: two people of unit 10001 (Beijing), one of
// 10003 (Shanghai), the two provinces and the national office.
var (
	collector = filing.Actor{Issuer: "https://idp.test", Subject: "collector", Kind: filing.Unit, Code: "10001",
		Duties: []filing.Duty{filing.Collector}}
	checker = filing.Actor{Issuer: "https://idp.test", Subject: "checker", Kind: filing.Unit, Code: "10001",
		Duties: []filing.Duty{filing.Checker}}
	otherUnit = filing.Actor{Issuer: "https://idp.test", Subject: "sh-collector", Kind: filing.Unit, Code: "10003",
		Duties: []filing.Duty{filing.Collector, filing.Checker}}
	beijing  = filing.Actor{Issuer: "https://idp.test", Subject: "bj", Kind: filing.Province, Code: "11"}
	beijing2 = filing.Actor{Issuer: "https://idp.test", Subject: "bj2", Kind: filing.Province, Code: "11"}
	shanghai = filing.Actor{Issuer: "https://idp.test", Subject: "sh", Kind: filing.Province, Code: "31"}
	national = filing.Actor{Issuer: "https://idp.test", Subject: "office", Kind: filing.National}
)

type regions map[string]string

func (r regions) UnitProvince(unit string) string { return r[unit] }

var testRegions = regions{"10001": "11", "10002": "11", "10003": "31"}

// A resolution document: the smallest file the desk takes for a PDF.
var pdf = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// start is the suite's "now" when it begins: the resolution of its
// batches took effect ten days before.
var (
	start     = time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	effective = registry.NewDate(2026, 6, 21)
)

type env struct {
	b     Backend
	keys  *registry.Keyring
	log   *registry.LogKey
	desk  *filing.Desk
	mu    sync.Mutex
	now   time.Time
	gen   *synth.Generator
	next  int // the next synthetic record
	ctx   context.Context
	serno int
}

func newEnv(t *testing.T, b Backend) *env {
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{b: b, keys: keys, log: registry.NewRandomLogKey(), now: start, gen: synth.New(11), ctx: t.Context()}
	e.desk = filing.NewDesk(b, b, keys, e.log, testRegions, e.clock)
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// records makes n valid records of unit under resolution (Records).
func (e *env) records(n int, unit, resolution string) []registry.Record {
	out, next, serno := records(e.gen, e.next, e.serno, n, unit, resolution)
	e.next, e.serno = next, serno
	return out
}

// Records makes n valid records of unit under resolution, conferred
// from 2016 until the suite's start: synthetic people (synth, seed),
// with certificate numbers of the unit and the record's level.
func Records(seed int64, n int, unit, resolution string) []registry.Record {
	out, _, _ := records(synth.New(seed), 0, 0, n, unit, resolution)
	return out
}

func records(g *synth.Generator, next, serno, n int, unit, resolution string) ([]registry.Record, int, int) {
	out := make([]registry.Record, 0, n)
	for len(out) < n {
		r := g.Record(next)
		next++
		if r.ConferralDate.Year() < 2016 || r.ConferralDate.After(registry.DateOf(start)) {
			continue
		}
		serno++
		r.UnitCode, r.ResolutionNumber = unit, resolution
		r.Status, r.RevokedOn, r.RevocationResolution, r.RevocationReason = registry.StatusFiled, registry.Date{}, "", ""
		r.CertificateNumber = fmt.Sprintf("%s%c%04d%06d", unit, r.DegreeLevel.CertificateDigit(), r.ConferralDate.Year(), serno)
		registry.Normalize(&r)
		out = append(out, r)
	}
	return out, next, serno
}

// CSV is recs as an import file.
func CSV(t testing.TB, recs []registry.Record) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := recordfile.NewWriter(&b, recordfile.CSV)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rows is a filing.Source over records, numbered as lines 2, 3, … of a
// file with a header.
type rows struct{ rs []recordfile.Row }

func (s *rows) Next() (recordfile.Row, error) {
	if len(s.rs) == 0 {
		return recordfile.Row{}, io.EOF
	}
	r := s.rs[0]
	s.rs = s.rs[1:]
	return r, nil
}

func source(recs []registry.Record) *rows {
	s := &rows{}
	for i, r := range recs {
		s.rs = append(s.rs, recordfile.Row{Line: i + 2, Record: r})
	}
	return s
}

func (e *env) upload(t *testing.T, a filing.Actor, recs []registry.Record) filing.Batch {
	t.Helper()
	b, err := e.desk.NewBatch(e.ctx, a, filing.NewBatch{ResolutionNumber: recs[0].ResolutionNumber,
		ResolutionEffective: effective, Document: pdf, Rows: source(recs)})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	return b
}

func (e *env) act(t *testing.T, a filing.Actor, b filing.Batch, act filing.Action, numbers []string, reason string) []filing.Moved {
	t.Helper()
	moved, err := e.desk.Act(e.ctx, a, b.ID, act, numbers, reason)
	if err != nil {
		t.Fatalf("%s by %s: %v", act, a.Subject, err)
	}
	return moved
}

// submitted uploads n records of unit 10001 and takes them to submitted.
func (e *env) submitted(t *testing.T, n int) (filing.Batch, []registry.Record) {
	t.Helper()
	recs := e.records(n, "10001", "学位〔2026〕7号")
	b := e.upload(t, collector, recs)
	e.act(t, checker, b, filing.ActCheck, nil, "")
	e.act(t, collector, b, filing.ActSubmit, nil, "")
	return b, recs
}

func (e *env) states(t *testing.T, b filing.Batch) map[string]filing.State {
	t.Helper()
	items, err := e.b.Items(e.ctx, b.ID)
	if err != nil {
		t.Fatalf("Items: %v", err)
	}
	out := map[string]filing.State{}
	for _, it := range items {
		out[it.CertificateNumber] = it.State
	}
	return out
}

func (e *env) trail(t *testing.T) []registry.AuditEntry {
	t.Helper()
	var out []registry.AuditEntry
	if err := e.b.ScanAudit(e.ctx, 1, func(a registry.AuditEntry) error {
		out = append(out, a)
		return nil
	}); err != nil {
		t.Fatalf("ScanAudit: %v", err)
	}
	return out
}

func numbersOf(recs []registry.Record) []string {
	out := make([]string, len(recs))
	for i := range recs {
		out[i] = recs[i].CertificateNumber
	}
	return out
}

func code(err error) filing.Code {
	var fe *filing.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}

// testTheWholeWay walks a batch from upload to filed, with one record
// returned, corrected and filed after the others; every step leaves its
// entry in the trail, and the filed versions name batch, resolution and
// reviewer.
func testTheWholeWay(t *testing.T, e *env) {
	recs := e.records(3, "10001", "学位〔2026〕7号")
	b := e.upload(t, collector, recs)
	if b.Unit != "10001" || b.Province != "11" || b.Resolution.Size != int64(len(pdf)) || b.Collector != collector.ID() {
		t.Fatalf("batch %+v", b)
	}
	if doc, err := e.b.Document(e.ctx, b.ID); err != nil || string(doc) != string(pdf) {
		t.Fatalf("Document: %q, %v", doc, err)
	}
	self := collector
	self.Duties = []filing.Duty{filing.Collector, filing.Checker}
	if _, err := e.desk.Act(e.ctx, self, b.ID, filing.ActCheck, nil, ""); code(err) != filing.CodeSamePerson {
		t.Fatalf("the collector checks their own batch: %v", err)
	}
	if _, err := e.desk.Act(e.ctx, collector, b.ID, filing.ActCheck, nil, ""); code(err) != filing.CodeWrongDuty {
		t.Fatalf("a check without the checker duty: %v", err)
	}
	e.act(t, checker, b, filing.ActCheck, nil, "")
	e.act(t, collector, b, filing.ActSubmit, nil, "")
	bad := recs[1].CertificateNumber
	e.advance(time.Hour)
	if _, err := e.desk.Act(e.ctx, beijing, b.ID, filing.ActReturn, []string{bad}, ""); code(err) != filing.CodeReasonRequired {
		t.Fatalf("return without a reason: %v", err)
	}
	e.act(t, beijing, b, filing.ActReturn, []string{bad}, "导师姓名有误")
	moved := e.act(t, beijing, b, filing.ActAccept, nil, "")
	if len(moved) != 2 || moved[0].Version != 1 || moved[0].To != filing.Filed {
		t.Fatalf("accept of the rest moved %+v", moved)
	}
	if _, err := e.b.Current(e.ctx, bad); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("the returned record is filed: %v", err)
	}
	v, err := e.b.Current(e.ctx, recs[0].CertificateNumber)
	if err != nil {
		t.Fatalf("Current of an accepted record: %v", err)
	}
	if v.Version != 1 || v.Change.Actor != beijing.ID() || !strings.Contains(v.Change.Reason, b.ID) ||
		!strings.Contains(v.Change.Reason, "学位〔2026〕7号") {
		t.Errorf("filed version %d, change %+v: want version 1 naming batch, resolution and reviewer", v.Version, v.Change)
	}
	opened, err := e.keys.Open(v.Sealed)
	if err != nil || opened.IDNumber != recs[0].IDNumber || opened.Name != recs[0].Name {
		t.Errorf("the filed record does not open to what was uploaded: %v", err)
	}

	// The returned record is corrected, checked, submitted and filed.
	fixed := recs[1]
	fixed.Name = "王小明"
	if err := e.desk.Correct(e.ctx, collector, b.ID, recordfile.Row{Line: 2, Record: fixed}); err != nil {
		t.Fatalf("Correct: %v", err)
	}
	e.act(t, checker, b, filing.ActCheck, []string{bad}, "")
	e.act(t, collector, b, filing.ActSubmit, []string{bad}, "")
	e.act(t, beijing, b, filing.ActAccept, []string{bad}, "")
	v, err = e.b.Current(e.ctx, bad)
	if err != nil {
		t.Fatalf("Current of the corrected record: %v", err)
	}
	if opened, err := e.keys.Open(v.Sealed); err != nil || opened.Name != "王小明" {
		t.Errorf("the corrected record was not what was filed: %v", err)
	}
	for n, s := range e.states(t, b) {
		if s != filing.Filed {
			t.Errorf("%s is %s, want filed", n, s)
		}
	}

	// The trail: three uploads, three checks, three submissions, one
	// return, three filings, one correction and its check and
	// submission; every one names its actor, and no entry holds a name
	// or an ID number.
	count := map[string]int{}
	for _, a := range e.trail(t) {
		count[a.Action]++
		if a.Actor == "" {
			t.Errorf("entry %d (%s) names no actor", a.Seq, a.Action)
		}
		for _, r := range recs {
			if strings.Contains(a.Detail+a.Purpose, r.IDNumber) || strings.Contains(a.Detail+a.Purpose, r.Name) {
				t.Errorf("entry %d (%s) holds personal data", a.Seq, a.Action)
			}
		}
	}
	want := map[string]int{"filing.upload": 3, "filing.check": 4, "filing.submit": 4, "filing.return": 1,
		"filing.correct": 1, registry.ActionFile: 3}
	if fmt.Sprint(count) != fmt.Sprint(want) {
		t.Errorf("trail actions %v, want %v", count, want)
	}
	if _, err := registry.VerifyTrail(e.ctx, e.b, e.b, e.log, nil); err != nil {
		t.Errorf("the filed versions are not the trail's: %v", err)
	}
}

// testUploadRefusals: who may upload, and what a resolution must be.
func testUploadRefusals(t *testing.T, e *env) {
	recs := e.records(2, "10001", "R-1")
	up := func(a filing.Actor, mod func(*filing.NewBatch)) error {
		u := filing.NewBatch{ResolutionNumber: "R-1", ResolutionEffective: effective, Document: pdf, Rows: source(recs)}
		if mod != nil {
			mod(&u)
		}
		_, err := e.desk.NewBatch(e.ctx, a, u)
		return err
	}
	cases := []struct {
		name string
		a    filing.Actor
		mod  func(*filing.NewBatch)
		want filing.Code
	}{
		{"a checker", checker, nil, filing.CodeWrongDuty},
		{"a province", beijing, nil, filing.CodeWrongOrg},
		{"a unit of no province", filing.Actor{Subject: "x", Kind: filing.Unit, Code: "99999", Duties: []filing.Duty{filing.Collector}}, nil, filing.CodeUnknownUnit},
		{"no resolution number", collector, func(u *filing.NewBatch) { u.ResolutionNumber = "" }, filing.CodeBadResolution},
		{"no effective date", collector, func(u *filing.NewBatch) { u.ResolutionEffective = registry.Date{} }, filing.CodeBadResolution},
		{"a resolution still to come", collector, func(u *filing.NewBatch) { u.ResolutionEffective = registry.NewDate(2026, 8, 1) }, filing.CodeBadResolution},
		{"not a PDF", collector, func(u *filing.NewBatch) { u.Document = []byte("PK\x03\x04 a zip file") }, filing.CodeNotPDF},
		{"a PDF without its end", collector, func(u *filing.NewBatch) { u.Document = []byte("%PDF-1.7\n1 0 obj") }, filing.CodeNotPDF},
		{"too large", collector, func(u *filing.NewBatch) {
			u.Document = append(append([]byte("%PDF-1.7\n"), make([]byte, filing.MaxDocument)...), "%%EOF"...)
		}, filing.CodeDocumentTooLarge},
		{"an empty file", collector, func(u *filing.NewBatch) { u.Rows = source(nil) }, filing.CodeEmptyBatch},
	}
	for _, c := range cases {
		if err := up(c.a, c.mod); code(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	if got := e.trail(t); len(got) != 0 {
		t.Errorf("refused uploads left %d entries", len(got))
	}
}

// testRowsRejectedStoreNothing: every bad row is named with its line,
// field and code, and nothing of the batch is stored.
func testRowsRejectedStoreNothing(t *testing.T, e *env) {
	recs := append(e.records(3, "10001", "R-2"), e.records(1, "10002", "R-2")...)
	recs[1].ResolutionNumber = "R-3"
	recs[2].Gender = "9"
	_, err := e.desk.NewBatch(e.ctx, collector, filing.NewBatch{ResolutionNumber: "R-2", ResolutionEffective: effective,
		Document: pdf, Rows: source(recs)})
	var rr *filing.RowsRejectedError
	if !errors.As(err, &rr) {
		t.Fatalf("Upload: %v, want *RowsRejectedError", err)
	}
	got := map[string]bool{}
	for _, r := range rr.Rejections {
		got[fmt.Sprintf("%d %s %s", r.Line, r.Field, r.Code)] = true
		for _, rec := range recs {
			if strings.Contains(r.Message, rec.IDNumber) || strings.Contains(r.Message, rec.Name) {
				t.Errorf("a rejection quotes personal data: %q", r.Message)
			}
		}
	}
	for _, w := range []string{"3 resolution_number other-resolution", "4 gender unknown_value", "5 unit_code other-unit"} {
		if !got[w] {
			t.Errorf("no rejection %q in %v", w, got)
		}
	}
	if rr.Rows != 4 || len(got) != 3 {
		t.Errorf("rows %d, rejections %v", rr.Rows, got)
	}
	if q, err := e.desk.Queue(e.ctx, national, filing.Query{}); err != nil || len(q) != 0 {
		t.Errorf("a rejected upload left %d records (%v)", len(q), err)
	}
	if n := len(e.trail(t)); n != 0 {
		t.Errorf("a rejected upload left %d entries", n)
	}
}

// testNoSecondBatch: the same records twice, or a record already in
// another batch, are refused row by row; a withdrawn record may come
// again.
func testNoSecondBatch(t *testing.T, e *env) {
	recs := e.records(3, "10001", "R-4")
	b := e.upload(t, collector, recs)
	_, err := e.desk.NewBatch(e.ctx, collector, filing.NewBatch{ResolutionNumber: "R-4", ResolutionEffective: effective,
		Document: pdf, Rows: source(recs[1:])})
	var rr *filing.RowsRejectedError
	if !errors.As(err, &rr) || len(rr.Rejections) != 2 || rr.Rejections[0].Code != filing.RejectInWorkflow || rr.Rejections[0].Line != 2 {
		t.Fatalf("second upload: %v %+v", err, rr)
	}
	e.act(t, collector, b, filing.ActWithdraw, []string{recs[2].CertificateNumber}, "重复上报")
	again := e.upload(t, collector, recs[2:])
	if st := e.states(t, again)[recs[2].CertificateNumber]; st != filing.Draft {
		t.Errorf("the withdrawn record uploaded again is %s", st)
	}
}

// testFiledAlready: a record filed by import is refused at upload.
func testFiledAlready(t *testing.T, e *env) {
	recs := e.records(2, "10001", "R-5")
	s, err := e.keys.Seal(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Insert(e.ctx, e.b, e.log, []registry.Sealed{s}, registry.Change{Actor: "import", Reason: "t", At: start}); err != nil {
		t.Fatal(err)
	}
	_, err = e.desk.NewBatch(e.ctx, collector, filing.NewBatch{ResolutionNumber: "R-5", ResolutionEffective: effective,
		Document: pdf, Rows: source(recs)})
	var rr *filing.RowsRejectedError
	if !errors.As(err, &rr) || len(rr.Rejections) != 1 || rr.Rejections[0].Code != filing.RejectAlreadyFiled {
		t.Fatalf("upload of a filed record: %v %+v", err, rr)
	}
}

// testConcurrentReviewers: two reviewers decide the same records at
// once; exactly one wins, the other is told the records moved, and the
// trail holds the winner's entries only.
func testConcurrentReviewers(t *testing.T, e *env) {
	for round := range 5 {
		b, recs := e.submitted(t, 5)
		before := len(e.trail(t))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, a := range []filing.Actor{beijing, beijing2} {
			act, reason := filing.ActAccept, ""
			if i == 1 {
				act, reason = filing.ActReturn, "退回"
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.desk.Act(e.ctx, a, b.ID, act, numbersOf(recs), reason)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, filing.ErrStateChanged), code(err) == filing.CodeNotFromState, refusedNotFrom(err):
			default:
				t.Fatalf("round %d: the loser got %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d reviewers won (%v)", round, won, errs)
		}
		if got := len(e.trail(t)) - before; got != 5 {
			t.Errorf("round %d: %d entries for one decision on 5 records", round, got)
		}
		states := e.states(t, b)
		first := states[recs[0].CertificateNumber]
		for n, s := range states {
			if s != first {
				t.Errorf("round %d: %s is %s, %s is %s: both reviewers applied", round, recs[0].CertificateNumber, first, n, s)
			}
		}
	}
}

// refusedNotFrom: a refusal because the records were no longer
// submitted (the loser read after the winner committed).
func refusedNotFrom(err error) bool {
	var re *filing.RefusedError
	if !errors.As(err, &re) {
		return false
	}
	for _, r := range re.Refusals {
		if r.Code != filing.CodeNotFromState {
			return false
		}
	}
	return true
}

// testAcceptAllOrNothing: one record of the batch that would give its
// person the same degree twice stops the whole acceptance.
func testAcceptAllOrNothing(t *testing.T, e *env) {
	recs := e.records(3, "10001", "R-6")
	// recs[2] is recs[0]'s person again, with the same degree.
	twin := recs[0]
	twin.CertificateNumber = twin.CertificateNumber[:10] + "999999"
	recs[2] = twin
	b := e.upload(t, collector, recs)
	e.act(t, checker, b, filing.ActCheck, nil, "")
	e.act(t, collector, b, filing.ActSubmit, nil, "")
	before := len(e.trail(t))
	_, err := e.desk.Act(e.ctx, beijing, b.ID, filing.ActAccept, nil, "")
	var re *filing.RefusedError
	if !errors.As(err, &re) || len(re.Refusals) != 1 || re.Refusals[0].Code != filing.CodeSameDegree {
		t.Fatalf("accept with a twin: %v %+v", err, re)
	}
	if n, _ := e.b.Count(e.ctx); n != 0 {
		t.Errorf("%d records filed by a refused acceptance", n)
	}
	if got := len(e.trail(t)); got != before {
		t.Errorf("a refused acceptance left %d entries", got-before)
	}
	// The others are accepted; the twin then meets the filed degree.
	e.act(t, beijing, b, filing.ActAccept, numbersOf(recs[:2]), "")
	_, err = e.desk.Act(e.ctx, beijing, b.ID, filing.ActAccept, []string{twin.CertificateNumber}, "")
	if !errors.As(err, &re) || re.Refusals[0].Code != filing.CodeSameDegree {
		t.Fatalf("accept of a degree held already: %v", err)
	}
}

// testScope: units, provinces and the national office each see and
// act on their own only; another's batch reads as unknown.
func testScope(t *testing.T, e *env) {
	b, recs := e.submitted(t, 2)
	for _, a := range []filing.Actor{otherUnit, shanghai} {
		if _, _, err := e.desk.Batch(e.ctx, a, b.ID); !errors.Is(err, filing.ErrNotFound) {
			t.Errorf("%s reads another's batch: %v", a.Subject, err)
		}
		if _, err := e.desk.Act(e.ctx, a, b.ID, filing.ActAccept, nil, ""); !errors.Is(err, filing.ErrNotFound) {
			t.Errorf("%s acts on another's batch: %v", a.Subject, err)
		}
	}
	if _, _, err := e.desk.Batch(e.ctx, national, b.ID); err != nil {
		t.Errorf("the national office cannot read a batch: %v", err)
	}
	if _, err := e.desk.Act(e.ctx, collector, b.ID, filing.ActAccept, nil, ""); code(err) != filing.CodeWrongOrg {
		t.Errorf("a unit accepts its own records: %v", err)
	}
	if _, err := e.desk.Act(e.ctx, beijing, b.ID, filing.ActAccept, []string{"1000142026999999"}, ""); code(err) != filing.CodeNotInBatch {
		t.Errorf("a number not in the batch: %v", err)
	}
	// The actions that need more than a state (a corrected record, a
	// request's evidence, a revocation of the filed record) are not
	// taken as bare moves.
	for _, act := range []filing.Action{filing.ActCorrect, filing.ActRevoke, filing.ActRequestChange, filing.ActConsent} {
		if _, err := e.desk.Act(e.ctx, national, b.ID, act, nil, "理由"); code(err) != filing.CodeNotABatchAction {
			t.Errorf("%s as a bare move: %v", act, err)
		}
	}
	if q, err := e.desk.Queue(e.ctx, shanghai, filing.Query{States: []filing.State{filing.Submitted}}); err != nil || len(q) != 0 {
		t.Errorf("Shanghai's queue holds Beijing's records: %d, %v", len(q), err)
	}
	if q, err := e.desk.Queue(e.ctx, otherUnit, filing.Query{Unit: "10001"}); err != nil || len(q) != 0 {
		t.Errorf("a unit's queue holds another's records: %d, %v", len(q), err)
	}
	q, err := e.desk.Queue(e.ctx, beijing, filing.Query{States: []filing.State{filing.Submitted}})
	if err != nil || len(q) != len(recs) {
		t.Errorf("Beijing's queue: %d records, %v; want %d", len(q), err, len(recs))
	}
}

// testLateSubmission: past the 30 days a batch is submitted only after
// the province approves a late application.
func testLateSubmission(t *testing.T, e *env) {
	recs := e.records(2, "10001", "R-7")
	b := e.upload(t, collector, recs)
	e.act(t, checker, b, filing.ActCheck, nil, "")
	e.advance(25 * 24 * time.Hour) // 35 days after the resolution
	if _, err := e.desk.Act(e.ctx, collector, b.ID, filing.ActSubmit, nil, ""); code(err) != filing.CodeLate {
		t.Fatalf("a late submission: %v", err)
	}
	if err := e.desk.DecideLate(e.ctx, beijing, b.ID, true, ""); code(err) != filing.CodeLateState {
		t.Errorf("approving nothing: %v", err)
	}
	if err := e.desk.ApplyLate(e.ctx, collector, b.ID, ""); code(err) != filing.CodeReasonRequired {
		t.Errorf("an application without a reason: %v", err)
	}
	if err := e.desk.ApplyLate(e.ctx, collector, b.ID, "答辩委员会推迟"); err != nil {
		t.Fatalf("ApplyLate: %v", err)
	}
	if err := e.desk.DecideLate(e.ctx, collector, b.ID, true, ""); code(err) != filing.CodeWrongOrg {
		t.Errorf("a unit approves its own application: %v", err)
	}
	if err := e.desk.DecideLate(e.ctx, shanghai, b.ID, true, ""); !errors.Is(err, filing.ErrNotFound) {
		t.Errorf("another province decides: %v", err)
	}
	if err := e.desk.DecideLate(e.ctx, beijing, b.ID, true, ""); err != nil {
		t.Fatalf("DecideLate: %v", err)
	}
	e.act(t, collector, b, filing.ActSubmit, nil, "")
	got, _, err := e.desk.Batch(e.ctx, national, b.ID)
	if err != nil || got.Late.State != filing.LateApproved || got.Late.DecidedBy != beijing.ID() || got.Late.AppliedBy != collector.ID() {
		t.Errorf("the batch's late application: %+v, %v", got.Late, err)
	}
}

// testQueue: a province's queue pages oldest first, and marks reviews
// waiting past 30 days.
func testQueue(t *testing.T, e *env) {
	first, _ := e.submitted(t, 3) // due on 31 July
	e.advance(15 * 24 * time.Hour)
	e.submitted(t, 4) // due on 15 August
	e.advance(16 * 24 * time.Hour)
	var all []filing.Queued
	var after *filing.Item
	for {
		page, err := e.desk.Queue(e.ctx, beijing, filing.Query{States: []filing.State{filing.Submitted}, After: after, Limit: 2})
		if err != nil {
			t.Fatalf("Queue: %v", err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = &page[len(page)-1].Item
	}
	if len(all) != 7 {
		t.Fatalf("queue of %d records, want 7", len(all))
	}
	for i, q := range all {
		if want := q.BatchID == first.ID; q.Overdue != want {
			t.Errorf("record %d of batch %s: overdue %v, want %v (due %s)", i, q.BatchID, q.Overdue, want, q.Due)
		}
		if i > 0 && all[i-1].Since.After(q.Since) {
			t.Errorf("record %d is older than the one before it", i)
		}
	}
	if !slices.IsSortedFunc(all[:3], func(a, b filing.Queued) int { return strings.Compare(a.CertificateNumber, b.CertificateNumber) }) {
		t.Error("records of one moment are not in certificate-number order")
	}
	sum, err := e.desk.Overdue(e.ctx, beijing, filing.Query{})
	if err != nil || len(sum) != 1 || sum[0].Unit != "10001" || sum[0].State != filing.Submitted || sum[0].Count != 3 ||
		!sum[0].OldestDue.Equal(all[0].Due) {
		t.Errorf("Beijing's overdue summary: %+v, %v", sum, err)
	}
	if sum, err := e.desk.Overdue(e.ctx, shanghai, filing.Query{}); err != nil || len(sum) != 0 {
		t.Errorf("Shanghai's overdue summary: %+v, %v", sum, err)
	}
	counts, err := filing.CountOverdue(e.ctx, e.b, e.clock())
	if err != nil || counts[filing.Submitted] != 3 || counts[filing.Draft] != 0 || len(counts) != len(filing.Waiting()) {
		t.Errorf("CountOverdue: %v, %v; want 3 submitted", counts, err)
	}
}

// testStaleMove: a transition decided on a state the record has left
// applies nothing, not even to its other records.
func testStaleMove(t *testing.T, e *env) {
	b, recs := e.submitted(t, 2)
	e.act(t, beijing, b, filing.ActReturn, []string{recs[1].CertificateNumber}, "退回")
	before := len(e.trail(t))
	entry := func(n string) registry.AuditEntry {
		a := registry.AuditEntry{At: start, Actor: beijing.ID(), Action: "filing.return", RecordRef: n, Purpose: "filing", Detail: "{}"}
		e.log.Commit(&a)
		return a
	}
	err := e.b.Move(e.ctx, filing.Transition{Actor: beijing.ID(), Reason: "x", At: start,
		Moves: []filing.Move{
			{BatchID: b.ID, CertificateNumber: recs[0].CertificateNumber, From: filing.Submitted, To: filing.Returned},
			{BatchID: b.ID, CertificateNumber: recs[1].CertificateNumber, From: filing.Submitted, To: filing.Returned},
		},
		Entries: []registry.AuditEntry{entry(recs[0].CertificateNumber), entry(recs[1].CertificateNumber)}})
	if !errors.Is(err, filing.ErrStateChanged) {
		t.Fatalf("a stale move: %v, want ErrStateChanged", err)
	}
	if st := e.states(t, b)[recs[0].CertificateNumber]; st != filing.Submitted {
		t.Errorf("the stale move moved the other record to %s", st)
	}
	if got := len(e.trail(t)); got != before {
		t.Errorf("a stale move left %d entries", got-before)
	}
}

// testStagedUploads: files arrive in parts, each at the offset the
// upload holds; only their owner sees them; a batch is made of two
// complete ones, and reading its resolution is recorded first.
func testStagedUploads(t *testing.T, e *env) {
	recs := e.records(3, "10001", "R-8")
	csvFile := CSV(t, recs)
	send := func(kind, format string, content []byte) filing.Staged {
		t.Helper()
		u, err := e.desk.StartUpload(e.ctx, collector, kind, format, int64(len(content)))
		if err != nil {
			t.Fatalf("StartUpload: %v", err)
		}
		for off := 0; off < len(content); off += 7 {
			part := content[off:min(off+7, len(content))]
			if u, err = e.desk.AppendUpload(e.ctx, collector, u.ID, int64(off), part); err != nil {
				t.Fatalf("AppendUpload at %d: %v", off, err)
			}
		}
		return u
	}
	doc := send(filing.StagedResolution, "pdf", pdf)
	if !doc.Complete() {
		t.Fatalf("the resolution holds %d of %d bytes", doc.Received, doc.Size)
	}
	if _, err := e.desk.AppendUpload(e.ctx, collector, doc.ID, 0, []byte("%PDF")); !errors.Is(err, filing.ErrOffset) {
		t.Errorf("a part at a stale offset: %v", err)
	}
	if _, err := e.desk.AppendUpload(e.ctx, collector, doc.ID, doc.Size, []byte("x")); !errors.Is(err, filing.ErrOffset) {
		t.Errorf("a part past the declared size: %v", err)
	}
	if _, err := e.desk.Upload(e.ctx, otherUnit, doc.ID); !errors.Is(err, filing.ErrNotFound) {
		t.Errorf("another reads the upload: %v", err)
	}
	for _, c := range []struct {
		kind, format string
		size         int64
		want         filing.Code
	}{
		{filing.StagedRecords, "xml", 10, filing.CodeBadUpload},
		{filing.StagedResolution, "csv", 10, filing.CodeBadUpload},
		{filing.StagedResolution, "pdf", 0, filing.CodeBadUpload},
		{filing.StagedResolution, "pdf", filing.MaxDocument + 1, filing.CodeDocumentTooLarge},
	} {
		if _, err := e.desk.StartUpload(e.ctx, collector, c.kind, c.format, c.size); code(err) != c.want {
			t.Errorf("upload of %s %s, %d bytes: %v, want %s", c.kind, c.format, c.size, err, c.want)
		}
	}
	if _, err := e.desk.StartUpload(e.ctx, checker, filing.StagedResolution, "pdf", 10); code(err) != filing.CodeWrongDuty {
		t.Errorf("a checker uploads: %v", err)
	}
	half, err := e.desk.StartUpload(e.ctx, collector, filing.StagedRecords, "csv", int64(len(csvFile)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.FromUploads(e.ctx, collector, "R-8", effective, doc.ID, half.ID); code(err) != filing.CodeBadUpload {
		t.Errorf("a batch of an incomplete upload: %v", err)
	}
	if _, err := e.desk.FromUploads(e.ctx, collector, "R-8", effective, half.ID, doc.ID); code(err) != filing.CodeBadUpload {
		t.Errorf("a batch of swapped uploads: %v", err)
	}
	records := send(filing.StagedRecords, "csv", csvFile)
	b, err := e.desk.FromUploads(e.ctx, collector, "R-8", effective, doc.ID, records.ID)
	if err != nil {
		t.Fatalf("FromUploads: %v", err)
	}
	if st := e.states(t, b); len(st) != 3 {
		t.Fatalf("the batch holds %d records", len(st))
	}
	before := len(e.trail(t))
	got, err := e.desk.Document(e.ctx, beijing, b.ID)
	if err != nil || string(got) != string(pdf) {
		t.Fatalf("Document: %q, %v", got, err)
	}
	after := e.trail(t)
	if len(after) != before+1 || after[len(after)-1].Action != "filing.read_resolution" || after[len(after)-1].Actor != beijing.ID() {
		t.Errorf("reading the resolution left %d entries", len(after)-before)
	}
	if _, err := e.desk.Document(e.ctx, shanghai, b.ID); !errors.Is(err, filing.ErrNotFound) {
		t.Errorf("another province reads the resolution: %v", err)
	}
	// Old uploads go; the batch made of them keeps its own copies.
	if n, err := e.b.PurgeStaged(e.ctx, start.Add(-time.Second)); err != nil || n != 0 {
		t.Errorf("a purge of nothing old removed %d (%v)", n, err)
	}
	if n, err := e.b.PurgeStaged(e.ctx, start.Add(filing.StagedLifetime)); err != nil || n != 3 {
		t.Errorf("the purge removed %d uploads (%v), want 3", n, err)
	}
	if _, err := e.desk.Upload(e.ctx, collector, doc.ID); !errors.Is(err, filing.ErrNotFound) {
		t.Errorf("a purged upload: %v", err)
	}
	if got, err := e.desk.Document(e.ctx, beijing, b.ID); err != nil || string(got) != string(pdf) {
		t.Errorf("the batch's resolution after the purge: %v", err)
	}
}

// filed takes n records of unit 10001 to filed.
func (e *env) filed(t *testing.T, n int) []registry.Record {
	t.Helper()
	b, recs := e.submitted(t, n)
	e.act(t, beijing, b, filing.ActAccept, nil, "")
	return recs
}

func (e *env) current(t *testing.T, number string) (registry.Version, registry.Record) {
	t.Helper()
	v, err := e.b.Current(e.ctx, number)
	if err != nil {
		t.Fatalf("Current: %v", err)
	}
	r, err := e.keys.Open(v.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	return v, r
}

// testChangeWithConsent: a change of a key field waits for the province
// and then the national office, and lands as version 2 only then; one
// request waits on a record at a time; others' records read as unknown.
func testChangeWithConsent(t *testing.T, e *env) {
	recs := e.filed(t, 1)
	number := recs[0].CertificateNumber
	fixed := recs[0]
	fixed.Name = "王小明"
	row := recordfile.Row{Line: 1, Record: fixed}
	if _, err := e.desk.RequestChange(e.ctx, otherUnit, number, row, pdf, "姓名有误"); !errors.Is(err, filing.ErrNotFound) {
		t.Errorf("another unit asks to change the record: %v", err)
	}
	if _, err := e.desk.RequestChange(e.ctx, collector, number, row, pdf, ""); code(err) != filing.CodeReasonRequired {
		t.Errorf("a change without a reason: %v", err)
	}
	if _, err := e.desk.RequestChange(e.ctx, collector, number, row, []byte("not a pdf"), "姓名有误"); code(err) != filing.CodeNotPDF {
		t.Errorf("a change without evidence: %v", err)
	}
	r, err := e.desk.RequestChange(e.ctx, collector, number, row, pdf, "姓名有误")
	if err != nil {
		t.Fatalf("RequestChange: %v", err)
	}
	if r.State != filing.ChangeRequested || !r.KeyField || r.BaseVersion != 1 || strings.Join(r.Changed, ",") != "name" {
		t.Fatalf("request %+v", r)
	}
	if _, err := e.desk.RequestChange(e.ctx, collector, number, row, pdf, "再次申请"); !errors.Is(err, filing.ErrPendingRequest) {
		t.Errorf("a second request while one waits: %v", err)
	}
	if _, err := e.desk.DecideRequest(e.ctx, shanghai, r.ID, filing.ActApproveChange, ""); !errors.Is(err, filing.ErrNotFound) {
		t.Errorf("another province decides: %v", err)
	}
	if _, err := e.desk.DecideRequest(e.ctx, beijing, r.ID, filing.ActConsent, ""); code(err) != filing.CodeNotFromState {
		t.Errorf("consent before the province approved: %v", err)
	}
	r, err = e.desk.DecideRequest(e.ctx, beijing, r.ID, filing.ActApproveChange, "")
	if err != nil || r.State != filing.AwaitingConsent || !r.Pending() {
		t.Fatalf("approve a key change: %+v, %v", r, err)
	}
	if v, _ := e.current(t, number); v.Version != 1 {
		t.Errorf("a key change filed before consent: version %d", v.Version)
	}
	if _, err := e.desk.DecideRequest(e.ctx, beijing, r.ID, filing.ActConsent, ""); code(err) != filing.CodeWrongOrg {
		t.Errorf("a province consents: %v", err)
	}
	r, err = e.desk.DecideRequest(e.ctx, national, r.ID, filing.ActConsent, "")
	if err != nil || r.State != filing.Filed || r.Outcome != filing.ActConsent || r.DecidedBy != national.ID() {
		t.Fatalf("consent: %+v, %v", r, err)
	}
	v, opened := e.current(t, number)
	if v.Version != 2 || opened.Name != "王小明" || v.Change.Actor != national.ID() {
		t.Errorf("after consent: version %d, change %+v", v.Version, v.Change)
	}
	if _, err := registry.VerifyTrail(e.ctx, e.b, e.b, e.log, nil); err != nil {
		t.Errorf("the changed version is not the trail's: %v", err)
	}
	// Decided: a new request may come.
	if _, err := e.desk.RequestChange(e.ctx, collector, number, recordfile.Row{Line: 1, Record: recs[0]}, pdf, "改回"); err != nil {
		t.Errorf("a request after the last was decided: %v", err)
	}
}

// testChangeAndRevocation: a change of no key field lands on the
// province's approval; a rejected one changes nothing; a reported
// revocation revokes the record when confirmed; every version filed is
// heard of (the replicas' caches), a rejected change is not.
func testChangeAndRevocation(t *testing.T, e *env) {
	var heard []string
	e.desk.OnChanged(func(n string) { heard = append(heard, n) })
	recs := e.filed(t, 2)
	a, b := recs[0], recs[1]
	fixed := a
	fixed.PresidentName = "龚旗煌"
	r, err := e.desk.RequestChange(e.ctx, collector, a.CertificateNumber, recordfile.Row{Line: 1, Record: fixed}, pdf, "校长姓名有误")
	if err != nil || r.KeyField || strings.Join(r.Changed, ",") != "president_name" {
		t.Fatalf("RequestChange: %+v, %v", r, err)
	}
	if _, err := e.desk.RequestChange(e.ctx, collector, b.CertificateNumber, recordfile.Row{Line: 1, Record: b}, pdf, "无变化"); code(err) != filing.CodeNoChange {
		t.Errorf("a change that changes nothing: %v", err)
	}
	if _, err := e.desk.DecideRequest(e.ctx, beijing, r.ID, filing.ActRejectChange, ""); code(err) != filing.CodeReasonRequired {
		t.Errorf("a rejection without a reason: %v", err)
	}
	if r, err = e.desk.DecideRequest(e.ctx, beijing, r.ID, filing.ActRejectChange, "证明材料不足"); err != nil || r.State != filing.Filed {
		t.Fatalf("reject: %+v, %v", r, err)
	}
	if v, _ := e.current(t, a.CertificateNumber); v.Version != 1 {
		t.Errorf("a rejected change filed version %d", v.Version)
	}
	r, err = e.desk.RequestChange(e.ctx, collector, a.CertificateNumber, recordfile.Row{Line: 1, Record: fixed}, pdf, "补充材料后再次申请")
	if err != nil {
		t.Fatal(err)
	}
	if r, err = e.desk.DecideRequest(e.ctx, beijing, r.ID, filing.ActApproveChange, ""); err != nil || r.State != filing.Filed {
		t.Fatalf("approve: %+v, %v", r, err)
	}
	if v, opened := e.current(t, a.CertificateNumber); v.Version != 2 || opened.PresidentName != "龚旗煌" {
		t.Errorf("an approved change: version %d", v.Version)
	}

	rev := registry.Revocation{On: registry.NewDate(2026, 6, 30), Resolution: "学位〔2026〕12号", Reason: "学术不端"}
	r, err = e.desk.ReportRevocation(e.ctx, collector, b.CertificateNumber, rev, pdf, "撤销学位")
	if err != nil || r.State != filing.RevocationReported || r.LateReport() {
		t.Fatalf("ReportRevocation: %+v, %v", r, err)
	}
	if v, _ := e.current(t, b.CertificateNumber); v.Status != registry.StatusFiled {
		t.Error("a reported revocation revoked before confirmation")
	}
	if r, err = e.desk.DecideRequest(e.ctx, beijing, r.ID, filing.ActConfirmRevoke, ""); err != nil || r.State != filing.Revoked {
		t.Fatalf("confirm: %+v, %v", r, err)
	}
	v, opened := e.current(t, b.CertificateNumber)
	if v.Status != registry.StatusRevoked || v.Version != 2 || opened.RevocationResolution != rev.Resolution {
		t.Errorf("a confirmed revocation: version %d, status %s", v.Version, v.Status)
	}
	if len(heard) != 2 || heard[0] != a.CertificateNumber || heard[1] != b.CertificateNumber {
		t.Errorf("filed versions heard of: %v, want the approved change's and the revocation's", heard)
	}
	if _, err := e.desk.ReportRevocation(e.ctx, collector, b.CertificateNumber, rev, pdf, "再次撤销"); code(err) != filing.CodeNotFromState {
		t.Errorf("a revocation of a revoked record: %v", err)
	}
	q, err := e.b.Requests(e.ctx, filing.Query{Province: "11", Limit: 10})
	if err != nil || len(q) != 3 {
		t.Errorf("the province's requests: %d, %v", len(q), err)
	}
}

// testRequestOnMovedRecord: a request made on version 1 is not filed
// over a version 2 written since; nothing of the decision is applied.
func testRequestOnMovedRecord(t *testing.T, e *env) {
	recs := e.filed(t, 1)
	fixed := recs[0]
	fixed.PresidentName = "龚旗煌"
	r, err := e.desk.RequestChange(e.ctx, collector, fixed.CertificateNumber, recordfile.Row{Line: 1, Record: fixed}, pdf, "校长姓名有误")
	if err != nil {
		t.Fatal(err)
	}
	other := recs[0]
	other.PresidentName = "郝平"
	s, err := e.keys.Seal(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Append(e.ctx, e.b, e.log, "record.amend", 1, s, registry.Change{Actor: "office", Reason: "t", At: start}); err != nil {
		t.Fatal(err)
	}
	before := len(e.trail(t))
	if _, err := e.desk.DecideRequest(e.ctx, beijing, r.ID, filing.ActApproveChange, ""); !errors.Is(err, registry.ErrVersionConflict) {
		t.Fatalf("a decision on a moved record: %v", err)
	}
	if got, _ := e.desk.Request(e.ctx, beijing, r.ID); got.State != filing.ChangeRequested || !got.Pending() {
		t.Errorf("the request after a refused decision: %+v", got)
	}
	if v, opened := e.current(t, fixed.CertificateNumber); v.Version != 2 || opened.PresidentName != "郝平" {
		t.Errorf("the record after a refused decision: version %d", v.Version)
	}
	if n := len(e.trail(t)); n != before {
		t.Errorf("a refused decision left %d entries", n-before)
	}
	// Two deciders at once: one wins.
	recs = e.filed(t, 1)
	fixed = recs[0]
	fixed.PresidentName = "龚旗煌"
	r, err = e.desk.RequestChange(e.ctx, collector, fixed.CertificateNumber, recordfile.Row{Line: 1, Record: fixed}, pdf, "校长姓名有误")
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, a := range []filing.Actor{beijing, beijing2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			act, reason := filing.ActApproveChange, ""
			if i == 1 {
				act, reason = filing.ActRejectChange, "不同意"
			}
			_, errs[i] = e.desk.DecideRequest(e.ctx, a, r.ID, act, reason)
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Errorf("two deciders at once: %v", errs)
	}
	// The first request still waits: 31 days on, it is overdue.
	e.advance(31 * 24 * time.Hour)
	if counts, err := filing.CountOverdue(e.ctx, e.b, e.clock()); err != nil || counts[filing.ChangeRequested] != 1 {
		t.Errorf("CountOverdue of a request waiting 31 days: %v, %v", counts, err)
	}
}

// testDeletion: an approved deletion files a version marked deleted;
// the registry's readers see no such record from then on, the store
// keeps every version, and the trail still verifies.
func testDeletion(t *testing.T, e *env) {
	recs := e.filed(t, 2)
	gone, kept := recs[0], recs[1]
	r, err := e.desk.RequestDeletion(e.ctx, collector, gone.CertificateNumber, pdf, "重复报送")
	if err != nil || r.State != filing.DeletionRequested || strings.Join(r.Changed, ",") != "status" {
		t.Fatalf("RequestDeletion: %+v, %v", r, err)
	}
	reg := registry.New(e.b, e.keys, e.log, e.clock)
	if _, err := reg.Current(e.ctx, gone.CertificateNumber); err != nil {
		t.Errorf("a record whose deletion waits is hidden: %v", err)
	}
	if r, err = e.desk.DecideRequest(e.ctx, beijing, r.ID, filing.ActApproveDeletion, ""); err != nil || r.State != filing.Deleted {
		t.Fatalf("approve the deletion: %+v, %v", r, err)
	}
	if _, err := reg.Current(e.ctx, gone.CertificateNumber); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Registry.Current of a deleted record: %v", err)
	}
	if _, err := reg.Get(e.ctx, gone.CertificateNumber); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Registry.Get of a deleted record: %v", err)
	}
	many, err := reg.CurrentMany(e.ctx, []string{gone.CertificateNumber, kept.CertificateNumber})
	if err != nil || len(many) != 1 || many[0].CertificateNumber != kept.CertificateNumber {
		t.Errorf("Registry.CurrentMany shows %d records (%v)", len(many), err)
	}
	byPerson, err := reg.ByPersons(e.ctx, [][]byte{e.keys.PersonIndex(gone.IDType, gone.IDNumber)})
	if err != nil || slices.ContainsFunc(byPerson, func(v registry.Version) bool { return v.CertificateNumber == gone.CertificateNumber }) {
		t.Errorf("Registry.ByPersons shows the deleted record (%v)", err)
	}
	if entries, err := reg.ByPerson(e.ctx, gone.IDType, gone.IDNumber); err != nil || slices.ContainsFunc(entries, func(en registry.Entry) bool {
		return en.Record.CertificateNumber == gone.CertificateNumber
	}) {
		t.Errorf("Registry.ByPerson shows the deleted record (%v)", err)
	}
	v, err := e.b.Current(e.ctx, gone.CertificateNumber)
	if err != nil || v.Version != 2 || v.Status != registry.StatusDeleted {
		t.Errorf("the store's newest version: %d %s (%v)", v.Version, v.Status, err)
	}
	if _, err := registry.VerifyTrail(e.ctx, e.b, e.b, e.log, nil); err != nil {
		t.Errorf("the trail after a deletion: %v", err)
	}
	if _, err := e.desk.RequestChange(e.ctx, collector, gone.CertificateNumber, recordfile.Row{Line: 1, Record: gone}, pdf, "恢复"); !errors.Is(err, filing.ErrNotFound) {
		t.Errorf("a change of a deleted record: %v", err)
	}
	// A rejected deletion leaves the record as it was.
	r, err = e.desk.RequestDeletion(e.ctx, collector, kept.CertificateNumber, pdf, "误报")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.DecideRequest(e.ctx, beijing, r.ID, filing.ActRejectDeletion, "材料不足"); err != nil {
		t.Fatal(err)
	}
	if v, err := reg.Current(e.ctx, kept.CertificateNumber); err != nil || v.Version != 1 {
		t.Errorf("after a rejected deletion: version %d (%v)", v.Version, err)
	}
}
