package policies

// The policy file, as written. These types mirror the JSON exactly and are
// only ever read by buildPolicy, which turns them into a Policy. Optional
// numbers are pointers so that "absent" and "0" stay different; durations
// are strings ("90s", "1h", "30d") parsed by validate, so a bad one is
// reported with its path.

// formatVersion is the only document format this package reads. A change
// of the document's shape bumps it; the policy's own "version" names the
// content.
const formatVersion = 1

type document struct {
	Format      *int                   `json:"format"`
	Version     string                 `json:"version"`
	Description string                 `json:"description"`
	Purposes    map[string]purposeDoc  `json:"purposes"`
	Audiences   map[string]audienceDoc `json:"audiences"`
	HolderCodes *holderCodesDoc        `json:"holder_codes"`
	Datasets    *datasetsDoc           `json:"datasets"`
	Audit       *auditDoc              `json:"audit"`
}

type auditDoc struct {
	RetentionMonths *int `json:"retention_months"`
}

type textDoc struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

type purposeDoc struct {
	LegalBasis  string   `json:"legal_basis"`
	Description textDoc  `json:"description"`
	Orgs        []string `json:"orgs"`
}

type audienceDoc struct {
	Description string              `json:"description"`
	Orgs        []string            `json:"orgs"`
	Limits      limitsDoc           `json:"limits"`
	Scopes      map[string]grantDoc `json:"scopes"`
}

type limitsDoc struct {
	PerClient        *rateDoc `json:"per_client"`
	PerBlock         *rateDoc `json:"per_block"`
	PerSubject       *rateDoc `json:"per_subject"`
	PerOrg           *rateDoc `json:"per_org"`
	PerCertificate   *rateDoc `json:"per_certificate"`
	PerCode          *rateDoc `json:"per_code"`
	DailyQuotaPerOrg *int64   `json:"daily_quota_per_org"`
	MaxTokenLifetime string   `json:"max_token_lifetime"`
}

type rateDoc struct {
	RPS   *float64 `json:"rps"`
	Burst *int     `json:"burst"`
}

type grantDoc struct {
	LegalBasis string              `json:"legal_basis"`
	Fields     map[string]string   `json:"fields"`
	Levels     map[string]levelDoc `json:"levels"`
	Purposes   []string            `json:"purposes"`
	MaxBatch   *int                `json:"max_batch"`
	RequireJTI bool                `json:"require_jti"`
	Orgs       []string            `json:"orgs"`
}

type levelDoc struct {
	Description textDoc           `json:"description"`
	Fields      map[string]string `json:"fields"`
}

type holderCodesDoc struct {
	MinValidity     string `json:"min_validity"`
	MaxValidity     string `json:"max_validity"`
	DefaultValidity string `json:"default_validity"`
	MaxActive       *int   `json:"max_active"`
	DefaultLevel    string `json:"default_level"`
}

type datasetsDoc struct {
	MinK              *int                       `json:"min_k"`
	MinL              *int                       `json:"min_l"`
	MaxTerm           string                     `json:"max_term"`
	MaxSuppression    *float64                   `json:"max_suppression"`
	Purposes          []string                   `json:"purposes"`
	ForbiddenPurposes []string                   `json:"forbidden_purposes"`
	Fields            map[string]datasetFieldDoc `json:"fields"`
}

type datasetFieldDoc struct {
	Role      string `json:"role"`
	Hierarchy string `json:"hierarchy"`
}
