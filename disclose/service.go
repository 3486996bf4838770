// Package disclose is the one place where data about a person or a
// record leaves the registry. Each way it leaves is one method of
// Service: Public (public verification); IssueCode, SharedReport and
// WithdrawCode (a holder's share codes); HolderDegrees and AccessLog (a
// holder's own records, and who looked at them); Agency (the
// data-sharing interface); OfficeAudit (officials reading the trail).
// Each runs the same sequence: look up, match, ask the policy, apply it,
// put the access on the audit trail, and only then return the answer
// (signed, where it carries a receipt).
//
// Callers — the HTTP handlers and the web page — translate requests in
// and answers out; they decide nothing. Rate limits, token checks and
// the daily quota stay with the caller, which passes the last two in as
// guards that the service calls at the point of the sequence where they
// belong.
package disclose

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"net/netip"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordfile"
)

// Auditor puts entries on the trail and returns nil only once they are
// stored (in serve, committed in PostgreSQL): every answer waits for it,
// and on any error nothing is disclosed. *registry.AuditWriter (group
// commit) and registry.DirectAudit are Auditors. RecordBatch stores a
// request's entries all or none.
type Auditor interface {
	Record(context.Context, registry.AuditEntry) error
	RecordBatch(context.Context, []registry.AuditEntry) error
}

// LeafAuditor is an Auditor that says which leaf of the transparency
// log an entry became (both of registry's do); receipts then name it.
type LeafAuditor interface {
	RecordLogged(context.Context, registry.AuditEntry) (registry.LogRef, error)
}

// Signer signs receipts as compact JWS; *token.Signer is one.
type Signer interface {
	// AppendJWS appends the JWS over payload (JSON) to dst.
	AppendJWS(dst, payload []byte) []byte
	// Sign marshals payload to JSON and signs it.
	Sign(payload any) (string, error)
}

// Deps are what the service needs.
type Deps struct {
	Registry *registry.Registry
	Audit    Auditor
	Receipts Signer
	// Codes keeps share codes; nil leaves SharedReport answering
	// ErrCodesUnavailable and HolderDegrees listing no codes.
	Codes registry.ShareCodeStore
	// AuditSearch reads the trail for holders' access logs; nil leaves
	// AccessLog answering ErrAccessLogUnavailable.
	AuditSearch registry.AuditSearcher
	// Policy describes purposes and share-code levels; decisions come
	// through each caller's Principal.
	Policy *policies.Policy
	Logger *slog.Logger
	// ActorKey keys the hashes that stand for a public caller's address
	// and a holder's identity in the trail; at least 16 bytes.
	ActorKey []byte
	Now      func() time.Time
	// LogOrigin is the transparency log's name; with it, and an Audit
	// that is a LeafAuditor, receipts name the leaf of their entry.
	LogOrigin string
	// Proofs proves entries are in the log, for the holder's access log;
	// nil: entries come without proofs.
	Proofs Prover
}

// Prover proves that a leaf is in a signed tree of the log (size 0: the
// newest checkpoint's); *registry.Checkpointer is one.
type Prover interface {
	ProveInclusion(ctx context.Context, index, size int64) (registry.InclusionProof, error)
}

// Service discloses records, each way under its policy decision and
// after its audit entry.
type Service struct {
	deps Deps
	// macs holds HMAC states keyed with ActorKey: every public request
	// hashes its address, and a fresh HMAC allocates twice
	// (BenchmarkPublicVerify in gateway/verify_bench_test.go).
	macs sync.Pool
	// logged is deps.Audit when receipts name their leaf, else nil.
	logged LeafAuditor
}

