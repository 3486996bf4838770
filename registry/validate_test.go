package registry

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// vToday is "now" for every validation test.
var vToday = NewDate(2024, time.July, 1)

// gbCheck computes a GB 11643 check character from the defining property
// of ISO 7064 MOD 11-2 — Σ aᵢ·2^(18−i) over all 18 positions ≡ 1 (mod 11)
// — by trying every candidate, independently of ResidentIDCheckChar.
func gbCheck(t testing.TB, first17 string) string {
	t.Helper()
	if len(first17) != 17 {
		t.Fatalf("gbCheck: %d characters", len(first17))
	}
	for _, cand := range "0123456789X" {
		v := int(cand - '0')
		if cand == 'X' {
			v = 10
		}
		sum := v
		for i := 0; i < 17; i++ {
			sum += int(first17[i]-'0') * (1 << (17 - i))
		}
		if sum%11 == 1 {
			return first17 + string(cand)
		}
	}
	t.Fatal("gbCheck: no candidate")
	return ""
}

// vPostgraduate is a valid doctoral record of a Uyghur woman holding a
// resident ID.
func vPostgraduate(t testing.TB) Record {
	return Record{
		Kind:               KindPostgraduate,
		Name:               "阿依古丽·买买提",
		Gender:             GenderFemale,
		Nationality:        "CHN",
		Ethnicity:          "05",
		PoliticalStatus:    "13",
		BirthDate:          NewDate(1995, time.March, 15),
		IDType:             IDResident,
		IDNumber:           gbCheck(t, "65010219950315002"),
		Phone:              "13800138000",
		Email:              "aygul.m@example.edu.cn",
		UnitCode:           "10001",
		UnitName:           "北京大学",
		PresidentName:      "李明",
		CommitteeChairName: "王红",
		DegreeLevel:        LevelDoctor,
		DegreeType:         TypeAcademic,
		DegreeCategory:     "理学",
		DisciplineCode:     "070101",
		DisciplineName:     "基础数学",
		ConferralDate:      NewDate(2023, time.July, 5),
		CertificateNumber:  "1000122023000123",
		ResolutionNumber:   "北大学位〔2023〕5号",
		CertificateStyle:   "2016版",
		SupervisorName:     "赵五",
		EnrolmentMonth:     NewMonth(2018, time.September),
		StudentNumber:      "1801110001",
		StudyMode:          StudyFullTime,
		GraduationMonth:    NewMonth(2023, time.July),
		ThesisTitle:        "某类模空间的几何",
		ThesisKeywords:     []string{"代数几何", "模空间"},
		ThesisTopicSource:  "国家自然科学基金",
		Status:             StatusFiled,
	}
}

// vEquivalent is a valid master's degree by equivalent level of a man
// holding a passport.
func vEquivalent(t testing.TB) Record {
	return Record{
		Kind:               KindEquivalent,
		Name:               "Jean-Luc O'Brien",
		Gender:             GenderMale,
		Nationality:        "CHN",
		Ethnicity:          "01",
		PoliticalStatus:    "01",
		BirthDate:          NewDate(1985, time.November, 2),
		IDType:             IDPassport,
		IDNumber:           "E12345678",
		UnitCode:           "10003",
		UnitName:           "清华大学",
		PresidentName:      "张伟",
		CommitteeChairName: "陈静",
		DegreeLevel:        LevelMaster,
		DegreeType:         TypeAcademic,
		DegreeCategory:     "工学",
		DisciplineCode:     "081200",
		DisciplineName:     "计算机科学与技术",
		ConferralDate:      NewDate(2022, time.December, 20),
		CertificateNumber:  "1000332022000456",
		ResolutionNumber:   "清华学位〔2022〕17号",
		CertificateStyle:   "2016版",
		SupervisorName:     "J. R. Smith",
		ApplicationNumber:  "2021100030001",
		ApplicationMonth:   NewMonth(2021, time.March),
		ThesisTitle:        "分布式系统的一致性",
		ThesisKeywords:     []string{"共识"},
		ThesisTopicSource:  "自选",
		Status:             StatusFiled,
	}
}

// vBachelor is a valid bachelor's record of a Hong Kong resident.
func vBachelor(t testing.TB) Record {
	return Record{
		Kind:               KindBachelor,
		Name:               "陳大文",
		Gender:             GenderMale,
		Nationality:        "HKG",
		Ethnicity:          "01",
		PoliticalStatus:    "13",
		BirthDate:          NewDate(1998, time.May, 20),
		IDType:             IDHKMacaoPermit,
		IDNumber:           "H12345678",
		UnitCode:           "10001",
		UnitName:           "北京大学",
		PresidentName:      "李明",
		CommitteeChairName: "王红",
		DegreeLevel:        LevelBachelor,
		DegreeType:         TypeAcademic,
		DegreeCategory:     "工学",
		DisciplineCode:     "080910T",
		DisciplineName:     "数据科学与大数据技术",
		ConferralDate:      NewDate(2020, time.July, 1),
		CertificateNumber:  "1000142020001234",
		ResolutionNumber:   "北大学位〔2020〕9号",
		CertificateStyle:   "2016版",
		TrainingUnit:       "信息科学技术学院",
		EnrolmentMonth:     NewMonth(2016, time.September),
		StudentNumber:      "1600012345",
		ProgrammeYears:     4,
		StudyForm:          "普通全日制",
		GraduationMonth:    NewMonth(2020, time.July),
		Status:             StatusFiled,
	}
}

func vRevoked(r Record) Record {
	r.Status = StatusRevoked
	r.RevokedOn = NewDate(2024, time.January, 10)
	r.RevocationResolution = "学位〔2024〕1号"
	r.RevocationReason = "学术不端"
	return r
}

// want is one expected violation: field and code.
type want struct{ field, code string }

type validateCase struct {
	name   string
	base   func(testing.TB) Record
	mutate func(*Record)
	want   []want // nil: the record is valid
}

