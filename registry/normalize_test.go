package registry

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// dotVariants are the characters seen in the wild in place of the
// interpunct of minority and foreign names.
var dotVariants = []rune{
	'\u00B7', '\u0387', '\u16EB', '\u2022', '\u2027', '\u2219', '\u22C5',
	'\u2E31', '\u2E33', '\u30FB', '\uFF65', '\u318D', '\uA78F',
}

func TestNormalizeNameDots(t *testing.T) {
	const want = "阿依古丽·买买提"
	for _, v := range dotVariants {
		in := "阿依古丽" + string(v) + "买买提"
		if got := NormalizeName(in); got != want {
			t.Errorf("U+%04X: NormalizeName = %q, want %q", v, got, want)
		}
	}
	// A full stop, in any width, between two Han characters.
	for _, stop := range []string{".", "．", "。", "｡", "﹒", "․", " . ", "\u3000．\u3000"} {
		in := "阿依古丽" + stop + "买买提"
		if got := NormalizeName(in); got != want {
			t.Errorf("stop %q: NormalizeName = %q, want %q", stop, got, want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"张三", "张三"},
		{"  张三\t", "张三"},
		{"张\u3000三", "张 三"},
		{"张\n\t 三", "张 三"},
		{"", ""},
		{" \t\u3000", ""},
		{"John   Smith", "John Smith"},
		{"Ｊｏｈｎ　Ｓｍｉｔｈ", "John Smith"},         // full-width letters, ideographic space
		{"Rene\u0301 Dupont", "René Dupont"}, // NFKC composes
		{"\uF900", "\u8C48"},                 // CJK compatibility ideograph → unified
		{"阿依古丽 · 买买提", "阿依古丽·买买提"},
		{"阿依古丽 • 买买提 · 艾力", "阿依古丽·买买提·艾力"},
		{"爱新觉罗・溥仪", "爱新觉罗·溥仪"},
		{"김\u318D철수", "김·철수"},
		{"张\u200B三", "张三"},
		{"\uFEFF张三", "张三"},
		{"O’Brien", "O'Brien"},
		{"Jean‐Luc", "Jean-Luc"},
		{"Jean–Luc", "Jean-Luc"},
		{"J. R. Smith", "J. R. Smith"}, // full stops between Latin letters stay
		{"J.R.R. Tolkien", "J.R.R. Tolkien"},
		{"张三.", "张三."}, // not between two Han characters
		{"A.张", "A.张"},
		{"张..三", "张..三"}, // validation rejects it; normalising does not guess
		{"·张三", "·张三"},
		{"张 ·", "张·"},
	}
	for _, c := range cases {
		got := NormalizeName(c.in)
		if got != c.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", c.in, got, c.want)
		}
		if again := NormalizeName(got); again != got {
			t.Errorf("NormalizeName not idempotent on %q: %q", got, again)
		}
	}
}

func TestNormalizeNameNoAllocWhenCanonical(t *testing.T) {
	for _, s := range []string{"阿依古丽·买买提", "John Smith", "张三"} {
		if n := testing.AllocsPerRun(100, func() { NormalizeName(s) }); n != 0 {
			t.Errorf("NormalizeName(%q) allocates %v times", s, n)
		}
	}
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"阿依古丽.买买提", " Ｊｏｈｎ\u3000Smith ", "e\u200B\u0301", "\u1100\u200B\u1161",
		"·· .", "张 。 三", "\xff\xfe", "a \u0301", "\u318D\u1100", "O’Brien‐Smith"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeName(s)
		if again := NormalizeName(n); again != n {
			t.Fatalf("not idempotent: %q → %q → %q", s, n, again)
		}
		if n != strings.TrimSpace(n) || strings.Contains(n, "  ") {
			t.Fatalf("white space left in %q", n)
		}
		if !utf8.ValidString(n) {
			t.Fatalf("invalid UTF-8 out: %q", n)
		}
		if !norm.NFKC.IsNormalString(n) {
			t.Fatalf("not NFKC: %q", n)
		}
		for _, r := range n {
			if r != nameDot && r != ' ' && unicode.IsSpace(r) {
				t.Fatalf("white space other than a space in %q", n)
			}
			for _, v := range dotVariants[1:] {
				if r == v {
					t.Fatalf("dot variant U+%04X left in %q", v, n)
				}
			}
		}
	})
}

func TestNormalizeRecord(t *testing.T) {
	clean := vPostgraduate(t)
	dirty := clean
	dirty.Kind = " postgraduate "
	dirty.Name = " 阿依古丽．买买提 "
	dirty.Gender = "2 "
	dirty.Nationality = "chn"
	dirty.Ethnicity = " 05"
	dirty.PoliticalStatus = "13\t"
	dirty.IDType = " resident_id"
	dirty.IDNumber = " " + strings.ToLower(clean.IDNumber) + " "
	dirty.Phone = " 13800138000 "
	dirty.Email = "\taygul.m@example.edu.cn"
	dirty.UnitCode = "10001 "
	dirty.UnitName = "\u3000北京大学"
	dirty.PresidentName = " 李明"
	dirty.CommitteeChairName = "王红\u200B"
	dirty.DegreeLevel = "doctor "
	dirty.DegreeType = " academic"
	dirty.DegreeCategory = " 理学"
	dirty.DisciplineCode = "070101 "
	dirty.DisciplineName = " 基础数学"
	dirty.CertificateNumber = " 1000122023000123"
	dirty.ResolutionNumber = clean.ResolutionNumber + " "
	dirty.CertificateStyle = " " + clean.CertificateStyle
	dirty.SupervisorName = "赵五 "
	dirty.StudentNumber = " 1801110001"
	dirty.StudyMode = "full_time "
	dirty.ThesisTitle = " " + clean.ThesisTitle
	keywords := []string{" 代数几何", "", "模空间 ", "  "}
	dirty.ThesisKeywords = keywords
	dirty.ThesisTopicSource = clean.ThesisTopicSource + "\n"
	dirty.Status = " filed"

	Normalize(&dirty)
	if !reflect.DeepEqual(dirty, clean) {
		t.Errorf("Normalize:\n got %+v\nwant %+v", dirty, clean)
	}
	if keywords[0] != " 代数几何" || len(keywords) != 4 {
		t.Error("Normalize edited the caller's keyword array")
	}
	twice := dirty
	Normalize(&twice)
	if !reflect.DeepEqual(twice, dirty) {
		t.Error("Normalize is not idempotent")
	}

	// Revocation fields and the bachelor fields are trimmed too.
	b := vRevoked(vBachelor(t))
	want := b
	b.TrainingUnit = " " + b.TrainingUnit
	b.StudyForm += " "
	b.RevocationResolution += " "
	b.RevocationReason = "\t" + b.RevocationReason
	b.IDNumber = "h12345678"
	b.Nationality = "ｈｋｇ"
	Normalize(&b)
	if !reflect.DeepEqual(b, want) {
		t.Errorf("Normalize bachelor:\n got %+v\nwant %+v", b, want)
	}

	// Only empty keywords: none at all.
	e := vEquivalent(t)
	e.ThesisKeywords = []string{" ", ""}
	Normalize(&e)
	if e.ThesisKeywords != nil {
		t.Errorf("keywords %q, want nil", e.ThesisKeywords)
	}
}
