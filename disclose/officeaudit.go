package disclose

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// Officials of the national and provincial offices read the audit trail
// (Art. 15) with filters. Reading the trail is itself an access that goes
// on the trail, before the answer is returned.

// AuditEntryView is an audit entry as officials read it: Detail as the
// JSON object it is, hashes in hex so the chain can be checked by hand.
type AuditEntryView struct {
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

type AuditPage struct {
	PolicyVersion string           `json:"policy_version"`
	Entries       []AuditEntryView `json:"entries"`
	// NextAfter is the cursor of the next page (pass it as after); absent
	// on the last page.
	NextAfter *int64 `json:"next_after,omitempty"`
}

// AuditFilters is the query as the audit.read entry records it: the
// filters, never what they found.
type AuditFilters struct {
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

// AuditRead is an official's search of the trail: the query, the filters
// as the trail records them, and, when the caller could not read the
// query it was sent, why (Errors).
type AuditRead struct {
	Query   registry.AuditQuery
	Filters AuditFilters
	Errors  map[string]string
}

// OfficeAudit shows an official a page of the trail (ScopeAuditRead).
func (s *Service) OfficeAudit(ctx context.Context, p Principal, r AuditRead) (AuditPage, error) {
	d, err := p.Decide(policies.ScopeAuditRead, "")
	if err != nil {
		return AuditPage{}, err
	}
	if r.Errors != nil {
		return AuditPage{}, &InvalidError{r.Errors}
	}
	if s.deps.AuditSearch == nil {
		return AuditPage{}, ErrAuditSearchUnavailable
	}
	found, err := s.deps.AuditSearch.SearchAudit(ctx, r.Query)
	if err != nil {
		return AuditPage{}, failed("office audit: search", err)
	}
	f := r.Filters
	f.Found = len(found)
	detail, _ := json.Marshal(struct {
		AuditFilters
		LegalBasis    string `json:"legal_basis"`
		PolicyVersion string `json:"policy_version"`
	}{f, d.LegalBasis, d.PolicyVersion})
	// Reading the trail is audited before the page is returned.
	if err := s.deps.Audit.Record(ctx, registry.AuditEntry{
		At: s.deps.Now(), Actor: p.Actor, Action: ActionAuditRead, Detail: string(detail),
	}); err != nil {
		return AuditPage{}, ErrAuditUnavailable
	}
	page := AuditPage{PolicyVersion: d.PolicyVersion, Entries: make([]AuditEntryView, len(found))}
	for i, e := range found {
		page.Entries[i] = viewAuditEntry(e)
	}
	if len(found) > 0 && len(found) == r.Query.PageSize() {
		last := found[len(found)-1].Seq
		page.NextAfter = &last
	}
	return page, nil
}

func viewAuditEntry(e registry.AuditEntry) AuditEntryView {
	v := AuditEntryView{
		Seq: e.Seq, At: e.At.UTC().Truncate(time.Millisecond), Actor: e.Actor, Action: e.Action, RecordRef: e.RecordRef,
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
