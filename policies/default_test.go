package policies

import (
	"errors"
	"slices"
	"testing"
)

func mustDefault(t testing.TB) *Policy {
	t.Helper()
	p, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	return p
}

func TestDefaultLoads(t *testing.T) {
	p := mustDefault(t)
	if p.Version() == "" {
		t.Fatal("empty version")
	}
	for _, a := range Audiences() {
		if a == Public || a == HolderCode {
			continue
		}
		if len(p.Grants(a)) == 0 {
			t.Errorf("%s: default grants nothing", a)
		}
	}
}

// The default must encode the regulation: what the public sees, what it
// never sees, and the dev samples' purpose.
func TestDefaultEncodesRegulation(t *testing.T) {
	p := mustDefault(t)
	d, err := p.Decide(Request{Audience: Public, Scope: ScopeVerify})
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]Mask{}
	for _, f := range d.Fields() {
		rules[f.Field] = f.Mask
	}
	for _, want := range []string{"unit_name", "degree_level", "degree_type", "degree_category", "discipline_name", "status"} {
		if rules[want] != MaskClear {
			t.Errorf("public %s: mask %q, want clear", want, rules[want])
		}
	}
	if rules["name"] != MaskName {
		t.Errorf("public name: mask %q, want name", rules["name"])
	}
	if m := rules["conferral_date"]; m != MaskDateYearMonth && m != MaskDateYear && m != MaskClear {
		t.Errorf("public conferral_date: mask %q", m)
	}
	for _, never := range []string{"id_number", "birth_date", "phone", "email", "student_number",
		"thesis_title", "thesis_keywords", "thesis_topic_source", "certificate_number", "photo_ref"} {
		if m, ok := rules[never]; ok {
			t.Errorf("public sees %s through %q", never, m)
		}
	}

	// The dev samples name this purpose for the agency token.
	const devPurpose = "employment_background_check"
	for _, s := range []Scope{ScopeVerify, ScopeVerifyBatch, ScopeVerifyByID} {
		_, err := p.Decide(Request{Audience: Agency, Scope: s, Granted: []string{string(s)}, Org: "gov:dev-agency", Purpose: devPurpose})
		if err != nil {
			t.Errorf("agency %s for %s: %v", s, devPurpose, err)
		}
	}
	// A record carries its form of study in study_mode (postgraduate)
	// or study_form (bachelor's): an agency that sees one sees the
	// other, or most records would lose it (issue 16, item 20).
	for _, s := range []Scope{ScopeVerify, ScopeVerifyBatch, ScopeVerifyByID} {
		d, err := p.Decide(Request{Audience: Agency, Scope: s, Granted: []string{string(s)}, Org: "gov:dev-agency", Purpose: devPurpose})
		if err != nil {
			continue
		}
		shown := map[string]bool{}
		for _, f := range d.Fields() {
			shown[f.Field] = true
		}
		if shown["study_mode"] != shown["study_form"] {
			t.Errorf("agency %s: study_mode shown %v, study_form shown %v", s, shown["study_mode"], shown["study_form"])
		}
	}
	pu, ok := p.Purpose(devPurpose)
	if !ok || pu.LegalBasis != "Art. 20" {
		t.Errorf("%s: %+v", devPurpose, pu)
	}

	// Art. 24: commercial use is forbidden for datasets and everywhere.
	ds := p.Dataset()
	if !slices.Contains(ds.ForbiddenPurposes, "commercial_use") || !p.PurposeForbidden("commercial_use") {
		t.Errorf("commercial_use not forbidden: %v", ds.ForbiddenPurposes)
	}
	if ds.MinK < 2 || ds.MaxTerm <= 0 {
		t.Errorf("dataset rules: %+v", ds)
	}
	for _, f := range ds.Fields {
		if lf, _ := LookupField(f.Name); lf.Class == DirectIdentifier {
			t.Errorf("dataset may carry direct identifier %s", f.Name)
		}
	}
	if err := p.CheckDataset(DatasetRequest{Purpose: "commercial_use"}); !errors.Is(err, ErrPurposeForbidden) {
		t.Errorf("commercial dataset: %v", err)
	}

	d, err = p.Decide(Request{Audience: Agency, Scope: ScopeVerifyBatch, Granted: []string{"degree.verify.batch"}, Org: "gov:x", Purpose: devPurpose})
	if err != nil || d.MaxBatch != 1000 || !d.RequireJTI {
		t.Errorf("agency batch: %+v, %v", d, err)
	}
	h := p.HolderCodes()
	if h.MinValidity <= 0 || h.MinValidity > h.MaxValidity || len(h.Levels) < 2 {
		t.Errorf("holder codes: %+v", h)
	}
}
