package disclose

import (
	"context"
	"errors"
	"time"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// Holder is a degree holder as their token names them: the identity
// document that finds their records. Personal data: it goes to the
// registry and nowhere else.
type Holder struct {
	IDType   registry.IDType
	IDNumber string
}

// HolderDegree is one of a holder's records as the holder policy shows it,
// with the holder's share codes for it (newest first).
type HolderDegree struct {
	CertificateNumber string
	Status            string
	Version           int
	Degree            policies.Disclosure
	Codes             []registry.ShareCode
}

// HolderDegrees are a holder's records under one policy decision.
type HolderDegrees struct {
	Degrees       []HolderDegree
	PolicyVersion string
}

// holderEntry is an audit entry of a holder's own action: who (p.Actor
// and organisation), what, the legal basis and policy version.
func holderEntry(p Principal, d policies.Decision, at time.Time, action, ref string, detail map[string]any) registry.AuditEntry {
	detail["org"] = p.Org
	detail["legal_basis"] = d.LegalBasis
	detail["policy_version"] = d.PolicyVersion
	return registry.AuditEntry{At: at, Actor: p.Actor, Action: action, RecordRef: ref, Purpose: PurposeHolderSelf, Detail: auditDetail(detail)}
}

// HolderDegrees shows a holder their own records (Art. 22) as the
// holder_read decision allows, each on the trail before any is returned;
// a look-up that finds nothing is on the trail too.
func (s *Service) HolderDegrees(ctx context.Context, p Principal, h Holder) (HolderDegrees, error) {
	d, err := p.Decide(policies.ScopeHolderRead, "")
	if err != nil {
		return HolderDegrees{}, err
	}
	if h.IDType == "" || h.IDNumber == "" {
		return HolderDegrees{}, ErrNoIdentity
	}
	entries, err := s.deps.Registry.ByPerson(ctx, h.IDType, h.IDNumber)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return HolderDegrees{}, failed("holder degrees: lookup", err)
	}
	var codes []registry.ShareCode
	if s.deps.Codes != nil {
		if codes, err = s.deps.Codes.ShareCodesOf(ctx, s.deps.Registry.PersonIndex(h.IDType, h.IDNumber)); err != nil {
			return HolderDegrees{}, failed("holder degrees: codes", err)
		}
	}
	now := s.deps.Now()
	out := HolderDegrees{Degrees: make([]HolderDegree, 0, len(entries)), PolicyVersion: d.PolicyVersion}
	audit := make([]registry.AuditEntry, 0, max(1, len(entries)))
	for _, e := range entries {
		rec := e.Record
		shown, err := apply(d, &rec)
		if err != nil {
			return HolderDegrees{}, failed("holder degrees: apply policy", err)
		}
		status, _ := shownStatus(rec.Status)
		hd := HolderDegree{CertificateNumber: rec.CertificateNumber, Status: status, Version: e.Version, Degree: shown}
		for _, sc := range codes {
			if sc.CertificateNumber == rec.CertificateNumber {
				hd.Codes = append(hd.Codes, sc)
			}
		}
		out.Degrees = append(out.Degrees, hd)
		audit = append(audit, holderEntry(p, d, now, ActionHolderRead, rec.CertificateNumber, map[string]any{"fields": shown.Fields()}))
	}
	if len(entries) == 0 {
		// The look-up itself is an access worth recording.
		audit = append(audit, holderEntry(p, d, now, ActionHolderRead, "", map[string]any{"records": 0}))
	}
	// All or none: a holder is shown every record or none of them.
	if err := s.deps.Audit.RecordBatch(ctx, audit); err != nil {
		return HolderDegrees{}, ErrAuditUnavailable
	}
	return out, nil
}
