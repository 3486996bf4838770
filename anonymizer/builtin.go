package anonymizer

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/degreegate/degreegate/policies"
)

// The built-in hierarchies of the degree datasets, one per
// policies.Hierarchy. They are functions of the value, so their domain is
// whatever values the selection holds; an empty value (a field the
// record's kind does not have, e.g. enrolment_month of an equivalent
// degree) stays empty up to Top.

// builtin describes one built-in hierarchy: its levels' names (for the
// manifest and report) and the chain function.
type builtin struct {
	levels []string
	chain  func(v string) ([]string, error)
}

var errShape = errors.New("value does not have the shape this hierarchy generalises")

// BuiltinHierarchy returns the hierarchy a policy names, and the names of
// its levels from the value up to Top.
func BuiltinHierarchy(h policies.Hierarchy) (*Hierarchy, []string, error) {
	b, ok := builtins()[h]
	if !ok {
		return nil, nil, fmt.Errorf("no built-in hierarchy %q", h)
	}
	height := len(b.levels)
	hier, err := NewFuncHierarchy(height, func(v string) ([]string, error) {
		if v == "" {
			c := make([]string, height)
			c[height-1] = Top
			return c, nil
		}
		return b.chain(v)
	})
	return hier, slices.Clone(b.levels), err
}

func builtins() map[policies.Hierarchy]builtin {
	return map[policies.Hierarchy]builtin{
		policies.HierarchyDate:            {[]string{"day", "month", "year", "5-year band", Top}, dateChain},
		policies.HierarchyMonth:           {[]string{"month", "year", "5-year band", Top}, monthChain},
		policies.HierarchyDiscipline:      {[]string{"discipline", "first-level discipline", "category", Top}, disciplineChain},
		policies.HierarchyUnit:            {[]string{"unit", "province", "region", Top}, unitChain},
		policies.HierarchyEthnicity:       {[]string{"ethnicity", "Han / minority", Top}, ethnicityChain},
		policies.HierarchyNationality:     {[]string{"nationality", "China / other", Top}, nationalityChain},
		policies.HierarchyPoliticalStatus: {[]string{"political status", "group", Top}, politicalChain},
		policies.HierarchyGender:          {[]string{"gender", Top}, flatChain},
		policies.HierarchyFlat:            {[]string{"value", Top}, flatChain},
	}
}

func flatChain(v string) ([]string, error) { return []string{v, Top}, nil }

// yearBand is the five-year band of a year: 2015-2019 for 2017.
func yearBand(y int) string {
	lo := y - y%5
	return strconv.Itoa(lo) + "-" + strconv.Itoa(lo+4)
}

// year reads four digits.
func year(s string) (int, bool) {
	if len(s) != 4 {
		return 0, false
	}
	y := 0
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		y = y*10 + int(s[i]-'0')
	}
	return y, true
}

