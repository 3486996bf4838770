package registry

import "slices"

// FieldKind is the Go shape of a record field: which of Field's accessors
// reaches it, and so how files write it and stores keep it.
type FieldKind uint8

const (
	FieldText  FieldKind = iota // a string or a string type (Kind, Gender, …)
	FieldDate                   // Date
	FieldMonth                  // Month
	FieldInt                    // int
	FieldBool                   // bool
	FieldList                   // []string
)

// Field is one field of Record: its contract name (DESIGN.md, import
// files, policies) and how to reach it. Exactly the accessors that match
// Kind are set: Text and SetText for FieldText (string types have no
// common pointer type), else the one that returns a pointer into the
// record.
type Field struct {
	Name string
	Kind FieldKind
	// Secret marks a direct identifier that Seal encrypts into
	// Sealed.Secret: stores keep it nowhere in clear.
	Secret bool

	Text    func(*Record) string
	SetText func(*Record, string)
	Date    func(*Record) *Date
	Month   func(*Record) *Month
	Int     func(*Record) *int
	Bool    func(*Record) *bool
	List    func(*Record) *[]string
}

// Fields is the one list of Record's fields, in DESIGN.md order (the CSV
// column order). Every other list of fields — recordfile's columns, the
// binary encodings of recordbin and inmem, policies' catalogue — is this
// one or is tested against it. The slice is the caller's to keep.
func Fields() []Field {
	return []Field{
		text("kind", func(r *Record) *Kind { return &r.Kind }),
		// Art. 9.1 person.
		text("name", func(r *Record) *string { return &r.Name }),
		text("gender", func(r *Record) *Gender { return &r.Gender }),
		text("nationality", func(r *Record) *string { return &r.Nationality }),
		text("ethnicity", func(r *Record) *string { return &r.Ethnicity }),
		text("political_status", func(r *Record) *string { return &r.PoliticalStatus }),
		{Name: "birth_date", Kind: FieldDate, Date: func(r *Record) *Date { return &r.BirthDate }},
		text("id_type", func(r *Record) *IDType { return &r.IDType }),
		secret(text("id_number", func(r *Record) *string { return &r.IDNumber })),
		secret(text("phone", func(r *Record) *string { return &r.Phone })),
		secret(text("email", func(r *Record) *string { return &r.Email })),
		// Art. 9.2 degree.
		text("unit_code", func(r *Record) *string { return &r.UnitCode }),
		text("unit_name", func(r *Record) *string { return &r.UnitName }),
		text("president_name", func(r *Record) *string { return &r.PresidentName }),
		text("committee_chair_name", func(r *Record) *string { return &r.CommitteeChairName }),
		text("degree_level", func(r *Record) *DegreeLevel { return &r.DegreeLevel }),
		text("degree_type", func(r *Record) *DegreeType { return &r.DegreeType }),
		text("degree_category", func(r *Record) *string { return &r.DegreeCategory }),
		text("discipline_code", func(r *Record) *string { return &r.DisciplineCode }),
		text("discipline_name", func(r *Record) *string { return &r.DisciplineName }),
		{Name: "conferral_date", Kind: FieldDate, Date: func(r *Record) *Date { return &r.ConferralDate }},
		text("certificate_number", func(r *Record) *string { return &r.CertificateNumber }),
		text("resolution_number", func(r *Record) *string { return &r.ResolutionNumber }),
		text("certificate_style", func(r *Record) *string { return &r.CertificateStyle }),
		// Postgraduate.
		text("supervisor_name", func(r *Record) *string { return &r.SupervisorName }),
		{Name: "enrolment_month", Kind: FieldMonth, Month: func(r *Record) *Month { return &r.EnrolmentMonth }},
		text("student_number", func(r *Record) *string { return &r.StudentNumber }),
		text("study_mode", func(r *Record) *StudyMode { return &r.StudyMode }),
		{Name: "graduation_month", Kind: FieldMonth, Month: func(r *Record) *Month { return &r.GraduationMonth }},
		// Equivalent level.
		text("application_number", func(r *Record) *string { return &r.ApplicationNumber }),
		{Name: "application_month", Kind: FieldMonth, Month: func(r *Record) *Month { return &r.ApplicationMonth }},
		// Bachelor.
		text("training_unit", func(r *Record) *string { return &r.TrainingUnit }),
		{Name: "programme_years", Kind: FieldInt, Int: func(r *Record) *int { return &r.ProgrammeYears }},
		text("study_form", func(r *Record) *string { return &r.StudyForm }),
		// Art. 9.3 thesis.
		text("thesis_title", func(r *Record) *string { return &r.ThesisTitle }),
		{Name: "thesis_keywords", Kind: FieldList, List: func(r *Record) *[]string { return &r.ThesisKeywords }},
		text("thesis_topic_source", func(r *Record) *string { return &r.ThesisTopicSource }),
		{Name: "thesis_classified", Kind: FieldBool, Bool: func(r *Record) *bool { return &r.ThesisClassified }},
		// Art. 9.4 other.
		text("photo_ref", func(r *Record) *string { return &r.PhotoRef }),
		// Status (Art. 19).
		text("status", func(r *Record) *Status { return &r.Status }),
		{Name: "revoked_on", Kind: FieldDate, Date: func(r *Record) *Date { return &r.RevokedOn }},
		text("revocation_resolution", func(r *Record) *string { return &r.RevocationResolution }),
		text("revocation_reason", func(r *Record) *string { return &r.RevocationReason }),
	}
}

// Equal reports whether a and b hold the same value in the field.
func (f Field) Equal(a, b *Record) bool {
	switch f.Kind {
	case FieldText:
		return f.Text(a) == f.Text(b)
	case FieldDate:
		return *f.Date(a) == *f.Date(b)
	case FieldMonth:
		return *f.Month(a) == *f.Month(b)
	case FieldInt:
		return *f.Int(a) == *f.Int(b)
	case FieldBool:
		return *f.Bool(a) == *f.Bool(b)
	case FieldList:
		return slices.Equal(*f.List(a), *f.List(b))
	}
	return false
}

func text[T ~string](name string, p func(*Record) *T) Field {
	return Field{
		Name:    name,
		Kind:    FieldText,
		Text:    func(r *Record) string { return string(*p(r)) },
		SetText: func(r *Record, s string) { *p(r) = T(s) },
	}
}

func secret(f Field) Field {
	f.Secret = true
	return f
}