func TestValidBaseRecords(t *testing.T) {
	for _, base := range []func(testing.TB) Record{vPostgraduate, vEquivalent, vBachelor} {
		r := base(t)
		v := Validate(&r, vToday)
		if v.Err() != nil {
			t.Errorf("%s base record: %v", r.Kind, v.Err())
		}
		if v.CertificateRule != CertGB2016 {
			t.Errorf("%s base record: rule %q, want gb2016", r.Kind, v.CertificateRule)
		}
		rv := vRevoked(r)
		if err := Validate(&rv, vToday).Err(); err != nil {
			t.Errorf("%s revoked record: %v", r.Kind, err)
		}
		// A valid record is already in normal form.
		n := r
		Normalize(&n)
		if !reflect.DeepEqual(n, r) {
			t.Errorf("%s base record changed under Normalize", r.Kind)
		}
	}
}

func TestValidationErr(t *testing.T) {
	r := vPostgraduate(t)
	if err := Validate(&r, vToday).Err(); err != nil {
		t.Fatalf("valid record: %v", err)
	}
	r.Gender = "9"
	r.UnitCode = "1"
	err := Validate(&r, vToday).Err()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Err() = %v, want one wrapping ErrInvalid", err)
	}
	var ie *InvalidError
	if !errors.As(err, &ie) || len(ie.Violations) != 2 {
		t.Fatalf("Err() = %#v, want an *InvalidError with both violations", err)
	}
}

// requiredCommon lists the fields every record needs, with a mutation
// that empties each.
var requiredCommon = []struct {
	field string
	clear func(*Record)
}{
	{"kind", func(r *Record) { r.Kind = "" }},
	{"name", func(r *Record) { r.Name = "" }},
	{"gender", func(r *Record) { r.Gender = "" }},
	{"nationality", func(r *Record) { r.Nationality = "" }},
	{"ethnicity", func(r *Record) { r.Ethnicity = "" }},
	{"political_status", func(r *Record) { r.PoliticalStatus = "" }},
	{"birth_date", func(r *Record) { r.BirthDate = Date{} }},
	{"id_type", func(r *Record) { r.IDType = "" }},
	{"id_number", func(r *Record) { r.IDNumber = "" }},
	{"unit_code", func(r *Record) { r.UnitCode = "" }},
	{"unit_name", func(r *Record) { r.UnitName = " " }},
	{"president_name", func(r *Record) { r.PresidentName = "" }},
	{"committee_chair_name", func(r *Record) { r.CommitteeChairName = "" }},
	{"degree_level", func(r *Record) { r.DegreeLevel = "" }},
	{"degree_type", func(r *Record) { r.DegreeType = "" }},
	{"degree_category", func(r *Record) { r.DegreeCategory = "" }},
	{"discipline_code", func(r *Record) { r.DisciplineCode = "" }},
	{"discipline_name", func(r *Record) { r.DisciplineName = "" }},
	{"conferral_date", func(r *Record) { r.ConferralDate = Date{} }},
	{"certificate_number", func(r *Record) { r.CertificateNumber = "" }},
	{"resolution_number", func(r *Record) { r.ResolutionNumber = "" }},
	{"certificate_style", func(r *Record) { r.CertificateStyle = "" }},
	{"status", func(r *Record) { r.Status = "" }},
}

func TestValidateRequired(t *testing.T) {
	for _, base := range []func(testing.TB) Record{vPostgraduate, vEquivalent, vBachelor} {
		for _, f := range requiredCommon {
			r := base(t)
			f.clear(&r)
			got := fieldCodes(Validate(&r, vToday).Violations)
			if !slices.Contains(got, want{f.field, CodeRequired}) {
				t.Errorf("%s without %s: got %v, want %s required", r.Kind, f.field, got, f.field)
			}
			// Clearing one field may silence the rules that compare with
			// it, but must not add complaints about other fields, except
			// for the kind, which the kind-specific rules hang on.
			if f.field != "kind" && len(got) != 1 {
				t.Errorf("%s without %s: got %v, want only %s required", r.Kind, f.field, got, f.field)
			}
		}
	}
}

func fieldCodes(vs []Violation) []want {
	out := make([]want, len(vs))
	for i, v := range vs {
		out[i] = want{v.Field, v.Code}
	}
	return out
}

func runValidateCases(t *testing.T, cases []validateCase) {
	t.Helper()
	tags := recordJSONFields()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.base(t)
			tc.mutate(&r)
			v := Validate(&r, vToday)
			got := fieldCodes(v.Violations)
			if !slices.Equal(got, tc.want) {
				t.Errorf("violations %v, want %v\n%v", got, tc.want, v.Violations)
			}
			for _, x := range v.Violations {
				if !tags[x.Field] {
					t.Errorf("violation names %q, not a record field", x.Field)
				}
				assertNoPersonalData(t, &r, x)
			}
		})
	}
}

// assertNoPersonalData fails if a message quotes the record's personal
// data. Values shorter than 4 bytes are skipped: they occur in any text.
func assertNoPersonalData(t *testing.T, r *Record, v Violation) {
	t.Helper()
	for _, p := range []string{r.Name, r.IDNumber, r.Phone, r.Email, r.BirthDate.String(),
		r.SupervisorName, r.PresidentName, r.CommitteeChairName} {
		if len(p) >= 4 && strings.Contains(v.Message, p) {
			t.Errorf("message %q quotes personal data", v.Message)
		}
	}
}

// recordJSONFields is the set of contract field names (json tags).
func recordJSONFields() map[string]bool {
	m := map[string]bool{}
	rt := reflect.TypeFor[Record]()
	for i := 0; i < rt.NumField(); i++ {
		tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		m[tag] = true
	}
	return m
}

func one(field, code string) []want { return []want{{field, code}} }

