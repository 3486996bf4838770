package filing

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/ingest"
	"github.com/degreegate/degreegate/registry/recordfile"
)

// RequestKind is what a request on a filed record asks for.
type RequestKind string

const (
	KindChange     RequestKind = "change"     // a corrected record (Art. 18)
	KindDeletion   RequestKind = "deletion"   // a record filed in error (Art. 18)
	KindRevocation RequestKind = "revocation" // the unit's report of a revocation (Art. 19)
)

// Request is a unit's request on a filed record: the record as it would
// be filed, the evidence, and where the request stands. State is one of
// the rules' states: ChangeRequested, AwaitingConsent, DeletionRequested
// or RevocationReported while it waits; Filed, Deleted or Revoked once
// decided, with Outcome the deciding action.
type Request struct {
	ID                string
	Kind              RequestKind
	CertificateNumber string
	Unit, Province    string
	// BaseVersion is the version the request was made on: it is filed as
	// the next only if the record has not moved on.
	BaseVersion int
	Proposed    registry.Sealed
	// KeyField: the change touches name, gender, ID type or number, or
	// degree category, so the national office must consent.
	KeyField bool
	// Changed names the fields the request changes (names only: the
	// values are personal data).
	Changed        []string
	RequestedBy    string
	RequestedAt    time.Time
	Reason         string
	EvidenceSHA256 [32]byte
	EvidenceSize   int64
	State          State
	Since          time.Time
	Outcome        Action // "" while it waits
	DecidedBy      string
	DecidedAt      time.Time
	Decision       string // the decider's reason
}

// ReportWithin is how long after its resolution a unit reports a
// revocation (Art. 19).
const ReportWithin = 10 * 24 * time.Hour

// LateReport reports whether a revocation was reported more than
// ReportWithin after the day of its resolution: the report is taken, and
// oversight sees it was late.
func (r Request) LateReport() bool {
	on := r.Proposed.RevokedOn
	return r.Kind == KindRevocation && !on.IsZero() && r.RequestedAt.After(on.Time().Add(ReportWithin))
}

// Pending reports whether the request waits for a decision.
func (r Request) Pending() bool { return r.Outcome == "" }

// ErrPendingRequest: the record has a request that waits already.
var ErrPendingRequest = errors.New("filing: the record has a pending request")

// RequestChange asks to change a filed record (Art. 18): the unit that
// holds it, with a reason and evidence (a PDF). The change lands as a
// new version once the province approves it, and, when it touches a key
// field, once the national office consents.
func (d *Desk) RequestChange(ctx context.Context, a Actor, number string, row recordfile.Row, evidence []byte, reason string) (Request, error) {
	cur, opened, err := d.filedRecord(ctx, number)
	if err != nil {
		return Request{}, err
	}
	rec, why := ingest.NewChecker(registry.DateOf(d.now())).Check(row)
	if why == nil && rec.CertificateNumber != number {
		why = []ingest.Rejection{{Line: row.Line, Field: "certificate_number", Code: RejectOtherNumber,
			Message: "a change keeps the certificate number"}}
	}
	if why == nil {
		// The unit and the status stay; the resolution may be what the
		// change corrects.
		why = belongs(row.Line, &rec, cur.UnitCode, rec.ResolutionNumber)
	}
	if why != nil {
		return Request{}, &RowsRejectedError{Rows: 1, Rejections: why}
	}
	changed := changedFields(opened, rec)
	if len(changed) == 0 {
		return Request{}, errorf(CodeNoChange, "the record is as filed")
	}
	key := slices.ContainsFunc(changed, func(f string) bool { return slices.Contains(keyFields, f) })
	return d.request(ctx, a, KindChange, ActRequestChange, cur, rec, key, changed, evidence, reason)
}