// New builds the service.
func New(d Deps) (*Service, error) {
	switch {
	case d.Registry == nil, d.Audit == nil, d.Receipts == nil, d.Policy == nil:
		return nil, errors.New("disclose: registry, audit, receipt signer and policy are required")
	case len(d.ActorKey) < 16:
		return nil, errors.New("disclose: actor key must be at least 16 bytes")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{deps: d}
	if la, ok := d.Audit.(LeafAuditor); ok && d.LogOrigin != "" {
		s.logged = la
	}
	s.macs.New = func() any {
		return &actorMAC{mac: hmac.New(sha256.New, d.ActorKey), in: make([]byte, 0, 16+32), sum: make([]byte, 0, sha256.Size)}
	}
	return s, nil
}

// Principal is who asks and under which policy: the caller's name in the
// trail, its organisation, and how to ask the policy about it.
type Principal struct {
	// Actor names the caller in the audit trail; never personal data
	// (PublicActor, HolderActor, or an organisation and officer).
	Actor string
	// Org is the caller's organisation; "" for the public.
	Org string
	// Decide asks the policy what this caller may do in scope, for its
	// declared purpose (and at a share code's level, where one applies).
	// Its refusals are returned to the caller as they came.
	Decide func(scope policies.Scope, level string) (policies.Decision, error)
}

// Errors the service answers with; the caller maps each to its answer.
var (
	// ErrAuditUnavailable: the trail refused the entry, so nothing is shown.
	ErrAuditUnavailable = errors.New("disclose: audit trail unavailable")
	// ErrCodesUnavailable: no share-code store is configured.
	ErrCodesUnavailable = errors.New("disclose: share codes unavailable")
	// ErrAccessLogUnavailable, ErrAuditSearchUnavailable: the trail
	// cannot be searched here (holders' access logs, officials' reads).
	ErrAccessLogUnavailable   = errors.New("disclose: access log unavailable")
	ErrAuditSearchUnavailable = errors.New("disclose: audit search unavailable")
	// ErrCodeNotFound: no such share code, or its record is in a state no
	// code may show; expired and withdrawn codes answer
	// registry.ErrCodeExpired and registry.ErrCodeWithdrawn.
	ErrCodeNotFound = errors.New("disclose: no such share code")
	// ErrNotYourCertificate: none of the holder's degrees that a code may
	// show has this number — one answer for a number that does not exist
	// and for someone else's, so no holder can probe either.
	ErrNotYourCertificate = errors.New("disclose: none of the holder's degrees has this certificate number")
	// ErrNoIdentity: the holder's token names no identity document.
	ErrNoIdentity = errors.New("disclose: the holder's identity document is missing")
)

// InvalidError lists each bad field of a request and why, naming fields
// and rules, never values.
type InvalidError struct{ Fields map[string]string }

func (e *InvalidError) Error() string { return "disclose: invalid request" }

// BatchError is the policy refusing a batch for its size.
type BatchError struct{ Denied *policies.DeniedError }

func (e *BatchError) Error() string { return e.Denied.Error() }
func (e *BatchError) Unwrap() error { return e.Denied }

// Results of a verification.
const (
	ResultMatch   = "match"
	ResultNoMatch = "no_match"
	ResultInvalid = "invalid"
)

// answerable: only filed and revoked records are answered; states the
// filing workflow will add (submitted, returned …) are not yet the
// registry's word.
func answerable(st registry.Status) bool {
	_, ok := shownStatus(st)
	return ok
}

// shownStatus is a record's status as verification shows it; ok is false for
// a status that is neither filed nor revoked.
func shownStatus(st registry.Status) (string, bool) {
	switch st {
	case registry.StatusFiled:
		return "valid", true
	case registry.StatusRevoked:
		return "revoked", true
	}
	return string(st), false
}

// apply masks a record for a decision.
func apply(d policies.Decision, rec *registry.Record) (policies.Disclosure, error) {
	return d.Apply(func(name string) (string, bool) { return disclosedValue(rec, name) }, policies.ApplyOptions{})
}

// disclosedValue is a record's field as answers give it: as import files
// write it, but for the status, which answers name in one vocabulary,
// "valid" or "revoked", wherever it appears.
func disclosedValue(rec *registry.Record, name string) (string, bool) {
	if name == "status" {
		s, _ := shownStatus(rec.Status)
		return s, s != ""
	}
	return recordfile.Value(rec, name)
}

// PublicActor is how a public caller appears in the audit trail: a keyed
// hash of its address, so the trail can link one caller's requests
// without holding the address.
func (s *Service) PublicActor(a netip.Addr) string {
	m := s.macs.Get().(*actorMAC)
	m.mac.Reset()
	// Buffers live in the pooled state: passed to the hash interface,
	// local arrays would move to the heap on every call.
	m.in, _ = a.AppendBinary(m.in[:0])
	m.mac.Write(m.in)
	m.sum = m.mac.Sum(m.sum[:0])
	var out [len("public:") + 16]byte
	copy(out[:], "public:")
	b32.Encode(out[len("public:"):], m.sum[:10])
	// Like the verification scratch, the state goes back holding no
	// caller's address.
	clear(m.in)
	s.macs.Put(m)
	return string(out[:])
}

// HolderActor is how a holder appears in the trail and in limiter keys:
// a keyed hash of the token's issuer and subject, since a real-name
// provider's subject may itself identify the person.
func (s *Service) HolderActor(issuer, subject string) string {
	m := hmac.New(sha256.New, s.deps.ActorKey)
	m.Write([]byte("holder\x00"))
	m.Write([]byte(issuer))
	m.Write([]byte{0})
	m.Write([]byte(subject))
	return "holder:" + b32.EncodeToString(m.Sum(nil)[:10])
}

// actorMAC is an HMAC keyed with Deps.ActorKey and its buffers.
type actorMAC struct {
	mac hash.Hash
	in  []byte // the address in binary form, with room for a zone
	sum []byte
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID is a 128-bit random identifier: receipts, requests.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return b32.EncodeToString(b[:])
}

// CheckCertificateNumber says why s is not a certificate number of a
// shape the registry accepts (16 digits, or an older certificate's 6 to
// 17 letters and digits), or "". s is already upper-cased and trimmed.
func CheckCertificateNumber(s string) string {
	if s == "" {
		return "required"
	}
	if len(s) < 6 || len(s) > 17 {
		return "want 16 digits (older certificates: 6 to 17 letters and digits)"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return "want 16 digits (older certificates: 6 to 17 letters and digits)"
		}
	}
	return ""
}

// CheckText says why s is not a usable text of at most maxRunes
// characters, or "": required, UTF-8, no control characters.
func CheckText(s string, maxRunes int) string {
	switch {
	case s == "":
		return "required"
	case !utf8.ValidString(s):
		return "not UTF-8"
	case utf8.RuneCountInString(s) > maxRunes:
		return fmt.Sprintf("longer than %d characters", maxRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return "holds a control character"
		}
	}
	return ""
}

// failed wraps an internal failure (a store, the policy, the signer) for
// the caller's log; the caller answers it as an internal error.
func failed(what string, err error) error { return fmt.Errorf("disclose: %s: %w", what, err) }

// record stores a disclosure's entry and returns where the log holds
// it, for its receipt (nil without a log).
func (s *Service) record(ctx context.Context, e registry.AuditEntry) (*receiptLog, error) {
	if s.logged == nil {
		return nil, s.deps.Audit.Record(ctx, e)
	}
	ref, err := s.logged.RecordLogged(ctx, e)
	if err != nil {
		return nil, err
	}
	return newReceiptLog(s.deps.LogOrigin, ref), nil
}