func TestValidatePerson(t *testing.T) {
	pg, eq, ba := vPostgraduate, vEquivalent, vBachelor
	runValidateCases(t, []validateCase{
		{"gender 3", pg, func(r *Record) { r.Gender = "3" }, one("gender", CodeUnknownValue)},
		{"gender word", pg, func(r *Record) { r.Gender = "female" }, one("gender", CodeUnknownValue)},
		{"nationality lower case", pg, func(r *Record) { r.Nationality = "chn" }, one("nationality", CodeFormat)},
		{"nationality 2 letters", eq, func(r *Record) { r.Nationality = "CN" }, one("nationality", CodeFormat)},
		{"nationality foreign passport", eq, func(r *Record) { r.Nationality = "USA" }, nil},
		{"ethnicity 56", pg, func(r *Record) { r.Ethnicity = "56" }, nil},
		{"ethnicity 97", pg, func(r *Record) { r.Ethnicity = "97" }, nil},
		{"ethnicity 98", pg, func(r *Record) { r.Ethnicity = "98" }, nil},
		{"ethnicity 57", pg, func(r *Record) { r.Ethnicity = "57" }, one("ethnicity", CodeUnknownValue)},
		{"ethnicity 00", pg, func(r *Record) { r.Ethnicity = "00" }, one("ethnicity", CodeUnknownValue)},
		{"ethnicity 99", pg, func(r *Record) { r.Ethnicity = "99" }, one("ethnicity", CodeUnknownValue)},
		{"ethnicity one digit", pg, func(r *Record) { r.Ethnicity = "5" }, one("ethnicity", CodeFormat)},
		{"ethnicity name", pg, func(r *Record) { r.Ethnicity = "维吾尔族" }, one("ethnicity", CodeFormat)},
		{"political 13", eq, func(r *Record) { r.PoliticalStatus = "13" }, nil},
		{"political 14", eq, func(r *Record) { r.PoliticalStatus = "14" }, one("political_status", CodeUnknownValue)},
		{"political 00", eq, func(r *Record) { r.PoliticalStatus = "00" }, one("political_status", CodeUnknownValue)},
		{"political 1", eq, func(r *Record) { r.PoliticalStatus = "1" }, one("political_status", CodeFormat)},
		{"phone +86", pg, func(r *Record) { r.Phone = "+8613912345678" }, nil},
		{"phone 19x", pg, func(r *Record) { r.Phone = "19912345678" }, nil},
		{"phone none", pg, func(r *Record) { r.Phone = "" }, nil},
		{"phone 12x", pg, func(r *Record) { r.Phone = "12912345678" }, one("phone", CodeFormat)},
		{"phone short", pg, func(r *Record) { r.Phone = "1391234567" }, one("phone", CodeFormat)},
		{"phone landline", pg, func(r *Record) { r.Phone = "010-62751234" }, one("phone", CodeFormat)},
		{"phone 86 without plus", pg, func(r *Record) { r.Phone = "8613912345678" }, one("phone", CodeFormat)},
		{"email plus tag", pg, func(r *Record) { r.Email = "a.b+c@mail.example.com" }, nil},
		{"email idn", pg, func(r *Record) { r.Email = "x@example.xn--fiqs8s" }, nil},
		{"email none", pg, func(r *Record) { r.Email = "" }, nil},
		{"email no at", pg, func(r *Record) { r.Email = "aygul.example.cn" }, one("email", CodeFormat)},
		{"email single label", pg, func(r *Record) { r.Email = "a@localhost" }, one("email", CodeFormat)},
		{"email double dot", pg, func(r *Record) { r.Email = "a..b@example.cn" }, one("email", CodeFormat)},
		{"email leading dot", pg, func(r *Record) { r.Email = ".a@example.cn" }, one("email", CodeFormat)},
		{"email empty local", pg, func(r *Record) { r.Email = "@example.cn" }, one("email", CodeFormat)},
		{"email hyphen label", pg, func(r *Record) { r.Email = "a@-example.cn" }, one("email", CodeFormat)},
		{"email numeric tld", pg, func(r *Record) { r.Email = "a@example.123" }, one("email", CodeFormat)},
		{"email space", pg, func(r *Record) { r.Email = "a b@example.cn" }, one("email", CodeFormat)},
		{"email chinese", pg, func(r *Record) { r.Email = "张三@example.cn" }, one("email", CodeFormat)},
		{"email two ats", pg, func(r *Record) { r.Email = "a@b@example.cn" }, one("email", CodeFormat)},
		{"photo ref", ba, func(r *Record) { r.PhotoRef = "photos/2020/1600012345.jpg" }, nil},
		{"photo ref control", ba, func(r *Record) { r.PhotoRef = "a\nb" }, one("photo_ref", CodeFormat)},
	})
}

