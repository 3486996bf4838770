package policies

import "testing"

func BenchmarkParseDefault(b *testing.B) {
	doc := DefaultDocument()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// The per-request cost the gateway pays: one decision per call.
func BenchmarkDecide(b *testing.B) {
	p := mustDefault(b)
	req := Request{Audience: Agency, Scope: ScopeVerifyBatch, Granted: []string{"degree.verify", "degree.verify.batch", "degree.verify.by_id"},
		Org: "gov:mohrss", Purpose: "employment_background_check"}
	for b.Loop() {
		if _, err := p.Decide(req); err != nil {
			b.Fatal(err)
		}
	}
}

// The per-item cost: masking one record for an agency.
func BenchmarkApplyAgency(b *testing.B) {
	p := mustDefault(b)
	d, err := p.Decide(Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"}, Org: "gov:x", Purpose: "employment_background_check"})
	if err != nil {
		b.Fatal(err)
	}
	src := MapSource(fullRecord("false"))
	for b.Loop() {
		if _, err := d.Apply(src, ApplyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMaskName(b *testing.B) {
	for b.Loop() {
		_, _ = MaskName.Apply("欧阳娜娜", ApplyOptions{})
	}
}
