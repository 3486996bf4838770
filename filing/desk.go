package filing

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/ingest"
	"github.com/degreegate/degreegate/registry/recordfile"
)

// Limits of an upload.
const (
	// MaxDocument bounds the scanned resolution: a few pages of scan,
	// with room to spare.
	MaxDocument = 20 << 20
	// MaxBatch bounds the records of one batch: a large university
	// confers about 20,000 degrees in a year, in several resolutions.
	MaxBatch = 50_000
	// MaxRecordsFile bounds a staged file of records: MaxBatch records
	// at about 1 KB each at most.
	MaxRecordsFile = 64 << 20
	// maxText bounds a resolution number and a reason.
	maxText = 500
)

// Row rejection codes of an upload, beside those of ingest and the
// validator.
const (
	RejectOtherUnit       = "other-unit"       // the record is another unit's
	RejectOtherResolution = "other-resolution" // the record names another resolution
	RejectNotFiledStatus  = "not-filed-status" // only records to be filed are uploaded
	RejectAlreadyFiled    = "already-filed"    // the certificate number is filed already
	RejectInWorkflow      = "in-workflow"      // the certificate number is in another batch
	RejectOtherNumber     = "other-number"     // a change names another certificate number
)

// FiledRecords reads the registry's filed records, for the checks across units
// (a registry.Store is one).
type FiledRecords interface {
	CurrentMany(ctx context.Context, certificateNumbers []string) ([]registry.Version, error)
	ByPersons(ctx context.Context, personIndexes [][]byte) ([]registry.Version, error)
}

// Desk is where the workflow happens: it applies the rules of this
// package to stored batches and records, and commits every transition
// with its audit entries (Art. 15), so a transition and its record in
// the trail land together or not at all.
type Desk struct {
	store   Store
	filed   FiledRecords
	keys    *registry.Keyring
	log     *registry.LogKey
	regions Regions
	now     func() time.Time
	// onChanged hears of every new version of a filed record (OnChanged).
	onChanged func(certificateNumber string)
}

// OnChanged sets what hears of every new version the desk files over a
// filed record (a change, a revocation): serve drops the record from
// every replica's cache at once, as revoke does, so that no replica
// answers with the version before it.
func (d *Desk) OnChanged(fn func(certificateNumber string)) { d.onChanged = fn }

// NewDesk takes its dependencies; now is the clock (time.Now in use).
func NewDesk(store Store, filed FiledRecords, keys *registry.Keyring, log *registry.LogKey, regions Regions, now func() time.Time) *Desk {
	return &Desk{store: store, filed: filed, keys: keys, log: log, regions: regions, now: now}
}

// Source yields a batch's rows (*recordfile.Reader is one).
type Source = ingest.Source

// NewBatch is what a collector hands in: the conferral resolution, its
// scanned document (PDF), and the file of records.
type NewBatch struct {
	ResolutionNumber    string
	ResolutionEffective registry.Date
	Document            []byte
	Rows                Source
}

// RowsRejectedError is an upload refused for its rows: every reason for
// every row, in line order. Nothing of the upload was stored.
type RowsRejectedError struct {
	Rows       int
	Rejections []ingest.Rejection
}

func (e *RowsRejectedError) Error() string {
	return fmt.Sprintf("filing: %d rejections in a file of %d rows: nothing was stored", len(e.Rejections), e.Rows)
}

