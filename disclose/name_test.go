package disclose

import (
	"strings"
	"testing"
)

func TestNameMatches(t *testing.T) {
	long := strings.Repeat("龘", 100) // the longest name the registry stores: 300 bytes
	cases := []struct {
		name          string
		asked, stored string
		found, want   bool
	}{
		{"same", "张三", "张三", true, true},
		{"same, not found (decoy)", decoyName, decoyName, false, false},
		{"first byte differs", "李三", "张三", true, false},
		{"last byte differs", "张三", "张四", true, false},
		{"prefix", "张", "张三", true, false},
		{"longer", "张三丰", "张三", true, false},
		{"empty asked", "", "张三", true, false},
		{"longest stored, same", long, long, true, true},
		{"longest stored, last differs", long[:len(long)-3] + "龍", long, true, false},
		{"asked longer than the buffer, stored its first 512 bytes", strings.Repeat("a", 600), strings.Repeat("a", 512), true, false},
		{"stored the buffer's length, same", strings.Repeat("a", 512), strings.Repeat("a", 512), true, true},
		{"stored past the buffer, same", strings.Repeat("a", 600), strings.Repeat("a", 600), true, true},
		{"stored past the buffer, tail differs", strings.Repeat("a", 599) + "b", strings.Repeat("a", 600), true, false},
		{"differs only in the 8th byte of a word", "abcdefgX", "abcdefgh", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := nameMatches(tc.asked, tc.stored, tc.found); got != tc.want {
				t.Errorf("nameMatches = %v, want %v", got, tc.want)
			}
		})
	}
}

func BenchmarkNameMatches(b *testing.B) {
	for b.Loop() {
		nameMatches("唐文帆", "唐文帆", true)
	}
}
