package registrytest

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// sampleUnit is a degree-granting unit with the people who sign its
// certificates; sample records draw from a small table of them, as real
// ones do, so low-cardinality fields repeat.
type sampleUnit struct {
	code, name, president, chair, region string
}

// Sixteen units: not a multiple of three, so every unit sees every kind.
var sampleUnits = [...]sampleUnit{
	{"10001", "北京大学", "龚旗煌", "龚旗煌", "11"},
	{"10003", "清华大学", "李路明", "李路明", "11"},
	{"10246", "复旦大学", "金力", "金力", "31"},
	{"10248", "上海交通大学", "丁奎岭", "丁奎岭", "31"},
	{"10284", "南京大学", "谈哲敏", "谈哲敏", "32"},
	{"10335", "浙江大学", "杜江峰", "杜江峰", "33"},
	{"10358", "中国科学技术大学", "包信和", "包信和", "34"},
	{"10486", "武汉大学", "张平文", "张平文", "42"},
	{"10558", "中山大学", "高松", "高松", "44"},
	{"10610", "四川大学", "李言荣", "李言荣", "51"},
	{"10698", "西安交通大学", "王树国", "王树国", "61"},
	{"10730", "兰州大学", "严纯华", "严纯华", "62"},
	{"10755", "新疆大学", "姚春艳", "买买提明·阿不都热依木", "65"},
	{"10055", "南开大学", "陈雨露", "陈雨露", "12"},
	{"10213", "哈尔滨工业大学", "韩杰才", "韩杰才", "23"},
	{"10533", "中南大学", "李建成", "李建成", "43"},
}

type sampleDiscipline struct {
	code, name, category string
}

var sampleDisciplines = [...]sampleDiscipline{
	{"081200", "计算机科学与技术", "工学"},
	{"070100", "数学", "理学"},
	{"030101", "法学理论", "法学"},
	{"100201", "内科学", "医学"},
	{"020204", "金融学", "经济学"},
	{"050101", "文艺学", "文学"},
	{"060200", "中国史", "历史学"},
	{"085400", "电子信息", "工学"},
}

var (
	sampleSurnames = [...]string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "欧阳", "司马"}
	sampleGiven    = [...]string{"伟", "芳", "静怡", "子涵", "浩然", "雨桐", "建国", "晓明", "一", "思远"}
	// Names of holders from ethnic groups written with the middle dot.
	sampleDotNames = [...]string{"阿依古丽·买买提", "艾力·吐尔逊", "扎西·多吉", "古丽娜尔·阿不都"}
	sampleKinds    = [...]registry.Kind{registry.KindPostgraduate, registry.KindEquivalent, registry.KindBachelor}
)

const (
	sampleYears = 25        // conferral years 2000–2024
	sampleSeqs  = 1_000_000 // the 6-digit sequence part of a certificate number
	// SampleMax bounds i for SampleSealed: below it, certificate numbers
	// are distinct.
	SampleMax = len(sampleUnits) * sampleYears * sampleSeqs
)