// NewBatch validates and stores a batch in state Draft. The collector must
// be a unit's, with the collector duty; every row must pass the checks
// of import and belong to the collector's unit and the resolution. A
// batch with any rejected row is refused whole (*RowsRejectedError).
func (d *Desk) NewBatch(ctx context.Context, a Actor, up NewBatch) (Batch, error) {
	if a.Kind != Unit || a.Code == "" {
		return Batch{}, errorf(CodeWrongOrg, "a batch is uploaded by a degree-granting unit")
	}
	if !a.has(Collector) {
		return Batch{}, errorf(CodeWrongDuty, "uploading needs the %s duty", Collector)
	}
	province := d.regions.UnitProvince(a.Code)
	if province == "" {
		return Batch{}, errorf(CodeUnknownUnit, "unit %s belongs to no known province", a.Code)
	}
	now := d.now()
	if err := checkResolution(up, now); err != nil {
		return Batch{}, err
	}
	recs, lines, err := d.readRows(ctx, a, up)
	if err != nil {
		return Batch{}, err
	}
	b := Batch{ID: newID("b"), Unit: a.Code, Province: province, Collector: a.ID(), Created: now,
		Resolution: Resolution{Number: up.ResolutionNumber, Effective: up.ResolutionEffective,
			SHA256: sha256.Sum256(up.Document), Size: int64(len(up.Document))}}
	sealed := make([]registry.Sealed, len(recs))
	entries := make([]registry.AuditEntry, len(recs))
	for i := range recs {
		if sealed[i], err = d.keys.Seal(recs[i]); err != nil {
			return Batch{}, fmt.Errorf("filing: seal line %d: %w", lines[i], err)
		}
		entries[i] = d.entry(a, ActUpload, recs[i].CertificateNumber, now, detail{Batch: b.ID, To: Draft})
	}
	if err := d.store.AddBatch(ctx, b, up.Document, sealed, entries); err != nil {
		var iw *InWorkflowError
		if errors.As(err, &iw) {
			return Batch{}, rowsRejected(len(recs), lines, recs, iw.Numbers, RejectInWorkflow,
				"this certificate number is already in another batch of the workflow")
		}
		return Batch{}, err
	}
	return b, nil
}

// readRows reads and checks every row, then the numbers already filed.
func (d *Desk) readRows(ctx context.Context, a Actor, up NewBatch) ([]registry.Record, []int, error) {
	check := ingest.NewChecker(registry.DateOf(d.now()))
	var recs []registry.Record
	var lines []int
	var rejected []ingest.Rejection
	rows := 0
	for {
		row, err := up.Rows.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, fmt.Errorf("filing: read the file: %w", err)
		}
		if rows++; rows > MaxBatch {
			return nil, nil, errorf(CodeBatchTooLarge, "a batch holds at most %d records", MaxBatch)
		}
		rec, why := check.Check(row)
		if why == nil {
			why = belongs(row.Line, &rec, a.Code, up.ResolutionNumber)
		}
		if why != nil {
			rejected = append(rejected, why...)
			continue
		}
		recs = append(recs, rec)
		lines = append(lines, row.Line)
	}
	if rows == 0 {
		return nil, nil, errorf(CodeEmptyBatch, "the file holds no records")
	}
	if len(rejected) > 0 {
		return nil, nil, &RowsRejectedError{Rows: rows, Rejections: rejected}
	}
	numbers := make([]string, len(recs))
	for i := range recs {
		numbers[i] = recs[i].CertificateNumber
	}
	filed, err := d.filed.CurrentMany(ctx, numbers)
	if err != nil {
		return nil, nil, fmt.Errorf("filing: look up filed records: %w", err)
	}
	if len(filed) > 0 {
		return nil, nil, rowsRejected(rows, lines, recs, versionNumbers(filed), RejectAlreadyFiled,
			"this certificate number is already filed")
	}
	return recs, lines, nil
}

// belongs checks that a valid record is the uploading unit's, under the
// batch's resolution, and to be filed.
func belongs(line int, r *registry.Record, unit, resolution string) []ingest.Rejection {
	var out []ingest.Rejection
	if r.UnitCode != unit {
		out = append(out, ingest.Rejection{Line: line, Field: "unit_code", Code: RejectOtherUnit,
			Message: "a unit uploads its own records only"})
	}
	if r.ResolutionNumber != resolution {
		out = append(out, ingest.Rejection{Line: line, Field: "resolution_number", Code: RejectOtherResolution,
			Message: "the record names another conferral resolution than the batch"})
	}
	if r.Status != registry.StatusFiled {
		out = append(out, ingest.Rejection{Line: line, Field: "status", Code: RejectNotFiledStatus,
			Message: "a batch files records: their status is filed (a revocation is reported on the filed record)"})
	}
	return out
}

func rowsRejected(rows int, lines []int, recs []registry.Record, numbers []string, code, msg string) error {
	e := &RowsRejectedError{Rows: rows}
	for i := range recs {
		if slices.Contains(numbers, recs[i].CertificateNumber) {
			e.Rejections = append(e.Rejections, ingest.Rejection{Line: lines[i], Field: "certificate_number", Code: code, Message: msg})
		}
	}
	return e
}

func versionNumbers(vs []registry.Version) []string {
	out := make([]string, len(vs))
	for i := range vs {
		out[i] = vs[i].CertificateNumber
	}
	return out
}

