package policies

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The promise of every mask, written from its documentation rather than
// from its code: how many letters and digits of the original it may show.
func promise(m Mask, in string) int {
	letters := func(s string) int {
		n := 0
		for _, r := range s {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				n++
			}
		}
		return n
	}
	switch m {
	case MaskClear:
		return letters(in)
	case MaskDrop:
		return 0
	case MaskName:
		// Three for a Chinese name, two for a dotted one, one per word
		// otherwise — and never the whole name.
		words := len(strings.FieldsFunc(in, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
		return min(max(3, words), letters(in)-1)
	case MaskInitial:
		return min(1, letters(in)-1)
	case MaskIDNumber:
		n := utf8.RuneCountInString(strings.TrimSpace(in))
		return min(5, n/2)
	case MaskPhone:
		return 7
	case MaskEmail:
		if i := strings.LastIndexByte(in, '@'); i >= 0 {
			return 1 + letters(in[i+1:])
		}
		return 1
	case MaskDateYear:
		return 4
	case MaskDateYearMonth:
		return 6
	}
	return 0
}

// checkMask asserts what every mask promises for one input: valid UTF-8
// out, nothing that was not in the input (stars aside), and no more
// letters or digits than promised.
func checkMask(t *testing.T, m Mask, in string) {
	t.Helper()
	out, err := m.Apply(in, ApplyOptions{HashKey: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatalf("%s(%q): %v", m, in, err)
	}
	if !utf8.ValidString(out) {
		t.Fatalf("%s(%q) = %q: invalid UTF-8", m, in, out)
	}
	if m == MaskKeyedHash {
		if len(out) != 24 || (len(in) >= 8 && strings.Contains(out, in)) {
			t.Fatalf("%s(%q) = %q", m, in, out)
		}
		return
	}
	valid := strings.ToValidUTF8(in, "\uFFFD")
	have := map[rune]int{}
	for _, r := range valid {
		have[r]++
	}
	shown := 0
	for _, r := range out {
		if r == '*' {
			continue
		}
		if have[r]--; have[r] < 0 {
			t.Fatalf("%s(%q) = %q: %q is not from the input (or appears more often)", m, in, out, r)
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			shown++
		}
	}
	if limit := max(promise(m, valid), 0); shown > limit {
		t.Fatalf("%s(%q) = %q shows %d letters or digits, promise is %d", m, in, out, shown, limit)
	}
}

// randomName draws strings from the alphabets names, numbers and
// addresses are made of, plus separators and broken UTF-8.
func randomName(r *rand.Rand) string {
	parts := []string{"张", "欧阳", "司马", "娜", "丰", "·", ".", "•", " ", "-", "'", "@", "*",
		"J", "o", "h", "n", "И", "1", "3", "8", "0", "X", "\xff", "é", "e\u0301", "ー", "+", "例"}
	var b strings.Builder
	for n := r.IntN(12); n > 0; n-- {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	return b.String()
}

func TestMaskPromises(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		in := randomName(r)
		for _, m := range Masks() {
			checkMask(t, m, in)
		}
	}
}

func FuzzMasks(f *testing.F) {
	for _, s := range []string{"", "张三", "欧阳娜娜", "阿依古丽·买买提", "John Smith", "110105199003071234",
		"+86 138-0013-8000", "zhangsan@example.com", "2019-06-30", "\xff\xfe", "a·b", "A B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, m := range Masks() {
			checkMask(t, m, in)
		}
	})
}
