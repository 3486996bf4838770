package recordfile

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// sampleRecords returns a few hand-made records, one of each kind plus a
// revoked one, with the awkward text real files hold: commas, quotes, line
// breaks, keywords with spaces, full-width punctuation.
func sampleRecords() []registry.Record {
	return []registry.Record{{
		Kind: registry.KindPostgraduate, Name: "张伟", Gender: registry.GenderMale,
		Nationality: "CHN", Ethnicity: "01", PoliticalStatus: "01",
		BirthDate: registry.NewDate(1991, time.March, 14), IDType: registry.IDResident,
		IDNumber: "11010519910314002X", Phone: "13800138000", Email: "zhangwei@example.cn",
		UnitCode: "10001", UnitName: "北京大学", PresidentName: "龚旗煌", CommitteeChairName: "龚旗煌",
		DegreeLevel: registry.LevelDoctor, DegreeType: registry.TypeAcademic, DegreeCategory: "理学",
		DisciplineCode: "070101", DisciplineName: "基础数学",
		ConferralDate: registry.NewDate(2020, time.July, 1), CertificateNumber: "1000132020000123",
		ResolutionNumber: "北大学位〔2020〕12号", CertificateStyle: "2016版",
		SupervisorName: "王诗宬", EnrolmentMonth: registry.NewMonth(2015, time.September),
		StudentNumber: "1501110001", StudyMode: registry.StudyFullTime,
		GraduationMonth:   registry.NewMonth(2020, time.July),
		ThesisTitle:       "关于\"紧\"流形的若干问题, 以及\n三维拓扑",
		ThesisKeywords:    []string{"three-manifolds", "mapping class group", "紧流形"},
		ThesisTopicSource: "国家自然科学基金", PhotoRef: "photo/10001/1501110001.jpg",
		Status: registry.StatusFiled,
	}, {
		Kind: registry.KindEquivalent, Name: "O'Brien, Jr. \"Pat\"", Gender: registry.GenderFemale,
		Nationality: "IRL", Ethnicity: "", PoliticalStatus: "13",
		BirthDate: registry.NewDate(1985, time.December, 31), IDType: registry.IDPassport,
		IDNumber: "PA1234567", Email: "pat@example.ie",
		UnitCode: "10003", UnitName: "清华大学", PresidentName: "王希勤", CommitteeChairName: "邱勇",
		DegreeLevel: registry.LevelMaster, DegreeType: registry.TypeProfessional, DegreeCategory: "工程",
		DisciplineCode: "0854", DisciplineName: "电子信息",
		ConferralDate: registry.NewDate(2022, time.January, 10), CertificateNumber: "1000332022000045",
		ResolutionNumber: "清学位〔2022〕3号", CertificateStyle: "2016版",
		SupervisorName: "李明", ApplicationNumber: "TJ2021-0045", ApplicationMonth: registry.NewMonth(2021, time.March),
		ThesisTitle:    "  leading and trailing spaces, a tab\tand ;semicolons;  ",
		ThesisKeywords: []string{"signal processing"}, ThesisTopicSource: "企业合作",
		ThesisClassified: true, Status: registry.StatusFiled,
	}, {
		Kind: registry.KindBachelor, Name: "阿依古丽·买买提", Gender: registry.GenderFemale,
		Nationality: "CHN", Ethnicity: "05", PoliticalStatus: "03",
		BirthDate: registry.NewDate(2000, time.February, 29), IDType: registry.IDResident,
		IDNumber: "650102200002290048",
		UnitCode: "10755", UnitName: "新疆大学", PresidentName: "姚卫华", CommitteeChairName: "姚卫华",
		DegreeLevel: registry.LevelBachelor, DegreeType: registry.TypeAcademic, DegreeCategory: "文学",
		DisciplineCode: "050101", DisciplineName: "汉语言文学",
		ConferralDate: registry.NewDate(2022, time.June, 30), CertificateNumber: "1075542022000777",
		ResolutionNumber: "新大学位〔2022〕7号", CertificateStyle: "2016版",
		TrainingUnit: "人文学院", EnrolmentMonth: registry.NewMonth(2018, time.September),
		StudentNumber: "20181101", ProgrammeYears: 4, StudyForm: "普通全日制",
		GraduationMonth: registry.NewMonth(2022, time.June), Status: registry.StatusFiled,
	}, {
		Kind: registry.KindPostgraduate, Name: "陈 静", Gender: registry.GenderFemale,
		Nationality: "CHN", Ethnicity: "01", PoliticalStatus: "01",
		BirthDate: registry.NewDate(1995, time.May, 5), IDType: registry.IDHKMacaoPermit,
		IDNumber: "H01234567", Phone: "+852 9123 4567",
		UnitCode: "10246", UnitName: "复旦大学", PresidentName: "金力", CommitteeChairName: "金力",
		DegreeLevel: registry.LevelMaster, DegreeType: registry.TypeAcademic, DegreeCategory: "经济学",
		DisciplineCode: "020101", DisciplineName: "政治经济学",
		ConferralDate: registry.NewDate(2019, time.June, 20), CertificateNumber: "1024632019001234",
		ResolutionNumber: "复旦学位〔2019〕5号", CertificateStyle: "2016版",
		SupervisorName: "张军", EnrolmentMonth: registry.NewMonth(2016, time.September),
		StudentNumber: "16210680001", StudyMode: registry.StudyPartTime,
		GraduationMonth: registry.NewMonth(2019, time.June),
		ThesisTitle:     "\"\"", ThesisKeywords: []string{"劳动力市场", "户籍制度，改革"},
		Status: registry.StatusRevoked, RevokedOn: registry.NewDate(2021, time.November, 2),
		RevocationResolution: "复旦学位〔2021〕30号", RevocationReason: "学术不端,\n经调查属实",
	}}
}