func TestValidateNames(t *testing.T) {
	pg, eq := vPostgraduate, vEquivalent
	long := strings.Repeat("阿", maxPersonName+1)
	runValidateCases(t, []validateCase{
		{"han", pg, func(r *Record) { r.Name = "张三" }, nil},
		{"single han", pg, func(r *Record) { r.Name = "张" }, nil},
		{"longest", pg, func(r *Record) { r.Name = long[:len(long)-len("阿")] }, nil},
		{"too long", pg, func(r *Record) { r.Name = long }, one("name", CodeTooLong)},
		{"three part dot", pg, func(r *Record) { r.Name = "阿卜杜·热合曼·艾力" }, nil},
		{"latin initials", eq, func(r *Record) { r.Name = "J.R.R. Tolkien" }, nil},
		{"combining accent", eq, func(r *Record) { r.Name = "Rene\u0301 Dupont" }, nil},
		{"cyrillic", eq, func(r *Record) { r.Name = "Анна Иванова" }, nil},
		{"digit", pg, func(r *Record) { r.Name = "张3" }, one("name", CodeFormat)},
		{"symbol", pg, func(r *Record) { r.Name = "张三*" }, one("name", CodeFormat)},
		{"leading dot", pg, func(r *Record) { r.Name = "·张三" }, one("name", CodeFormat)},
		{"trailing dot", pg, func(r *Record) { r.Name = "张三·" }, one("name", CodeFormat)},
		{"double dot", pg, func(r *Record) { r.Name = "张··三" }, one("name", CodeFormat)},
		{"dot and space", pg, func(r *Record) { r.Name = "张· 三" }, one("name", CodeFormat)},
		{"leading mark", eq, func(r *Record) { r.Name = "\u0301Anna" }, one("name", CodeFormat)},
		{"private use", pg, func(r *Record) { r.Name = "张\uE000" }, one("name", CodeFormat)},
		{"zero width", pg, func(r *Record) { r.Name = "张\u200B三" }, one("name", CodeFormat)},
		{"unmapped variant", pg, func(r *Record) { r.Name = "张\u30FB三" }, one("name", CodeFormat)},
		{"control", pg, func(r *Record) { r.Name = "张\t三" }, one("name", CodeFormat)},
		{"bad utf8", pg, func(r *Record) { r.Name = "张\xff三" }, one("name", CodeFormat)},
		{"president digit", pg, func(r *Record) { r.PresidentName = "李1" }, one("president_name", CodeFormat)},
		{"chair symbol", pg, func(r *Record) { r.CommitteeChairName = "王@" }, one("committee_chair_name", CodeFormat)},
		{"supervisor symbol", eq, func(r *Record) { r.SupervisorName = "Smith, J." }, one("supervisor_name", CodeFormat)},
	})
}

func TestValidateDegree(t *testing.T) {
	pg, eq, ba := vPostgraduate, vEquivalent, vBachelor
	runValidateCases(t, []validateCase{
		{"unit code 4 digits", pg, func(r *Record) { r.UnitCode = "1000" }, one("unit_code", CodeFormat)},
		{"unit code letters", pg, func(r *Record) { r.UnitCode = "1000A" }, one("unit_code", CodeFormat)},
		{"unit name newline", pg, func(r *Record) { r.UnitName = "北京\n大学" }, one("unit_name", CodeFormat)},
		{"unit name C1 control", pg, func(r *Record) { r.UnitName = "北京\u0085大学" }, one("unit_name", CodeFormat)},
		{"unit name too long", pg, func(r *Record) { r.UnitName = strings.Repeat("大", maxShortText+1) }, one("unit_name", CodeTooLong)},
		{"resolution bad utf8", pg, func(r *Record) { r.ResolutionNumber = "\xc3" }, one("resolution_number", CodeFormat)},
		{"level unknown", pg, func(r *Record) { r.DegreeLevel = "phd" }, one("degree_level", CodeUnknownValue)},
		{"type unknown", pg, func(r *Record) { r.DegreeType = "honorary" }, one("degree_type", CodeUnknownValue)},
		{"discipline first-level", pg, func(r *Record) { r.DisciplineCode = "070100" }, nil},
		{"discipline 5 digits", pg, func(r *Record) { r.DisciplineCode = "07010" }, one("discipline_code", CodeFormat)},
		{"discipline letters", pg, func(r *Record) { r.DisciplineCode = "07010A" }, one("discipline_code", CodeFormat)},
		{"discipline category 00", pg, func(r *Record) { r.DisciplineCode = "000101" }, one("discipline_code", CodeUnknownValue)},
		{"discipline category 15", pg, func(r *Record) { r.DisciplineCode = "150101" }, one("discipline_code", CodeUnknownValue)},
		{"discipline category 14 in 2023", pg, func(r *Record) { r.DisciplineCode = "140100" }, nil},
		{"discipline 4 digits academic", pg, func(r *Record) { r.DisciplineCode = "0701" }, one("discipline_code", CodeFormat)},
		{"discipline 4 digits professional", eq, func(r *Record) { r.DegreeType = TypeProfessional; r.DisciplineCode = "0854" }, nil},
		{"discipline 0862 professional", eq, func(r *Record) { r.DegreeType = TypeProfessional; r.DisciplineCode = "0862" }, nil},
		{"discipline 4 digits bachelor", ba, func(r *Record) { r.DegreeType = TypeProfessional; r.DisciplineCode = "0828" }, one("discipline_code", CodeFormat)},
		{"bachelor major plain", ba, func(r *Record) { r.DisciplineCode = "080901" }, nil},
		{"bachelor major K", ba, func(r *Record) { r.DisciplineCode = "100201K" }, nil},
		{"bachelor major TK", ba, func(r *Record) { r.DisciplineCode = "100207TK" }, nil},
		{"bachelor major X", ba, func(r *Record) { r.DisciplineCode = "080901X" }, one("discipline_code", CodeFormat)},
		{"postgraduate with T", pg, func(r *Record) { r.DisciplineCode = "070101T" }, one("discipline_code", CodeFormat)},
		{"arts before 2011", ba, func(r *Record) {
			setBachelorYears(r, 2006, 2010)
			r.DisciplineCode = "130201"
		}, one("discipline_code", CodeMismatch)},
		{"arts in 2011", ba, func(r *Record) {
			setBachelorYears(r, 2007, 2011)
			r.DisciplineCode = "130201"
		}, nil},
		{"professional arts before 2011", eq, func(r *Record) {
			r.DegreeType, r.DisciplineCode = TypeProfessional, "1351"
			r.ConferralDate, r.ApplicationMonth = NewDate(2009, time.December, 20), NewMonth(2008, time.March)
			r.CertificateNumber = "1000332009000456"
		}, nil},
		{"interdisciplinary in 2020", ba, func(r *Record) {
			setBachelorYears(r, 2016, 2020)
			r.DisciplineCode = "140101"
		}, one("discipline_code", CodeMismatch)},
	})
}

