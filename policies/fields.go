package policies

// ClassifiedFlag is the record field whose value decides whether fields
// marked NeverIfClassified may leave the registry (Art. 25). Only the
// exact value "false" lets them out; anything else, including a missing
// value, counts as classified.
const ClassifiedFlag = "thesis_classified"

// FieldKind is the shape of a field's value, which decides the masks and
// dataset hierarchies that make sense for it.
type FieldKind string

const (
	KindText   FieldKind = "text"
	KindName   FieldKind = "name"  // a person's name
	KindCode   FieldKind = "code"  // a value from a code list or a numbering scheme
	KindDate   FieldKind = "date"  // YYYY-MM-DD
	KindMonth  FieldKind = "month" // YYYY-MM
	KindNumber FieldKind = "number"
	KindFlag   FieldKind = "flag" // "true" or "false"
	KindList   FieldKind = "list" // ";"-separated values
)

// FieldClass says how much a field gives away about a person on its own.
type FieldClass string

const (
	// DirectIdentifier names a person (the holder, or another person such
	// as a supervisor) on its own, or nearly so: datasets drop it and the
	// public never sees it unmasked.
	DirectIdentifier FieldClass = "direct_identifier"
	// QuasiIdentifier identifies in combination with others (birth date,
	// unit, discipline, dates …): datasets generalise it.
	QuasiIdentifier FieldClass = "quasi_identifier"
	// Attribute tells little about who the person is.
	Attribute FieldClass = "attribute"
)

// Field is one record field of the DESIGN.md contract.
type Field struct {
	Name  string
	Group string // the DESIGN.md group: kind, person, degree, postgraduate, …
	Kind  FieldKind
	Class FieldClass
	// NeverIfClassified marks thesis information: it never leaves the
	// registry when the record's ClassifiedFlag is not "false" (Art. 25),
	// whatever a policy says. Decision.Apply honours it; anything else
	// that discloses fields (the anonymizer) must too.
	NeverIfClassified bool
}

// Fields lists every record field of the contract, in DESIGN.md order.
// Policies may name only these. policies may not import registry, whose
// Fields is the one list of the record's fields: the module root's
// TestPolicyFieldsFollowTheRegistry holds this catalogue to it.
func Fields() []Field {
	t := fieldTable()
	return t[:]
}

const numFields = 43

// fieldTable returns the catalogue as an array value, so that lookups copy
// it on the stack instead of allocating.
func fieldTable() [numFields]Field {
	const (
		dir = DirectIdentifier
		qi  = QuasiIdentifier
		att = Attribute
	)
	return [numFields]Field{
		{"kind", "kind", KindCode, qi, false},

		{"name", "person", KindName, dir, false},
		{"gender", "person", KindCode, qi, false},
		{"nationality", "person", KindCode, qi, false},
		{"ethnicity", "person", KindCode, qi, false},
		{"political_status", "person", KindCode, qi, false},
		{"birth_date", "person", KindDate, qi, false},
		{"id_type", "person", KindCode, qi, false},
		{"id_number", "person", KindCode, dir, false},
		{"phone", "person", KindText, dir, false},
		{"email", "person", KindText, dir, false},

		{"unit_code", "degree", KindCode, qi, false},
		{"unit_name", "degree", KindText, qi, false},
		{"president_name", "degree", KindName, dir, false},
		{"committee_chair_name", "degree", KindName, dir, false},
		{"degree_level", "degree", KindCode, qi, false},
		{"degree_type", "degree", KindCode, qi, false},
		{"degree_category", "degree", KindCode, qi, false},
		{"discipline_code", "degree", KindCode, qi, false},
		{"discipline_name", "degree", KindText, qi, false},
		{"conferral_date", "degree", KindDate, qi, false},
		{"certificate_number", "degree", KindCode, dir, false},
		{"resolution_number", "degree", KindCode, qi, false},
		{"certificate_style", "degree", KindCode, att, false},

		{"supervisor_name", "postgraduate", KindName, dir, false},
		{"enrolment_month", "postgraduate", KindMonth, qi, false},
		{"student_number", "postgraduate", KindCode, dir, false},
		{"study_mode", "postgraduate", KindCode, qi, false},
		{"graduation_month", "postgraduate", KindMonth, qi, false},

		{"application_number", "equivalent", KindCode, dir, false},
		{"application_month", "equivalent", KindMonth, qi, false},

		{"training_unit", "bachelor", KindText, qi, false},
		{"programme_years", "bachelor", KindNumber, qi, false},
		{"study_form", "bachelor", KindCode, qi, false},

		{"thesis_title", "thesis", KindText, dir, true},
		{"thesis_keywords", "thesis", KindList, dir, true},
		{"thesis_topic_source", "thesis", KindCode, att, true},
		{ClassifiedFlag, "thesis", KindFlag, att, false},

		{"photo_ref", "other", KindText, dir, false},

		{"status", "status", KindCode, att, false},
		{"revoked_on", "status", KindDate, qi, false},
		{"revocation_resolution", "status", KindCode, dir, false},
		{"revocation_reason", "status", KindText, dir, false},
	}
}

// LookupField finds a field of the contract by name.
func LookupField(name string) (Field, bool) {
	for _, f := range fieldTable() {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}
