package disclose

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// The holder's access log: who looked at the holder's records, when and
// for what purpose, read from the audit trail (Art. 15, 22).

// AccessLogPage is one page of a holder's access log.
type AccessLogPage struct {
	Entries []AccessEntry `json:"entries"`
	// NextAfter is the cursor of the next page (?after=); absent on the
	// last page.
	NextAfter     int64  `json:"next_after,omitempty"`
	PolicyVersion string `json:"policy_version"`
}

// AccessEntry is one access to one of the holder's records, in plain
// words: who (never an address or a person), when, for what purpose.
type AccessEntry struct {
	Seq               int64          `json:"seq"`
	At                time.Time      `json:"at"`
	CertificateNumber string         `json:"certificate_number"`
	Who               AccessWho      `json:"who"`
	Purpose           *AccessPurpose `json:"purpose,omitempty"`
	Result            string         `json:"result,omitempty"`
	Fields            []string       `json:"fields,omitempty"`
	Summary           policies.Text  `json:"summary"`
	// Log proves that the transparency log holds the entry, against the
	// newest checkpoint (GET /v1/log/checkpoint); absent without a log,
	// and for an entry newer than that checkpoint.
	Log *LogProof `json:"log,omitempty"`
}

// LogProof is an RFC 9162 inclusion proof of a leaf, hashes in standard
// base64: as GET /v1/log/proof/inclusion answers it, and as the access
// log carries it.
type LogProof struct {
	LeafIndex int64    `json:"leaf_index"`
	TreeSize  int64    `json:"tree_size"`
	LeafHash  string   `json:"leaf_hash"`
	Proof     []string `json:"inclusion_path"`
}

// NewLogProof encodes p.
func NewLogProof(p registry.InclusionProof) *LogProof {
	proof := make([]string, len(p.Proof))
	for k, h := range p.Proof {
		proof[k] = base64.StdEncoding.EncodeToString(h[:])
	}
	return &LogProof{LeafIndex: p.Index, TreeSize: p.Size, LeafHash: base64.StdEncoding.EncodeToString(p.LeafHash[:]), Proof: proof}
}

type AccessWho struct {
	Kind        string        `json:"kind"` // public | agency | code
	Org         string        `json:"org,omitempty"`
	CodeID      string        `json:"code_id,omitempty"`
	Description policies.Text `json:"description"`
}

type AccessPurpose struct {
	ID          string        `json:"id"`
	LegalBasis  string        `json:"legal_basis,omitempty"`
	Description policies.Text `json:"description"`
}

// AccessQuery is the page a holder asks for: entries after the sequence
// number After, at most Limit of them. Errors, when the caller could not
// read the page it was asked for, name the bad parameters.
type AccessQuery struct {
	After  int64
	Limit  int
	Errors map[string]string
}

// AccessLog shows a holder who looked at their records (public and agency
// verifications, share-code views), in plain words, never naming a person
// or an address. The reading itself goes on the trail before the page is
// returned.
func (s *Service) AccessLog(ctx context.Context, p Principal, h Holder, q AccessQuery) (AccessLogPage, error) {
	d, err := p.Decide(policies.ScopeHolderRead, "")
	if err != nil {
		return AccessLogPage{}, err
	}
	if s.deps.AuditSearch == nil {
		return AccessLogPage{}, ErrAccessLogUnavailable
	}
	if q.Errors != nil {
		return AccessLogPage{}, &InvalidError{q.Errors}
	}
	if h.IDType == "" || h.IDNumber == "" {
		return AccessLogPage{}, ErrNoIdentity
	}
	entries, err := s.deps.Registry.ByPerson(ctx, h.IDType, h.IDNumber)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return AccessLogPage{}, failed("access log: lookup", err)
	}
	page := AccessLogPage{Entries: []AccessEntry{}, PolicyVersion: d.PolicyVersion}
	refs := make([]string, 0, len(entries))
	for _, e := range entries {
		refs = append(refs, e.Record.CertificateNumber)
	}
	if err := s.deps.Audit.Record(ctx, holderEntry(p, d, s.deps.Now(), ActionHolderLog, "", map[string]any{"records": len(refs)})); err != nil {
		return AccessLogPage{}, ErrAuditUnavailable
	}
	if len(refs) == 0 {
		// No records, no accesses: and an empty RecordRefs would match
		// everybody's.
		return page, nil
	}
	found, err := s.deps.AuditSearch.SearchAudit(ctx, registry.AuditQuery{
		RecordRefs: refs, Actions: []string{ActionPublicVerify, ActionAgencyVerify, ActionCodeView},
		AfterSeq: q.After, Limit: q.Limit,
	})
	if err != nil {
		return AccessLogPage{}, failed("access log: search", err)
	}
	codes := map[string]registry.ShareCode{}
	if s.deps.Codes != nil {
		mine, err := s.deps.Codes.ShareCodesOf(ctx, s.deps.Registry.PersonIndex(h.IDType, h.IDNumber))
		if err != nil {
			return AccessLogPage{}, failed("access log: codes", err)
		}
		for _, sc := range mine {
			codes[CodeID(sc.Hash)] = sc
		}
	}
	for _, e := range found {
		// SearchAudit promises only matches; a second check costs
		// nothing and keeps another holder's entry out whatever a store
		// does.
		if !slices.Contains(refs, e.RecordRef) {
			continue
		}
		page.Entries = append(page.Entries, s.describeAccess(e, codes))
	}
	if len(found) == q.Limit {
		page.NextAfter = found[len(found)-1].Seq
	}
	if err := s.prove(ctx, page.Entries); err != nil {
		return AccessLogPage{}, err
	}
	return page, nil
}

