package gateway

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// Officials of the national and provincial offices read the audit trail
// (Art. 15) with filters. Reading the trail is itself an access that
// goes on the trail, before the answer leaves.

// maxAuditFilterValues bounds repeated action and record parameters.
const maxAuditFilterValues = 20

// auditEntryView is an audit entry as officials read it: Detail as the
// JSON object it is, hashes in hex so the chain can be checked by hand.
type auditEntryView struct {
	Seq       int64           `json:"seq"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"`
	Action    string          `json:"action"`
	RecordRef string          `json:"record_ref,omitempty"`
	Purpose   string          `json:"purpose,omitempty"`
	Detail    json.RawMessage `json:"detail,omitempty"`
	PrevHash  string          `json:"prev_hash"`
	Hash      string          `json:"hash"`
}

type auditPage struct {
	PolicyVersion string           `json:"policy_version"`
	Entries       []auditEntryView `json:"entries"`
	// NextAfter is the cursor of the next page (pass it as after); absent
	// on the last page.
	NextAfter *int64 `json:"next_after,omitempty"`
}

// auditFilters is the query as the audit.read entry records it: the
// filters, never what they found.
type auditFilters struct {
	From    string   `json:"from,omitempty"`
	To      string   `json:"to,omitempty"`
	Org     string   `json:"org,omitempty"`
	Purpose string   `json:"purpose,omitempty"`
	Records []string `json:"records,omitempty"`
	Actions []string `json:"actions,omitempty"`
	After   int64    `json:"after,omitempty"`
	Limit   int      `json:"limit"`
	Found   int      `json:"found"`
}

func (s *Server) handleOfficeAudit() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := principal(c)
		d, err := s.decide(c, policies.ScopeAuditRead, "", "")
		if err != nil {
			return err
		}
		q, f, err := parseAuditQuery(c)
		if err != nil {
			return err
		}
		if s.deps.AuditSearch == nil {
			return problemAuditSearchDown
		}
		found, err := s.deps.AuditSearch.SearchAudit(c.UserContext(), q)
		if err != nil {
			return fmt.Errorf("office audit: search: %w", err)
		}
		f.Found = len(found)
		detail, _ := json.Marshal(struct {
			auditFilters
			LegalBasis    string `json:"legal_basis"`
			PolicyVersion string `json:"policy_version"`
		}{f, d.LegalBasis, d.PolicyVersion})
		// Reading the trail is audited before the page is sent.
		if err := s.deps.Audit.Record(registry.AuditEntry{
			At: s.deps.Now(), Actor: "office:" + p.Subject, Action: "audit.read", Detail: string(detail),
		}); err != nil {
			return problemAuditDown
		}
		page := auditPage{PolicyVersion: d.PolicyVersion, Entries: make([]auditEntryView, len(found))}
		for i, e := range found {
			page.Entries[i] = viewAuditEntry(e)
		}
		if len(found) > 0 && len(found) == q.PageSize() {
			last := found[len(found)-1].Seq
			page.NextAfter = &last
		}
		return c.JSON(page)
	}
}

func viewAuditEntry(e registry.AuditEntry) auditEntryView {
	v := auditEntryView{
		Seq: e.Seq, At: e.At.UTC(), Actor: e.Actor, Action: e.Action, RecordRef: e.RecordRef,
		Purpose: e.Purpose, PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
	}
	switch {
	case e.Detail == "":
	case json.Valid([]byte(e.Detail)):
		v.Detail = json.RawMessage(e.Detail)
	default:
		// Not JSON (an older writer): shown as a JSON string.
		v.Detail, _ = json.Marshal(e.Detail)
	}
	return v
}

// parseAuditQuery reads the filters: from and to (RFC 3339), org (the
// caller organisation, as in actors "org:<org>/sub:<subject>"),
// purpose, record (a certificate number; repeatable), action
// (repeatable), after (the cursor) and limit. Errors name the parameter
// and the rule.
func parseAuditQuery(c *fiber.Ctx) (registry.AuditQuery, auditFilters, error) {
	var q registry.AuditQuery
	var f auditFilters
	errs := map[string]string{}
	args := c.Context().QueryArgs()
	one := func(name string) string {
		vs := args.PeekMulti(name)
		if len(vs) > 1 {
			errs[name] = "give it once"
		}
		if len(vs) == 0 {
			return ""
		}
		return string(vs[0]) // a copy: the buffer is Fiber's
	}
	many := func(name string, maxRunes int) []string {
		vs := args.PeekMulti(name)
		if len(vs) > maxAuditFilterValues {
			errs[name] = fmt.Sprintf("at most %d values", maxAuditFilterValues)
			return nil
		}
		out := make([]string, 0, len(vs))
		for _, v := range vs {
			s := strings.TrimSpace(string(v))
			if why := checkText(s, maxRunes); why != "" {
				errs[name] = why
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	times := func(name string) time.Time {
		v := one(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			errs[name] = "want an RFC 3339 time, e.g. 2025-01-31T00:00:00+08:00"
		}
		return t
	}
	text := func(name string, maxRunes int) string {
		v := strings.TrimSpace(one(name))
		if v == "" {
			return ""
		}
		if why := checkText(v, maxRunes); why != "" {
			errs[name] = why
		}
		return v
	}
	number := func(name string, lo, hi int64) int64 {
		v := one(name)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			errs[name] = fmt.Sprintf("want a whole number from %d to %d", lo, hi)
		}
		return n
	}

	q.From, q.To = times("from"), times("to")
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		errs["to"] = "must be after from"
	}
	org := text("org", 128)
	if org != "" {
		// The trailing slash keeps gov:a from matching gov:ab.
		q.ActorPrefix = "org:" + org + "/"
	}
	q.Purpose = text("purpose", 64)
	q.RecordRefs = many("record", 64)
	q.Actions = many("action", 64)
	q.AfterSeq = number("after", 0, 1<<62)
	q.Limit = int(number("limit", 1, registry.MaxAuditLimit))
	if len(errs) > 0 {
		return q, f, invalid(errs)
	}
	f = auditFilters{
		Org: org, Purpose: q.Purpose, Records: q.RecordRefs, Actions: q.Actions,
		After: q.AfterSeq, Limit: q.PageSize(),
	}
	if !q.From.IsZero() {
		f.From = q.From.UTC().Format(time.RFC3339Nano)
	}
	if !q.To.IsZero() {
		f.To = q.To.UTC().Format(time.RFC3339Nano)
	}
	return q, f, nil
}