// setBachelorYears moves a bachelor record to enrol in September of from
// and graduate, be conferred and numbered in July of to, born 18 years
// before enrolment.
func setBachelorYears(r *Record, from, to int) {
	r.BirthDate = NewDate(from-18, time.May, 20)
	r.EnrolmentMonth = NewMonth(from, time.September)
	r.GraduationMonth = NewMonth(to, time.July)
	r.ConferralDate = NewDate(to, time.July, 1)
	r.CertificateNumber = r.UnitCode + "4" + itoa4(to) + "001234"
}

func itoa4(y int) string {
	return string([]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10)})
}

func TestValidateKindFields(t *testing.T) {
	pg, eq, ba := vPostgraduate, vEquivalent, vBachelor
	runValidateCases(t, []validateCase{
		// Postgraduate.
		{"pg bachelor level", pg, func(r *Record) { r.DegreeLevel = LevelBachelor; r.CertificateNumber = "1000142023000123" }, one("degree_level", CodeNotForKind)},
		{"pg master", pg, func(r *Record) { r.DegreeLevel = LevelMaster; r.CertificateNumber = "1000132023000123" }, nil},
		{"pg no supervisor", pg, func(r *Record) { r.SupervisorName = "" }, one("supervisor_name", CodeRequired)},
		{"pg no enrolment", pg, func(r *Record) { r.EnrolmentMonth = Month{} }, one("enrolment_month", CodeRequired)},
		{"pg no student number", pg, func(r *Record) { r.StudentNumber = "" }, one("student_number", CodeRequired)},
		{"pg no study mode", pg, func(r *Record) { r.StudyMode = "" }, one("study_mode", CodeRequired)},
		{"pg no graduation", pg, func(r *Record) { r.GraduationMonth = Month{} }, one("graduation_month", CodeRequired)},
		{"pg part time", pg, func(r *Record) { r.StudyMode = StudyPartTime }, nil},
		{"pg study mode unknown", pg, func(r *Record) { r.StudyMode = "evening" }, one("study_mode", CodeUnknownValue)},
		{"pg student number space", pg, func(r *Record) { r.StudentNumber = "1801 110001" }, one("student_number", CodeFormat)},
		{"pg student number letters", pg, func(r *Record) { r.StudentNumber = "SA18-011/001_2.a" }, nil},
		{"pg student number too long", pg, func(r *Record) { r.StudentNumber = strings.Repeat("1", maxIdentifier+1) }, one("student_number", CodeTooLong)},
		{"pg application number", pg, func(r *Record) { r.ApplicationNumber = "1" }, one("application_number", CodeNotForKind)},
		{"pg application month", pg, func(r *Record) { r.ApplicationMonth = NewMonth(2018, 1) }, one("application_month", CodeNotForKind)},
		{"pg training unit", pg, func(r *Record) { r.TrainingUnit = "x" }, one("training_unit", CodeNotForKind)},
		{"pg programme years", pg, func(r *Record) { r.ProgrammeYears = 4 }, one("programme_years", CodeNotForKind)},
		{"pg study form", pg, func(r *Record) { r.StudyForm = "x" }, one("study_form", CodeNotForKind)},
		{"pg no thesis title", pg, func(r *Record) { r.ThesisTitle = "" }, one("thesis_title", CodeRequired)},
		{"pg no keywords", pg, func(r *Record) { r.ThesisKeywords = nil }, one("thesis_keywords", CodeRequired)},
		{"pg no topic source", pg, func(r *Record) { r.ThesisTopicSource = "" }, one("thesis_topic_source", CodeRequired)},
		{"pg classified", pg, func(r *Record) { r.ThesisClassified = true }, nil},
		{"pg 20 keywords", pg, func(r *Record) { r.ThesisKeywords = slices.Repeat([]string{"k"}, maxKeywords) }, nil},
		{"pg 21 keywords", pg, func(r *Record) { r.ThesisKeywords = slices.Repeat([]string{"k"}, maxKeywords+1) }, one("thesis_keywords", CodeTooLong)},
		{"pg empty keyword", pg, func(r *Record) { r.ThesisKeywords = []string{"a", " "} }, one("thesis_keywords", CodeFormat)},
		{"pg long keyword", pg, func(r *Record) { r.ThesisKeywords = []string{strings.Repeat("词", maxKeyword+1)} }, one("thesis_keywords", CodeTooLong)},
		{"pg long title", pg, func(r *Record) { r.ThesisTitle = strings.Repeat("题", maxThesisTitle+1) }, one("thesis_title", CodeTooLong)},
		// Equivalent.
		{"eq bachelor level", eq, func(r *Record) { r.DegreeLevel = LevelBachelor; r.CertificateNumber = "1000342022000456" }, one("degree_level", CodeNotForKind)},
		{"eq doctor", eq, func(r *Record) { r.DegreeLevel = LevelDoctor; r.CertificateNumber = "1000322022000456" }, nil},
		{"eq no supervisor", eq, func(r *Record) { r.SupervisorName = "" }, one("supervisor_name", CodeRequired)},
		{"eq no application number", eq, func(r *Record) { r.ApplicationNumber = "" }, one("application_number", CodeRequired)},
		{"eq no application month", eq, func(r *Record) { r.ApplicationMonth = Month{} }, one("application_month", CodeRequired)},
		{"eq application number format", eq, func(r *Record) { r.ApplicationNumber = "申请1" }, one("application_number", CodeFormat)},
		{"eq enrolment", eq, func(r *Record) { r.EnrolmentMonth = NewMonth(2019, 9) }, one("enrolment_month", CodeNotForKind)},
		{"eq student number", eq, func(r *Record) { r.StudentNumber = "1" }, one("student_number", CodeNotForKind)},
		{"eq study mode", eq, func(r *Record) { r.StudyMode = StudyFullTime }, one("study_mode", CodeNotForKind)},
		{"eq graduation", eq, func(r *Record) { r.GraduationMonth = NewMonth(2022, 7) }, one("graduation_month", CodeNotForKind)},
		{"eq training unit", eq, func(r *Record) { r.TrainingUnit = "x" }, one("training_unit", CodeNotForKind)},
		{"eq programme years", eq, func(r *Record) { r.ProgrammeYears = 4 }, one("programme_years", CodeNotForKind)},
		{"eq study form", eq, func(r *Record) { r.StudyForm = "x" }, one("study_form", CodeNotForKind)},
		{"eq no thesis title", eq, func(r *Record) { r.ThesisTitle = "" }, one("thesis_title", CodeRequired)},
		// Bachelor.
		{"ba master level", ba, func(r *Record) { r.DegreeLevel = LevelMaster; r.CertificateNumber = "1000132020001234" }, one("degree_level", CodeNotForKind)},
		{"ba no training unit", ba, func(r *Record) { r.TrainingUnit = "" }, one("training_unit", CodeRequired)},
		{"ba no enrolment", ba, func(r *Record) { r.EnrolmentMonth = Month{} }, one("enrolment_month", CodeRequired)},
		{"ba no student number", ba, func(r *Record) { r.StudentNumber = "" }, one("student_number", CodeRequired)},
		{"ba no programme years", ba, func(r *Record) { r.ProgrammeYears = 0 }, one("programme_years", CodeRequired)},
		{"ba no study form", ba, func(r *Record) { r.StudyForm = "" }, one("study_form", CodeRequired)},
		{"ba no graduation", ba, func(r *Record) { r.GraduationMonth = Month{} }, one("graduation_month", CodeRequired)},
		{"ba programme 1", ba, func(r *Record) { r.ProgrammeYears = 1 }, one("programme_years", CodeOutOfRange)},
		{"ba programme 9", ba, func(r *Record) { r.ProgrammeYears = 9 }, one("programme_years", CodeOutOfRange)},
		{"ba programme negative", ba, func(r *Record) { r.ProgrammeYears = -4 }, one("programme_years", CodeOutOfRange)},
		{"ba programme 5", ba, func(r *Record) { r.ProgrammeYears = 5 }, nil},
		{"ba supervisor", ba, func(r *Record) { r.SupervisorName = "赵五" }, one("supervisor_name", CodeNotForKind)},
		{"ba application number", ba, func(r *Record) { r.ApplicationNumber = "1" }, one("application_number", CodeNotForKind)},
		{"ba application month", ba, func(r *Record) { r.ApplicationMonth = NewMonth(2019, 1) }, one("application_month", CodeNotForKind)},
		{"ba study mode", ba, func(r *Record) { r.StudyMode = StudyFullTime }, one("study_mode", CodeNotForKind)},
		{"ba thesis title", ba, func(r *Record) { r.ThesisTitle = "t" }, one("thesis_title", CodeNotForKind)},
		{"ba thesis keywords", ba, func(r *Record) { r.ThesisKeywords = []string{"k"} }, one("thesis_keywords", CodeNotForKind)},
		{"ba thesis topic", ba, func(r *Record) { r.ThesisTopicSource = "t" }, one("thesis_topic_source", CodeNotForKind)},
		{"ba thesis classified", ba, func(r *Record) { r.ThesisClassified = true }, one("thesis_classified", CodeNotForKind)},
		// Unknown kind: one complaint, no kind-specific guesses.
		{"kind unknown", pg, func(r *Record) { r.Kind = "doctoral" }, one("kind", CodeUnknownValue)},
	})
}

