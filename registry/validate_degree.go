package registry

// degree checks Art. 9.2: the degree and its certificate, except the
// certificate number (certificate.go) and conferral_date
// (validate_dates.go).
func (c *checker) degree() {
	r := c.r
	if c.required("unit_code", r.UnitCode) && !isUnitCode(r.UnitCode) {
		c.add("unit_code", CodeFormat, "unit_code must be the 5-digit code of the degree-granting unit")
	}
	if c.required("unit_name", r.UnitName) {
		c.text("unit_name", r.UnitName, maxShortText)
	}
	if c.required("president_name", r.PresidentName) {
		c.personName("president_name", r.PresidentName)
	}
	if c.required("committee_chair_name", r.CommitteeChairName) {
		c.personName("committee_chair_name", r.CommitteeChairName)
	}

	switch r.DegreeLevel {
	case LevelDoctor, LevelMaster, LevelBachelor:
	case "":
		c.required("degree_level", "")
	default:
		c.add("degree_level", CodeUnknownValue, "degree_level must be doctor, master or bachelor")
	}
	switch r.DegreeType {
	case TypeAcademic, TypeProfessional:
	case "":
		c.required("degree_type", "")
	default:
		c.add("degree_type", CodeUnknownValue, "degree_type must be academic or professional")
	}

	for _, f := range [...]struct {
		name, value string
	}{
		{"degree_category", r.DegreeCategory},
		{"discipline_name", r.DisciplineName},
		{"resolution_number", r.ResolutionNumber},
		{"certificate_style", r.CertificateStyle},
	} {
		if c.required(f.name, f.value) {
			c.text(f.name, f.value, maxShortText)
		}
	}
	c.disciplineCode()
}

// Discipline categories (学科门类) of the degree catalogues, by the first
// two digits of a discipline code: 01 philosophy, 02 economics, 03 law,
// 04 education, 05 literature, 06 history, 07 science, 08 engineering,
// 09 agriculture, 10 medicine, 11 military science, 12 management,
// 13 arts (split from literature by the 2011 catalogue), 14
// interdisciplinary (added by 学位〔2020〕30号, in force from 2021).
const (
	firstCategory       = 1
	lastCategory        = 14
	artsCategory        = 13
	artsFrom            = 2011
	interdisciplinary   = 14
	interdisciplinaryOn = 2021
)

// disciplineCode checks discipline_code: six digits (the second-level
// discipline, or "xxxx00" for a first-level one); four digits for a
// professional-degree category such as 0854 (electronic information);
// and for bachelor's degrees the six-digit major of the undergraduate
// catalogue with its optional T (special) or K (state-controlled) suffix.
func (c *checker) disciplineCode() {
	r := c.r
	code := r.DisciplineCode
	if !c.required("discipline_code", code) {
		return
	}
	digits := code
	if r.Kind == KindBachelor {
		switch n := len(code); {
		case n == 8 && code[6:] == "TK":
			digits = code[:6]
		case n == 7 && (code[6] == 'T' || code[6] == 'K'):
			digits = code[:6]
		}
	}
	switch {
	case len(digits) == 6 && allDigits(digits):
	case len(digits) == 4 && allDigits(digits):
		if r.DegreeType != TypeProfessional || r.Kind == KindBachelor {
			c.add("discipline_code", CodeFormat, "a 4-digit discipline code names a professional-degree category; other degrees need the 6-digit code")
			return
		}
	default:
		c.add("discipline_code", CodeFormat, "discipline_code must be 6 digits (4 for a professional-degree category; bachelor majors may end in T, K or TK)")
		return
	}
	cat := twoDigits(digits[:2])
	if cat < firstCategory || cat > lastCategory {
		c.add("discipline_code", CodeUnknownValue, "the first two digits of discipline_code must be a discipline category from 01 to 14")
		return
	}
	// Professional-degree categories were numbered in their own list
	// before the 2011 catalogue (the MFA, 1351, dates from 2005), so only
	// academic codes are held to the catalogue in force.
	if d := r.ConferralDate; !d.IsZero() && r.DegreeType != TypeProfessional {
		if cat == artsCategory && d.Year() < artsFrom || cat == interdisciplinary && d.Year() < interdisciplinaryOn {
			c.add("discipline_code", CodeMismatch, "the discipline category of discipline_code did not exist yet at conferral_date (13 arts from 2011, 14 interdisciplinary from 2021)")
		}
	}
}
