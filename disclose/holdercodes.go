package disclose

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"time"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// A holder issues share codes for their own degrees and withdraws them
// (Art. 22). Issuing opens a way for a record to leave, so it is decided
// and audited here, beside the view of a code (SharedReport).

// TooManyCodesError: the holder has as many unexpired codes as the policy
// allows.
type TooManyCodesError struct{ Max int }

func (e *TooManyCodesError) Error() string {
	return fmt.Sprintf("at most %d unexpired codes; withdraw one first", e.Max)
}

// OutOfPolicyError: the level or validity the holder chose is outside
// the policy's range.
type OutOfPolicyError struct{ Denied *policies.DeniedError }

func (e *OutOfPolicyError) Error() string { return e.Denied.Error() }
func (e *OutOfPolicyError) Unwrap() error { return e.Denied }

// CodeRequest is a holder's request for a code, as the caller read it:
// the certificate, the level ("" for the policy's default) and how long
// the code lasts (0 for the policy's default). Unreadable, when set, is
// why the caller could not read the request; it is returned once the
// policy has allowed the call at all.
type CodeRequest struct {
	CertificateNumber string
	Level             string
	ValidFor          time.Duration
	Unreadable        error
}

// IssuedCode is a new code. Code is shown this once (grouped); only its
// hash is kept.
type IssuedCode struct {
	Code              string
	ID                string
	CertificateNumber string
	Level             string
	CreatedAt         time.Time
	ExpiresAt         time.Time
	PolicyVersion     string
}

// IssueCode makes a code that shares one of the holder's degrees at a
// level the policy offers, for a validity within its bounds. The store
// counts the holder's unexpired codes and inserts in one step, so racing
// requests cannot pass the policy's bound together. Unaudited, a code
// must not work: if the trail refuses the issue, the code is taken back.
func (s *Service) IssueCode(ctx context.Context, p Principal, h Holder, r CodeRequest) (IssuedCode, error) {
	d, err := p.Decide(policies.ScopeHolderCodes, "")
	if err != nil {
		return IssuedCode{}, err
	}
	if s.deps.Codes == nil {
		return IssuedCode{}, ErrCodesUnavailable
	}
	if r.Unreadable != nil {
		return IssuedCode{}, r.Unreadable
	}
	level, validity, err := s.deps.Policy.CheckHolderCode(r.Level, r.ValidFor)
	var denied *policies.DeniedError
	if errors.As(err, &denied) {
		return IssuedCode{}, &OutOfPolicyError{denied}
	} else if err != nil {
		return IssuedCode{}, failed("issue code: policy", err)
	}
	if h.IDType == "" || h.IDNumber == "" {
		return IssuedCode{}, ErrNoIdentity
	}
	if err := s.ownsCertificate(ctx, h, r.CertificateNumber); err != nil {
		return IssuedCode{}, err
	}
	now := s.deps.Now()
	owner := s.deps.Registry.PersonIndex(h.IDType, h.IDNumber)
	maxActive := s.deps.Policy.HolderCodes().MaxActive
	var code string
	var ref CodeRef
	sc := registry.ShareCode{CertificateNumber: r.CertificateNumber, Owner: owner, Level: level,
		CreatedAt: now, ExpiresAt: now.Add(validity)}
	for attempt := 0; ; attempt++ {
		code = NewShareCode()
		ref = CodeRefOf(code)
		sc.Hash = ref.Hash
		err = s.deps.Codes.PutShareCode(ctx, sc, maxActive)
		if !errors.Is(err, registry.ErrDuplicate) || attempt == 2 {
			break
		}
	}
	if errors.Is(err, registry.ErrTooManyCodes) {
		return IssuedCode{}, &TooManyCodesError{maxActive}
	} else if err != nil {
		return IssuedCode{}, failed("issue code: store", err)
	}
	if err := s.deps.Audit.Record(ctx, holderEntry(p, d, now, ActionCodeIssue, r.CertificateNumber, map[string]any{
		"code": ref.ID, "level": level, "expires_at": sc.ExpiresAt.UTC().Format(time.RFC3339),
	})); err != nil {
		if werr := s.deps.Codes.WithdrawShareCode(ctx, sc.Hash, owner, now); werr != nil {
			s.deps.Logger.Error("issue code: withdraw unaudited code", "code_id", ref.ID, "err", werr)
		}
		return IssuedCode{}, ErrAuditUnavailable
	}
	return IssuedCode{
		Code: GroupCode(code), ID: ref.ID, CertificateNumber: r.CertificateNumber, Level: level,
		CreatedAt: sc.CreatedAt.UTC(), ExpiresAt: sc.ExpiresAt.UTC(), PolicyVersion: d.PolicyVersion,
	}, nil
}