// ReportRevocation is a unit's report that it revoked a degree it
// conferred (Art. 19): the revocation resolution, its date and reason,
// with the resolution as evidence. The record is revoked as a new
// version once the province confirms it.
func (d *Desk) ReportRevocation(ctx context.Context, a Actor, number string, rev registry.Revocation, evidence []byte, reason string) (Request, error) {
	cur, opened, err := d.filedRecord(ctx, number)
	if err != nil {
		return Request{}, err
	}
	rec := opened
	rec.Status, rec.RevokedOn, rec.RevocationResolution, rec.RevocationReason = registry.StatusRevoked, rev.On, rev.Resolution, rev.Reason
	registry.Normalize(&rec)
	if v := registry.Validate(&rec, registry.DateOf(d.now())); len(v.Violations) > 0 {
		return Request{}, &RowsRejectedError{Rows: 1, Rejections: ingest.Rejections(0, v.Violations)}
	}
	return d.request(ctx, a, KindRevocation, ActReportRevocation, cur, rec, false, changedFields(opened, rec), evidence, reason)
}

// RequestDeletion asks to delete a filed record (Art. 18): one filed in
// error, with a reason and evidence. Once the province approves, the
// record's next version is marked deleted: it is kept, as every version
// is, and nobody sees it from then on (registry.Status.Visible).
func (d *Desk) RequestDeletion(ctx context.Context, a Actor, number string, evidence []byte, reason string) (Request, error) {
	cur, opened, err := d.filedRecord(ctx, number)
	if err != nil {
		return Request{}, err
	}
	rec := opened
	rec.Status = registry.StatusDeleted
	return d.request(ctx, a, KindDeletion, ActRequestDeletion, cur, rec, false, []string{"status"}, evidence, reason)
}

// filedRecord is the newest version of a filed (or revoked) record that
// was not deleted, and its opened record.
func (d *Desk) filedRecord(ctx context.Context, number string) (registry.Version, registry.Record, error) {
	vs, err := d.filed.CurrentMany(ctx, []string{number})
	if err != nil {
		return registry.Version{}, registry.Record{}, fmt.Errorf("filing: look up the record: %w", err)
	}
	if len(vs) != 1 || !vs[0].Status.Visible() {
		return registry.Version{}, registry.Record{}, ErrNotFound
	}
	opened, err := d.keys.Open(vs[0].Sealed)
	if err != nil {
		return registry.Version{}, registry.Record{}, fmt.Errorf("filing: open the record: %w", err)
	}
	return vs[0], opened, nil
}

func (d *Desk) request(ctx context.Context, a Actor, kind RequestKind, act Action, cur registry.Version, rec registry.Record,
	key bool, changed []string, evidence []byte, reason string) (Request, error) {
	if err := checkReason(reason, false); err != nil {
		return Request{}, err
	}
	now := d.now()
	state := Filed
	if cur.Status == registry.StatusRevoked {
		state = Revoked
	}
	step, err := Decide(Record{CertificateNumber: cur.CertificateNumber, UnitCode: cur.UnitCode, State: state}, a, act, reason, now, d.regions)
	if err != nil {
		if scopeErr(err) {
			return Request{}, ErrNotFound // another's record reads as unknown
		}
		return Request{}, err
	}
	if !isPDF(evidence) || len(evidence) > MaxDocument {
		return Request{}, errorf(CodeNotPDF, "the evidence is a PDF of at most %d bytes", MaxDocument)
	}
	sealed, err := d.keys.Seal(rec)
	if err != nil {
		return Request{}, fmt.Errorf("filing: seal the request: %w", err)
	}
	r := Request{ID: newID("r"), Kind: kind, CertificateNumber: cur.CertificateNumber, Unit: cur.UnitCode,
		Province: d.regions.UnitProvince(cur.UnitCode), BaseVersion: cur.Version, Proposed: sealed, KeyField: key, Changed: changed,
		RequestedBy: a.ID(), RequestedAt: now, Reason: reason, EvidenceSHA256: sha256.Sum256(evidence),
		EvidenceSize: int64(len(evidence)), State: step.To, Since: now}
	e := d.entry(a, act, r.CertificateNumber, now, detail{Request: r.ID, From: step.From, To: step.To, Reason: reason})
	if err := d.store.AddRequest(ctx, r, evidence, e); err != nil {
		return Request{}, err
	}
	return r, nil
}

