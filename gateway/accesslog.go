package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// The holder's access log (GET /v1/holder/access-log): who looked at
// the holder's records, when and for what purpose, read from the audit
// trail.

type accessLogPage struct {
	Entries []accessEntry `json:"entries"`
	// NextAfter is the cursor of the next page (?after=); absent on the
	// last page.
	NextAfter     int64  `json:"next_after,omitempty"`
	PolicyVersion string `json:"policy_version"`
}

// accessEntry is one access to one of the holder's records, in plain
// words: who (never an address or a person), when, for what purpose.
type accessEntry struct {
	Seq               int64          `json:"seq"`
	At                time.Time      `json:"at"`
	CertificateNumber string         `json:"certificate_number"`
	Who               accessWho      `json:"who"`
	Purpose           *accessPurpose `json:"purpose,omitempty"`
	Result            string         `json:"result,omitempty"`
	Fields            []string       `json:"fields,omitempty"`
	Summary           policies.Text  `json:"summary"`
}

type accessWho struct {
	Kind        string        `json:"kind"` // public | agency | code
	Org         string        `json:"org,omitempty"`
	CodeID      string        `json:"code_id,omitempty"`
	Description policies.Text `json:"description"`
}

type accessPurpose struct {
	ID          string        `json:"id"`
	LegalBasis  string        `json:"legal_basis,omitempty"`
	Description policies.Text `json:"description"`
}

func (s *Server) handleAccessLog() fiber.Handler {
	return func(c *fiber.Ctx) error {
		d, err := s.decide(c, policies.ScopeHolderRead, "", "")
		if err != nil {
			return err
		}
		if s.deps.AuditSearch == nil {
			return problemSearchDown
		}
		after, limit, errs := accessLogParams(c.Query("after"), c.Query("limit"))
		if errs != nil {
			return invalid(errs)
		}
		h, err := s.holderOf(c)
		if err != nil {
			return err
		}
		ctx := c.UserContext()
		entries, err := s.deps.Registry.ByPerson(ctx, h.idType, h.idNum)
		if err != nil && !errors.Is(err, registry.ErrNotFound) {
			return fmt.Errorf("access log: lookup: %w", err)
		}
		page := accessLogPage{Entries: []accessEntry{}, PolicyVersion: d.PolicyVersion}
		refs := make([]string, 0, len(entries))
		for _, e := range entries {
			refs = append(refs, e.Record.CertificateNumber)
		}
		if err := s.deps.Audit.Record(s.holderEntry(h, s.deps.Now(), actionHolderLog, "", d, map[string]any{"records": len(refs)})); err != nil {
			return problemAuditDown
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		if len(refs) == 0 {
			// No records, no accesses: and an empty RecordRefs would match
			// everybody's.
			return c.JSON(page)
		}
		found, err := s.deps.AuditSearch.SearchAudit(ctx, registry.AuditQuery{
			RecordRefs: refs, Actions: []string{disclose.ActionPublicVerify, disclose.ActionAgencyVerify, disclose.ActionCodeView},
			AfterSeq: after, Limit: limit,
		})
		if err != nil {
			return fmt.Errorf("access log: search: %w", err)
		}
		codes := map[string]registry.ShareCode{}
		if s.deps.Codes != nil {
			mine, err := s.deps.Codes.ShareCodesOf(ctx, h.owner)
			if err != nil {
				return fmt.Errorf("access log: codes: %w", err)
			}
			for _, sc := range mine {
				_, id := codeHashID(sc.Hash)
				codes[id] = sc
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
		if len(found) == limit {
			page.NextAfter = found[len(found)-1].Seq
		}
		return c.JSON(page)
	}
}

// accessLogParams reads ?after= and ?limit=.
func accessLogParams(afterQ, limitQ string) (int64, int, map[string]string) {
	errs := map[string]string{}
	var after int64
	limit := accessLogDefaultPage
	if afterQ != "" {
		n, ok := holderDigits(afterQ, 18)
		if !ok {
			errs["after"] = "want a non-negative whole number (next_after of the previous page)"
		}
		after = n
	}
	if limitQ != "" {
		n, ok := holderDigits(limitQ, 4)
		if !ok || n < 1 || n > accessLogMaxPage {
			errs["limit"] = fmt.Sprintf("want 1 to %d", accessLogMaxPage)
		}
		limit = int(n)
	}
	if len(errs) > 0 {
		return 0, 0, errs
	}
	return after, limit, nil
}

// holderDigits parses at most maxDigits decimal digits.
func holderDigits(s string, maxDigits int) (int64, bool) {
	if s == "" || len(s) > maxDigits {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, n >= 0
}

// describeAccess puts one audit entry in plain words. It reads only the
// entry's action, actor kind, purpose and the non-personal detail keys
// (result, fields, level); never the client hash or a subject.
func (s *Server) describeAccess(e registry.AuditEntry, codes map[string]registry.ShareCode) accessEntry {
	var detail struct {
		Result string   `json:"result"`
		Fields []string `json:"fields"`
		Level  string   `json:"level"`
	}
	_ = json.Unmarshal([]byte(e.Detail), &detail) // a detail we cannot read just says less
	out := accessEntry{Seq: e.Seq, At: e.At.UTC(), CertificateNumber: e.RecordRef, Result: detail.Result, Fields: detail.Fields}
	var what policies.Text
	switch e.Action {
	case disclose.ActionPublicVerify:
		out.Who = accessWho{Kind: "public", Description: policies.Text{ZH: "一位公众查询者（地址不予显示）", EN: "a member of the public (address withheld)"}}
		if detail.Result == "match" {
			what = policies.Text{ZH: "核验了您的证书，姓名与证书相符，看到的是部分隐藏的信息", EN: "checked your certificate; the name matched and they saw masked details"}
		} else {
			what = policies.Text{ZH: "用您的证书编号查询，但所填姓名不符，未看到任何信息", EN: "tried your certificate number with a name that did not match, and saw nothing"}
		}
	case disclose.ActionAgencyVerify:
		org := accessLogOrg(e.Actor)
		out.Who = accessWho{Kind: "agency", Org: org, Description: policies.Text{ZH: "机构 " + org, EN: "the organisation " + org}}
		if p, ok := s.deps.Policy.Purpose(e.Purpose); ok {
			out.Purpose = &accessPurpose{ID: p.ID, LegalBasis: p.LegalBasis, Description: p.Description}
			what = policies.Text{ZH: "依职责核验了您的学位，用途：" + p.Description.ZH, EN: "verified your degree for: " + p.Description.EN}
		} else if e.Purpose != "" {
			out.Purpose = &accessPurpose{ID: e.Purpose}
			what = policies.Text{ZH: "依职责核验了您的学位，用途：" + e.Purpose, EN: "verified your degree for: " + e.Purpose}
		} else {
			what = policies.Text{ZH: "核验了您的学位", EN: "verified your degree"}
		}
	case disclose.ActionCodeView:
		id := strings.TrimPrefix(e.Actor, "code:")
		out.Who = accessWho{Kind: "code", Description: policies.Text{ZH: "您分享过验证码的人", EN: "someone you gave a code to"}}
		if sc, ok := codes[id]; ok {
			out.Who.CodeID = id
			out.Who.Description.ZH += fmt.Sprintf("（验证码签发于 %s）", sc.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
			out.Who.Description.EN += fmt.Sprintf(" (code issued %s)", sc.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
		}
		out.Purpose = &accessPurpose{ID: disclose.PurposeSharedReport, LegalBasis: "Art. 22",
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
		out.Who = accessWho{Kind: "other", Description: policies.Text{ZH: "其他访问", EN: "another access"}}
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