// checkResolution: a number, a day that has come, and a PDF of a
// bounded size.
func checkResolution(up NewBatch, now time.Time) error {
	switch {
	case up.ResolutionNumber == "" || len(up.ResolutionNumber) > 100 || !utf8.ValidString(up.ResolutionNumber):
		return errorf(CodeBadResolution, "the resolution number is required, at most 100 bytes of text")
	case up.ResolutionEffective.IsZero():
		return errorf(CodeBadResolution, "the date the resolution took effect is required")
	case up.ResolutionEffective.After(registry.DateOf(now)):
		return errorf(CodeBadResolution, "the resolution takes effect on a day still to come")
	case len(up.Document) > MaxDocument:
		return errorf(CodeDocumentTooLarge, "the resolution document is %d bytes; at most %d", len(up.Document), MaxDocument)
	case !isPDF(up.Document):
		return errorf(CodeNotPDF, "the resolution document is not a PDF")
	}
	return nil
}

// isPDF: a PDF starts with its header and ends, give or take trailing
// whitespace, with its end-of-file marker (ISO 32000-2, 7.5.2 and 7.5.5).
func isPDF(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("%PDF-1.")) && !bytes.HasPrefix(b, []byte("%PDF-2.")) {
		return false
	}
	tail := b[max(0, len(b)-1024):]
	return bytes.Contains(tail, []byte("%%EOF"))
}

// newID is a random id after prefix: b for batches, u for uploads, r
// for requests.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + hex.EncodeToString(b[:])
}