// keyFields are the fields whose change also needs the national
// office's consent (Art. 18).
var keyFields = []string{"name", "gender", "id_type", "id_number", "degree_category"}

// changedFields are the names of the fields (as in import files) whose
// values differ between a and b, in registry.Fields order.
func changedFields(a, b registry.Record) []string {
	var out []string
	for _, f := range registry.Fields() {
		if !f.Equal(&a, &b) {
			out = append(out, f.Name)
		}
	}
	return out
}

func scopeErr(err error) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.Code == CodeOutOfScope
}

// Request returns a request the actor may see: its unit's, its
// province's, or any for the national office.
func (d *Desk) Request(ctx context.Context, a Actor, id string) (Request, error) {
	r, err := d.store.Request(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if inScope(Record{UnitCode: r.Unit}, a, d.regions) != nil {
		return Request{}, ErrNotFound
	}
	return r, nil
}

// DecideRequest is the province's decision on a request, or the national
// office's consent: act is one of ActApproveChange, ActRejectChange,
// ActConsent, ActRefuseConsent, ActConfirmRevoke, ActRejectRevoke. A
// decision that files (an approved change without a key field, a
// consent, a confirmed revocation) writes the proposed record as the
// next version in the same transaction as the decision and its entry;
// when the record moved on since the request, it fails with
// registry.ErrVersionConflict and nothing is decided. onChanged hears
// of each version filed, to tell every replica at once.
func (d *Desk) DecideRequest(ctx context.Context, a Actor, id string, act Action, reason string) (Request, error) {
	if err := checkReason(reason, false); err != nil {
		return Request{}, err
	}
	r, err := d.Request(ctx, a, id)
	if err != nil {
		return Request{}, err
	}
	now := d.now()
	step, err := Decide(Record{CertificateNumber: r.CertificateNumber, UnitCode: r.Unit, State: r.State, Since: r.Since,
		ChangesKeyField: r.KeyField}, a, act, reason, now, d.regions)
	if err != nil {
		return Request{}, err
	}
	from := r.State
	r.State, r.Since = step.To, now
	if r.State != AwaitingConsent {
		r.Outcome, r.DecidedBy, r.DecidedAt, r.Decision = act, a.ID(), now, reason
	}
	var file *registry.Version
	var entries []registry.AuditEntry
	if step.NewVersion || step.Revokes || step.Deletes {
		action := registry.ActionAmend
		switch {
		case step.Revokes:
			action = registry.ActionRevoke
		case step.Deletes:
			action = registry.ActionDelete
		}
		file = &registry.Version{Sealed: r.Proposed, Version: r.BaseVersion + 1,
			Change: registry.Change{Actor: a.ID(), At: now, Reason: "request " + r.ID}.Stored()}
		entries = append(entries, d.log.FilingEntry(action, file))
	} else {
		entries = append(entries, d.entry(a, act, r.CertificateNumber, now, detail{Request: r.ID, From: from, To: step.To, Reason: reason}))
	}
	if err := d.store.DecideRequest(ctx, r, from, file, entries); err != nil {
		return Request{}, err
	}
	if file != nil && d.onChanged != nil {
		d.onChanged(r.CertificateNumber)
	}
	return r, nil
}

// Requests lists the requests an actor works on, oldest in their state
// first: a unit's own, a province's region's, any for the national
// office. q.After's CertificateNumber holds the last request's id.
func (d *Desk) Requests(ctx context.Context, a Actor, q Query) ([]Request, error) {
	q, err := scoped(a, q)
	if err != nil {
		return nil, err
	}
	return d.store.Requests(ctx, q)
}