// manyRecords varies the samples into n records with tricky text in the
// text fields, so that a round trip meets every quoting case.
func manyRecords(n int) []registry.Record {
	tricky := []string{
		"", " ", "a,b", `"`, `""`, `say "hi"`, "two\nlines", "\n", "\n\n", "trailing\n",
		" padded ", "tab\there", "semi;colon", `back\slash`, "<b>&amp;</b>", "emoji 😀",
		"全角，逗号", "\u2028line separator", `\.`, "#not a comment", "-", "\"\n\"",
	}
	base := sampleRecords()
	out := make([]registry.Record, n)
	for i := range out {
		r := base[i%len(base)]
		r.ThesisKeywords = append([]string(nil), r.ThesisKeywords...)
		t := tricky[i%len(tricky)]
		switch i % 4 {
		case 0:
			r.Name = t + r.Name
		case 1:
			r.ThesisTitle = t
		case 2:
			r.RevocationReason = t
		case 3:
			r.UnitName += t
		}
		r.CertificateNumber = fmt.Sprintf("%s%06d", r.CertificateNumber[:10], i)
		if i%5 == 0 {
			r.ThesisKeywords = append(r.ThesisKeywords, fmt.Sprintf("keyword %d", i))
		}
		out[i] = r
	}
	return out
}

// readAll reads every row; err is the error that ended reading, nil at EOF.
func readAll(t testing.TB, in string, f Format, o Options) (rows []Row, err error) {
	t.Helper()
	rd, err := NewReader(strings.NewReader(in), f, o)
	if err != nil {
		return nil, err
	}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			// The error must stick.
			if _, again := rd.Next(); again != err {
				t.Errorf("second Next after error = %v, want the same %v", again, err)
			}
			return rows, err
		}
		rows = append(rows, row)
	}
}

// summary writes rows as "line:code,code" for compact comparison.
func summary(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		codes := make([]string, len(r.Problems))
		for j, p := range r.Problems {
			codes[j] = p.Code
		}
		out[i] = fmt.Sprintf("%d:%s", r.Line, strings.Join(codes, ","))
	}
	return out
}

// writeAll writes recs in format f and returns the file.
func writeAll(t testing.TB, recs []registry.Record, f Format) string {
	t.Helper()
	var b strings.Builder
	w, err := NewWriter(&b, f)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatalf("Write(record %d): %v", i, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
