package disclose

// The audit vocabulary of disclosures: the actions and purposes entries
// are recorded under. The holder's access log reads them back.
const (
	ActionPublicVerify = "verify.public"
	ActionAgencyVerify = "verify.agency"
	ActionCodeView     = "code.view"
	ActionHolderRead   = "holder.read"
	ActionHolderLog    = "holder.access_log"

	PurposeSharedReport = "holder_shared_report"
	PurposeHolderSelf   = "holder_self_service"
)