// detail is an audit entry's detail for a transition. Reasons go here,
// not in the entry's purpose: the trail keeps a row per distinct
// purpose, and reasons are free text.
type detail struct {
	Batch   string `json:"batch,omitempty"`
	Request string `json:"request,omitempty"`
	From    State  `json:"from,omitempty"`
	To      State  `json:"to,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Late    string `json:"late,omitempty"`
}

// purpose is the purpose of every workflow entry but filed versions'.
const purpose = "filing"

func (d *Desk) entry(a Actor, act Action, number string, at time.Time, det detail) registry.AuditEntry {
	js, _ := json.Marshal(det) // strings and states only: cannot fail
	e := registry.AuditEntry{At: at, Actor: a.ID(), Action: "filing." + string(act), RecordRef: number,
		Purpose: purpose, Detail: string(js)}
	d.log.Commit(&e)
	return e
}

// Batch returns a batch the actor may see: a unit its own, a province
// its region's, the national office any.
func (d *Desk) Batch(ctx context.Context, a Actor, id string) (Batch, []Item, error) {
	b, err := d.batchInScope(ctx, a, id)
	if err != nil {
		return Batch{}, nil, err
	}
	items, err := d.store.Items(ctx, id)
	if err != nil {
		return Batch{}, nil, err
	}
	return b, items, nil
}

// Refusal is one record an action was refused for, and why.
type Refusal struct {
	CertificateNumber string
	Code              Code
	Message           string
}

// RefusedError is an action refused for some of its records: nothing
// was done to any.
type RefusedError struct {
	Action   Action
	Refusals []Refusal
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("filing: %s refused for %d records: nothing was done", e.Action, len(e.Refusals))
}

// Moved is what an action did to one record.
type Moved struct {
	CertificateNumber string
	From, To          State
	Version           int // the filed version, 0 when none was filed
}

// Act takes an action on records of a batch: those numbered, or, when
// none are, every record of the batch the action applies to. It is all
// or nothing: if the rules or the checks across units refuse any
// record, nothing is done and a *RefusedError names each. When another
// actor moved one of the records first, it fails with ErrStateChanged.
func (d *Desk) Act(ctx context.Context, a Actor, batchID string, act Action, numbers []string, reason string) ([]Moved, error) {
	if err := checkReason(reason, false); err != nil {
		return nil, err
	}
	if !batchActions[act] {
		return nil, errorf(CodeNotABatchAction, "%s is not taken on a batch's records here", act)
	}
	b, items, err := d.Batch(ctx, a, batchID)
	if err != nil {
		return nil, err
	}
	chosen, err := choose(items, numbers)
	if err != nil {
		return nil, err
	}
	now := d.now()
	t := Transition{Actor: a.ID(), Reason: reason, At: now}
	var refused []Refusal
	for _, it := range chosen {
		step, err := Decide(b.record(it), a, act, reason, now, d.regions)
		var fe *Error
		switch {
		case errors.As(err, &fe) && fe.Code == CodeNotFromState && numbers == nil:
			continue // the whole batch: the records the action applies to
		case errors.As(err, &fe) && fe.Code == CodeNotFromState:
			refused = append(refused, Refusal{it.CertificateNumber, fe.Code, fe.Msg})
			continue
		case err != nil:
			// Every other refusal is of the actor, the reason or the
			// batch, the same for each record: said once.
			return nil, err
		}
		m := Move{BatchID: b.ID, CertificateNumber: it.CertificateNumber, From: step.From, To: step.To}
		if step.NewVersion && act == ActAccept {
			v := registry.Version{Sealed: it.Sealed, Version: 1, Change: registry.Change{
				Actor: a.ID(), At: now, Reason: fmt.Sprintf("batch %s, resolution %s", b.ID, b.Resolution.Number)}.Stored()}
			m.File = &v
			t.Entries = append(t.Entries, d.log.FilingEntry(registry.ActionFile, &v))
		} else {
			t.Entries = append(t.Entries, d.entry(a, act, it.CertificateNumber, now,
				detail{Batch: b.ID, From: step.From, To: step.To, Reason: reason}))
		}
		t.Moves = append(t.Moves, m)
	}
	if len(refused) == 0 && act == ActAccept {
		if refused, err = d.crossCheck(ctx, b, t.Moves); err != nil {
			return nil, err
		}
	}
	if len(refused) > 0 {
		return nil, &RefusedError{Action: act, Refusals: refused}
	}
	if len(t.Moves) == 0 {
		return nil, errorf(CodeNotFromState, "%s applies to no record of the batch", act)
	}
	if err := d.store.Move(ctx, t); err != nil {
		return nil, err
	}
	out := make([]Moved, len(t.Moves))
	for i, m := range t.Moves {
		out[i] = Moved{CertificateNumber: m.CertificateNumber, From: m.From, To: m.To}
		if m.File != nil {
			out[i].Version = m.File.Version
		}
	}
	return out, nil
}

// batchActions are what Act takes: the way from upload to filing. A
// correction brings the corrected record (Correct); the requests on
// filed records carry their own evidence and versions.
var batchActions = map[Action]bool{ActCheck: true, ActSubmit: true, ActAccept: true, ActReturn: true, ActWithdraw: true}

// choose picks the numbered items, or all when none are numbered.
func choose(items []Item, numbers []string) ([]Item, error) {
	if numbers == nil {
		return items, nil
	}
	if len(numbers) == 0 {
		return nil, errorf(CodeNotInBatch, "no record chosen")
	}
	byNumber := make(map[string]int, len(items))
	for i := range items {
		byNumber[items[i].CertificateNumber] = i
	}
	out := make([]Item, 0, len(numbers))
	seen := make(map[string]bool, len(numbers))
	for _, n := range numbers {
		i, ok := byNumber[n]
		if !ok {
			return nil, errorf(CodeNotInBatch, "a chosen certificate number is not in the batch")
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, items[i])
		}
	}
	return out, nil
}

// record is what the rules need to know of an item of b.
func (b Batch) record(it Item) Record {
	r := Record{CertificateNumber: it.CertificateNumber, UnitCode: b.Unit, State: it.State,
		Collector: b.Collector, LateApproved: b.Late.State == LateApproved, Since: it.Since}
	if !b.Resolution.Effective.IsZero() {
		r.ResolutionEffective = b.Resolution.Effective.Time()
	}
	return r
}

// crossCheck runs the checks across units before records are filed
// (Art. 13): a number filed already (by this unit or another), a number
// whose unit or level digits are not the batch's unit and the record's
// level, and a person who would hold the same degree twice.
func (d *Desk) crossCheck(ctx context.Context, b Batch, moves []Move) ([]Refusal, error) {
	toFile := make(map[string]*registry.Sealed, len(moves))
	numbers := make([]string, 0, len(moves))
	persons := make([][]byte, 0, len(moves))
	for _, m := range moves {
		if m.File != nil {
			toFile[m.CertificateNumber] = &m.File.Sealed
			numbers = append(numbers, m.CertificateNumber)
			persons = append(persons, m.File.PersonIndex)
		}
	}
	var out []Refusal
	filed, err := d.filed.CurrentMany(ctx, numbers)
	if err != nil {
		return nil, fmt.Errorf("filing: look up filed records: %w", err)
	}
	for _, v := range filed {
		msg := "the certificate number is already filed"
		if v.UnitCode != b.Unit {
			msg += " by another unit"
		}
		out = append(out, Refusal{v.CertificateNumber, CodeFiledAlready, msg})
	}
	for _, n := range numbers {
		s := toFile[n]
		if len(n) == 16 && s.ConferralDate.Year() >= 2016 && (n[:5] != b.Unit || n[5] != s.DegreeLevel.CertificateDigit()) {
			out = append(out, Refusal{n, CodeNumberMismatch, "digits 1–6 of the certificate number are not the batch's unit and the record's level"})
		}
	}
	same, err := d.sameDegree(ctx, toFile, persons)
	if err != nil {
		return nil, err
	}
	out = append(out, same...)
	slices.SortFunc(out, func(x, y Refusal) int { return strings.Compare(x.CertificateNumber, y.CertificateNumber) })
	return out, nil
}

// sameDegree finds records that would give a person the same degree
// twice: the same level, type and discipline as a degree they hold
// already, or as another record of the same action.
func (d *Desk) sameDegree(ctx context.Context, toFile map[string]*registry.Sealed, persons [][]byte) ([]Refusal, error) {
	type degree struct {
		person                 string
		level, typ, discipline string
	}
	key := func(s *registry.Sealed) degree {
		return degree{string(s.PersonIndex), string(s.DegreeLevel), string(s.DegreeType), s.DisciplineCode}
	}
	held := map[degree]string{} // → a certificate number holding it
	have, err := d.filed.ByPersons(ctx, persons)
	if err != nil {
		return nil, fmt.Errorf("filing: look up the persons' degrees: %w", err)
	}
	for i := range have {
		if have[i].Status == registry.StatusFiled {
			held[key(&have[i].Sealed)] = have[i].CertificateNumber
		}
	}
	numbers := make([]string, 0, len(toFile))
	for n := range toFile {
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	var out []Refusal
	for _, n := range numbers {
		k := key(toFile[n])
		if other, ok := held[k]; ok && other != n {
			out = append(out, Refusal{n, CodeSameDegree, "the person would hold the same degree (level, type and discipline) twice"})
			continue
		}
		held[k] = n
	}
	return out, nil
}

// ApplyLate records a unit's application to submit a batch after its
// deadline, with the reason the province will weigh. A refused
// application may be made again.
func (d *Desk) ApplyLate(ctx context.Context, a Actor, batchID, reason string) error {
	b, err := d.batchInScope(ctx, a, batchID)
	if err != nil {
		return err
	}
	if a.Kind != Unit {
		return errorf(CodeWrongOrg, "a late submission is applied for by the unit")
	}
	if err := checkReason(reason, true); err != nil {
		return err
	}
	if b.Late.State != LateNone && b.Late.State != LateRefused {
		return errorf(CodeLateState, "the batch's late application is %s", b.Late.State)
	}
	now := d.now()
	late := Late{State: LatePending, Reason: reason, AppliedBy: a.ID(), AppliedAt: now}
	e := d.entry(a, ActApplyLate, "", now, detail{Batch: b.ID, Late: string(LatePending), Reason: reason})
	return d.store.SetLate(ctx, b.ID, b.Late.State, late, e)
}

// DecideLate is the province's decision on a pending late application;
// a refusal needs a reason.
func (d *Desk) DecideLate(ctx context.Context, a Actor, batchID string, approve bool, reason string) error {
	b, err := d.batchInScope(ctx, a, batchID)
	if err != nil {
		return err
	}
	if a.Kind != Province {
		return errorf(CodeWrongOrg, "a late submission is decided by the province")
	}
	if err := checkReason(reason, !approve); err != nil {
		return err
	}
	if b.Late.State != LatePending {
		return errorf(CodeLateState, "the batch has no pending late application")
	}
	late := b.Late
	late.State, late.DecidedBy, late.DecidedAt, late.Decision = LateRefused, a.ID(), d.now(), reason
	if approve {
		late.State = LateApproved
	}
	e := d.entry(a, ActDecideLate, "", late.DecidedAt, detail{Batch: b.ID, Late: string(late.State), Reason: reason})
	return d.store.SetLate(ctx, b.ID, LatePending, late, e)
}

func (d *Desk) batchInScope(ctx context.Context, a Actor, id string) (Batch, error) {
	b, err := d.store.Batch(ctx, id)
	if err != nil {
		return Batch{}, err
	}
	if inScope(Record{UnitCode: b.Unit}, a, d.regions) != nil {
		return Batch{}, ErrNotFound // out of scope reads as unknown
	}
	return b, nil
}

func checkReason(reason string, required bool) error {
	switch {
	case len(reason) > maxText || !utf8.ValidString(reason):
		return errorf(CodeBadReason, "a reason is at most %d bytes of text", maxText)
	case required && strings.TrimSpace(reason) == "":
		return errorf(CodeReasonRequired, "a reason is required")
	}
	return nil
}

// Queue limits.
const (
	DefaultQueue = 50
	MaxQueue     = 500
)

// Queued is a record in a queue, with the deadline it waits under.
type Queued struct {
	Item
	Due     time.Time // zero when nothing is due
	Overdue bool
}

// scoped narrows q to what a may see — a unit its own records, a
// province its region's, the national office any — and bounds its page.
func scoped(a Actor, q Query) (Query, error) {
	switch a.Kind {
	case Unit:
		q.Unit, q.Province = a.Code, ""
	case Province:
		q.Province = a.Code
	case National:
	default:
		return q, errorf(CodeWrongOrg, "unknown organisation kind %q", a.Kind)
	}
	if a.Code == "" && a.Kind != National {
		return q, errorf(CodeOutOfScope, "the actor's organisation has no code")
	}
	if q.Limit <= 0 {
		q.Limit = DefaultQueue
	}
	q.Limit = min(q.Limit, MaxQueue)
	return q, nil
}

// Queue lists the records an actor works on, oldest in their state
// first: a unit's own, a province's region's (q.Unit narrows it), any
// for the national office.
func (d *Desk) Queue(ctx context.Context, a Actor, q Query) ([]Queued, error) {
	q, err := scoped(a, q)
	if err != nil {
		return nil, err
	}
	items, err := d.store.Queue(ctx, q)
	if err != nil {
		return nil, err
	}
	return withDeadlines(ctx, d.store, items, d.now(), map[string]Batch{})
}

// Overdue summarises, by unit and state, what waits past its deadline
// among what the actor oversees: a unit its own, a province its
// region's (q.Unit narrows it), the national office all.
func (d *Desk) Overdue(ctx context.Context, a Actor, q Query) ([]OverdueCount, error) {
	q, err := scoped(a, q)
	if err != nil {
		return nil, err
	}
	return SummariseOverdue(ctx, d.store, q, d.now())
}

// Correct puts a returned record back to draft with its corrected
// content (Art. 17): the collector does it, the record must pass the
// checks of an upload, and its certificate number stays (a record under
// another number is withdrawn and uploaded anew). A checker checks it
// again before it is submitted.
func (d *Desk) Correct(ctx context.Context, a Actor, batchID string, row recordfile.Row) error {
	b, items, err := d.Batch(ctx, a, batchID)
	if err != nil {
		return err
	}
	rec, why := ingest.NewChecker(registry.DateOf(d.now())).Check(row)
	if why == nil {
		why = belongs(row.Line, &rec, b.Unit, b.Resolution.Number)
	}
	if why != nil {
		return &RowsRejectedError{Rows: 1, Rejections: why}
	}
	chosen, err := choose(items, []string{rec.CertificateNumber})
	if err != nil {
		return err
	}
	now := d.now()
	step, err := Decide(b.record(chosen[0]), a, ActCorrect, "", now, d.regions)
	if err != nil {
		return err
	}
	sealed, err := d.keys.Seal(rec)
	if err != nil {
		return fmt.Errorf("filing: seal the correction: %w", err)
	}
	return d.store.Move(ctx, Transition{Actor: a.ID(), At: now,
		Moves: []Move{{BatchID: b.ID, CertificateNumber: rec.CertificateNumber, From: step.From, To: step.To, Content: &sealed}},
		Entries: []registry.AuditEntry{d.entry(a, ActCorrect, rec.CertificateNumber, now,
			detail{Batch: b.ID, From: step.From, To: step.To})}})
}

// StartUpload starts a staged upload of a file of records (format csv or
// jsonl) or of a resolution (pdf) of size bytes, for a unit's collector.
func (d *Desk) StartUpload(ctx context.Context, a Actor, kind, format string, size int64) (Staged, error) {
	if a.Kind != Unit || a.Code == "" || !a.has(Collector) {
		return Staged{}, errorf(CodeWrongDuty, "files are uploaded by a unit's collector")
	}
	limit := int64(MaxRecordsFile)
	switch {
	case kind == StagedRecords && (format == "csv" || format == "jsonl"):
	case kind == StagedResolution && format == "pdf":
		limit = MaxDocument
	default:
		return Staged{}, errorf(CodeBadUpload, "an upload is records (csv or jsonl) or a resolution (pdf)")
	}
	switch {
	case size <= 0:
		return Staged{}, errorf(CodeBadUpload, "an upload declares its size in bytes")
	case size > limit:
		code := CodeBatchTooLarge
		if kind == StagedResolution {
			code = CodeDocumentTooLarge
		}
		return Staged{}, errorf(code, "%s files are at most %d bytes", kind, limit)
	}
	u := Staged{ID: newID("u"), Owner: a.ID(), Kind: kind, Format: format, Size: size, Created: d.now()}
	if err := d.store.StageUpload(ctx, u); err != nil {
		return Staged{}, err
	}
	return u, nil
}

// AppendUpload adds a part to the actor's own staged upload at offset.
func (d *Desk) AppendUpload(ctx context.Context, a Actor, id string, offset int64, part []byte) (Staged, error) {
	u, err := d.Upload(ctx, a, id)
	if err != nil {
		return Staged{}, err
	}
	if u.Received, err = d.store.AppendStaged(ctx, id, offset, part); err != nil {
		return Staged{}, err
	}
	return u, nil
}

// Upload is the actor's own staged upload; another's reads as unknown.
func (d *Desk) Upload(ctx context.Context, a Actor, id string) (Staged, error) {
	u, err := d.store.Staged(ctx, id)
	if err != nil {
		return Staged{}, err
	}
	if u.Owner != a.ID() {
		return Staged{}, ErrNotFound
	}
	return u, nil
}

// FromUploads makes a batch of two complete staged uploads of the actor:
// the resolution and the records (see Upload for the checks).
func (d *Desk) FromUploads(ctx context.Context, a Actor, number string, effective registry.Date, resolutionID, recordsID string) (Batch, error) {
	doc, _, err := d.UploadContent(ctx, a, resolutionID, StagedResolution)
	if err != nil {
		return Batch{}, err
	}
	recs, format, err := d.UploadContent(ctx, a, recordsID, StagedRecords)
	if err != nil {
		return Batch{}, err
	}
	rd, err := recordfile.NewReader(bytes.NewReader(recs), recordfile.Format(format), recordfile.Options{})
	if err != nil {
		return Batch{}, errorf(CodeBadUpload, "the records file cannot be read as %s", format)
	}
	return d.NewBatch(ctx, a, NewBatch{ResolutionNumber: number, ResolutionEffective: effective, Document: doc, Rows: rd})
}

// UploadContent is what a complete staged upload of the actor's holds,
// and its format; kind is what it must be.
func (d *Desk) UploadContent(ctx context.Context, a Actor, id, kind string) ([]byte, string, error) {
	u, err := d.Upload(ctx, a, id)
	switch {
	case err != nil:
		return nil, "", err
	case u.Kind != kind:
		return nil, "", errorf(CodeBadUpload, "upload %s is not a %s file", id, kind)
	case !u.Complete():
		return nil, "", errorf(CodeBadUpload, "upload %s holds %d of its %d bytes", id, u.Received, u.Size)
	}
	b, err := d.store.StagedContent(ctx, id)
	return b, u.Format, err
}

// Document returns a batch's resolution document to an actor who may
// see the batch, after recording that they read it: a resolution lists
// the people it confers degrees on.
func (d *Desk) Document(ctx context.Context, a Actor, batchID string) ([]byte, error) {
	b, err := d.batchInScope(ctx, a, batchID)
	if err != nil {
		return nil, err
	}
	e := d.entry(a, ActReadResolution, "", d.now(), detail{Batch: b.ID})
	if err := d.store.AppendAudit(ctx, []registry.AuditEntry{e}); err != nil {
		return nil, fmt.Errorf("filing: record the read: %w", err)
	}
	return d.store.Document(ctx, b.ID)
}
