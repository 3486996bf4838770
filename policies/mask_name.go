package policies

import (
	"strings"
	"unicode"
)

// maskName masks a person's name. The rules, in the order they are tried:
//
//  1. Surrounding white space is ignored; an empty name stays empty.
//  2. A name with a middle dot (·, •, ・, ‧, ∙, ．, or "." between Chinese
//     characters) is a transliterated name such as 阿依古丽·买买提: the
//     first character of the first part and of the last part are kept,
//     every other character is starred, the dots stay
//     (阿依古丽·买买提 → 阿***·买**). Middle parts are starred entirely,
//     so at most two characters show however many parts there are.
//  3. A name of Chinese characters only (spaces between them ignored)
//     keeps its surname — two characters for a compound surname (欧阳,
//     司马, 诸葛 …, see compoundSurname) when the name has at least three
//     characters, otherwise one — and stars the given name except, when
//     the given name has two or more characters, its last one:
//     张三 → 张*, 张三丰 → 张*丰, 欧阳修 → 欧阳*, 欧阳娜娜 → 欧阳*娜.
//     One star per hidden character: the length of a Chinese name is
//     common knowledge of little worth, and the form 张*丰 is what
//     readers in China expect.
//  4. Any other name (Latin letters, Cyrillic, mixed) is split into words
//     at anything that is not a letter or digit (space, hyphen,
//     apostrophe, period); each word keeps its first letter and stars the
//     rest, the separators stay (John Smith → J*** S****,
//     Jean-Luc Picard → J***-L** P*****).
//
// Whatever the rule, a result that would show every letter of the name (a
// one-character name, "A B") is starred entirely.
func maskName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	rs := []rune(s)
	var out []rune
	switch {
	case isDotted(rs):
		out = maskDotted(rs)
	case isHan(rs):
		out = maskHan(rs)
	default:
		out = maskWords(rs)
	}
	if countLetters(out) >= countLetters(rs) {
		for i, r := range out {
			if isNameLetter(r) {
				out[i] = '*'
			}
		}
	}
	return string(out)
}

func isNameLetter(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func countLetters(rs []rune) int {
	n := 0
	for _, r := range rs {
		if isNameLetter(r) {
			n++
		}
	}
	return n
}

func isMiddleDot(r rune) bool {
	switch r {
	case '·', '•', '・', '‧', '∙', '．':
		return true
	}
	return false
}

func isDotted(rs []rune) bool {
	han := false
	for _, r := range rs {
		if isMiddleDot(r) {
			return true
		}
		han = han || unicode.Is(unicode.Han, r)
	}
	// An ASCII period separates parts only in a Chinese transliteration;
	// in "J. Smith" it ends an initial.
	return han && strings.ContainsRune(string(rs), '.')
}

func isDot(r rune) bool { return isMiddleDot(r) || r == '.' }

func maskDotted(rs []rune) []rune {
	out := make([]rune, len(rs))
	first, last := -1, -1 // index of the first character of the first and the last part
	start := true
	for i, r := range rs {
		switch {
		case isDot(r):
			out[i] = r
			start = true
		case unicode.IsSpace(r):
			out[i] = r
		default:
			out[i] = '*'
			if start {
				if first < 0 {
					first = i
				}
				last = i
				start = false
			}
		}
	}
	for _, i := range []int{first, last} {
		if i >= 0 {
			out[i] = rs[i]
		}
	}
	return out
}

func isHan(rs []rune) bool {
	n := 0
	for _, r := range rs {
		switch {
		case unicode.Is(unicode.Han, r):
			n++
		case unicode.IsSpace(r):
		default:
			return false
		}
	}
	return n > 0
}

func maskHan(rs []rune) []rune {
	han := make([]rune, 0, len(rs))
	for _, r := range rs {
		if !unicode.IsSpace(r) {
			han = append(han, r)
		}
	}
	surname := 1
	if len(han) >= 3 && compoundSurname(string(han[:2])) {
		surname = 2
	}
	out := make([]rune, len(han))
	copy(out, han[:surname])
	given := len(han) - surname
	for i := surname; i < len(han); i++ {
		out[i] = '*'
	}
	if given >= 2 {
		out[len(han)-1] = han[len(han)-1]
	}
	return out
}

func maskWords(rs []rune) []rune {
	out := make([]rune, len(rs))
	start := true
	for i, r := range rs {
		switch {
		case !isNameLetter(r):
			out[i] = r
			start = true
		case start:
			out[i] = r
			start = false
		default:
			out[i] = '*'
		}
	}
	return out
}

// compoundSurname reports whether the two characters are a two-character
// (复姓) surname: the compound surnames of the Hundred Family Surnames in
// use today, in simplified and, for the common ones, traditional
// characters. A name that merely starts with such a pair and has only two
// characters is treated as surname + given name (司马 → 司*).
func compoundSurname(s string) bool {
	switch s {
	case "欧阳", "太史", "端木", "上官", "司马", "东方", "独孤", "南宫", "万俟", "闻人",
		"夏侯", "诸葛", "尉迟", "公羊", "赫连", "澹台", "皇甫", "宗政", "濮阳", "公冶",
		"太叔", "申屠", "公孙", "慕容", "仲孙", "钟离", "长孙", "宇文", "司徒", "鲜于",
		"司空", "闾丘", "子车", "亓官", "司寇", "巫马", "公西", "颛孙", "壤驷", "公良",
		"漆雕", "乐正", "宰父", "谷梁", "拓跋", "夹谷", "轩辕", "令狐", "段干", "百里",
		"呼延", "东郭", "南门", "羊舌", "微生", "公户", "公玉", "公仪", "梁丘", "公仲",
		"公上", "公门", "公山", "公坚", "左丘", "公伯", "西门", "公祖", "第五", "公乘",
		"贯丘", "公皙", "南荣", "东里", "东宫", "仲长", "子书", "子桑", "即墨", "达奚",
		"褚师", "叱干", "贺兰", "纳兰", "完颜", "司城", "淳于", "单于",
		// Traditional forms (Hong Kong, Macao, Taiwan).
		"歐陽", "司馬", "諸葛", "東方", "獨孤", "南宮", "聞人", "尉遲", "公孫", "長孫",
		"鍾離", "鮮于", "軒轅", "閭丘", "顓孫", "樂正", "東郭", "賀蘭", "納蘭":
		return true
	}
	return false
}
