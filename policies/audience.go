package policies

// Audience is who is calling. The gateway derives it from the caller's
// credential (the trusted issuer that signed the token, or no token at
// all), never from the route: a holder token on an agency route is still
// the holder audience, and so gets no agency decision.
type Audience string

const (
	// Public is anyone without a token: masked verification (Art. 22).
	Public Audience = "public"
	// HolderCode is anyone presenting a code a holder issued: the report
	// the holder chose to share, at the detail level they chose.
	HolderCode Audience = "holder_code"
	// Holder is the degree holder, identified by a real-name provider.
	Holder Audience = "holder"
	// Agency is a government body, public institution or degree-granting
	// unit using the data-sharing interface (Art. 20, 22).
	Agency Audience = "agency"
	// Contractor is a commissioned research body (Art. 23).
	Contractor Audience = "contractor"
	// Office is an official of the national or a provincial office, or
	// of a degree-granting unit's degree office (the filing workflow).
	Office Audience = "office"
)

// Audiences lists every audience a policy must describe, in a fixed order.
func Audiences() []Audience {
	return []Audience{Public, HolderCode, Holder, Agency, Contractor, Office}
}

// Tokened reports whether callers of this audience present a token, and so
// carry scopes, an organisation and a subject. Public and HolderCode
// callers do not: the policy alone decides for them.
func (a Audience) Tokened() bool {
	switch a {
	case Holder, Agency, Contractor, Office:
		return true
	}
	return false
}

func (a Audience) known() bool {
	for _, k := range Audiences() {
		if a == k {
			return true
		}
	}
	return false
}

// Scope names one kind of operation. Tokens carry scopes in their `scope`
// claim; the gateway asks Decide about the scope its handler performs, and
// the answer is the intersection of what the token carries and what the
// policy grants the audience.
type Scope string

const (
	// ScopeVerify checks one record by certificate number and name.
	ScopeVerify Scope = "degree.verify"
	// ScopeVerifyBatch checks more than one record in one call; its
	// decision carries the policy's maximum batch size.
	ScopeVerifyBatch Scope = "degree.verify.batch"
	// ScopeVerifyByID checks records found by ID type, ID number and
	// name. A batch mixing both kinds of query needs this scope for the
	// items by ID, and those items are answered with its fields.
	ScopeVerifyByID Scope = "degree.verify.by_id"
	// ScopeHolderRead lets holders read their own records and access log.
	ScopeHolderRead Scope = "holder.read"
	// ScopeHolderCodes lets holders issue and revoke sharing codes.
	ScopeHolderCodes Scope = "holder.codes"
	// ScopeDatasetRead lets a contractor list and download its datasets.
	ScopeDatasetRead Scope = "dataset.read"
	// ScopeDatasetRequest lets an official request a dataset.
	ScopeDatasetRequest Scope = "dataset.request"
	// ScopeDatasetApprove lets an official approve or reject another
	// official's dataset request.
	ScopeDatasetApprove Scope = "dataset.approve"
	// ScopeAuditRead lets an official query the audit trail.
	ScopeAuditRead Scope = "audit.read"
	// ScopeStatsRead reads published statistics (Art. 21).
	ScopeStatsRead Scope = "stats.read"
	// The filing workflow (Art. 11–19): a unit's staff collect records
	// and check them (never both for one batch), a province reviews, the
	// national office consents to changes of key fields.
	ScopeFilingCollect Scope = "filing.collect"
	ScopeFilingCheck   Scope = "filing.check"
	ScopeFilingReview  Scope = "filing.review"
	ScopeFilingConsent Scope = "filing.consent"
)

// purposeMode says where a scope's accepted purposes come from.
type purposeMode int

const (
	purposeGrant   purposeMode = iota // the grant's own list; none listed means none taken
	purposeDataset                    // the dataset rules' purposes; always required
)

