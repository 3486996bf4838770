package policies

import (
	"slices"
	"time"
)

// Role is what a dataset field is to the anonymizer.
type Role string

const (
	// RoleQuasiIdentifier fields are generalised along their Hierarchy
	// until every class has at least k people.
	RoleQuasiIdentifier Role = "quasi_identifier"
	// RoleSensitive fields may be named for l-diversity; they are kept as
	// they are.
	RoleSensitive Role = "sensitive"
)

// There is no role for a field released as it is, outside both models:
// a rare value of any field singles its holders out (a certificate style
// held by six people in the registry did, issue 16). Every released
// field is generalised and k-anonymised with the quasi-identifiers, or
// is the sensitive attribute that l-diversity protects.
const retiredInsensitive = "insensitive"

func (r Role) known() bool {
	return r == RoleQuasiIdentifier || r == RoleSensitive
}

// Hierarchy names a built-in generalisation hierarchy of the anonymizer.
type Hierarchy string

const (
	HierarchyDate            Hierarchy = "date"             // YYYY-MM-DD → YYYY-MM → YYYY → five-year band → *
	HierarchyMonth           Hierarchy = "month"            // YYYY-MM → YYYY → five-year band → *
	HierarchyDiscipline      Hierarchy = "discipline"       // 6 digits → 4 → 2 (category) → *
	HierarchyUnit            Hierarchy = "unit"             // unit code → province → region → *
	HierarchyEthnicity       Hierarchy = "ethnicity"        // GB/T 3304 code → Han / minority → *
	HierarchyNationality     Hierarchy = "nationality"      // GB/T 2659 code → CHN / other → *
	HierarchyPoliticalStatus Hierarchy = "political_status" // GB/T 4762 code → group → *
	HierarchyGender          Hierarchy = "gender"           // 1 / 2 → *
	HierarchyFlat            Hierarchy = "flat"             // value → *
)

// Hierarchies lists the built-in hierarchies a policy may name.
func Hierarchies() []Hierarchy {
	return []Hierarchy{HierarchyDate, HierarchyMonth, HierarchyDiscipline, HierarchyUnit,
		HierarchyEthnicity, HierarchyNationality, HierarchyPoliticalStatus, HierarchyGender, HierarchyFlat}
}

// fits reports whether the hierarchy can generalise the field; the error
// text says what it needs.
func (h Hierarchy) fits(f Field) (bool, string) {
	switch h {
	case HierarchyDate:
		return f.Kind == KindDate, "a date field"
	case HierarchyMonth:
		return f.Kind == KindMonth, "a month field"
	case HierarchyDiscipline:
		return f.Name == "discipline_code", "discipline_code"
	case HierarchyUnit:
		return f.Name == "unit_code", "unit_code"
	case HierarchyEthnicity, HierarchyNationality, HierarchyPoliticalStatus, HierarchyGender:
		return f.Name == string(h), string(h)
	case HierarchyFlat:
		return true, ""
	}
	return false, "a known hierarchy"
}

// DatasetField is one field a research dataset may carry.
type DatasetField struct {
	Name      string
	Role      Role
	Hierarchy Hierarchy // for RoleQuasiIdentifier only
	// NeverIfClassified: the anonymizer leaves this field empty for a
	// record whose thesis is classified (Art. 25).
	NeverIfClassified bool
}

// DatasetRules bound research datasets (Art. 23–24).
type DatasetRules struct {
	MinK           int           // smallest k a request may ask for
	MinL           int           // smallest l when a sensitive field is named
	MaxTerm        time.Duration // longest life of a dataset
	MaxSuppression float64       // largest share of suppressed records, 0 ≤ s < 1
	// Purposes a dataset may be requested for; ForbiddenPurposes are
	// accepted nowhere in the policy (commercial use, Art. 24).
	Purposes          []string
	ForbiddenPurposes []string
	Fields            []DatasetField // sorted by name
}

// Field finds a field a dataset may carry.
func (d DatasetRules) Field(name string) (DatasetField, bool) {
	i := slices.IndexFunc(d.Fields, func(f DatasetField) bool { return f.Name == name })
	if i < 0 {
		return DatasetField{}, false
	}
	return d.Fields[i], true
}

// Dataset returns the dataset rules.
func (p *Policy) Dataset() DatasetRules {
	d := p.datasets
	d.Purposes = slices.Clone(d.Purposes)
	d.ForbiddenPurposes = slices.Clone(d.ForbiddenPurposes)
	d.Fields = slices.Clone(d.Fields)
	return d
}

// DatasetRequest is what a dataset request asks for, as far as the policy
// is concerned.
type DatasetRequest struct {
	Purpose        string
	Fields         []string
	K              int
	Sensitive      []string // fields named for l-diversity
	L              int
	Term           time.Duration
	MaxSuppression float64
}

// CheckDataset checks a dataset request against the rules and returns the
// first rule it breaks, as a *DeniedError wrapping ErrPurposeForbidden,
// ErrPurposeRejected or ErrDatasetRule.
func (p *Policy) CheckDataset(req DatasetRequest) error {
	d := p.datasets
	deny := func(err error, format string, args ...any) error {
		return p.deny(err, Office, ScopeDatasetRequest, format, args...)
	}
	if err := p.checkDatasetPurpose(req.Purpose); err != nil {
		return err
	}
	if len(req.Fields) == 0 {
		return deny(ErrDatasetRule, "no fields requested")
	}
	seen := map[string]bool{}
	for _, name := range req.Fields {
		_, known := LookupField(name)
		if _, ok := d.Field(name); !ok {
			return deny(ErrDatasetRule, "%s may not be in a dataset", named("field", name, known))
		}
		if seen[name] {
			return deny(ErrDatasetRule, "%s requested twice", named("field", name, known))
		}
		seen[name] = true
	}
	switch {
	case req.K < d.MinK:
		return deny(ErrDatasetRule, "k %d is below the minimum %d", req.K, d.MinK)
	case req.Term <= 0 || req.Term > d.MaxTerm:
		return deny(ErrDatasetRule, "term %s outside (0, %s]", req.Term, d.MaxTerm)
	case req.MaxSuppression < 0 || req.MaxSuppression > d.MaxSuppression:
		return deny(ErrDatasetRule, "suppression %g outside [0, %g]", req.MaxSuppression, d.MaxSuppression)
	}
	for _, name := range req.Sensitive {
		f, ok := d.Field(name)
		if !ok || !seen[name] || f.Role != RoleSensitive {
			_, known := LookupField(name)
			return deny(ErrDatasetRule, "%s is not a requested sensitive field", named("field", name, known))
		}
	}
	if len(req.Sensitive) > 0 && req.L < d.MinL {
		return deny(ErrDatasetRule, "l %d is below the minimum %d", req.L, d.MinL)
	}
	return nil
}

func (p *Policy) checkDatasetPurpose(purpose string) error {
	switch {
	case purpose == "":
		return p.deny(ErrPurposeRequired, Office, ScopeDatasetRequest, "a dataset needs a purpose")
	case p.forbidden[purpose]:
		return p.deny(ErrPurposeForbidden, Office, ScopeDatasetRequest, "%s is forbidden (%s)", named("purpose", purpose, true), p.purposes[purpose].LegalBasis)
	case !slices.Contains(p.datasets.Purposes, purpose):
		_, known := p.purposes[purpose]
		return p.deny(ErrPurposeRejected, Office, ScopeDatasetRequest, "%s is not accepted for datasets", named("purpose", purpose, known))
	}
	return nil
}