func TestValidateDates(t *testing.T) {
	pg, eq, ba := vPostgraduate, vEquivalent, vBachelor
	runValidateCases(t, []validateCase{
		{"birth not real", eq, func(r *Record) { r.BirthDate = NewDate(1985, time.February, 29) }, one("birth_date", CodeFormat)},
		{"birth leap day", eq, func(r *Record) { r.BirthDate = NewDate(1984, time.February, 29) }, nil},
		{"conferral not real", eq, func(r *Record) { r.ConferralDate = NewDate(2022, time.April, 31) }, one("conferral_date", CodeFormat)},
		{"conferral month 13", eq, func(r *Record) { r.ConferralDate = NewDate(2022, 13, 1) }, one("conferral_date", CodeFormat)},
		{"conferral today", pg, func(r *Record) { r.ConferralDate = vToday; r.CertificateNumber = "1000122024000123" }, nil},
		{"conferral tomorrow", pg, func(r *Record) {
			r.ConferralDate = NewDate(2024, time.July, 2)
			r.CertificateNumber = "1000122024000123"
		}, one("conferral_date", CodeFuture)},
		{"birth future", eq, func(r *Record) { r.BirthDate = NewDate(2024, time.July, 2) }, []want{
			{"birth_date", CodeFuture}, {"birth_date", CodeImplausible}}},
		{"conferral 1980", eq, func(r *Record) {
			r.ConferralDate = NewDate(1980, time.December, 31)
			r.ApplicationMonth = NewMonth(1980, 1)
			r.BirthDate = NewDate(1950, 1, 1)
			r.CertificateNumber = "B80001"
		}, one("conferral_date", CodeOutOfRange)},
		{"conferral 1981", eq, func(r *Record) {
			r.ConferralDate = NewDate(1981, time.January, 1)
			r.ApplicationMonth = NewMonth(1980, 1)
			r.BirthDate = NewDate(1950, 1, 1)
			r.CertificateNumber = "B81001"
		}, nil},
		{"enrolment month 13", pg, func(r *Record) { r.EnrolmentMonth = NewMonth(2018, 13) }, one("enrolment_month", CodeFormat)},
		{"graduation next month", pg, func(r *Record) { r.GraduationMonth = NewMonth(2024, time.August) }, []want{
			{"graduation_month", CodeFuture}, {"conferral_date", CodeOrder}}},
		{"application next month", eq, func(r *Record) { r.ApplicationMonth = NewMonth(2024, time.August) }, []want{
			{"application_month", CodeFuture}, {"application_month", CodeOrder}}},
		{"conferral before graduation", pg, func(r *Record) { r.ConferralDate = NewDate(2023, time.June, 30) }, one("conferral_date", CodeOrder)},
		{"conferral in graduation month", pg, func(r *Record) { r.ConferralDate = NewDate(2023, time.July, 1) }, nil},
		{"conferral years after graduation", pg, func(r *Record) {
			r.ConferralDate = NewDate(2024, time.June, 1)
			r.CertificateNumber = "1000122024000123"
		}, nil},
		{"graduation equals enrolment", pg, func(r *Record) { r.GraduationMonth = r.EnrolmentMonth }, one("graduation_month", CodeOrder)},
		{"graduation before enrolment", ba, func(r *Record) { r.EnrolmentMonth = NewMonth(2020, time.September) }, one("graduation_month", CodeOrder)},
		{"application after conferral", eq, func(r *Record) { r.ApplicationMonth = NewMonth(2023, time.January) }, one("application_month", CodeOrder)},
		{"application in conferral month", eq, func(r *Record) { r.ApplicationMonth = NewMonth(2022, time.December) }, nil},
		// Bachelor: 4-year programme, graduation 2 years early or late is
		// the limit of what is believed.
		{"bachelor 2 years early", ba, func(r *Record) { r.EnrolmentMonth = NewMonth(2018, time.July) }, nil},
		{"bachelor over 2 years early", ba, func(r *Record) { r.EnrolmentMonth = NewMonth(2018, time.August) }, one("graduation_month", CodeImplausible)},
		{"bachelor 2 years late", ba, func(r *Record) { r.EnrolmentMonth = NewMonth(2014, time.July) }, nil},
		{"bachelor over 2 years late", ba, func(r *Record) { r.EnrolmentMonth = NewMonth(2014, time.June) }, one("graduation_month", CodeImplausible)},
		{"bachelor 2-year top-up", ba, func(r *Record) { r.ProgrammeYears = 2; r.EnrolmentMonth = NewMonth(2018, time.September) }, nil},
		// Age.
		{"14 at conferral", eq, func(r *Record) { r.BirthDate = NewDate(2008, time.December, 20) }, nil},
		{"under 14 at conferral", eq, func(r *Record) { r.BirthDate = NewDate(2008, time.December, 21) }, one("birth_date", CodeImplausible)},
		{"100 at conferral", eq, func(r *Record) { r.BirthDate = NewDate(1921, time.December, 21) }, nil},
		{"101 at conferral", eq, func(r *Record) { r.BirthDate = NewDate(1921, time.December, 20) }, one("birth_date", CodeImplausible)},
		{"14 at enrolment", ba, func(r *Record) { r.BirthDate = NewDate(2002, time.September, 30) }, nil},
		{"under 14 at enrolment", ba, func(r *Record) { r.BirthDate = NewDate(2002, time.October, 1) }, one("birth_date", CodeImplausible)},
	})
}