// SampleSealed returns sample record number i, 0 <= i < SampleMax: a
// deterministic, fully populated sealed record for round-trip tests and
// benchmarks of every store.
//
//   - The kind cycles postgraduate, equivalent, bachelor with i; the degree
//     level follows the kind (a bachelor's degree for bachelor holders,
//     doctor or master otherwise).
//   - Every field of registry.Record is set, whatever the kind, so that a
//     store that drops a column fails the round trip — except the direct
//     identifiers (IDNumber, Phone, Email), which a Sealed keeps only inside
//     Secret, and the revocation fields, which are set exactly on the
//     revoked samples (every tenth, i%10 == 9).
//   - Certificate numbers are valid 16-digit numbers (unit, level digit,
//     conferral year, sequence) and distinct for distinct i.
//   - Samples 2k and 2k+1 belong to the same person: same name, birth date
//     and PersonIndex.
//   - Secret is 80 random-looking bytes (nonce, ciphertext, tag), PersonIndex
//     and Digest 32 bytes each; Digest differs for distinct i.
func SampleSealed(i int) registry.Sealed {
	if i < 0 || i >= SampleMax {
		panic(fmt.Sprintf("registrytest.SampleSealed(%d): want 0 <= i < %d", i, SampleMax))
	}
	// Mixed radix: unit, then year, then sequence — a bijection, so
	// certificate numbers never repeat.
	unit := sampleUnits[i%len(sampleUnits)]
	year := 2000 + (i/len(sampleUnits))%sampleYears
	seq := i / (len(sampleUnits) * sampleYears)

	kind := sampleKinds[i%len(sampleKinds)]
	level := registry.LevelMaster
	switch {
	case kind == registry.KindBachelor:
		level = registry.LevelBachelor
	case i%5 == 0:
		level = registry.LevelDoctor
	}
	disc := sampleDisciplines[(i/3)%len(sampleDisciplines)]
	person := i / 2
	rng := rand.New(rand.NewPCG(uint64(person), 0x5eed))

	name := sampleSurnames[rng.IntN(len(sampleSurnames))] + sampleGiven[rng.IntN(len(sampleGiven))]
	if person%7 == 3 {
		name = sampleDotNames[rng.IntN(len(sampleDotNames))]
	}
	gender := registry.GenderMale
	if rng.IntN(2) == 1 {
		gender = registry.GenderFemale
	}
	birth := registry.NewDate(year-22-rng.IntN(8), time.Month(1+rng.IntN(12)), 1+rng.IntN(28))
	enrol := registry.NewMonth(year-3, time.September)
	grad := registry.NewMonth(year, time.June)
	conferral := registry.NewDate(year, time.June, 10+i%20)
	if i%4 == 3 {
		conferral = registry.NewDate(year, time.December, 1+i%28)
		grad = registry.NewMonth(year, time.December)
	}
	studyMode := registry.StudyFullTime
	if i%6 == 5 {
		studyMode = registry.StudyPartTime
	}
	degreeType := registry.TypeAcademic
	if strings.HasPrefix(disc.code, "0854") { // 电子信息 is a professional field
		degreeType = registry.TypeProfessional
	}

	r := registry.Record{
		Kind:               kind,
		Name:               name,
		Gender:             gender,
		Nationality:        "CHN",
		Ethnicity:          fmt.Sprintf("%02d", 1+person%56),
		PoliticalStatus:    fmt.Sprintf("%02d", 1+person%13),
		BirthDate:          birth,
		IDType:             registry.IDResident,
		UnitCode:           unit.code,
		UnitName:           unit.name,
		PresidentName:      unit.president,
		CommitteeChairName: unit.chair,
		DegreeLevel:        level,
		DegreeType:         degreeType,
		DegreeCategory:     disc.category,
		DisciplineCode:     disc.code,
		DisciplineName:     disc.name,
		ConferralDate:      conferral,
		CertificateNumber:  fmt.Sprintf("%s%c%04d%06d", unit.code, level.CertificateDigit(), year, seq),
		ResolutionNumber:   fmt.Sprintf("%s学位〔%d〕%d号", unit.code, year, 1+i%40),
		CertificateStyle:   "2016版",
		SupervisorName:     sampleSurnames[(i+3)%len(sampleSurnames)] + "教授",
		EnrolmentMonth:     enrol,
		StudentNumber:      fmt.Sprintf("%d%06d", year-3, i%1_000_000),
		GraduationMonth:    grad,
		StudyMode:          studyMode,
		ApplicationNumber:  fmt.Sprintf("TD%s%d%05d", unit.code, year, i%100_000),
		ApplicationMonth:   registry.NewMonth(year-1, time.March),
		TrainingUnit:       unit.name + "继续教育学院",
		ProgrammeYears:     4 + i%2,
		StudyForm:          "普通全日制",
		ThesisTitle:        fmt.Sprintf("面向%s的若干问题研究（第%d号）", disc.name, i),
		ThesisKeywords:     []string{disc.name, "隐私保护", fmt.Sprintf("样本%d", i%97)},
		ThesisTopicSource:  "国家自然科学基金",
		ThesisClassified:   i%13 == 4,
		PhotoRef:           fmt.Sprintf("photo/%s/%d/%06d.jpg", unit.code, year, seq),
		Status:             registry.StatusFiled,
	}
	if i%10 == 9 {
		r.Status = registry.StatusRevoked
		r.RevokedOn = registry.NewDate(year+1, time.March, 1+i%28)
		r.RevocationResolution = fmt.Sprintf("%s学位撤〔%d〕%d号", unit.code, year+1, 1+i%9)
		r.RevocationReason = "学位论文存在抄袭行为（Art. 19）"
	}

	// Secret: 12-byte nonce, 52 bytes of ciphertext, 16-byte tag — the
	// size AES-GCM gives for the sealed identifiers. Random-looking, so
	// stores cannot get away with compressing it.
	secret := make([]byte, 80)
	srng := rand.NewChaCha8(sampleSeed("secret", i))
	_, _ = srng.Read(secret)
	pi := sampleSeed("person", person)
	digest := sampleSeed("digest", i)
	return registry.Sealed{
		Record:      r,
		KeyID:       fmt.Sprintf("dek-%d", 1+i%3),
		Secret:      secret,
		PersonIndex: pi[:],
		Digest:      digest[:],
	}
}

// sampleSeed derives 32 deterministic bytes from a label and a number.
func sampleSeed(label string, n int) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	h := sha256.New()
	h.Write([]byte(label))
	h.Write(b[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}
