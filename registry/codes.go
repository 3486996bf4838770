package registry

// Violation codes: the stable, machine-readable half of a Violation. Import
// reports, the API's problem documents and dashboards branch on them, so a
// code never changes meaning; new rules reuse the closest code or add one.
// The message beside a code is for people and may be reworded freely.
const (
	// CodeRequired: the field is empty but the record's kind, status or the
	// contract needs it.
	CodeRequired = "required"
	// CodeFormat: the value does not have the shape of the field (length,
	// characters, structure, a date that does not exist, bad UTF-8).
	CodeFormat = "format"
	// CodeCheckDigit: the value has the right shape but its check character
	// is wrong (GB 11643-1999 ISO 7064 MOD 11-2).
	CodeCheckDigit = "check_digit"
	// CodeMismatch: two fields disagree, e.g. the birth date inside a
	// resident ID and birth_date, or the unit part of a certificate number
	// and unit_code. The field named is the one that embeds a copy of the
	// other (id_number, certificate_number, discipline_code against the
	// conferral year); nationality when it does not fit id_type.
	CodeMismatch = "mismatch"
	// CodeFuture: a date or month after "today".
	CodeFuture = "future_date"
	// CodeOrder: two dates in the wrong order, e.g. conferral before
	// graduation (Art. 10) or revocation before conferral.
	CodeOrder = "date_order"
	// CodeNotForKind: the field (or this value of it) is not allowed for the
	// record's kind: a thesis on a bachelor record, degree_level bachelor on
	// a postgraduate record.
	CodeNotForKind = "not_for_kind"
	// CodeNotForStatus: a revocation field on a record that is not revoked.
	CodeNotForStatus = "not_for_status"
	// CodeUnknownValue: not one of the values of a closed code list
	// (enumerations of the contract, GB/T 3304, GB/T 4762, region codes,
	// discipline categories).
	CodeUnknownValue = "unknown_value"
	// CodeOutOfRange: a number or date outside the range the field allows
	// (programme_years 2–8, conferral before 1981).
	CodeOutOfRange = "out_of_range"
	// CodeImplausible: fields that are each well-formed but together
	// describe an unlikely life, e.g. a holder younger than 14 at conferral
	// or a programme lasting far longer than its programme_years.
	CodeImplausible = "implausible"
	// CodeTooLong: a text longer, or a list with more items, than allowed.
	CodeTooLong = "too_long"
)
