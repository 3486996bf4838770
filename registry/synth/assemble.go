package synth

import (
	"strconv"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// Thresholds of rare events, in parts per million.
const (
	photoPPM      = 850_000
	revokedPPM    = 3_000
	classifiedPPM = 3_000
	hkOfHKMacao   = 750_000 // Hong Kong rather than Macao
)

// assemble builds the record of index idx: person p's degree pl.degree.
// All of the record's own text goes into one buffer that becomes one
// string, which the fields then slice: one allocation instead of twenty
// (BenchmarkRecord).
func (g *Generator) assemble(idx uint64, pl *placement, p *person, c *core) registry.Record {
	lvl := pl.path.levels[pl.degree]
	d := &p.degrees[pl.degree]
	u := &g.t.units[c.unit]
	conf := d.conferral
	ds := newStream(g.seed, tagDetail, idx)
	ns := newStream(g.seed, tagName, p.key)

	var r registry.Record
	var spans [16]span
	var arr [768]byte
	b := arr[:0]
	var pyArr [64]byte
	py := pyArr[:0]

	// Person (Art. 9.1), from the person's name stream: the same in all
	// of their records.
	spans[fName].a = len(b)
	switch p.style {
	case nameHan:
		b, py = appendHanName(b, py, &ns, &g.names, p.female, p.birth.y)
	case nameForeign:
		b = appendForeignName(b, &ns, nations[p.nation].style, p.female)
	default:
		b = appendMinorityName(b, &ns, p.style, p.female)
	}
	spans[fName].b = len(b)

	spans[fID].a = len(b)
	switch p.origin {
	case originMainland:
		r.Nationality, r.IDType = "CHN", registry.IDResident
		b = append(b, p.county...)
		b = appendInt(b, p.birth.y, 4)
		b = appendInt(b, p.birth.m, 2)
		b = appendInt(b, p.birth.d, 2)
		b = appendInt(b, p.idSeq, 3)
		check, err := registry.ResidentIDCheckChar(string(b[spans[fID].a:]))
		if err != nil {
			panic("synth: resident ID: " + err.Error()) // 17 digits by construction
		}
		b = append(b, check)
	case originHKMacao:
		r.IDType = registry.IDHKMacaoPermit
		if ns.chance(hkOfHKMacao) {
			r.Nationality = "HKG"
			b = append(b, 'H')
		} else {
			r.Nationality = "MAC"
			b = append(b, 'M')
		}
		b = appendInt(b, ns.between(0, 99_999_999), 8)
	case originTaiwan:
		r.Nationality, r.IDType = "TWN", registry.IDTaiwanPermit
		b = appendInt(b, ns.between(0, 99_999_999), 8)
	case originForeign:
		r.Nationality, r.IDType = nations[p.nation].code, registry.IDPassport
		b = append(b, byte('A'+ns.intn(26)), byte('A'+ns.intn(26)))
		b = appendInt(b, ns.between(0, 9_999_999), 7)
	}
	spans[fID].b = len(b)

	if ns.chance(phonePPM) && (p.origin == originMainland || ns.chance(300_000)) {
		spans[fPhone].a = len(b)
		b = append(b, '1', "35789"[ns.intn(5)])
		b = appendInt(b, ns.between(0, 999_999_999), 9)
		spans[fPhone].b = len(b)
	}
	if ns.chance(emailPPM) {
		spans[fEmail].a = len(b)
		switch {
		case len(py) > 0:
			b = append(b, py...)
		case p.style == nameForeign:
			for _, c := range b[spans[fName].a:spans[fName].b] {
				if c >= 'A' && c <= 'Z' {
					b = append(b, c+'a'-'A')
				}
			}
		default:
			b = append(b, "user"...)
		}
		if ns.chance(600_000) {
			b = appendInt(b, ns.between(1, 9999), 0)
		}
		b = append(b, '@')
		b = append(b, pick(&ns, emailDomains)...)
		spans[fEmail].b = len(b)
	}
	r.Gender = registry.GenderMale
	if p.female {
		r.Gender = registry.GenderFemale
	}
	r.Ethnicity = p.ethnicity
	r.BirthDate = registry.NewDate(p.birth.y, time.Month(p.birth.m), p.birth.d)
	r.PoliticalStatus = politicalStatus(&ds, p, conf.y-p.birth.y)

	// Degree (Art. 9.2).
	f, professional := g.discipline(&ds, lvl, c, conf.y, u.profile)
	r.UnitCode, r.UnitName = u.code, u.name
	r.PresidentName, r.CommitteeChairName = u.president, u.chair
	r.DegreeLevel = [...]registry.DegreeLevel{registry.LevelBachelor, registry.LevelMaster, registry.LevelDoctor}[lvl]
	r.DegreeType = registry.TypeAcademic
	if professional {
		r.DegreeType = registry.TypeProfessional
	}
	r.DegreeCategory, r.DisciplineCode, r.DisciplineName = f.category, f.code, f.name
	r.ConferralDate = registry.NewDate(conf.y, time.Month(conf.m), conf.d)

	spans[fCert].a = len(b)
	b = append(b, u.code...)
	b = append(b, r.DegreeLevel.CertificateDigit())
	b = appendInt(b, conf.y, 4)
	b = appendInt(b, int(g.serial(idx)), 6)
	spans[fCert].b = len(b)

	// The resolution of the committee meeting that conferred the degree:
	// unit, year and the month of the meeting.
	spans[fResolution].a = len(b)
	b = append(b, u.code...)
	b = append(b, '-')
	b = appendInt(b, conf.y, 4)
	b = append(b, '-')
	b = appendInt(b, conf.m, 2)
	spans[fResolution].b = len(b)

	switch {
	case conf.y < 2016:
		r.CertificateStyle = "国家统一式样"
	case conf.y >= 2021 && u.code[4]%2 == 1:
		r.CertificateStyle = "2021版"
	default:
		r.CertificateStyle = "2016版"
	}

	// Kind-specific fields.
	switch {
	case lvl == levelBachelor:
		r.Kind = registry.KindBachelor
		r.TrainingUnit = u.name
		r.ProgrammeYears = c.years
		r.StudyForm = "普通全日制"
		if c.topUp {
			r.StudyForm = "普通全日制（专升本）"
		}
		r.EnrolmentMonth = registry.NewMonth(d.enrol.y, time.Month(d.enrol.m))
		r.GraduationMonth = registry.NewMonth(d.grad.y, time.Month(d.grad.m))
		spans[fStudent].a = len(b)
		b = appendInt(b, d.enrol.y, 4)
		b = appendInt(b, ds.between(1, 30), 2)
		b = appendInt(b, ds.between(1, 20), 2)
		b = appendInt(b, ds.between(1, 40), 2)
		spans[fStudent].b = len(b)
	case pl.path.equivalent:
		r.Kind = registry.KindEquivalent
		r.ApplicationMonth = registry.NewMonth(d.apply.y, time.Month(d.apply.m))
		spans[fApplication].a = len(b)
		b = append(b, u.code...)
		b = appendInt(b, d.apply.y, 4)
		b = appendInt(b, ds.between(1, 9999), 4)
		spans[fApplication].b = len(b)
	default:
		r.Kind = registry.KindPostgraduate
		r.EnrolmentMonth = registry.NewMonth(d.enrol.y, time.Month(d.enrol.m))
		r.GraduationMonth = registry.NewMonth(d.grad.y, time.Month(d.grad.m))
		r.StudyMode = registry.StudyFullTime
		if d.partTime {
			r.StudyMode = registry.StudyPartTime
		}
		spans[fStudent].a = len(b)
		if u.code[4]%2 == 0 { // each unit keeps to one style
			b = appendInt(b, d.enrol.y, 4)
			b = append(b, "0123"[lvl])
		} else {
			b = append(b, "-SB"[lvl])
			b = appendInt(b, d.enrol.y%100, 2)
		}
		b = appendInt(b, ds.between(1, 40), 2)
		b = appendInt(b, ds.between(1, 300), 3)
		spans[fStudent].b = len(b)
	}

	// Thesis (Art. 9.3) and supervisor, for postgraduate degrees.
	if lvl != levelBachelor {
		spans[fSupervisor].a = len(b)
		b, _ = appendHanName(b, nil, &ds, &g.names, ds.chance(350_000), 1965)
		spans[fSupervisor].b = len(b)
		group := thesisGroupOf[int(f.code[0]-'0')*10+int(f.code[1]-'0')]
		spans[fThesis].a = len(b)
		b, r.ThesisKeywords = appendThesis(b, &ds, group, f.name)
		spans[fThesis].b = len(b)
		if group == groupEconomics || group == groupLaw || group == groupEducation || group == groupHumanities || group == groupArts {
			r.ThesisTopicSource = topicSourcesSocial[g.topicSocial.draw(&ds)]
		} else {
			r.ThesisTopicSource = topicSourcesScience[g.topicScience.draw(&ds)]
		}
		r.ThesisClassified = ds.chance(classifiedPPM)
	}

	// Photo (Art. 9.4).
	if ds.chance(photoPPM) {
		spans[fPhoto].a = len(b)
		b = append(b, "photo/"...)
		b = appendHex(b, ds.u64())
		b = append(b, ".jpg"...)
		spans[fPhoto].b = len(b)
	}

	// Status (Art. 19).
	r.Status = registry.StatusFiled
	if ds.chance(revokedPPM) {
		r.Status = registry.StatusRevoked
		on := revocationDate(&ds, conf)
		r.RevokedOn = registry.NewDate(on.y, time.Month(on.m), on.d)
		spans[fRevocation].a = len(b)
		b = append(b, u.code...)
		b = append(b, '-')
		b = appendInt(b, on.y, 4)
		b = append(b, "-R"...)
		b = appendInt(b, ds.between(1, 30), 2)
		spans[fRevocation].b = len(b)
		if lvl == levelBachelor {
			r.RevocationReason = pick(&ds, revocationReasonsBachelor)
		} else {
			r.RevocationReason = pick(&ds, revocationReasonsPostgraduate)
		}
	}

	// One string for all of it.
	s := string(b)
	at := func(f int) string { return s[spans[f].a:spans[f].b] }
	r.Name, r.IDNumber, r.Phone, r.Email = at(fName), at(fID), at(fPhone), at(fEmail)
	r.CertificateNumber, r.ResolutionNumber = at(fCert), at(fResolution)
	r.StudentNumber, r.ApplicationNumber = at(fStudent), at(fApplication)
	r.SupervisorName, r.ThesisTitle = at(fSupervisor), at(fThesis)
	r.PhotoRef, r.RevocationResolution = at(fPhoto), at(fRevocation)
	return r
}

// span is a field's byte range in the record buffer; empty when unset.
type span struct{ a, b int }

// Fields built in the record buffer.
const (
	fName = iota
	fID
	fPhone
	fEmail
	fCert
	fResolution
	fStudent
	fApplication
	fSupervisor
	fThesis
	fPhoto
	fRevocation
)

var emailDomains = []string{"example.com", "example.com", "example.edu.cn", "example.net", "example.org"}

var (
	revocationReasonsPostgraduate = []string{"学位论文作假", "学位论文存在抄袭、剽窃等学术不端行为", "以作弊等不正当手段取得学位",
		"冒名顶替取得入学资格"}
	revocationReasonsBachelor = []string{"冒名顶替取得入学资格", "学历证书被依法撤销", "以作弊等不正当手段取得学位"}
)

// politicalStatus draws a GB/T 4762 code fitting the holder's age at
// conferral: League members are young, Party members more common later.
func politicalStatus(s *stream, p *person, age int) string {
	if p.origin != originMainland {
		return "13" // 群众
	}
	x := s.intn(100)
	if age <= 28 {
		switch {
		case x < 55:
			return "03" // 共青团员
		case x < 73:
			return "01" // 中共党员
		case x < 77:
			return "02" // 中共预备党员
		}
		return "13"
	}
	switch {
	case x < 40:
		return "01"
	case x < 42:
		return "02"
	case x < 44:
		return "05" // 民盟盟员
	case x < 45:
		return "10" // 九三学社社员
	}
	return "13"
}

// discipline applies the year rules to the core's field: a code not used
// in the conferral year becomes its stand-in, and a professional degree
// whose category did not confer that degree yet becomes an academic one.
func (g *Generator) discipline(s *stream, lvl int, c *core, year, profile int) (*field, bool) {
	switch {
	case lvl == levelBachelor:
		m := &g.t.majors
		if j := m.resolve(c.field, year); j >= 0 {
			return &m.fields[j], false
		}
		// A major from before the catalogue's newer codes, of the length
		// the timeline already used.
		years := m.fields[c.field].years
		for range 16 {
			j := m.openByProfile[profile].draw(s)
			if f := &m.fields[j]; f.years == years && f.usedIn(year) {
				return f, false
			}
		}
		return &m.fields[0], false // 010101 哲学, a 4-year major used in every year
	case c.professional:
		if j := g.t.professional.resolve(c.field, year); j >= 0 {
			f := &g.t.professional.fields[j]
			if lvl == levelMaster || f.doctorSince > 0 && year >= f.doctorSince {
				return f, true
			}
		}
		j := g.t.academic.byProfile[profile].draw(s)
		return &g.t.academic.fields[g.t.academic.resolve(j, year)], false
	}
	return &g.t.academic.fields[g.t.academic.resolve(c.field, year)], false
}

// revocationDate is two months to five years after conferral, and never
// after the last day of lastYear.
func revocationDate(s *stream, conf ymd) ymd {
	start := time.Date(conf.y, time.Month(conf.m), conf.d, 0, 0, 0, 0, time.UTC)
	end := time.Date(lastYear, time.December, 31, 0, 0, 0, 0, time.UTC)
	room := int(end.Sub(start).Hours() / 24)
	days := s.between(60, 5*365)
	if days > room {
		days = s.between(min(1, room), room)
	}
	y, m, d := start.AddDate(0, 0, days).Date()
	return ymd{y, int(m), d}
}

// appendInt appends n in decimal, zero-padded to width digits.
func appendInt(b []byte, n, width int) []byte {
	var tmp [20]byte
	t := strconv.AppendInt(tmp[:0], int64(n), 10)
	for i := len(t); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, t...)
}

func appendHex(b []byte, x uint64) []byte {
	const hexDigits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[x>>uint(shift)&0xf])
	}
	return b
}
