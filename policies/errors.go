package policies

import (
	"errors"
	"fmt"
)

// Sentinels for what Decide and the rule checks refuse. Every refusal is a
// *DeniedError wrapping one of them, so callers test with errors.Is and
// map each to a problem type (the gateway answers 403, or 400 for a batch
// that is too large).
var (
	ErrUnknownAudience = errors.New("unknown audience")
	// ErrUnknownScope: the token carries a scope the package does not
	// know. Refused rather than ignored, so a mistyped or forged scope is
	// noticed.
	ErrUnknownScope = errors.New("unknown scope")
	// ErrScopeDenied: the operation's scope is missing from the token, or
	// the policy does not grant it to the audience.
	ErrScopeDenied = errors.New("scope denied")
	// ErrOrgDenied: the caller's organisation may not act as this
	// audience (e.g. a company on the agency interface, Art. 20).
	ErrOrgDenied = errors.New("organisation denied")
	// ErrPurposeRequired: the scope needs a declared purpose.
	ErrPurposeRequired = errors.New("purpose required")
	// ErrPurposeRejected: the purpose is unknown, not accepted for this
	// audience and scope, or not for this organisation.
	ErrPurposeRejected = errors.New("purpose rejected")
	// ErrPurposeForbidden: the purpose is forbidden outright (commercial
	// use, Art. 24).
	ErrPurposeForbidden = errors.New("purpose forbidden")
	// ErrLevelRejected: a detail level that the scope does not offer.
	ErrLevelRejected = errors.New("detail level rejected")
	// ErrBatchTooLarge: more items than the policy's batch limit.
	ErrBatchTooLarge = errors.New("batch too large")
	// ErrValidity: a holder code validity outside the policy's bounds.
	ErrValidity = errors.New("validity out of bounds")
	// ErrDatasetRule: a dataset request breaks a dataset rule (a field,
	// k, l, term or suppression the policy does not allow).
	ErrDatasetRule = errors.New("dataset rule")
	// ErrHashKey: MaskKeyedHash without a key of MinHashKeyLen bytes. A
	// server configuration error, not the caller's.
	ErrHashKey = errors.New("keyed hash needs a key of at least 16 bytes")
)

// DeniedError is a refusal, carrying what the gateway needs to answer and
// audit it. Its message names scopes, purposes, audiences and levels —
// never a value from a record or an identity claim.
type DeniedError struct {
	Err           error  // one of the sentinels above
	PolicyVersion string // the policy that decided
	Audience      Audience
	Scope         Scope
	Detail        string // what exactly, for people
}

func (e *DeniedError) Error() string {
	s := "policy " + e.PolicyVersion + ": " + e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *DeniedError) Unwrap() error { return e.Err }

// Code is a stable slug for the refusal, e.g. "scope-denied", suitable for
// a problem type URI.
func (e *DeniedError) Code() string {
	switch e.Err {
	case ErrUnknownAudience:
		return "unknown-audience"
	case ErrUnknownScope:
		return "unknown-scope"
	case ErrScopeDenied:
		return "scope-denied"
	case ErrOrgDenied:
		return "org-denied"
	case ErrPurposeRequired:
		return "purpose-required"
	case ErrPurposeRejected:
		return "purpose-rejected"
	case ErrPurposeForbidden:
		return "purpose-forbidden"
	case ErrLevelRejected:
		return "level-rejected"
	case ErrBatchTooLarge:
		return "batch-too-large"
	case ErrValidity:
		return "validity-out-of-bounds"
	case ErrDatasetRule:
		return "dataset-rule"
	}
	return "denied"
}

func (p *Policy) deny(err error, a Audience, s Scope, format string, args ...any) *DeniedError {
	return &DeniedError{Err: err, PolicyVersion: p.version, Audience: a, Scope: s, Detail: fmt.Sprintf(format, args...)}
}

// Error is a policy document that cannot be loaded: the first problem
// found, with the path of the offending element in the document.
type Error struct {
	File string // set by Load
	Path string // e.g. audiences.agency.scopes["degree.verify"].fields.id_number
	Msg  string
}

func (e *Error) Error() string {
	s := "policy"
	if e.File != "" {
		s += " " + e.File
	}
	if e.Path != "" {
		s += ": " + e.Path
	}
	return s + ": " + e.Msg
}

// named refers to a caller-supplied name in a refusal: quoted when the
// policy knows it, else only as "an unknown …", so that whatever a caller
// puts in a purpose, level or scope (an ID number, say) never reaches a
// message or a log line.
func named(kind, s string, known bool) string {
	if known {
		return kind + " " + quoteName(s)
	}
	return "an unknown " + kind
}

// quoteName quotes a caller- or file-supplied name for a message, cut short
// so a hostile token or file cannot flood logs through it.
func quoteName(s string) string {
	const max = 64
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
