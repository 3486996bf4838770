package policies

import (
	"errors"
	"strings"
	"testing"
)

func TestMasks(t *testing.T) {
	key := []byte("0123456789abcdef")
	tests := []struct {
		mask Mask
		in   string
		want string
	}{
		{MaskClear, "北京大学", "北京大学"},
		{MaskClear, "", ""},
		{MaskDrop, "110105199003071234", ""},

		// Chinese names: surname kept; the last character of a given name
		// of two or more characters kept.
		{MaskName, "张三", "张*"},
		{MaskName, "张三丰", "张*丰"},
		{MaskName, "王小二", "王*二"},
		{MaskName, "张晓明明", "张**明"},
		{MaskName, "李", "*"},
		{MaskName, "  张三  ", "张*"},
		{MaskName, "张 三 丰", "张*丰"},
		// Compound surnames keep both characters, from three characters up.
		{MaskName, "欧阳修", "欧阳*"},
		{MaskName, "欧阳娜娜", "欧阳*娜"},
		{MaskName, "司马相如", "司马*如"},
		{MaskName, "诸葛亮", "诸葛*"},
		{MaskName, "上官婉儿", "上官*儿"},
		{MaskName, "歐陽修", "歐陽*"},
		{MaskName, "司马", "司*"},
		// Names with a middle dot: first character of the first and last part.
		{MaskName, "阿依古丽·买买提", "阿***·买**"},
		{MaskName, "买买提·艾力·吐尔逊", "买**·**·吐**"},
		{MaskName, "阿依古丽.买买提", "阿***.买**"},
		{MaskName, "阿依古丽•买买提", "阿***•买**"},
		{MaskName, "爱新觉罗·溥仪", "爱***·溥*"},
		{MaskName, "·买买提", "·买**"},
		{MaskName, "a·b", "*·*"},
		// Other names: initials.
		{MaskName, "John Smith", "J*** S****"},
		{MaskName, "Jean-Luc Picard", "J***-L** P*****"},
		{MaskName, "J. Smith", "J. S****"},
		{MaskName, "María José", "M**** J***"},
		{MaskName, "Иван Петров", "И*** П*****"},
		{MaskName, "李John", "李****"},
		{MaskName, "A B", "* *"},
		{MaskName, "A*", "**"},
		{MaskName, "", ""},
		{MaskName, "   ", ""},

		{MaskInitial, "张三丰", "张*"},
		{MaskInitial, "John Smith", "J*"},
		{MaskInitial, "(张三)", "张*"},
		{MaskInitial, "J", "*"},
		{MaskInitial, "", ""},

		// Resident ID numbers: region prefix and the last two, never the birth date.
		{MaskIDNumber, "110105199003071234", "110*************34"},
		{MaskIDNumber, "11010519900307123X", "110*************3X"},
		{MaskIDNumber, "110105900307123", "110**********23"},
		{MaskIDNumber, "E12345678", "E******78"},
		{MaskIDNumber, "H1234567", "H*****67"},
		{MaskIDNumber, "12345", "****5"},
		{MaskIDNumber, "123", "***"},
		{MaskIDNumber, "", ""},

		{MaskPhone, "13800138000", "138****8000"},
		{MaskPhone, "+86 138-0013-8000", "138****8000"},
		{MaskPhone, "008613800138000", "138****8000"},
		{MaskPhone, "12345678", "****5678"},
		{MaskPhone, "12345", "*****"},
		{MaskPhone, "n/a", ""},
		{MaskPhone, "", ""},

		{MaskEmail, "zhangsan@example.com", "z***@example.com"},
		{MaskEmail, "a@b.cn", "a***@b.cn"},
		{MaskEmail, "张三@例子.中国", "张***@例子.中国"},
		{MaskEmail, `"a@b"@example.com`, `"***@example.com`},
		{MaskEmail, "@example.com", "***@example.com"},
		{MaskEmail, "noatsign", "n***"},
		{MaskEmail, "", ""},

		{MaskDateYear, "2019-06-30", "2019"},
		{MaskDateYear, "2019-06", "2019"},
		{MaskDateYear, "2019", "2019"},
		{MaskDateYear, "19-06-30", ""},
		{MaskDateYear, "2019/06/30", ""},
		{MaskDateYear, "２０１９-06-30", ""},
		{MaskDateYear, "", ""},
		{MaskDateYearMonth, "2019-06-30", "2019-06"},
		{MaskDateYearMonth, "2019-06", "2019-06"},
		{MaskDateYearMonth, "2019", ""},
		{MaskDateYearMonth, "2019-6-30", ""},
		{MaskDateYearMonth, "2019-06-30T00:00", ""},
	}
	for _, tt := range tests {
		got, err := tt.mask.Apply(tt.in, ApplyOptions{HashKey: key})
		if err != nil {
			t.Errorf("%s(%q): %v", tt.mask, tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s(%q) = %q, want %q", tt.mask, tt.in, got, tt.want)
		}
	}
}

func TestMaskInvalidUTF8(t *testing.T) {
	for _, m := range Masks() {
		got, err := m.Apply("张\xff\xfe三丰", ApplyOptions{HashKey: make([]byte, MinHashKeyLen)})
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if strings.ContainsRune(got, 0xff) || !isValidUTF8(got) {
			t.Errorf("%s returned invalid UTF-8 %q", m, got)
		}
	}
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "") == s }

func TestKeyedHash(t *testing.T) {
	k1, k2 := []byte("0123456789abcdef"), []byte("fedcba9876543210")
	a1, _ := MaskKeyedHash.Apply("110105199003071234", ApplyOptions{HashKey: k1})
	a1again, _ := MaskKeyedHash.Apply("110105199003071234", ApplyOptions{HashKey: k1})
	a2, _ := MaskKeyedHash.Apply("110105199003071234", ApplyOptions{HashKey: k2})
	b1, _ := MaskKeyedHash.Apply("110105199003071235", ApplyOptions{HashKey: k1})
	if a1 != a1again {
		t.Error("not deterministic under one key")
	}
	if a1 == a2 {
		t.Error("same pseudonym under two keys")
	}
	if a1 == b1 {
		t.Error("same pseudonym for two values")
	}
	if len(a1) != 24 || strings.Trim(a1, "abcdefghijklmnopqrstuvwxyz234567") != "" {
		t.Errorf("pseudonym %q: want 24 base32 lower-case characters", a1)
	}
	for _, key := range [][]byte{nil, []byte("short")} {
		_, err := MaskKeyedHash.Apply("x", ApplyOptions{HashKey: key})
		if !errors.Is(err, ErrHashKey) {
			t.Errorf("key of %d bytes: err %v, want ErrHashKey", len(key), err)
		}
	}
}

func TestUnknownMask(t *testing.T) {
	if _, err := Mask("partial").Apply("x", ApplyOptions{}); err == nil {
		t.Fatal("unknown mask applied")
	}
	if Mask("partial").Known() {
		t.Fatal("unknown mask known")
	}
}
