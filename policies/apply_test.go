package policies

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fullRecord has a value for every field of the contract.
func fullRecord(classified string) map[string]string {
	return map[string]string{
		"kind": "postgraduate", "name": "欧阳娜娜", "gender": "2", "nationality": "CHN", "ethnicity": "01",
		"political_status": "13", "birth_date": "1990-03-07", "id_type": "resident_id",
		"id_number": "110105199003071248", "phone": "13800138000", "email": "nana@example.com",
		"unit_code": "10001", "unit_name": "北京大学", "president_name": "王五", "committee_chair_name": "赵六",
		"degree_level": "doctor", "degree_type": "academic", "degree_category": "08", "discipline_code": "081200",
		"discipline_name": "计算机科学与技术", "conferral_date": "2019-06-30", "certificate_number": "1000132019000123",
		"resolution_number": "2019-07", "certificate_style": "2015", "supervisor_name": "李四",
		"enrolment_month": "2014-09", "student_number": "1401210001", "study_mode": "full_time",
		"graduation_month": "2019-06", "thesis_title": "一种隐私计算方法", "thesis_keywords": "隐私;计算",
		"thesis_topic_source": "national_project", ClassifiedFlag: classified, "photo_ref": "photo/1.jpg",
		"status": "filed",
	}
}

// everyDecision returns a decision for every audience, scope and level the
// policy grants.
func everyDecision(t *testing.T, p *Policy) []Decision {
	t.Helper()
	var out []Decision
	for _, a := range Audiences() {
		for _, s := range p.Grants(a) {
			req := Request{Audience: a, Scope: s, Granted: []string{string(s)}}
			switch a {
			case Agency:
				req.Org, req.Purpose = "gov:x", "employment_background_check"
			case Office:
				req.Org = map[Scope]string{ScopeFilingCollect: "unit:10001", ScopeFilingCheck: "unit:10001",
					ScopeFilingReview: "province:11", ScopeFilingConsent: "national"}[s]
				if req.Org == "" {
					req.Org = "office:national"
				}
				if s == ScopeDatasetRequest || s == ScopeDatasetApprove {
					req.Purpose = "degree_quality_evaluation"
				}
			}
			levels := []string{""}
			if a == HolderCode {
				levels = nil
				for _, lv := range p.HolderCodes().Levels {
					levels = append(levels, lv.Name)
				}
			}
			for _, lv := range levels {
				req.Level = lv
				d, err := p.Decide(req)
				if err != nil {
					t.Fatalf("%s %s %s: %v", a, s, lv, err)
				}
				out = append(out, d)
			}
		}
	}
	return out
}

