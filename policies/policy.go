package policies

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

//go:embed default.json
var defaultDocument []byte

// MaxDocumentSize bounds a policy file; anything larger is refused before
// it is parsed.
const MaxDocumentSize = 1 << 20

// Policy is a loaded, validated policy. It is immutable: every accessor
// returns copies, so one Policy may serve any number of goroutines.
type Policy struct {
	version     string
	description string
	purposes    map[string]Purpose
	audiences   map[Audience]*audienceRules
	holderCodes HolderCodeRules
	datasets    DatasetRules
	forbidden   map[string]bool // purposes accepted nowhere (Art. 24)
	// auditRetention is how many months entries stay in the database
	// before `audit archive` may move them to archive files.
	auditRetention int
}

// AuditRetentionMonths is how many months audit entries stay in the
// database (audit.retention_months; DefaultAuditRetentionMonths when the
// file says nothing, never below MinAuditRetentionMonths).
func (p *Policy) AuditRetentionMonths() int { return p.auditRetention }

type audienceRules struct {
	orgs   []string
	limits Limits
	grants map[Scope]*grant
}

// grant is what the policy gives one audience under one scope.
type grant struct {
	legalBasis string
	fields     []FieldRule            // sorted by field name
	levels     map[string][]FieldRule // holder_code only
	levelText  map[string]Text
	purposes   []string // accepted purposes; empty: the scope takes none
	maxBatch   int
	requireJTI bool
	orgs       []string // narrows the audience's orgs for this scope
}

// Text is a description in Chinese and English.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// Purpose is a declared reason for an access, with its legal basis.
type Purpose struct {
	ID          string
	LegalBasis  string // e.g. "Art. 20"
	Description Text
	// Orgs restricts which organisations may declare the purpose: exact
	// org names, or type prefixes ending in ":" such as "gov:". Empty:
	// any organisation the audience admits.
	Orgs []string
}

// FieldRule is one visible field and its mask.
type FieldRule struct {
	Field string
	Kind  FieldKind // the field's, from the catalogue
	Mask  Mask
	// NeverIfClassified: see Field.NeverIfClassified. Copied here so that
	// whoever holds a Decision sees the rule without a lookup.
	NeverIfClassified bool
}

// Rate is a token bucket: PerSecond requests per second on average,
// bursts of up to Burst. The zero Rate means no limit of that kind.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Unlimited reports whether the rate sets no limit.
func (r Rate) Unlimited() bool { return r.PerSecond <= 0 }

// Limits are an audience's rate limits and quotas. Each Rate is kept per
// key of its kind; a request must pass every limit that applies.
type Limits struct {
	PerClient  Rate // per client address
	PerBlock   Rate // per IPv4 /24 or IPv6 /64, against address rotation
	PerSubject Rate // per token subject (tokened audiences)
	PerOrg     Rate // per token organisation (tokened audiences)
	// PerCertificate bounds the wrong names tried against one certificate
	// number from one address block (IPv4 /24, IPv6 /48); a matching
	// name spends nothing (public only).
	PerCertificate Rate
	PerCode        Rate // per holder sharing code (holder_code)
	// DailyQuotaPerOrg bounds the items (not calls) an organisation may
	// have answered per calendar day, across all replicas; 0: no quota.
	DailyQuotaPerOrg int64
	// MaxTokenLifetime is the longest exp−iat a token of this audience may
	// have; 0 for audiences without tokens.
	MaxTokenLifetime time.Duration
}

// Default returns the embedded default policy, validated.
func Default() (*Policy, error) {
	return Parse(defaultDocument)
}

// DefaultDocument returns the embedded default policy file, a starting
// point for an operator's own.
func DefaultDocument() []byte {
	return slices.Clone(defaultDocument)
}

// Load reads and validates the policy file at path. Errors are *Error and
// name the file and the offending path.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read %s: %w", path, err)
	}
	p, err := Parse(b)
	var e *Error
	if errors.As(err, &e) {
		e.File = path
	}
	return p, err
}

// Parse decodes and validates a policy document. The first problem found
// stops it, as an *Error naming the path (e.g.
// `audiences.agency.scopes["degree.verify"].fields.id_number`).
func Parse(b []byte) (*Policy, error) {
	if len(b) > MaxDocumentSize {
		return nil, &Error{Msg: fmt.Sprintf("document larger than %d bytes", MaxDocumentSize)}
	}
	var doc document
	if err := decodeStrict(b, &doc); err != nil {
		return nil, err
	}
	return buildPolicy(&doc)
}

// Version names the policy's content; every decision carries it.
func (p *Policy) Version() string { return p.version }

// Description is the policy file's free-text description.
func (p *Policy) Description() string { return p.description }

// Limits returns an audience's rate limits and quotas; the zero Limits for
// an unknown audience.
func (p *Policy) Limits(a Audience) Limits {
	if r, ok := p.audiences[a]; ok {
		return r.limits
	}
	return Limits{}
}

// Grants lists the scopes the policy grants an audience, in Scopes order.
func (p *Policy) Grants(a Audience) []Scope {
	var out []Scope
	if r, ok := p.audiences[a]; ok {
		for _, s := range Scopes() {
			if _, ok := r.grants[s]; ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// AdmitsOrg reports whether an organisation may act as the audience at
// all; the gateway may check it when it verifies a token, before any
// decision. Audiences without tokens admit no organisation.
func (p *Policy) AdmitsOrg(a Audience, org string) bool {
	r, ok := p.audiences[a]
	return ok && a.Tokened() && matchOrgs(r.orgs, org)
}

// Purpose looks a purpose up by its id.
func (p *Policy) Purpose(id string) (Purpose, bool) {
	pu, ok := p.purposes[id]
	pu.Orgs = slices.Clone(pu.Orgs)
	return pu, ok
}

// Purposes lists every purpose the policy defines, sorted by id, forbidden
// ones included (their Forbidden check is PurposeForbidden).
func (p *Policy) Purposes() []Purpose {
	out := make([]Purpose, 0, len(p.purposes))
	for _, id := range sortedKeys(p.purposes) {
		pu, _ := p.Purpose(id)
		out = append(out, pu)
	}
	return out
}

// PurposeForbidden reports whether a purpose is forbidden everywhere
// (datasets.forbidden_purposes, Art. 24).
func (p *Policy) PurposeForbidden(id string) bool { return p.forbidden[id] }

// NeedsHashKey reports whether some grant uses MaskKeyedHash, so the
// process must be given a key (ApplyOptions.HashKey) before serving.
func (p *Policy) NeedsHashKey() bool {
	for _, r := range p.audiences {
		for _, g := range r.grants {
			for _, f := range g.fields {
				if f.Mask == MaskKeyedHash {
					return true
				}
			}
			for _, lv := range g.levels {
				for _, f := range lv {
					if f.Mask == MaskKeyedHash {
						return true
					}
				}
			}
		}
	}
	return false
}

// matchOrgs reports whether org matches one of the patterns; no patterns
// admit any organisation. A pattern ending in ":" is a type prefix
// ("gov:" admits "gov:mps" but not "gov:" itself); any other pattern must
// equal the org.
func matchOrgs(patterns []string, org string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if matchOrg(p, org) {
			return true
		}
	}
	return false
}

func matchOrg(pattern, org string) bool {
	if n := len(pattern); n > 0 && pattern[n-1] == ':' {
		return len(org) > n && org[:n] == pattern
	}
	return org == pattern
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
