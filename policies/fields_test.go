package policies

import (
	"strings"
	"testing"
)

func TestCatalogues(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Fields() {
		if seen[f.Name] {
			t.Errorf("field %s twice", f.Name)
		}
		seen[f.Name] = true
		if g, ok := LookupField(f.Name); !ok || g != f {
			t.Errorf("LookupField(%s) = %+v", f.Name, g)
		}
		if strings.HasPrefix(f.Name, "thesis_") != (f.NeverIfClassified || f.Name == ClassifiedFlag) {
			t.Errorf("%s: NeverIfClassified %v", f.Name, f.NeverIfClassified)
		}
	}
	for _, s := range Scopes() {
		if !s.Known() || len(s.Audiences()) == 0 || s.Summary() == "" {
			t.Errorf("scope %s incomplete", s)
		}
	}
	for _, m := range Masks() {
		if !m.Known() {
			t.Errorf("mask %s unknown", m)
		}
	}
	if Scope("x").Known() || Mask("x").Known() {
		t.Error("unknown names known")
	}
}