func TestValidateStatus(t *testing.T) {
	pg, ba := vPostgraduate, vBachelor
	rev := func(base func(testing.TB) Record) func(testing.TB) Record {
		return func(t testing.TB) Record { return vRevoked(base(t)) }
	}
	runValidateCases(t, []validateCase{
		{"status unknown", pg, func(r *Record) { r.Status = "withdrawn" }, one("status", CodeUnknownValue)},
		{"filed with revoked_on", pg, func(r *Record) { r.RevokedOn = NewDate(2024, 1, 1) }, one("revoked_on", CodeNotForStatus)},
		{"filed with resolution", pg, func(r *Record) { r.RevocationResolution = "x" }, one("revocation_resolution", CodeNotForStatus)},
		{"filed with reason", ba, func(r *Record) { r.RevocationReason = "x" }, one("revocation_reason", CodeNotForStatus)},
		{"revoked no date", rev(pg), func(r *Record) { r.RevokedOn = Date{} }, one("revoked_on", CodeRequired)},
		{"revoked no resolution", rev(pg), func(r *Record) { r.RevocationResolution = "" }, one("revocation_resolution", CodeRequired)},
		{"revoked no reason", rev(ba), func(r *Record) { r.RevocationReason = "  " }, one("revocation_reason", CodeRequired)},
		{"revoked before conferral", rev(pg), func(r *Record) { r.RevokedOn = NewDate(2023, time.July, 4) }, one("revoked_on", CodeOrder)},
		{"revoked on conferral day", rev(pg), func(r *Record) { r.RevokedOn = r.ConferralDate }, nil},
		{"revoked tomorrow", rev(pg), func(r *Record) { r.RevokedOn = NewDate(2024, time.July, 2) }, one("revoked_on", CodeFuture)},
		{"revoked not real", rev(pg), func(r *Record) { r.RevokedOn = NewDate(2024, 2, 30) }, one("revoked_on", CodeFormat)},
		{"revoked reason too long", rev(pg), func(r *Record) { r.RevocationReason = strings.Repeat("因", maxReason+1) }, one("revocation_reason", CodeTooLong)},
	})
}

// TestValidateAllViolations: several independent faults are all reported,
// in a stable order.
func TestValidateAllViolations(t *testing.T) {
	r := vPostgraduate(t)
	r.Gender = "x"
	r.Phone = "1"
	r.UnitName = ""
	r.StudyMode = "x"
	r.RevocationReason = "x"
	v := Validate(&r, vToday)
	got := fieldCodes(v.Violations)
	wantAll := []want{{"gender", CodeUnknownValue}, {"phone", CodeFormat}, {"unit_name", CodeRequired},
		{"study_mode", CodeUnknownValue}, {"revocation_reason", CodeNotForStatus}}
	if !slices.Equal(got, wantAll) {
		t.Errorf("got %v, want %v", got, wantAll)
	}
	if again := Validate(&r, vToday); !reflect.DeepEqual(again, v) {
		t.Error("Validate is not deterministic")
	}
}

