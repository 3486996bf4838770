package disclose

// The audit vocabulary of disclosures, in one place: the actions and
// purposes entries are recorded under. The holder's access log and
// officials' searches read them back.
const (
	ActionPublicVerify = "verify.public"
	ActionAgencyVerify = "verify.agency"
	ActionCodeView     = "code.view"
	ActionHolderRead   = "holder.read"
	ActionHolderLog    = "holder.access_log"
	ActionCodeIssue    = "holder.code.issue"
	ActionCodeWithdraw = "holder.code.withdraw"
	ActionAuditRead    = "audit.read"

	PurposePublic       = "public_verification"
	PurposeSharedReport = "holder_shared_report"
	PurposeHolderSelf   = "holder_self_service"
)