func twoDigits(s string) bool {
	return len(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9'
}

// dateChain: 2019-06-30 → 2019-06 → 2019 → 2015-2019 → *.
func dateChain(v string) ([]string, error) {
	if len(v) != 10 || v[4] != '-' || v[7] != '-' || !twoDigits(v[5:7]) || !twoDigits(v[8:10]) {
		return nil, errShape
	}
	y, ok := year(v[:4])
	if !ok {
		return nil, errShape
	}
	return []string{v, v[:7], v[:4], yearBand(y), Top}, nil
}

// monthChain: 2019-06 → 2019 → 2015-2019 → *.
func monthChain(v string) ([]string, error) {
	if len(v) != 7 || v[4] != '-' || !twoDigits(v[5:7]) {
		return nil, errShape
	}
	y, ok := year(v[:4])
	if !ok {
		return nil, errShape
	}
	return []string{v, v[:4], yearBand(y), Top}, nil
}

// disciplineChain: 081201 → 0812 → 08 → *. A professional-degree
// category of four digits is its own first-level label; a bachelor
// major's T/K suffix goes with the six digits.
func disciplineChain(v string) ([]string, error) {
	if len(v) < 4 || !twoDigits(v[:2]) || !twoDigits(v[2:4]) {
		return nil, errShape
	}
	return []string{v, v[:4], v[:2], Top}, nil
}

// ethnicityChain: GB/T 3304 — 01 Han, 02–56 the minorities, 97 other,
// 98 foreign-born naturalised.
func ethnicityChain(v string) ([]string, error) {
	if !twoDigits(v) {
		return nil, errShape
	}
	n, _ := strconv.Atoi(v)
	group := "other"
	switch {
	case n == 1:
		group = "han"
	case n >= 2 && n <= 56:
		group = "minority"
	}
	return []string{v, group, Top}, nil
}

// nationalityChain: GB/T 2659 alpha-3 — China or any other country.
func nationalityChain(v string) ([]string, error) {
	if len(v) != 3 || strings.ToUpper(v) != v {
		return nil, errShape
	}
	group := "other"
	if v == "CHN" {
		group = "CHN"
	}
	return []string{v, group, Top}, nil
}

// politicalChain: GB/T 4762 — 01–02 CPC members and probationers, 03 the
// Youth League, 04–11 the democratic parties, 12–13 no party.
func politicalChain(v string) ([]string, error) {
	if !twoDigits(v) {
		return nil, errShape
	}
	n, _ := strconv.Atoi(v)
	var group string
	switch {
	case n == 1 || n == 2:
		group = "cpc"
	case n == 3:
		group = "youth_league"
	case n >= 4 && n <= 11:
		group = "democratic_party"
	case n == 12 || n == 13:
		group = "no_party"
	default:
		return nil, errShape
	}
	return []string{v, group, Top}, nil
}

// unitChain: 10001 → 11 (Beijing) → north → *. A unit the table does not
// know generalises to the province and region "unknown".
func unitChain(v string) ([]string, error) {
	p := UnitProvince(v)
	if p == "" {
		return []string{v, "unknown", "unknown", Top}, nil
	}
	return []string{v, p, ProvinceRegion(p), Top}, nil
}

// Regions are the seven conventional geographic regions of mainland
// China, plus Hong Kong, Macao and Taiwan, by GB/T 2260 province code.
var regionProvinces = map[string][]string{
	"north":     {"11", "12", "13", "14", "15"},
	"northeast": {"21", "22", "23"},
	"east":      {"31", "32", "33", "34", "35", "36", "37"},
	"central":   {"41", "42", "43"},
	"south":     {"44", "45", "46"},
	"southwest": {"50", "51", "52", "53", "54"},
	"northwest": {"61", "62", "63", "64", "65"},
	"hmt":       {"71", "81", "82"},
}

// ProvinceRegion names the region of a GB/T 2260 province code, or
// "unknown".
func ProvinceRegion(province string) string {
	for r, ps := range regionProvinces {
		if slices.Contains(ps, province) {
			return r
		}
	}
	return "unknown"
}

//go:embed data/unit_provinces.csv
var unitProvincesCSV string

var unitProvinces = sync.OnceValue(func() map[string]string {
	m := make(map[string]string)
	for i, line := range strings.Split(unitProvincesCSV, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || line == "code,province" {
			continue
		}
		code, prov, ok := strings.Cut(line, ",")
		if !ok || !twoDigits(prov) {
			panic(fmt.Sprintf("anonymizer: data/unit_provinces.csv line %d is malformed", i+1))
		}
		m[code] = prov
	}
	return m
})

// UnitProvince is the province of a degree-granting unit, "" when the
// embedded table does not know the unit.
func UnitProvince(unit string) string { return unitProvinces()[unit] }

// ResolveRegions turns a request's regions — province codes ("11") or
// region names ("east") — into the unit codes they hold, sorted. It fails
// on a region it does not know.
func ResolveRegions(regions []string) ([]string, error) {
	if len(regions) == 0 {
		return nil, nil
	}
	want := map[string]bool{}
	for _, r := range regions {
		switch ps, ok := regionProvinces[r]; {
		case ok:
			for _, p := range ps {
				want[p] = true
			}
		case twoDigits(r) && ProvinceRegion(r) != "unknown":
			want[r] = true
		default:
			return nil, fmt.Errorf("region %q: want a GB/T 2260 province code or one of %s", r, strings.Join(RegionNames(), ", "))
		}
	}
	var units []string
	for u, p := range unitProvinces() {
		if want[p] {
			units = append(units, u)
		}
	}
	slices.Sort(units)
	return units, nil
}

// RegionNames lists the region names ResolveRegions knows.
func RegionNames() []string {
	var out []string
	for r := range regionProvinces {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
