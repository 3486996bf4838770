package policies

import (
	"slices"
	"strconv"
	"strings"
)

// Request is what the gateway knows about a call when it asks the policy.
type Request struct {
	// Audience comes from the caller's credential (see Audience), never
	// from the route.
	Audience Audience
	// Scope is the operation the handler performs.
	Scope Scope
	// Granted are the token's scopes, as carried in its `scope` claim
	// (split on spaces). Ignored for audiences without tokens.
	Granted []string
	// Org is the token's `org` claim: "<type>:<id>", e.g. "gov:mps",
	// "pub:110000-hr-centre", "unit:10001", "office:national". Ignored for
	// audiences without tokens.
	Org string
	// Purpose is the declared purpose id, when the scope takes one.
	Purpose string
	// Level is the detail level of a holder's sharing code (holder_code).
	Level string
}

// Decision is what the policy allows one call. It is a value: keep it for
// the whole call (or batch) and record PolicyVersion, Purpose, LegalBasis
// and the fields Apply returned in the audit trail.
type Decision struct {
	PolicyVersion string
	Audience      Audience
	Scope         Scope
	Org           string
	Purpose       string // "" when the scope takes none
	LegalBasis    string // the purpose's, or else the grant's
	Level         string
	MaxBatch      int  // items per call; 1 unless Scope is a batch scope
	RequireJTI    bool // the token must carry a jti, refused when replayed
	Limits        Limits
	fields        []FieldRule
}

// Fields lists the visible fields and their masks, sorted by name.
func (d Decision) Fields() []FieldRule { return slices.Clone(d.fields) }

// CheckBatch refuses a batch of n items when it exceeds MaxBatch.
func (d Decision) CheckBatch(n int) error {
	if n > d.MaxBatch {
		return &DeniedError{Err: ErrBatchTooLarge, PolicyVersion: d.PolicyVersion, Audience: d.Audience, Scope: d.Scope,
			Detail: "at most " + strconv.Itoa(d.MaxBatch) + " items per call"}
	}
	return nil
}

// Decide says what the caller may do and see under one scope: the
// intersection of what the token carries and what the policy grants the
// audience, for the declared purpose. Refusals are *DeniedError, wrapping
// ErrUnknownAudience, ErrUnknownScope, ErrScopeDenied, ErrOrgDenied,
// ErrPurposeRequired, ErrPurposeRejected, ErrPurposeForbidden or
// ErrLevelRejected, and carry the policy version too.
func (p *Policy) Decide(req Request) (Decision, error) {
	a, s := req.Audience, req.Scope
	r, ok := p.audiences[a]
	if !ok {
		return Decision{}, p.deny(ErrUnknownAudience, "", s, "%s", named("audience", string(a), false))
	}
	spec, ok := specOf(s)
	if !ok {
		return Decision{}, p.deny(ErrUnknownScope, a, "", "the operation has %s", named("scope", string(s), false))
	}
	if a.Tokened() {
		// Every scope the token carries must be known, not only the one
		// asked about: an unknown scope means a misissued or forged token.
		carries := false
		for _, g := range req.Granted {
			if !Scope(g).Known() {
				return Decision{}, p.deny(ErrUnknownScope, a, s, "the token carries %s", named("scope", g, false))
			}
			carries = carries || Scope(g) == s
		}
		if !carries {
			return Decision{}, p.deny(ErrScopeDenied, a, s, "the token does not carry scope %s", s)
		}
	}
	g, ok := r.grants[s]
	if !ok {
		return Decision{}, p.deny(ErrScopeDenied, a, s, "the policy does not grant scope %s to %s", s, a)
	}
	d := Decision{
		PolicyVersion: p.version,
		Audience:      a,
		Scope:         s,
		LegalBasis:    g.legalBasis,
		MaxBatch:      g.maxBatch,
		RequireJTI:    g.requireJTI,
		Limits:        r.limits,
		fields:        g.fields,
	}
	if a.Tokened() {
		if !matchOrgs(r.orgs, req.Org) {
			return Decision{}, p.deny(ErrOrgDenied, a, s, "the organisation may not act as %s", a)
		}
		if !matchOrgs(g.orgs, req.Org) {
			return Decision{}, p.deny(ErrOrgDenied, a, s, "the organisation may not use scope %s", s)
		}
		d.Org = req.Org
	}
	if err := p.decidePurpose(&d, spec, g, req); err != nil {
		return Decision{}, err
	}
	switch {
	case g.levels != nil:
		fields, ok := g.levels[req.Level]
		if !ok {
			return Decision{}, p.deny(ErrLevelRejected, a, s, "%s is not offered", named("level", req.Level, p.knownLevel(req.Level)))
		}
		d.Level, d.fields = req.Level, fields
	case req.Level != "":
		return Decision{}, p.deny(ErrLevelRejected, a, s, "scope %s has no detail levels", s)
	}
	return d, nil
}

func (p *Policy) decidePurpose(d *Decision, spec scopeSpec, g *grant, req Request) error {
	a, s, id := req.Audience, req.Scope, req.Purpose
	_, known := p.purposes[id]
	accepted := g.purposes
	if spec.purposes == purposeDataset {
		accepted = p.datasets.Purposes
	}
	switch {
	case id == "" && (len(accepted) > 0 || spec.purposes == purposeDataset):
		return p.deny(ErrPurposeRequired, a, s, "scope %s needs a declared purpose", s)
	case id == "":
		return nil
	case p.forbidden[id]:
		return p.deny(ErrPurposeForbidden, a, s, "%s is forbidden (%s)", named("purpose", id, true), p.purposes[id].LegalBasis)
	case len(accepted) == 0:
		return p.deny(ErrPurposeRejected, a, s, "scope %s takes no purpose", s)
	case !slices.Contains(accepted, id):
		return p.deny(ErrPurposeRejected, a, s, "%s is not accepted for %s under %s", named("purpose", id, known), a, s)
	}
	pu := p.purposes[id]
	if a.Tokened() && !matchOrgs(pu.Orgs, req.Org) {
		return p.deny(ErrPurposeRejected, a, s, "%s is not open to the organisation's type", named("purpose", id, true))
	}
	d.Purpose, d.LegalBasis = id, pu.LegalBasis
	return nil
}

// knownLevel reports whether any grant offers the detail level.
func (p *Policy) knownLevel(level string) bool {
	for _, lv := range p.holderCodes.Levels {
		if lv.Name == level {
			return true
		}
	}
	return false
}

// ParseScopes splits a token's `scope` claim (space-separated, RFC 8693)
// into the list Request.Granted takes.
func ParseScopes(claim string) []string { return strings.Fields(claim) }