// A policy that hands the whole thesis to agencies, to show the rule of
// Art. 25 holds whatever the policy says.
func thesisPolicy(t *testing.T) *Policy {
	p, err := Parse(mutated(t, func(t *testing.T, d map[string]any) {
		f := obj(t, d, "audiences", "agency", "scopes", "degree.verify", "fields")
		f["thesis_title"], f["thesis_keywords"], f["thesis_topic_source"] = "clear", "clear", "clear"
	}))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClassifiedThesisNeverLeaves(t *testing.T) {
	opts := ApplyOptions{HashKey: []byte("0123456789abcdef")}
	for _, p := range []*Policy{mustDefault(t), thesisPolicy(t)} {
		for _, flag := range []string{"true", "TRUE", "", "yes", "False", "0"} {
			rec := fullRecord(flag)
			for _, d := range everyDecision(t, p) {
				out, err := d.Apply(MapSource(rec), opts)
				if err != nil {
					t.Fatal(err)
				}
				for name := range out {
					if f, _ := LookupField(name); f.NeverIfClassified {
						t.Errorf("flag %q: %s %s %s disclosed %s", flag, d.Audience, d.Scope, d.Level, name)
					}
				}
			}
		}
		// No flag at all counts as classified too.
		rec := fullRecord("")
		delete(rec, ClassifiedFlag)
		for _, d := range everyDecision(t, p) {
			out, _ := d.Apply(MapSource(rec), opts)
			if _, ok := out["thesis_title"]; ok {
				t.Errorf("missing flag: %s %s disclosed thesis_title", d.Audience, d.Scope)
			}
		}
	}
	// An unclassified thesis reaches those the policy allows.
	p := thesisPolicy(t)
	d, err := p.Decide(Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"}, Org: "gov:x", Purpose: "employment_background_check"})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := d.Apply(MapSource(fullRecord("false")), opts)
	if out["thesis_title"] != "一种隐私计算方法" {
		t.Errorf("unclassified thesis withheld: %v", out)
	}
	for _, f := range d.Fields() {
		if strings.HasPrefix(f.Field, "thesis_") && !f.NeverIfClassified {
			t.Errorf("%s carries no NeverIfClassified marker", f.Field)
		}
	}
}

func TestApplyPublic(t *testing.T) {
	p := mustDefault(t)
	d, err := p.Decide(Request{Audience: Public, Scope: ScopeVerify})
	if err != nil {
		t.Fatal(err)
	}
	rec := fullRecord("false")
	delete(rec, "degree_type") // a missing field is left out
	rec["revoked_on"] = ""     // so is an empty one
	out, err := d.Apply(MapSource(rec), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := Disclosure{
		"kind": "postgraduate", "name": "欧阳*娜", "unit_name": "北京大学", "degree_level": "doctor",
		"degree_category": "08", "discipline_name": "计算机科学与技术", "conferral_date": "2019-06", "status": "filed",
	}
	if len(out) != len(want) {
		t.Errorf("disclosed %v, want %v", out, want)
	}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("%s = %q, want %q", k, out[k], v)
		}
	}
	if !slices.IsSorted(out.Fields()) || len(out.Fields()) != len(out) {
		t.Errorf("Fields() = %v", out.Fields())
	}
}

func TestApplyKeyedHash(t *testing.T) {
	p, err := Parse(mutated(t, func(t *testing.T, d map[string]any) {
		obj(t, d, "audiences", "agency", "scopes", "degree.verify", "fields")["id_number"] = "keyed_hash"
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !p.NeedsHashKey() || mustDefault(t).NeedsHashKey() {
		t.Error("NeedsHashKey wrong")
	}
	d, err := p.Decide(Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"}, Org: "gov:x", Purpose: "employment_background_check"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Apply(MapSource(fullRecord("false")), ApplyOptions{}); !errors.Is(err, ErrHashKey) {
		t.Errorf("no key: %v", err)
	}
	out, err := d.Apply(MapSource(fullRecord("false")), ApplyOptions{HashKey: []byte("0123456789abcdef")})
	if err != nil || len(out["id_number"]) != 24 || strings.Contains(out["id_number"], "1101") {
		t.Errorf("keyed hash: %q %v", out["id_number"], err)
	}
}

// Accessors hand out copies: changing them changes nothing in the policy.
func TestPolicyImmutable(t *testing.T) {
	p := mustDefault(t)
	d, _ := p.Decide(Request{Audience: Public, Scope: ScopeVerify})
	d.Fields()[0].Mask = MaskClear
	p.Dataset().Fields[0].Role = RoleSensitive
	p.Dataset().ForbiddenPurposes[0] = "x"
	p.HolderCodes().Levels[0].Name = "x"
	pu, _ := p.Purpose("civil_service_recruitment")
	pu.Orgs[0] = "corp:"
	DefaultDocument()[0] = 'x'

	fresh := mustDefault(t)
	d2, _ := p.Decide(Request{Audience: Public, Scope: ScopeVerify})
	if !slices.Equal(d2.Fields(), must(fresh.Decide(Request{Audience: Public, Scope: ScopeVerify})).Fields()) {
		t.Error("decision fields changed")
	}
	if !slices.Equal(p.Dataset().Fields, fresh.Dataset().Fields) || !slices.Equal(p.Dataset().ForbiddenPurposes, fresh.Dataset().ForbiddenPurposes) {
		t.Error("dataset rules changed")
	}
	if !slices.Equal(p.HolderCodes().Levels, fresh.HolderCodes().Levels) {
		t.Error("levels changed")
	}
	if pu2, _ := p.Purpose("civil_service_recruitment"); pu2.Orgs[0] != "gov:" {
		t.Error("purpose orgs changed")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// One policy serves many goroutines (run with -race).
func TestPolicyConcurrent(t *testing.T) {
	p := mustDefault(t)
	rec := MapSource(fullRecord("false"))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				req := Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"}, Org: "gov:x", Purpose: "employment_background_check"}
				if i%2 == 0 {
					req = Request{Audience: Public, Scope: ScopeVerify}
				}
				d, err := p.Decide(req)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := d.Apply(rec, ApplyOptions{}); err != nil {
					t.Error(err)
					return
				}
				_ = p.Dataset()
				_ = p.HolderCodes()
			}
		})
	}
	wg.Wait()
}

// TestAppendAppliedIsApplyInOrder: the list form shows exactly what Apply
// shows, in field-name order, after whatever dst held.
func TestAppendAppliedIsApplyInOrder(t *testing.T) {
	p := mustDefault(t)
	for _, req := range []Request{
		{Audience: Public, Scope: ScopeVerify},
		{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"}, Org: "gov:x", Purpose: "employment_background_check"},
	} {
		d, err := p.Decide(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, classified := range []string{"false", "true", ""} {
			src := MapSource(fullRecord(classified))
			want, err := d.Apply(src, ApplyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.AppendApplied([]Shown{{Field: "before", Value: "x"}}, src, ApplyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != (Shown{Field: "before", Value: "x"}) || len(got)-1 != len(want) {
				t.Fatalf("%s, classified %q: got %v, want %v after the first", req.Audience, classified, got, want)
			}
			for i, f := range got[1:] {
				if want[f.Field] != f.Value {
					t.Errorf("%s: %s = %q, Apply says %q", req.Audience, f.Field, f.Value, want[f.Field])
				}
				if i > 0 && got[i].Field >= f.Field {
					t.Errorf("%s: %s after %s: not in field-name order", req.Audience, f.Field, got[i].Field)
				}
			}
		}
	}
}

func TestDisclosureJSON(t *testing.T) {
	d := Disclosure{"programme_years": "4", "thesis_classified": "false", "name": "张*丰", "status": "valid", "student_number": "0042"}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"张*丰","programme_years":4,"status":"valid","student_number":"0042","thesis_classified":false}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	// A number its mask generalised stays a string.
	ranged, _ := json.Marshal(Disclosure{"programme_years": "3-5"})
	if string(ranged) != `{"programme_years":"3-5"}` {
		t.Errorf("a generalised number: %s", ranged)
	}
	var back Disclosure
	if err := json.Unmarshal(ranged, &back); err != nil || !maps.Equal(back, Disclosure{"programme_years": "3-5"}) {
		t.Errorf("Unmarshal: %v %v", back, err)
	}
	if err := json.Unmarshal([]byte(want), &back); err != nil || !maps.Equal(back, d) {
		t.Errorf("round trip: %v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"x":[1]}`), &back); err == nil {
		t.Error("an array read as a disclosed value")
	}
}
