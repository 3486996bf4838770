package disclose

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// A holder shares a fuller report of one certificate through a
// time-limited code (Art. 22); anyone holding the code sees the report at
// the level the holder chose. The code's format and issuing are the
// caller's; this file is what a view of one discloses.

// CodeRef names a share code by its stored hash and its id (a handle for
// the trail that does not reveal the code).
type CodeRef struct {
	Hash []byte
	ID   string
}

// SharedReport is what a share code shows: the record masked by the
// holder_code policy at the code's level, with a signed receipt.
type SharedReport struct {
	Status            string // valid | revoked
	CertificateNumber string
	Level             string
	Degree            policies.Disclosure
	ExpiresAt         time.Time
	PolicyVersion     string
	Receipt           string
	// Rules are the field rules of the decision that masked Degree.
	Rules []policies.FieldRule
}

// sharedReceipt is the receipt of a shared report: the public receipt's
// claims (result "shared") plus the code's level and expiry.
type sharedReceipt struct {
	receipt
	Level     string `json:"level"`
	ExpiresAt int64  `json:"code_exp"`
}

// SharedReport shows the report behind a share code to p (the viewer:
// Actor is the viewer's PublicActor, Decide the holder_code policy). It
// counts the view and puts it on the trail before anything is returned;
// a code that shows nothing is on the trail too (a guessed code under
// the viewer, so officials can watch for enumeration; an expired or
// withdrawn one under the code).
func (s *Service) SharedReport(ctx context.Context, p Principal, code CodeRef) (SharedReport, error) {
	if s.deps.Codes == nil {
		return SharedReport{}, ErrCodesUnavailable
	}
	now := s.deps.Now()
	sc, err := s.deps.Codes.ViewShareCode(ctx, code.Hash, now)
	if err != nil {
		return SharedReport{}, s.codeRefused(ctx, p, code, sc, now, err)
	}
	e, err := s.deps.Registry.Get(ctx, sc.CertificateNumber)
	if errors.Is(err, registry.ErrNotFound) {
		return SharedReport{}, ErrCodeNotFound
	} else if err != nil {
		return SharedReport{}, failed("shared report: lookup", err)
	}
	rec := e.Record
	status, shareable := shownStatus(rec.Status)
	if !shareable {
		// A record in a state the public may not see (a future filing
		// state): the code shows nothing rather than a half-true report.
		return SharedReport{}, ErrCodeNotFound
	}
	d, err := p.Decide(policies.ScopeVerify, sc.Level)
	if err != nil {
		return SharedReport{}, err
	}
	shown, err := apply(d, &rec)
	if err != nil {
		return SharedReport{}, failed("shared report: apply policy", err)
	}
	rc := sharedReceipt{
		receipt: receipt{Issuer: "degreegate", ID: NewID(), IssuedAt: now.Unix(), Result: "shared", Status: status,
			CertificateNumber: rec.CertificateNumber, Degree: shown, PolicyVersion: d.PolicyVersion},
		Level: sc.Level, ExpiresAt: sc.ExpiresAt.Unix(),
	}
	// Audited before anything is shown: no trail, no data.
	if rc.Log, err = s.record(ctx, registry.AuditEntry{
		At: now, Actor: "code:" + code.ID, Action: ActionCodeView, RecordRef: rec.CertificateNumber, Purpose: PurposeSharedReport,
		Detail: auditDetail(map[string]any{"result": "shown", "level": sc.Level, "fields": shown.Fields(),
			"legal_basis": d.LegalBasis, "policy_version": d.PolicyVersion, "receipt": rc.ID, "view": sc.Views, "client": p.Actor}),
	}); err != nil {
		return SharedReport{}, ErrAuditUnavailable
	}
	jws, err := s.deps.Receipts.Sign(rc)
	if err != nil {
		return SharedReport{}, failed("shared report: sign receipt", err)
	}
	return SharedReport{
		Status: status, CertificateNumber: rec.CertificateNumber, Level: sc.Level, Degree: shown,
		ExpiresAt: sc.ExpiresAt, PolicyVersion: d.PolicyVersion, Receipt: jws, Rules: d.Fields(),
	}, nil
}

// codeRefused records a view of a code that shows nothing and says why.
func (s *Service) codeRefused(ctx context.Context, p Principal, code CodeRef, sc registry.ShareCode, now time.Time, err error) error {
	entry := registry.AuditEntry{At: now, Actor: "code:" + code.ID, Action: ActionCodeView, Purpose: PurposeSharedReport}
	var answer error
	var result string
	switch {
	case errors.Is(err, registry.ErrNotFound):
		// A guessed code: the trail keeps who guessed.
		entry.Actor = p.Actor
		answer, result = ErrCodeNotFound, "code-not-found"
	case errors.Is(err, registry.ErrCodeExpired):
		entry.RecordRef = sc.CertificateNumber
		answer, result = registry.ErrCodeExpired, "code-expired"
	case errors.Is(err, registry.ErrCodeWithdrawn):
		entry.RecordRef = sc.CertificateNumber
		answer, result = registry.ErrCodeWithdrawn, "code-withdrawn"
	default:
		return failed("shared report: view code", err)
	}
	entry.Detail = auditDetail(map[string]any{"result": result, "client": p.Actor})
	if err := s.deps.Audit.Record(ctx, entry); err != nil {
		return ErrAuditUnavailable
	}
	return answer
}

// auditDetail marshals an audit detail; its values are never personal
// data (field names, levels, ids, hashes, counts).
func auditDetail(m map[string]any) string {
	b, err := json.Marshal(m)
	if err != nil {
		return `{"detail":"unencodable"}`
	}
	return string(b)
}
