package disclose

import (
	"context"
	"encoding/base64"
	"errors"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// PublicQuery is a public verification: a certificate number (trimmed and
// upper-cased, of a shape CheckCertificateNumber accepts) and a name
// (registry.NormalizeName'd).
type PublicQuery struct {
	CertificateNumber string
	Name              string
}

// PublicAnswer is what Public found. Degree (shown, encoded) and Receipt
// are in the Scratch Public was given: copy them before it is reused.
type PublicAnswer struct {
	Match   bool
	Status  string // "valid" or "revoked", for a match
	Shown   []policies.Shown
	Degree  []byte
	Receipt []byte
}

// AppendJSON is the answer's body: the object json.Marshal writes for
// DESIGN.md's {result, status, degree, receipt} (TestHandEncodedBodies).
func (a *PublicAnswer) AppendJSON(dst []byte) []byte {
	if !a.Match {
		return append(dst, `{"result":"no_match"}`...)
	}
	dst = append(dst, `{"result":"match"`...)
	dst = appendField(dst, "status", a.Status)
	if len(a.Shown) > 0 {
		dst = append(dst, `,"degree":`...)
		dst = append(dst, a.Degree...)
	}
	dst = append(dst, `,"receipt":"`...)
	dst = append(dst, a.Receipt...) // base64url and dots: nothing to escape
	return append(dst, `"}`...)
}

// Scratch is one public verification's working memory, for a pool: a
// match encodes its disclosure, the receipt payload, the receipt and the
// answer, about 3 KB a request, and collecting that garbage was a tenth
// of the route's CPU (BenchmarkPublicVerify in gateway/verify_bench_test.go).
type Scratch struct {
	// ver is the version looked up, read in place. Kept here because
	// its record would otherwise move to the heap on every match:
	// recordfile reads fields through a table of accessors, which escape
	// analysis cannot follow.
	ver     registry.Version
	shown   [24]policies.Shown
	degree  []byte
	payload []byte
	receipt []byte
	// Body is the caller's, for encoding the answer.
	Body []byte
}

// maxPooledScratch bounds what Reset keeps, so that one odd record
// cannot pin large buffers for good.
const maxPooledScratch = 64 << 10

// Reset empties the scratch for reuse: no personal data waits in a pool
// for the next request.
func (sc *Scratch) Reset() {
	sc.ver = registry.Version{}
	clear(sc.shown[:])
	for _, b := range []*[]byte{&sc.degree, &sc.payload, &sc.receipt, &sc.Body} {
		clear(*b)
		*b = (*b)[:0]
		if cap(*b) > maxPooledScratch {
			*b = nil
		}
	}
}

// receipt is what a receipt signs: exactly what was shown, and when.
type receipt struct {
	Issuer            string              `json:"iss"`
	ID                string              `json:"jti"`
	IssuedAt          int64               `json:"iat"`
	Result            string              `json:"result"`
	Status            string              `json:"status"`
	CertificateNumber string              `json:"certificate_number"`
	Degree            policies.Disclosure `json:"degree"`
	PolicyVersion     string              `json:"policy_version"`
	// Log names the leaf of the transparency log that the disclosure's
	// audit entry became; absent without a log.
	Log *receiptLog `json:"log,omitempty"`
}

// receiptLog is where a receipt's audit entry is in the log: the log's
// origin (its checkpoints' first line), the leaf index, and the leaf
// hash (RFC 9162, standard base64), which an inclusion proof from
// GET /v1/log/proof/inclusion shows the log holds.
type receiptLog struct {
	Origin    string `json:"origin"`
	LeafIndex int64  `json:"leaf_index"`
	LeafHash  string `json:"leaf_hash"`
}

func newReceiptLog(origin string, ref registry.LogRef) *receiptLog {
	return &receiptLog{Origin: origin, LeafIndex: ref.Index, LeafHash: base64.StdEncoding.EncodeToString(ref.LeafHash[:])}
}

// appendJSON is the receipt's payload with degree (r.Degree encoded) in
// its place: the same object json.Marshal(r) writes, without reflection.
func (r *receipt) appendJSON(dst, degree []byte) []byte {
	dst = append(dst, '{')
	dst = appendField(dst, "iss", r.Issuer)
	dst = appendField(dst, "jti", r.ID)
	dst = appendInt(dst, "iat", r.IssuedAt)
	dst = appendField(dst, "result", r.Result)
	dst = appendField(dst, "status", r.Status)
	dst = appendField(dst, "certificate_number", r.CertificateNumber)
	dst = append(dst, `,"degree":`...)
	dst = append(dst, degree...)
	dst = appendField(dst, "policy_version", r.PolicyVersion)
	if r.Log != nil {
		dst = append(dst, `,"log":{`...)
		dst = appendField(dst, "origin", r.Log.Origin)
		dst = appendInt(dst, "leaf_index", r.Log.LeafIndex)
		dst = appendField(dst, "leaf_hash", r.Log.LeafHash)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// decoyName is compared against when a number is unknown, so that an
// unknown number and a wrong name cost the same work.
const decoyName = "\x00no such certificate\x00"

// Public is public verification, for the API and the web page alike. An
// unknown number and a wrong name get the same answer after the same
// work, so it tells nobody which certificate numbers exist. A match shows
// what the policy's public decision allows, with a signed receipt of
// exactly that; either answer is on the trail before it is returned. The
// answer's bytes are in sc.
func (s *Service) Public(ctx context.Context, p Principal, q PublicQuery, sc *Scratch) (PublicAnswer, error) {
	d, err := p.Decide(policies.ScopeVerify, "")
	if err != nil {
		return PublicAnswer{}, err
	}
	sc.ver, err = s.deps.Registry.Current(ctx, q.CertificateNumber)
	found := err == nil
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return PublicAnswer{}, failed("public verify: lookup", err)
	}
	stored := decoyName
	if found {
		stored = sc.ver.Record.Name
	}
	match := nameMatches(q.Name, stored, found) && answerable(sc.ver.Record.Status)

	now := s.deps.Now()
	entry := registry.AuditEntry{
		At: now, Actor: p.Actor, Action: ActionPublicVerify,
		RecordRef: q.CertificateNumber, Purpose: PurposePublic,
	}
	if !match {
		entry.Detail = `{"result":"no_match"}`
		if err := s.deps.Audit.Record(ctx, entry); err != nil {
			return PublicAnswer{}, ErrAuditUnavailable
		}
		return PublicAnswer{}, nil
	}

	rec := &sc.ver.Record
	shown, err := d.AppendApplied(sc.shown[:0], func(name string) (string, bool) { return disclosedValue(rec, name) }, policies.ApplyOptions{})
	if err != nil {
		return PublicAnswer{}, failed("public verify: apply policy", err)
	}
	status, _ := shownStatus(rec.Status)
	// The degree is encoded once, for the receipt and for the answer.
	sc.degree = appendShown(sc.degree[:0], shown)
	rc := receipt{
		Issuer: "degreegate", ID: NewID(), IssuedAt: now.Unix(), Result: ResultMatch, Status: status,
		CertificateNumber: q.CertificateNumber, PolicyVersion: d.PolicyVersion,
	}
	detail := make([]byte, 0, 256)
	detail = append(detail, `{"result":"match","fields":`...)
	detail = appendFieldNames(detail, shown)
	detail = appendField(detail, "receipt", rc.ID)
	detail = appendField(detail, "policy_version", rc.PolicyVersion)
	entry.Detail = string(append(detail, '}'))
	// Audited before anything is shown: no trail, no data.
	if rc.Log, err = s.record(ctx, entry); err != nil {
		return PublicAnswer{}, ErrAuditUnavailable
	}
	sc.payload = rc.appendJSON(sc.payload[:0], sc.degree)
	sc.receipt = s.deps.Receipts.AppendJWS(sc.receipt[:0], sc.payload)
	return PublicAnswer{Match: true, Status: status, Shown: shown, Degree: sc.degree, Receipt: sc.receipt}, nil
}
