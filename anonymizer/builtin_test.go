package anonymizer

import (
	"slices"
	"testing"

	"github.com/degreegate/degreegate/policies"
)

func TestBuiltinHierarchies(t *testing.T) {
	tests := []struct {
		h    policies.Hierarchy
		in   string
		want []string
	}{
		{policies.HierarchyDate, "2019-06-30", []string{"2019-06-30", "2019-06", "2019", "2015-2019", Top}},
		{policies.HierarchyDate, "2020-01-01", []string{"2020-01-01", "2020-01", "2020", "2020-2024", Top}},
		{policies.HierarchyDate, "", []string{"", "", "", "", Top}},
		{policies.HierarchyMonth, "1999-09", []string{"1999-09", "1999", "1995-1999", Top}},
		{policies.HierarchyDiscipline, "081201", []string{"081201", "0812", "08", Top}},
		{policies.HierarchyDiscipline, "0251", []string{"0251", "0251", "02", Top}},
		{policies.HierarchyDiscipline, "080910T", []string{"080910T", "0809", "08", Top}},
		{policies.HierarchyUnit, "10001", []string{"10001", "11", "north", Top}},
		{policies.HierarchyUnit, "10730", []string{"10730", "62", "northwest", Top}},
		{policies.HierarchyUnit, "99999", []string{"99999", "unknown", "unknown", Top}},
		{policies.HierarchyEthnicity, "01", []string{"01", "han", Top}},
		{policies.HierarchyEthnicity, "05", []string{"05", "minority", Top}},
		{policies.HierarchyEthnicity, "97", []string{"97", "other", Top}},
		{policies.HierarchyNationality, "CHN", []string{"CHN", "CHN", Top}},
		{policies.HierarchyNationality, "KOR", []string{"KOR", "other", Top}},
		{policies.HierarchyPoliticalStatus, "02", []string{"02", "cpc", Top}},
		{policies.HierarchyPoliticalStatus, "07", []string{"07", "democratic_party", Top}},
		{policies.HierarchyPoliticalStatus, "13", []string{"13", "no_party", Top}},
		{policies.HierarchyGender, "2", []string{"2", Top}},
		{policies.HierarchyFlat, "full_time", []string{"full_time", Top}},
	}
	for _, tc := range tests {
		h, levels, err := BuiltinHierarchy(tc.h)
		if err != nil {
			t.Fatal(err)
		}
		if len(levels) != h.Height() {
			t.Errorf("%s: %d level names for %d levels", tc.h, len(levels), h.Height())
		}
		got, err := h.Chain(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s(%q) = %v, %v; want %v", tc.h, tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []struct {
		h  policies.Hierarchy
		in string
	}{
		{policies.HierarchyDate, "2019/06/30"}, {policies.HierarchyDate, "19-06-30"}, {policies.HierarchyMonth, "2019-6"},
		{policies.HierarchyDiscipline, "8"}, {policies.HierarchyEthnicity, "1"}, {policies.HierarchyNationality, "chn"},
		{policies.HierarchyPoliticalStatus, "14"},
	} {
		h, _, _ := BuiltinHierarchy(bad.h)
		if _, err := h.Chain(bad.in); err == nil {
			t.Errorf("%s accepted %q", bad.h, bad.in)
		}
	}
	// Every hierarchy the policy can name is built in.
	for _, name := range policies.Hierarchies() {
		if _, _, err := BuiltinHierarchy(name); err != nil {
			t.Errorf("policy hierarchy %s: %v", name, err)
		}
	}
}

func TestResolveRegions(t *testing.T) {
	units, err := ResolveRegions([]string{"11", "south"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		if p := UnitProvince(u); p != "11" && ProvinceRegion(p) != "south" {
			t.Errorf("unit of province %s selected", p)
		}
	}
	if !slices.IsSorted(units) || !slices.Contains(units, "10001") || !slices.Contains(units, "10558") {
		t.Errorf("regions 11 and south select %d units, not sorted or without 10001 and 10558", len(units))
	}
	for _, bad := range []string{"atlantis", "99", "1"} {
		if _, err := ResolveRegions([]string{bad}); err == nil {
			t.Errorf("region %q accepted", bad)
		}
	}
}

// FuzzBuiltinChains: whatever the value, a chain is refused or is well
// formed: the value first, Top last, and each level a function of the
// one below (checked by the engine's column, which refuses
// inconsistent hierarchies).
func FuzzBuiltinChains(f *testing.F) {
	for _, s := range []string{"2019-06-30", "2019-06", "081201", "10001", "01", "CHN", "", "0000-00-00"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, name := range policies.Hierarchies() {
			h, _, _ := BuiltinHierarchy(name)
			c, err := newColumn("x", h)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []string{a, b} {
				chain, err := h.Chain(v)
				if err != nil {
					continue
				}
				if chain[0] != v || chain[len(chain)-1] != Top || len(chain) != h.Height() {
					t.Fatalf("%s(%q) = %q", name, v, chain)
				}
				if _, err := c.code(v); err != nil {
					t.Fatalf("%s: consistent chains refused: %v", name, err)
				}
			}
		}
	})
}
