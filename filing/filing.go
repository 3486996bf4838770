// Package filing is the workflow by which a degree record becomes filed
// (Working Rules, Art. 11–19): a degree-granting unit collects and checks
// its records, submits them within 30 days of the conferral resolution,
// the province reviews them within 30 days and accepts or returns them,
// and accepted records are filed; filed records change, are deleted or
// are revoked only through requests the province (and, for key fields,
// the national office) decides.
//
// The rules are in this file: the states, which actor may take which
// action from which state, the four-eyes and scope checks, and the
// deadlines; Decide answers what one action does to one record, or why
// it is refused. The Desk (desk.go, request.go) applies them to what a
// Store keeps, and commits each transition together with its audit
// entries and any version it files. The package knows no HTTP and no
// driver. Every refusal is an *Error with a stable code.
package filing

import (
	"fmt"
	"time"
)

// State is where a record is in the workflow. Only Filed and Revoked
// records are visible to verification, agencies and datasets. Nothing is
// ever deleted: Deleted and Withdrawn are states.
type State string

const (
	Draft     State = "draft"     // uploaded by a collector
	Checked   State = "checked"   // confirmed by a checker of the same unit
	Returned  State = "returned"  // sent back by the province, with a reason
	Withdrawn State = "withdrawn" // given up by the unit before filing
	// Submitted waits for the province's review.
	Submitted State = "submitted"
	Filed     State = "filed"
	// ChangeRequested and DeletionRequested wait for the province;
	// AwaitingConsent for the national office (a change to a key field).
	ChangeRequested    State = "change_requested"
	AwaitingConsent    State = "awaiting_consent"
	DeletionRequested  State = "deletion_requested"
	Deleted            State = "deleted"
	RevocationReported State = "revocation_reported"
	Revoked            State = "revoked"
)

// States are all the states, in the order of the workflow.
func States() []State {
	return []State{Draft, Checked, Returned, Withdrawn, Submitted, Filed, ChangeRequested, AwaitingConsent,
		DeletionRequested, Deleted, RevocationReported, Revoked}
}

// Visible reports whether verification, agencies and datasets see a
// record in state s.
func (s State) Visible() bool {
	switch s {
	case Filed, Revoked, ChangeRequested, AwaitingConsent, DeletionRequested, RevocationReported:
		// A request on a filed record leaves the filed version in force
		// until it is decided.
		return true
	}
	return false
}

// Action is what an actor does to a record.
type Action string

const (
	ActCheck            Action = "check"             // unit checker: draft → checked
	ActSubmit           Action = "submit"            // unit: checked → submitted
	ActAccept           Action = "accept"            // province: submitted → filed
	ActReturn           Action = "return"            // province: submitted → returned
	ActCorrect          Action = "correct"           // unit: returned → draft
	ActWithdraw         Action = "withdraw"          // unit: draft, checked or returned → withdrawn
	ActRequestChange    Action = "request_change"    // unit: filed → change_requested
	ActApproveChange    Action = "approve_change"    // province: change_requested → filed, or awaiting_consent for a key field
	ActRejectChange     Action = "reject_change"     // province: change_requested → filed (unchanged)
	ActConsent          Action = "consent"           // national: awaiting_consent → filed
	ActRefuseConsent    Action = "refuse_consent"    // national: awaiting_consent → filed (unchanged)
	ActRequestDeletion  Action = "request_deletion"  // unit: filed → deletion_requested
	ActApproveDeletion  Action = "approve_deletion"  // province: deletion_requested → deleted
	ActRejectDeletion   Action = "reject_deletion"   // province: deletion_requested → filed
	ActReportRevocation Action = "report_revocation" // unit: filed → revocation_reported
	ActConfirmRevoke    Action = "confirm_revocation"
	ActRejectRevoke     Action = "reject_revocation"
	// ActUpload is a collector's upload of a batch (Desk.NewBatch): it
	// makes drafts, and is no transition of the table.
	ActUpload Action = "upload"
	// ActApplyLate, ActDecideLate and ActReadResolution name, in the
	// trail, a late application, its decision, and a read of a batch's
	// resolution; they are no transitions of a record either.
	ActApplyLate      Action = "apply_late"
	ActDecideLate     Action = "decide_late"
	ActReadResolution Action = "read_resolution"
	// ActRevoke is the national office's direct path (degreegate revoke):
	// filed → revoked, recorded as such.
	ActRevoke Action = "revoke"
)

// OrgKind is the kind of organisation an actor acts for (Art. 4–7).
type OrgKind string

const (
	Unit     OrgKind = "unit"     // a degree-granting unit, by its code
	Province OrgKind = "province" // a provincial degree office, by its GB/T 2260 code
	National OrgKind = "national" // the national degree office
)

