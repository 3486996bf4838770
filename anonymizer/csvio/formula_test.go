package csvio

import (
	"encoding/csv"
	"strings"
	"testing"
)

func TestGuardFormula(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"},
		{"=1+1", "'=1+1"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(1,1)", "'@SUM(1,1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"-", "'-"},
		{"+", "'+"},
		{"-1-1", "'-1-1"},
		{"-e5", "'-e5"},
		{"1e", "1e"}, // no trigger: text as it is
		{"'=1", "''=1"},
		{"'", "''"},
		{"'abc", "''abc"},
		// Plain numbers and ordinary values stay as they are.
		{"-5", "-5"},
		{"+1.5e3", "+1.5e3"},
		{"-.5", "-.5"},
		{"-3.", "-3."},
		{"1980-1984", "1980-1984"},
		{"2019-05", "2019-05"},
		{"*", "*"},
		{"", ""},
		{"a=b", "a=b"},
		{"北京", "北京"},
	}
	for _, tc := range tests {
		got := GuardFormula(tc.in)
		if got != tc.want {
			t.Errorf("GuardFormula(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back := UnguardFormula(got); back != tc.in {
			t.Errorf("UnguardFormula(%q) = %q, want %q", got, back, tc.in)
		}
	}
}

// FuzzGuardFormula: the guard is reversible and its output never starts
// with a formula trigger, whatever the value.
func FuzzGuardFormula(f *testing.F) {
	for _, s := range []string{"=1", "-5", "'", "''=", "-", "+1e+", "\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g := GuardFormula(s)
		if UnguardFormula(g) != s {
			t.Fatalf("UnguardFormula(GuardFormula(%q)) = %q", s, UnguardFormula(g))
		}
		if g != "" && strings.ContainsRune("=+-@\t\r", rune(g[0])) && !plainNumber(g) {
			t.Fatalf("GuardFormula(%q) = %q starts with a formula trigger", s, g)
		}
	})
}

// TestGuardedCSVRoundTrip: a guarded cell survives encoding/csv both ways.
func TestGuardedCSVRoundTrip(t *testing.T) {
	row := []string{"=1+1", "-5", "a,b", "'x", "\t@y"}
	var b strings.Builder
	w := csv.NewWriter(&b)
	guarded := make([]string, len(row))
	for i, v := range row {
		guarded[i] = GuardFormula(v)
	}
	w.Write(guarded)
	w.Flush()
	got, err := csv.NewReader(strings.NewReader(b.String())).Read()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if UnguardFormula(v) != row[i] {
			t.Errorf("cell %d: read back %q, want %q", i, UnguardFormula(v), row[i])
		}
	}
}