// ownsCertificate is nil when the holder has a record with this number
// that a code may show.
func (s *Service) ownsCertificate(ctx context.Context, h Holder, number string) error {
	entries, err := s.deps.Registry.ByPerson(ctx, h.IDType, h.IDNumber)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return failed("issue code: lookup", err)
	}
	for _, e := range entries {
		if e.Record.CertificateNumber == number {
			if _, ok := shownStatus(e.Record.Status); ok {
				return nil
			}
		}
	}
	return ErrNotYourCertificate
}

// CodeName is how a holder names a code to withdraw: the code itself (its
// CodeRef) or its id, as the degree listing shows it. Unreadable, when
// set, is why the caller could not read the name.
type CodeName struct {
	Code       *CodeRef
	ID         string
	Unreadable error
}

// WithdrawCode withdraws a code the holder issued. Unknown codes and
// someone else's answer ErrCodeNotFound alike; withdrawing twice succeeds.
// The withdrawal is audited first: if the trail refuses, nothing changes
// and the holder may simply retry.
func (s *Service) WithdrawCode(ctx context.Context, p Principal, h Holder, name CodeName) error {
	d, err := p.Decide(policies.ScopeHolderCodes, "")
	if err != nil {
		return err
	}
	if s.deps.Codes == nil {
		return ErrCodesUnavailable
	}
	if h.IDType == "" || h.IDNumber == "" {
		return ErrNoIdentity
	}
	if name.Unreadable != nil {
		return name.Unreadable
	}
	owner := s.deps.Registry.PersonIndex(h.IDType, h.IDNumber)
	sc, found, err := s.findCode(ctx, owner, name)
	if err != nil {
		return err
	}
	if !found {
		return ErrCodeNotFound
	}
	now := s.deps.Now()
	if err := s.deps.Audit.Record(ctx, holderEntry(p, d, now, ActionCodeWithdraw, sc.CertificateNumber,
		map[string]any{"code": CodeID(sc.Hash)})); err != nil {
		return ErrAuditUnavailable
	}
	err = s.deps.Codes.WithdrawShareCode(ctx, sc.Hash, owner, now)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return ErrCodeNotFound
	case err != nil:
		return failed("withdraw code", err)
	}
	return nil
}

// findCode finds the owner's code by name.
func (s *Service) findCode(ctx context.Context, owner []byte, name CodeName) (registry.ShareCode, bool, error) {
	if name.Code != nil {
		sc, err := s.deps.Codes.ShareCode(ctx, name.Code.Hash)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			return sc, false, nil
		case err != nil:
			return sc, false, failed("withdraw code", err)
		}
		return sc, hmac.Equal(sc.Owner, owner), nil
	}
	codes, err := s.deps.Codes.ShareCodesOf(ctx, owner)
	if err != nil {
		return registry.ShareCode{}, false, failed("withdraw code: list", err)
	}
	for _, x := range codes {
		if CodeID(x.Hash) == name.ID {
			return x, true, nil
		}
	}
	return registry.ShareCode{}, false, nil
}
