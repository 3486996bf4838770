package recordfile

import "github.com/degreegate/degreegate/registry"

// kind is how a field is written in a file.
type kind uint8

const (
	kindText     kind = iota // any UTF-8 text, taken as is
	kindDate                 // YYYY-MM-DD
	kindMonth                // YYYY-MM
	kindInt                  // decimal integer
	kindBool                 // true or false
	kindKeywords             // CSV: ";"-separated; JSON: array of strings
)

// field binds one contract field name to its place in registry.Record.
// Exactly the accessor that matches kind is set.
type field struct {
	name    string
	kind    kind
	getText func(*registry.Record) string
	setText func(*registry.Record, string)
	date    func(*registry.Record) *registry.Date
	month   func(*registry.Record) *registry.Month
	num     func(*registry.Record) *int
	flag    func(*registry.Record) *bool
	list    func(*registry.Record) *[]string
}

func text[T ~string](name string, p func(*registry.Record) *T) field {
	return field{
		name:    name,
		kind:    kindText,
		getText: func(r *registry.Record) string { return string(*p(r)) },
		setText: func(r *registry.Record, s string) { *p(r) = T(s) },
	}
}

func date(name string, p func(*registry.Record) *registry.Date) field {
	return field{name: name, kind: kindDate, date: p}
}

func month(name string, p func(*registry.Record) *registry.Month) field {
	return field{name: name, kind: kindMonth, month: p}
}

// fields lists every record field in DESIGN.md order; it is the CSV column
// order and the one place that maps names to Record. Read-only after init.
var fields = [...]field{
	text("kind", func(r *registry.Record) *registry.Kind { return &r.Kind }),
	// Art. 9.1 person.
	text("name", func(r *registry.Record) *string { return &r.Name }),
	text("gender", func(r *registry.Record) *registry.Gender { return &r.Gender }),
	text("nationality", func(r *registry.Record) *string { return &r.Nationality }),
	text("ethnicity", func(r *registry.Record) *string { return &r.Ethnicity }),
	text("political_status", func(r *registry.Record) *string { return &r.PoliticalStatus }),
	date("birth_date", func(r *registry.Record) *registry.Date { return &r.BirthDate }),
	text("id_type", func(r *registry.Record) *registry.IDType { return &r.IDType }),
	text("id_number", func(r *registry.Record) *string { return &r.IDNumber }),
	text("phone", func(r *registry.Record) *string { return &r.Phone }),
	text("email", func(r *registry.Record) *string { return &r.Email }),
	// Art. 9.2 degree.
	text("unit_code", func(r *registry.Record) *string { return &r.UnitCode }),
	text("unit_name", func(r *registry.Record) *string { return &r.UnitName }),
	text("president_name", func(r *registry.Record) *string { return &r.PresidentName }),
	text("committee_chair_name", func(r *registry.Record) *string { return &r.CommitteeChairName }),
	text("degree_level", func(r *registry.Record) *registry.DegreeLevel { return &r.DegreeLevel }),
	text("degree_type", func(r *registry.Record) *registry.DegreeType { return &r.DegreeType }),
	text("degree_category", func(r *registry.Record) *string { return &r.DegreeCategory }),
	text("discipline_code", func(r *registry.Record) *string { return &r.DisciplineCode }),
	text("discipline_name", func(r *registry.Record) *string { return &r.DisciplineName }),
	date("conferral_date", func(r *registry.Record) *registry.Date { return &r.ConferralDate }),
	text("certificate_number", func(r *registry.Record) *string { return &r.CertificateNumber }),
	text("resolution_number", func(r *registry.Record) *string { return &r.ResolutionNumber }),
	text("certificate_style", func(r *registry.Record) *string { return &r.CertificateStyle }),
	// Postgraduate.
	text("supervisor_name", func(r *registry.Record) *string { return &r.SupervisorName }),
	month("enrolment_month", func(r *registry.Record) *registry.Month { return &r.EnrolmentMonth }),
	text("student_number", func(r *registry.Record) *string { return &r.StudentNumber }),
	text("study_mode", func(r *registry.Record) *registry.StudyMode { return &r.StudyMode }),
	month("graduation_month", func(r *registry.Record) *registry.Month { return &r.GraduationMonth }),
	// Equivalent level.
	text("application_number", func(r *registry.Record) *string { return &r.ApplicationNumber }),
	month("application_month", func(r *registry.Record) *registry.Month { return &r.ApplicationMonth }),
	// Bachelor.
	text("training_unit", func(r *registry.Record) *string { return &r.TrainingUnit }),
	{name: "programme_years", kind: kindInt, num: func(r *registry.Record) *int { return &r.ProgrammeYears }},
	text("study_form", func(r *registry.Record) *string { return &r.StudyForm }),
	// Art. 9.3 thesis.
	text("thesis_title", func(r *registry.Record) *string { return &r.ThesisTitle }),
	{name: "thesis_keywords", kind: kindKeywords, list: func(r *registry.Record) *[]string { return &r.ThesisKeywords }},
	text("thesis_topic_source", func(r *registry.Record) *string { return &r.ThesisTopicSource }),
	{name: "thesis_classified", kind: kindBool, flag: func(r *registry.Record) *bool { return &r.ThesisClassified }},
	// Art. 9.4 other.
	text("photo_ref", func(r *registry.Record) *string { return &r.PhotoRef }),
	// Status.
	text("status", func(r *registry.Record) *registry.Status { return &r.Status }),
	date("revoked_on", func(r *registry.Record) *registry.Date { return &r.RevokedOn }),
	text("revocation_resolution", func(r *registry.Record) *string { return &r.RevocationResolution }),
	text("revocation_reason", func(r *registry.Record) *string { return &r.RevocationReason }),
}

// Columns is the CSV header: every record field's snake_case name in
// DESIGN.md order. The slice is the caller's to keep.
func Columns() []string {
	out := make([]string, len(fields))
	for i := range fields {
		out[i] = fields[i].name
	}
	return out
}

// fieldIndex maps each field name to its index in fields.
func fieldIndex() map[string]int {
	m := make(map[string]int, len(fields))
	for i := range fields {
		m[fields[i].name] = i
	}
	return m
}
