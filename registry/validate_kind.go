package registry

// The three kinds of holder of Art. 9.2 carry different fields. For each
// kind a field is required, forbidden, or (phone, e-mail, photo) optional.
//
//	field              postgraduate  equivalent  bachelor
//	degree_level       doctor|master doctor|master bachelor
//	supervisor_name    required      required    forbidden
//	enrolment_month    required      forbidden   required
//	student_number     required      forbidden   required
//	study_mode         required      forbidden   forbidden
//	graduation_month   required      forbidden   required
//	application_number forbidden     required    forbidden
//	application_month  forbidden     required    forbidden
//	training_unit      forbidden     forbidden   required
//	programme_years    forbidden     forbidden   required (2–8)
//	study_form         forbidden     forbidden   required
//	thesis_title, thesis_keywords (1–20), thesis_topic_source:
//	                   required      required    forbidden
//	thesis_classified  may be true   may be true must be false
//
// A forbidden field that is present gets CodeNotForKind and no further
// checks; a required one that is missing gets CodeRequired.

const (
	minProgrammeYears = 2 // 专升本 top-up programmes
	maxProgrammeYears = 8 // eight-year integrated clinical medicine, the longest programme
)

// kind checks the kind and the fields that depend on it.
func (c *checker) kind() {
	r := c.r
	var (
		grad, eq, bach bool
		levelOK        bool
	)
	switch r.Kind {
	case KindPostgraduate:
		grad = true
		levelOK = r.DegreeLevel == LevelDoctor || r.DegreeLevel == LevelMaster
	case KindEquivalent:
		eq = true
		levelOK = r.DegreeLevel == LevelDoctor || r.DegreeLevel == LevelMaster
	case KindBachelor:
		bach = true
		levelOK = r.DegreeLevel == LevelBachelor
	case "":
		c.required("kind", "")
		return
	default:
		c.add("kind", CodeUnknownValue, "kind must be postgraduate, equivalent or bachelor")
		return
	}
	switch r.DegreeLevel {
	case LevelDoctor, LevelMaster, LevelBachelor:
		if !levelOK {
			c.add("degree_level", CodeNotForKind, "degree_level does not fit kind: postgraduate and equivalent records are doctor or master, bachelor records bachelor")
		}
	}

	if c.presence("supervisor_name", !blank(r.SupervisorName), grad || eq) {
		c.personName("supervisor_name", r.SupervisorName)
	}
	c.presence("enrolment_month", !r.EnrolmentMonth.IsZero(), grad || bach)
	if c.presence("student_number", !blank(r.StudentNumber), grad || bach) {
		c.identifier("student_number", r.StudentNumber)
	}
	if c.presence("study_mode", r.StudyMode != "", grad) {
		if r.StudyMode != StudyFullTime && r.StudyMode != StudyPartTime {
			c.add("study_mode", CodeUnknownValue, "study_mode must be full_time or part_time")
		}
	}
	c.presence("graduation_month", !r.GraduationMonth.IsZero(), grad || bach)
	if c.presence("application_number", !blank(r.ApplicationNumber), eq) {
		c.identifier("application_number", r.ApplicationNumber)
	}
	c.presence("application_month", !r.ApplicationMonth.IsZero(), eq)
	if c.presence("training_unit", !blank(r.TrainingUnit), bach) {
		c.text("training_unit", r.TrainingUnit, maxShortText)
	}
	if c.presence("programme_years", r.ProgrammeYears != 0, bach) {
		if r.ProgrammeYears < minProgrammeYears || r.ProgrammeYears > maxProgrammeYears {
			c.add("programme_years", CodeOutOfRange, "programme_years must be from 2 to 8")
		}
	}
	if c.presence("study_form", !blank(r.StudyForm), bach) {
		c.text("study_form", r.StudyForm, maxShortText)
	}
}

// presence applies the table above to one field and reports whether the
// field is present and allowed, i.e. whether its own format should be
// checked.
func (c *checker) presence(field string, present, allowed bool) bool {
	switch {
	case present && allowed:
		return true
	case present:
		c.add(field, CodeNotForKind, field+" is not part of a "+string(c.r.Kind)+" record")
	case allowed:
		c.add(field, CodeRequired, field+" is required for a "+string(c.r.Kind)+" record")
	}
	return false
}

// thesis checks Art. 9.3: doctoral and master's records carry their
// thesis; bachelor records carry none, and so cannot flag one classified.
func (c *checker) thesis() {
	r := c.r
	var allowed bool
	switch r.Kind {
	case KindPostgraduate, KindEquivalent:
		allowed = true
	case KindBachelor:
	default:
		return // kind already reported
	}
	if c.presence("thesis_title", !blank(r.ThesisTitle), allowed) {
		c.text("thesis_title", r.ThesisTitle, maxThesisTitle)
	}
	if c.presence("thesis_keywords", len(r.ThesisKeywords) > 0, allowed) {
		c.keywords(r.ThesisKeywords)
	}
	if c.presence("thesis_topic_source", !blank(r.ThesisTopicSource), allowed) {
		c.text("thesis_topic_source", r.ThesisTopicSource, maxShortText)
	}
	if r.ThesisClassified && !allowed {
		c.add("thesis_classified", CodeNotForKind, "thesis_classified can only be true on a record with a thesis")
	}
}

func (c *checker) keywords(kw []string) {
	if len(kw) > maxKeywords {
		c.add("thesis_keywords", CodeTooLong, "thesis_keywords has more than 20 keywords")
		return
	}
	for _, k := range kw {
		if blank(k) {
			c.add("thesis_keywords", CodeFormat, "thesis_keywords has an empty keyword")
			return
		}
		if !c.text("thesis_keywords", k, maxKeyword) {
			return
		}
	}
}

// status checks Art. 19: a revoked record names when, by which resolution
// and why; a filed record has none of that.
func (c *checker) status() {
	r := c.r
	var revoked bool
	switch r.Status {
	case StatusFiled:
	case StatusRevoked:
		revoked = true
	case "":
		c.required("status", "")
		return
	default:
		c.add("status", CodeUnknownValue, "status must be filed or revoked")
		return
	}
	for _, f := range [...]struct {
		name    string
		present bool
	}{
		{"revoked_on", !r.RevokedOn.IsZero()},
		{"revocation_resolution", !blank(r.RevocationResolution)},
		{"revocation_reason", !blank(r.RevocationReason)},
	} {
		switch {
		case f.present && !revoked:
			c.add(f.name, CodeNotForStatus, f.name+" is only for revoked records")
		case !f.present && revoked:
			c.add(f.name, CodeRequired, f.name+" is required for a revoked record")
		}
	}
	if revoked {
		c.text("revocation_resolution", r.RevocationResolution, maxShortText)
		c.text("revocation_reason", r.RevocationReason, maxReason)
	}
}