// prove attaches to each entry the proof that the log holds it, all
// against one tree: the newest checkpoint's when the first is proved.
func (s *Service) prove(ctx context.Context, entries []AccessEntry) error {
	if s.deps.Proofs == nil {
		return nil
	}
	var size int64 // 0: the newest checkpoint's
	for i := range entries {
		p, err := s.deps.Proofs.ProveInclusion(ctx, entries[i].Seq-1, size)
		switch {
		case errors.Is(err, registry.ErrNoCheckpoint), errors.Is(err, registry.ErrLogRange):
			continue // newer than the newest checkpoint: proved in a second
		case err != nil:
			return failed("access log: proof", err)
		}
		size = p.Size
		entries[i].Log = NewLogProof(p)
	}
	return nil
}

// describeAccess puts one audit entry in plain words. It reads only the
// entry's action, actor kind, purpose and the non-personal detail keys
// (result, fields, level); never the client hash or a subject.
func (s *Service) describeAccess(e registry.AuditEntry, codes map[string]registry.ShareCode) AccessEntry {
	var detail struct {
		Result string   `json:"result"`
		Fields []string `json:"fields"`
		Level  string   `json:"level"`
	}
	_ = json.Unmarshal([]byte(e.Detail), &detail) // a detail we cannot read just says less
	out := AccessEntry{Seq: e.Seq, At: e.At.UTC().Truncate(time.Millisecond), CertificateNumber: e.RecordRef, Result: detail.Result, Fields: detail.Fields}
	var what policies.Text
	switch e.Action {
	case ActionPublicVerify:
		out.Who = AccessWho{Kind: "public", Description: policies.Text{ZH: "一位公众查询者（地址不予显示）", EN: "a member of the public (address withheld)"}}
		if detail.Result == "match" {
			what = policies.Text{ZH: "核验了您的证书，姓名与证书相符，看到的是部分隐藏的信息", EN: "checked your certificate; the name matched and they saw masked details"}
		} else {
			what = policies.Text{ZH: "用您的证书编号查询，但所填姓名不符，未看到任何信息", EN: "tried your certificate number with a name that did not match, and saw nothing"}
		}
	case ActionAgencyVerify:
		org := accessLogOrg(e.Actor)
		out.Who = AccessWho{Kind: "agency", Org: org, Description: policies.Text{ZH: "机构 " + org, EN: "the organisation " + org}}
		if p, ok := s.deps.Policy.Purpose(e.Purpose); ok {
			out.Purpose = &AccessPurpose{ID: p.ID, LegalBasis: p.LegalBasis, Description: p.Description}
			what = policies.Text{ZH: "依职责核验了您的学位，用途：" + p.Description.ZH, EN: "verified your degree for: " + p.Description.EN}
		} else if e.Purpose != "" {
			out.Purpose = &AccessPurpose{ID: e.Purpose}
			what = policies.Text{ZH: "依职责核验了您的学位，用途：" + e.Purpose, EN: "verified your degree for: " + e.Purpose}
		} else {
			what = policies.Text{ZH: "核验了您的学位", EN: "verified your degree"}
		}
	case ActionCodeView:
		id := strings.TrimPrefix(e.Actor, "code:")
		out.Who = AccessWho{Kind: "code", Description: policies.Text{ZH: "您分享过验证码的人", EN: "someone you gave a code to"}}
		if sc, ok := codes[id]; ok {
			out.Who.CodeID = id
			out.Who.Description.ZH += fmt.Sprintf("（验证码签发于 %s）", sc.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
			out.Who.Description.EN += fmt.Sprintf(" (code issued %s)", sc.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
		}
		out.Purpose = &AccessPurpose{ID: PurposeSharedReport, LegalBasis: "Art. 22",
			Description: policies.Text{ZH: "查看您通过验证码分享的报告", EN: "viewing the report you shared through a code"}}
		switch detail.Result {
		case "shown":
			what = policies.Text{ZH: "查看了您分享的报告", EN: "viewed the report you shared"}
		case "code-expired":
			what = policies.Text{ZH: "试图使用已过期的验证码，未看到任何信息", EN: "tried an expired code, and saw nothing"}
		case "code-withdrawn":
			what = policies.Text{ZH: "试图使用您已撤回的验证码，未看到任何信息", EN: "tried a code you withdrew, and saw nothing"}
		default:
			what = policies.Text{ZH: "使用了验证码", EN: "used a code"}
		}
	default:
		out.Who = AccessWho{Kind: "other", Description: policies.Text{ZH: "其他访问", EN: "another access"}}
		what = policies.Text{ZH: "访问了您的记录", EN: "accessed your record"}
	}
	when := out.At.Format("2006-01-02 15:04 UTC")
	out.Summary = policies.Text{
		ZH: when + "，" + out.Who.Description.ZH + what.ZH + "。",
		EN: when + ": " + out.Who.Description.EN + " " + what.EN + ".",
	}
	return out
}

// accessLogOrg takes the organisation out of an agency actor
// ("org:<org>/sub:<subject>"); the official's subject is not the holder's
// business and is left out.
func accessLogOrg(actor string) string {
	org, ok := strings.CutPrefix(actor, "org:")
	if !ok {
		return "unknown"
	}
	org, _, _ = strings.Cut(org, "/sub:")
	return org
}