// Duty is what a unit's staff member may do: collect records, or check
// them; never both for one batch (Art. 12).
type Duty string

const (
	Collector Duty = "collector"
	Checker   Duty = "checker"
)

// Actor is who takes an action: a person (issuer and subject of their
// token, compared byte for byte), the organisation they act for, and,
// at a unit, their duties.
type Actor struct {
	Issuer, Subject string
	Kind            OrgKind
	Code            string // unit or province code; empty for National
	Duties          []Duty
}

// ID is the actor as the trail names them.
func (a Actor) ID() string { return a.Issuer + "#" + a.Subject }

func (a Actor) has(d Duty) bool {
	for _, x := range a.Duties {
		if x == d {
			return true
		}
	}
	return false
}

// Record is what Decide needs to know of one record in the workflow.
type Record struct {
	CertificateNumber string
	UnitCode          string
	State             State
	// Collector is who uploaded the batch (Actor.ID); the checker must be
	// someone else.
	Collector string
	// ResolutionEffective is when the conferral resolution took effect:
	// submission is due within SubmitWithin of it.
	ResolutionEffective time.Time
	// LateApproved: the province approved a late-submission application
	// for the record's batch.
	LateApproved bool
	// Since is when the record entered its state (for review deadlines).
	Since time.Time
	// ChangesKeyField: the pending change touches a key field (name,
	// gender, ID type or number, degree category: keyFields), so it needs
	// the national office's consent.
	ChangesKeyField bool
}

// Deadlines of the rules, in days from the event that starts them.
const (
	SubmitWithin = 30 * 24 * time.Hour // resolution effective → submission (Art. 12)
	ReviewWithin = 30 * 24 * time.Hour // submission → review (Art. 13)
	DecideWithin = 30 * 24 * time.Hour // change or deletion request → decision (Art. 18)
)

// Regions says which province a unit belongs to, so that a province acts
// on its own region's records only.
type Regions interface {
	// UnitProvince is the GB/T 2260 province code of a unit, "" when it
	// is not known.
	UnitProvince(unit string) string
}

// Step is what an allowed action does: the record's next state, and
// whether it files a new version of the record (an accepted submission,
// a consented or approved change) or revokes it.
type Step struct {
	From, To   State
	Action     Action
	NewVersion bool
	Revokes    bool
	Deletes    bool // files a version marked deleted (Art. 18)
}

// rule is one allowed transition: from a state, by an action, by an
// organisation kind (and, at a unit, a duty), to a state.
type rule struct {
	from   State
	action Action
	by     OrgKind
	duty   Duty // "" for any duty
	to     State
	reason bool // a reason must be given
}

var rules = []rule{
	{Draft, ActCheck, Unit, Checker, Checked, false},
	{Checked, ActSubmit, Unit, "", Submitted, false},
	{Submitted, ActAccept, Province, "", Filed, false},
	{Submitted, ActReturn, Province, "", Returned, true},
	{Returned, ActCorrect, Unit, Collector, Draft, false},
	{Draft, ActWithdraw, Unit, "", Withdrawn, true},
	{Checked, ActWithdraw, Unit, "", Withdrawn, true},
	{Returned, ActWithdraw, Unit, "", Withdrawn, true},
	{Filed, ActRequestChange, Unit, "", ChangeRequested, true},
	{ChangeRequested, ActApproveChange, Province, "", Filed, false}, // or AwaitingConsent: see Decide
	{ChangeRequested, ActRejectChange, Province, "", Filed, true},
	{AwaitingConsent, ActConsent, National, "", Filed, false},
	{AwaitingConsent, ActRefuseConsent, National, "", Filed, true},
	{Filed, ActRequestDeletion, Unit, "", DeletionRequested, true},
	{DeletionRequested, ActApproveDeletion, Province, "", Deleted, false},
	{DeletionRequested, ActRejectDeletion, Province, "", Filed, true},
	{Filed, ActReportRevocation, Unit, "", RevocationReported, true},
	{RevocationReported, ActConfirmRevoke, Province, "", Revoked, false},
	{RevocationReported, ActRejectRevoke, Province, "", Filed, true},
	{Filed, ActRevoke, National, "", Revoked, true},
}

