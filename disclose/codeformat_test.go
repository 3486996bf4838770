package disclose

import (
	"strings"
	"testing"
)

func TestCodeFormat(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		c := NewShareCode()
		if len(c) != CodeLength || seen[c] {
			t.Fatalf("code %d: length %d or repeated", i, len(c))
		}
		seen[c] = true
		g := GroupCode(c)
		for _, form := range []string{c, g, strings.ToLower(g), " " + strings.ReplaceAll(g, "-", " ") + " "} {
			if back, ok := CanonicalCode(form); !ok || back != c {
				t.Fatalf("%q does not read back", form)
			}
		}
	}
	// Every letter of the alphabet is used: the 5 bits per letter are real.
	used := map[rune]bool{}
	for c := range seen {
		for _, r := range c {
			used[r] = true
		}
	}
	if len(used) != len(CodeAlphabet) {
		t.Errorf("%d letters used of %d", len(used), len(CodeAlphabet))
	}
	for _, bad := range []string{"", "-", strings.Repeat("A", 19), strings.Repeat("A", 21), strings.Repeat("0", 20), "ÄBCDEFGHJKLMNPQRSTUV"} {
		if _, ok := CanonicalCode(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzCanonicalCode(f *testing.F) {
	for _, s := range []string{"ABCDE-FGHJK-LMNPQ-RSTUV", "abcde fghjk lmnpq rstuv", "", "----", "O0I1", strings.Repeat("Z", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := CanonicalCode(s)
		if !ok {
			return
		}
		if len(c) != CodeLength {
			t.Fatalf("canonical %q has length %d", c, len(c))
		}
		for i := 0; i < len(c); i++ {
			if !strings.ContainsRune(CodeAlphabet, rune(c[i])) {
				t.Fatalf("canonical %q holds %q", c, c[i])
			}
		}
		if back, ok := CanonicalCode(GroupCode(c)); !ok || back != c {
			t.Fatalf("grouped %q does not read back", GroupCode(c))
		}
	})
}