// scopeSpec is the part of a scope fixed in code: the audiences it can
// ever be granted to, and what its grants may say.
type scopeSpec struct {
	scope     Scope
	audiences []Audience
	record    bool // discloses record fields, so a grant lists them
	batch     bool // a grant must set max_batch
	purposes  purposeMode
	summary   string
	orgs      bool // a grant must name the organisations that hold it
}

// Scopes lists every scope the package knows, in a fixed order. A token
// scope outside this list is refused (ErrUnknownScope), never ignored.
func Scopes() []Scope {
	return []Scope{
		ScopeVerify, ScopeVerifyBatch, ScopeVerifyByID,
		ScopeHolderRead, ScopeHolderCodes,
		ScopeDatasetRead, ScopeDatasetRequest, ScopeDatasetApprove,
		ScopeAuditRead, ScopeStatsRead,
		ScopeFilingCollect, ScopeFilingCheck, ScopeFilingReview, ScopeFilingConsent,
	}
}

// specOf is the code-fixed half of every scope. A switch rather than a
// package-level table keeps the package free of mutable globals and costs
// nothing per call.
func specOf(s Scope) (scopeSpec, bool) {
	switch s {
	case ScopeVerify:
		return scopeSpec{s, []Audience{Public, HolderCode, Agency}, true, false, purposeGrant,
			"verify one record by certificate number and name", false}, true
	case ScopeVerifyBatch:
		return scopeSpec{s, []Audience{Agency}, true, true, purposeGrant,
			"verify many records in one call", false}, true
	case ScopeVerifyByID:
		return scopeSpec{s, []Audience{Agency}, true, false, purposeGrant,
			"verify records found by ID type, ID number and name", false}, true
	case ScopeHolderRead:
		return scopeSpec{s, []Audience{Holder}, true, false, purposeGrant,
			"read one's own records and access log", false}, true
	case ScopeHolderCodes:
		return scopeSpec{s, []Audience{Holder}, false, false, purposeGrant,
			"issue and revoke sharing codes", false}, true
	case ScopeDatasetRead:
		return scopeSpec{s, []Audience{Contractor}, false, false, purposeGrant,
			"list and download one's own research datasets", false}, true
	case ScopeDatasetRequest:
		return scopeSpec{s, []Audience{Office}, false, false, purposeDataset,
			"request a research dataset", false}, true
	case ScopeDatasetApprove:
		return scopeSpec{s, []Audience{Office}, false, false, purposeDataset,
			"approve or reject another official's dataset request", false}, true
	case ScopeAuditRead:
		return scopeSpec{s, []Audience{Office}, false, false, purposeGrant,
			"query the audit trail", false}, true
	case ScopeStatsRead:
		return scopeSpec{s, []Audience{Office, Agency}, false, false, purposeGrant,
			"read published statistics", false}, true
	case ScopeFilingCollect:
		return scopeSpec{s, []Audience{Office}, false, false, purposeGrant,
			"upload a unit's records and submit them for filing", true}, true
	case ScopeFilingCheck:
		return scopeSpec{s, []Audience{Office}, false, false, purposeGrant,
			"check another collector's batch of one's unit", true}, true
	case ScopeFilingReview:
		return scopeSpec{s, []Audience{Office}, false, false, purposeGrant,
			"review a region's submissions, late applications and requests", true}, true
	case ScopeFilingConsent:
		return scopeSpec{s, []Audience{Office}, false, false, purposeGrant,
			"consent to changes of key fields of filed records", true}, true
	}
	return scopeSpec{}, false
}

// Known reports whether the scope is in Scopes.
func (s Scope) Known() bool {
	_, ok := specOf(s)
	return ok
}

// Audiences lists the audiences a policy may grant this scope to.
func (s Scope) Audiences() []Audience {
	sp, _ := specOf(s)
	return append([]Audience(nil), sp.audiences...)
}

// Summary is a short English description of the scope, for documentation.
func (s Scope) Summary() string {
	sp, _ := specOf(s)
	return sp.summary
}

func (sp scopeSpec) allows(a Audience) bool {
	for _, x := range sp.audiences {
		if x == a {
			return true
		}
	}
	return false
}
