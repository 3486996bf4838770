package registry

import "log/slog"

// Kind is the kind of degree holder of Art. 9.2.
type Kind string

const (
	KindPostgraduate Kind = "postgraduate" // regular doctoral or master's student
	KindEquivalent   Kind = "equivalent"   // 同等学力: degree by equivalent academic level, no enrolment
	KindBachelor     Kind = "bachelor"
)

// Gender follows GB/T 2261.1.
type Gender string

const (
	GenderMale   Gender = "1"
	GenderFemale Gender = "2"
)

// IDType is the kind of identity document.
type IDType string

const (
	IDResident         IDType = "resident_id"
	IDPassport         IDType = "passport"
	IDHKMacaoPermit    IDType = "hk_macao_permit"
	IDTaiwanPermit     IDType = "taiwan_permit"
	IDForeignPermanent IDType = "foreign_permanent_id"
	IDOther            IDType = "other"
)

// DegreeLevel is the level of the degree; its certificate-number digit is
// Level.CertificateDigit.
type DegreeLevel string

const (
	LevelDoctor   DegreeLevel = "doctor"
	LevelMaster   DegreeLevel = "master"
	LevelBachelor DegreeLevel = "bachelor"
)

// CertificateDigit is the level digit inside a 16-digit certificate number.
func (l DegreeLevel) CertificateDigit() byte {
	switch l {
	case LevelDoctor:
		return '2'
	case LevelMaster:
		return '3'
	case LevelBachelor:
		return '4'
	}
	return 0
}

// DegreeType separates academic from professional degrees.
type DegreeType string

const (
	TypeAcademic     DegreeType = "academic"
	TypeProfessional DegreeType = "professional"
)

// StudyMode is the postgraduate mode of study.
type StudyMode string

const (
	StudyFullTime StudyMode = "full_time"
	StudyPartTime StudyMode = "part_time"
)

// Status is where a filed record stands. Verification answers filed and
// revoked records; a deleted one (Art. 18) is kept, as every version is,
// but no reader of the Registry sees it (Visible).
type Status string

const (
	StatusFiled   Status = "filed"
	StatusRevoked Status = "revoked"
	// StatusDeleted is set only by the filing workflow's approved
	// deletion; no import file may carry it (Validate).
	StatusDeleted Status = "deleted"
)

// Visible reports whether a record in status s is shown to anyone:
// filed and revoked ones are, deleted ones are not.
func (s Status) Visible() bool { return s != StatusDeleted }

// Record is one degree-conferral record (Art. 9). Field names are the
// contract of DESIGN.md: import files, API and datasets use the same names.
type Record struct {
	Kind Kind `json:"kind"`

	// Art. 9.1 personal information.
	Name            string `json:"name"`
	Gender          Gender `json:"gender"`
	Nationality     string `json:"nationality"`      // GB/T 2659 alpha-3, e.g. CHN
	Ethnicity       string `json:"ethnicity"`        // GB/T 3304 two digits, e.g. 01 (Han)
	PoliticalStatus string `json:"political_status"` // GB/T 4762 two digits
	BirthDate       Date   `json:"birth_date"`
	IDType          IDType `json:"id_type"`
	IDNumber        string `json:"id_number"`
	Phone           string `json:"phone,omitempty"`
	Email           string `json:"email,omitempty"`

	// Art. 9.2 academic and certificate information.
	UnitCode           string      `json:"unit_code"`
	UnitName           string      `json:"unit_name"`
	PresidentName      string      `json:"president_name"`
	CommitteeChairName string      `json:"committee_chair_name"`
	DegreeLevel        DegreeLevel `json:"degree_level"`
	DegreeType         DegreeType  `json:"degree_type"`
	DegreeCategory     string      `json:"degree_category"`
	DisciplineCode     string      `json:"discipline_code"`
	DisciplineName     string      `json:"discipline_name"`
	ConferralDate      Date        `json:"conferral_date"`
	CertificateNumber  string      `json:"certificate_number"`
	ResolutionNumber   string      `json:"resolution_number"`
	CertificateStyle   string      `json:"certificate_style"`

	// Postgraduate (regular) and equivalent-level holders.
	SupervisorName string `json:"supervisor_name,omitempty"`
	// Postgraduate and bachelor.
	EnrolmentMonth  Month  `json:"enrolment_month,omitzero"`
	StudentNumber   string `json:"student_number,omitempty"`
	GraduationMonth Month  `json:"graduation_month,omitzero"`
	// Postgraduate only.
	StudyMode StudyMode `json:"study_mode,omitempty"`
	// Equivalent level only.
	ApplicationNumber string `json:"application_number,omitempty"`
	ApplicationMonth  Month  `json:"application_month,omitzero"`
	// Bachelor only.
	TrainingUnit   string `json:"training_unit,omitempty"`
	ProgrammeYears int    `json:"programme_years,omitempty"`
	StudyForm      string `json:"study_form,omitempty"`

	// Art. 9.3 thesis (doctoral and master's).
	ThesisTitle       string   `json:"thesis_title,omitempty"`
	ThesisKeywords    []string `json:"thesis_keywords,omitempty"`
	ThesisTopicSource string   `json:"thesis_topic_source,omitempty"`
	// ThesisClassified marks a thesis whose information may never leave the
	// registry (Art. 25).
	ThesisClassified bool `json:"thesis_classified"`

	// Art. 9.4 other.
	PhotoRef string `json:"photo_ref,omitempty"`

	// Status (Art. 19).
	Status               Status `json:"status"`
	RevokedOn            Date   `json:"revoked_on,omitzero"`
	RevocationResolution string `json:"revocation_resolution,omitempty"`
	RevocationReason     string `json:"revocation_reason,omitempty"`
}

// LogValue keeps personal data out of logs: a record logs as its
// certificate number's unit and year part only.
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kind", string(r.Kind)),
		slog.String("unit_code", r.UnitCode),
		slog.String("degree_level", string(r.DegreeLevel)),
	)
}

// Revocation is what Art. 19 requires to mark a record revoked.
type Revocation struct {
	On         Date   `json:"revoked_on"`
	Resolution string `json:"revocation_resolution"`
	Reason     string `json:"revocation_reason"`
}