// TestValidateZeroToday: without a today, nothing is "in the future".
func TestValidateZeroToday(t *testing.T) {
	r := vPostgraduate(t)
	r.ConferralDate = NewDate(2030, 7, 5)
	r.CertificateNumber = "1000122030000123"
	if err := Validate(&r, Date{}).Err(); err != nil {
		t.Errorf("zero today: %v", err)
	}
}

// TestMessagesCarryNoPersonalData breaks every rule that looks at a
// personal field, with distinctive values, and checks that no message
// (nor the error text) quotes them.
func TestMessagesCarryNoPersonalData(t *testing.T) {
	const (
		name  = "买买提江·阿不都热西提"
		phone = "13912345678"
		email = "maimaiti.secret@example.cn"
	)
	id := gbCheck(t, "65010219950315001")
	mutations := []func(*Record){
		func(r *Record) {}, // distinctive but valid values
		func(r *Record) { r.Name += "1" },
		func(r *Record) { r.Name = "·" + r.Name },
		func(r *Record) { r.Name += "·" },
		func(r *Record) { r.Name = strings.Repeat(r.Name, 10) },
		func(r *Record) { r.IDNumber = r.IDNumber[:17] + "Y" },
		func(r *Record) { r.IDNumber = r.IDNumber[:17] },
		func(r *Record) {
			r.IDNumber = r.IDNumber[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", r.IDNumber[17])+1)%11])
		},
		func(r *Record) { r.BirthDate = NewDate(1995, 3, 16) },
		func(r *Record) { r.Gender = GenderFemale },
		func(r *Record) { r.Nationality = "USA" },
		func(r *Record) { r.Phone = phone + "0" },
		func(r *Record) { r.Phone = "+86" + phone[1:] },
		func(r *Record) { r.Email = "x" + email + ".." },
		func(r *Record) { r.Email = strings.Replace(email, "@", "@@", 1) },
		func(r *Record) { r.IDType = IDPassport; r.IDNumber = "mai-" + phone },
		func(r *Record) { r.IDType = IDOther; r.IDNumber = email + " " + phone },
		func(r *Record) { r.IDType = IDForeignPermanent },
		func(r *Record) { r.SupervisorName = name + "2" },
		func(r *Record) { r.BirthDate = NewDate(2019, 3, 15) },
	}
	for i, m := range mutations {
		r := vPostgraduate(t)
		r.Name, r.Phone, r.Email, r.IDNumber, r.Gender = name, phone, email, id, GenderMale
		m(&r)
		v := Validate(&r, vToday)
		if i > 0 && len(v.Violations) == 0 {
			t.Errorf("mutation %d: no violation", i)
		}
		for _, x := range v.Violations {
			assertNoPersonalData(t, &r, x)
		}
		if err := v.Err(); err != nil {
			for _, p := range []string{r.Name, r.IDNumber, r.Phone, r.Email, r.BirthDate.String(), r.SupervisorName} {
				if len(p) >= 4 && strings.Contains(err.Error(), p) {
					t.Errorf("mutation %d: error text quotes personal data", i)
				}
			}
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("postgraduate", "阿依古丽.买买提", "2", "resident_id", "65010219950315002x", "1000122023000123", "10001", "070101", "13800138000", "a@b.cn", 1995, 3, 15, 2023, 7, 5, 2018, 9, 2023, 7, 4)
	f.Add("bachelor", " 陳 大文 ", "1", "hk_macao_permit", "ｈ12345678", "ABC123456", "1000", "080910TK", "+86", "@", 1998, 5, 20, 2015, 7, 1, 2011, 9, 2015, 7, 0)
	f.Add("equivalent", "J.R.R. Tolkien", "3", "foreign_permanent_id", "USA310319801234", "B8100", "99999", "0854", "", "", 0, 13, 32, 1980, 2, 29, 0, 0, 1, 1, -1)
	f.Fuzz(func(t *testing.T, kind, name, gender, idType, idNumber, cert, unit, discipline, phone, email string,
		by, bm, bd, cy, cm, cd, ey, em, gy, gm, years int) {
		base := vPostgraduate(t)
		switch Kind(kind) {
		case KindEquivalent:
			base = vEquivalent(t)
		case KindBachelor:
			base = vBachelor(t)
		}
		r := base
		r.Kind = Kind(kind)
		r.Name, r.Gender, r.IDType, r.IDNumber = name, Gender(gender), IDType(idType), idNumber
		r.CertificateNumber, r.UnitCode, r.DisciplineCode = cert, unit, discipline
		r.Phone, r.Email = phone, email
		r.BirthDate = NewDate(by, time.Month(bm), bd)
		r.ConferralDate = NewDate(cy, time.Month(cm), cd)
		r.EnrolmentMonth = NewMonth(ey, time.Month(em))
		r.GraduationMonth = NewMonth(gy, time.Month(gm))
		r.ProgrammeYears = years
		r.ThesisKeywords = []string{name, " ", kind}

		Normalize(&r)
		again := r
		again.ThesisKeywords = slices.Clone(r.ThesisKeywords)
		Normalize(&again)
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("Normalize not idempotent:\n%+v\n%+v", r, again)
		}
		v1 := Validate(&r, vToday)
		v2 := Validate(&r, vToday)
		if !reflect.DeepEqual(v1, v2) {
			t.Fatal("Validate not deterministic")
		}
		tags := recordJSONFields()
		for _, x := range v1.Violations {
			if !tags[x.Field] || x.Code == "" || x.Message == "" {
				t.Fatalf("malformed violation %+v", x)
			}
		}
		if (v1.Err() == nil) != (len(v1.Violations) == 0) {
			t.Fatal("Err disagrees with Violations")
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	for _, base := range []func(testing.TB) Record{vPostgraduate, vEquivalent, vBachelor} {
		r := base(b)
		b.Run(string(r.Kind), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if v := Validate(&r, vToday); v.Violations != nil {
					b.Fatal(v.Violations)
				}
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	src := vPostgraduate(b)
	b.ReportAllocs()
	for b.Loop() {
		r := src
		Normalize(&r)
	}
}