// Decide answers what act by a does to r at now, with reason, or why it
// is refused (an *Error). It changes nothing: the caller stores the step
// and its audit entry together, and a concurrent decision on the same
// record must find r.State unchanged (compare-and-set) or lose.
func Decide(r Record, a Actor, act Action, reason string, now time.Time, regions Regions) (Step, error) {
	known := false
	var ru *rule
	for i := range rules {
		if rules[i].action == act {
			known = true
			if rules[i].from == r.State {
				ru = &rules[i]
			}
		}
	}
	switch {
	case !known:
		return Step{}, errorf(CodeUnknownAction, "no action %q", act)
	case ru == nil:
		return Step{}, errorf(CodeNotFromState, "%s is not allowed on a %s record", act, r.State)
	}
	if a.Kind != ru.by {
		return Step{}, errorf(CodeWrongOrg, "%s is for a %s, not a %s", act, ru.by, a.Kind)
	}
	if err := inScope(r, a, regions); err != nil {
		return Step{}, err
	}
	if ru.duty != "" && !a.has(ru.duty) {
		return Step{}, errorf(CodeWrongDuty, "%s needs the %s duty", act, ru.duty)
	}
	if act == ActCheck && a.ID() == r.Collector {
		return Step{}, errorf(CodeSamePerson, "the checker must not be the collector of the batch")
	}
	if ru.reason && reason == "" {
		return Step{}, errorf(CodeReasonRequired, "%s needs a reason", act)
	}
	if act == ActSubmit && !r.LateApproved && !r.ResolutionEffective.IsZero() && now.After(r.ResolutionEffective.Add(SubmitWithin)) {
		return Step{}, errorf(CodeLate, "due %s, 30 days after the resolution took effect: a late submission needs an approved application",
			r.ResolutionEffective.Add(SubmitWithin).Format(time.DateOnly))
	}
	s := Step{From: r.State, To: ru.to, Action: act}
	switch act {
	case ActAccept, ActConsent:
		s.NewVersion = true
	case ActApproveChange:
		if r.ChangesKeyField {
			s.To = AwaitingConsent
		} else {
			s.NewVersion = true
		}
	case ActConfirmRevoke, ActRevoke:
		s.Revokes = true
	case ActApproveDeletion:
		s.Deletes = true
	}
	return s, nil
}

// inScope: a unit acts on its own records, a province on its region's,
// the national office on all.
func inScope(r Record, a Actor, regions Regions) error {
	switch a.Kind {
	case Unit:
		if a.Code == "" || a.Code != r.UnitCode {
			return errorf(CodeOutOfScope, "a unit acts on its own records only")
		}
	case Province:
		if a.Code == "" || regions == nil || regions.UnitProvince(r.UnitCode) != a.Code {
			return errorf(CodeOutOfScope, "a province acts on its own region's records only")
		}
	case National:
	default:
		return errorf(CodeWrongOrg, "unknown organisation kind %q", a.Kind)
	}
	return nil
}

// Overdue says whether r waits past a deadline at now, and when it was
// due: a submission 30 days after the resolution took effect (unless a
// late submission was approved), a review or a decision 30 days after
// the request.
func Overdue(r Record, now time.Time) (late bool, dueAt time.Time) {
	var due time.Time
	switch {
	case waitsOnResolution(r.State):
		if r.LateApproved || r.ResolutionEffective.IsZero() {
			return false, time.Time{}
		}
		due = r.ResolutionEffective.Add(SubmitWithin)
	case r.State == Submitted:
		due = r.Since.Add(ReviewWithin)
	case r.State == ChangeRequested, r.State == DeletionRequested, r.State == AwaitingConsent, r.State == RevocationReported:
		due = r.Since.Add(DecideWithin)
	default:
		return false, time.Time{}
	}
	return now.After(due), due
}

// Code names why an action was refused, stably: the console and the API
// branch on it (a problem+json type each).
type Code string

const (
	CodeUnknownAction  Code = "unknown-action"
	CodeNotFromState   Code = "not-from-state"
	CodeWrongOrg       Code = "wrong-organisation"
	CodeWrongDuty      Code = "wrong-duty"
	CodeOutOfScope     Code = "out-of-scope"
	CodeSamePerson     Code = "checker-is-collector"
	CodeReasonRequired Code = "reason-required"
	CodeLate           Code = "submission-late"
	// Of the desk: uploads, choices of records, checks across units.
	CodeUnknownUnit      Code = "unknown-unit"
	CodeBadResolution    Code = "bad-resolution"
	CodeDocumentTooLarge Code = "document-too-large"
	CodeNotPDF           Code = "document-not-pdf"
	CodeEmptyBatch       Code = "empty-batch"
	CodeBatchTooLarge    Code = "batch-too-large"
	CodeNotInBatch       Code = "not-in-batch"
	CodeBadReason        Code = "bad-reason"
	CodeFiledAlready     Code = "already-filed"
	CodeNumberMismatch   Code = "number-mismatch"
	CodeSameDegree       Code = "same-degree-twice"
	CodeLateState        Code = "late-application-state"
	CodeNotABatchAction  Code = "not-a-batch-action"
	CodeBadUpload        Code = "bad-upload"
	CodeNoChange         Code = "no-change"
)

// Error is a refused action.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return "filing: " + e.Msg }

func errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}
