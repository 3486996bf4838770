package anonymizer

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseHierarchy(t *testing.T) {
	h, err := ParseHierarchy(strings.NewReader("\ufeff1;0-4;*\r\n2;0-4;*\r\n5;5-9;*\r\n\r\n"), ';')
	if err != nil {
		t.Fatal(err)
	}
	if h.Height() != 3 || !slices.Equal(h.Leaves(), []string{"1", "2", "5"}) {
		t.Fatalf("height %d leaves %v", h.Height(), h.Leaves())
	}
	c, err := h.Chain("5")
	if err != nil || !slices.Equal(c, []string{"5", "5-9", "*"}) {
		t.Fatalf("chain %v %v", c, err)
	}
	if _, err := h.Chain("6"); !errors.Is(err, ErrUnknownValue) {
		t.Fatalf("unknown leaf: %v", err)
	}
}

func TestParseHierarchyErrors(t *testing.T) {
	cases := []struct {
		name, in string
		line     int
		has      string
	}{
		{"empty", "", 1, "no lines"},
		{"ragged", "a;x;*\nb;*\n", 2, "same number"},
		{"no top", "a;x\nb;y\n", 1, "want \"*\""},
		{"one level", "*\n", 1, "only 1 level"},
		{"duplicate leaf", "a;x;*\nb;x;*\na;x;*\n", 3, "already defined on line 1"},
		{"inconsistent", "a;x;p;*\nb;x;q;*\n", 2, "inconsistent"},
		{"inconsistent leaf chain", "a;x;*\nb;y;*\nc;x;*\nd;y;*\ne;x;*\n", 0, ""},
		{"bad quote", "a;\"x;*\n", 1, "line 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseHierarchy(strings.NewReader(tc.in), ';')
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("valid hierarchy rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			var he *HierarchyError
			if errors.As(err, &he) && he.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", he.Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.has) {
				t.Errorf("%v: want %q", err, tc.has)
			}
		})
	}
}

func TestFuncHierarchyInconsistent(t *testing.T) {
	// "b" claims x generalises to q although "a" said p.
	h, _ := NewFuncHierarchy(4, func(v string) ([]string, error) {
		if v == "a" {
			return []string{"a", "x", "p", Top}, nil
		}
		return []string{v, "x", "q", Top}, nil
	})
	e, err := New(Config{QIs: []QI{{"c", h}}, K: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Add([]string{"a"}, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Add([]string{"b"}, "", ""); err == nil || !strings.Contains(err.Error(), "inconsistent") {
		t.Fatalf("got %v", err)
	}
}

// FuzzParseHierarchy: whatever the input, the parser returns a hierarchy
// whose every chain has Height levels ending in Top and generalises
// consistently, or an error; it never panics.
func FuzzParseHierarchy(f *testing.F) {
	f.Add([]byte("1;0-4;0-9;*\n2;0-4;0-9;*\n7;5-9;0-9;*\n"))
	f.Add([]byte("a;*\nb;*\n"))
	f.Add([]byte("a;x;*\nb;y;*\nc;x;*\n\"d;e\";y;*\n"))
	f.Add([]byte("a;x;p;*\nb;x;q;*\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := ParseHierarchy(bytes.NewReader(in), ';')
		if err != nil {
			return
		}
		parent := make([]map[string]string, h.Height())
		for i := range parent {
			parent[i] = map[string]string{}
		}
		for _, leaf := range h.Leaves() {
			c, err := h.Chain(leaf)
			if err != nil || len(c) != h.Height() || c[0] != leaf || c[len(c)-1] != Top {
				t.Fatalf("leaf %q: chain %q, %v", leaf, c, err)
			}
			for L := 0; L+1 < len(c); L++ {
				if p, ok := parent[L][c[L]]; ok && p != c[L+1] {
					t.Fatalf("inconsistent hierarchy accepted: %q", in)
				}
				parent[L][c[L]] = c[L+1]
			}
		}
		// The engine accepts every hierarchy the parser accepts.
		if _, err := New(Config{QIs: []QI{{"c", h}}, K: 1}); err != nil {
			t.Fatalf("engine rejects a parsed hierarchy: %v", err)
		}
	})
}
