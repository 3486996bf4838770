package policies

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	p := mustDefault(t)
	// The same policy without the agency's batch scope: the token may
	// carry more than the policy grants.
	noBatch, err := Parse(mutated(t, func(t *testing.T, d map[string]any) {
		delete(obj(t, d, "audiences", "agency", "scopes"), "degree.verify.batch")
	}))
	if err != nil {
		t.Fatal(err)
	}
	const purpose = "employment_background_check"
	agency := func(s Scope, granted ...string) Request {
		return Request{Audience: Agency, Scope: s, Granted: granted, Org: "gov:mohrss", Purpose: purpose}
	}
	tests := []struct {
		name   string
		policy *Policy
		req    Request
		want   error // nil: allowed
	}{
		{"public needs no token", p, Request{Audience: Public, Scope: ScopeVerify}, nil},
		{"public scopes are ignored", p, Request{Audience: Public, Scope: ScopeVerify, Granted: []string{"nonsense"}}, nil},
		{"public gets no batch", p, Request{Audience: Public, Scope: ScopeVerifyBatch}, ErrScopeDenied},
		{"public takes no purpose", p, Request{Audience: Public, Scope: ScopeVerify, Purpose: purpose}, ErrPurposeRejected},
		{"agency verify", p, agency(ScopeVerify, "degree.verify"), nil},
		{"agency by id", p, agency(ScopeVerifyByID, "degree.verify", "degree.verify.by_id"), nil},

		{"token scope unknown to the policy", p, agency(ScopeVerify, "degree.verify", "degree.everything"), ErrUnknownScope},
		{"foreign scope", p, agency(ScopeVerify, "openid", "degree.verify"), ErrUnknownScope},
		{"policy allows more than the token: token wins", p, agency(ScopeVerifyBatch, "degree.verify"), ErrScopeDenied},
		{"token allows more than the policy: policy wins", noBatch, agency(ScopeVerifyBatch, "degree.verify", "degree.verify.batch"), ErrScopeDenied},
		{"known scope the default does not grant", p, agency(ScopeStatsRead, "stats.read"), ErrScopeDenied},
		{"token without scopes", p, agency(ScopeVerify), ErrScopeDenied},

		{"holder token on the agency route", p, Request{Audience: Holder, Scope: ScopeVerifyBatch,
			Granted: []string{"degree.verify.batch"}, Org: "gov:x", Purpose: purpose}, ErrScopeDenied},
		{"holder token asking for agency by-id", p, Request{Audience: Holder, Scope: ScopeVerifyByID,
			Granted: []string{"degree.verify.by_id"}, Purpose: purpose}, ErrScopeDenied},
		{"contractor token on the agency route", p, Request{Audience: Contractor, Scope: ScopeVerify,
			Granted: []string{"degree.verify"}, Org: "gov:x", Purpose: purpose}, ErrScopeDenied},
		{"holder reads own records", p, Request{Audience: Holder, Scope: ScopeHolderRead, Granted: []string{"holder.read"}}, nil},

		{"company on the agency interface", p, Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"},
			Org: "corp:acme", Purpose: purpose}, ErrOrgDenied},
		{"agency without org", p, Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"},
			Purpose: purpose}, ErrOrgDenied},
		{"type prefix alone is no org", p, Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"},
			Org: "gov:", Purpose: purpose}, ErrOrgDenied},

		{"agency without purpose", p, Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"},
			Org: "gov:x"}, ErrPurposeRequired},
		{"unknown purpose", p, Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"},
			Org: "gov:x", Purpose: "curiosity"}, ErrPurposeRejected},
		{"purpose not open to the org type", p, Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"},
			Org: "unit:10001", Purpose: "public_security_investigation"}, ErrPurposeRejected},
		{"research purpose on the agency interface", p, Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"},
			Org: "gov:x", Purpose: "degree_quality_evaluation"}, ErrPurposeRejected},
		{"commercial purpose", p, Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"},
			Org: "gov:x", Purpose: "commercial_use"}, ErrPurposeForbidden},

		{"shared code, basic", p, Request{Audience: HolderCode, Scope: ScopeVerify, Level: "basic"}, nil},
		{"shared code without level", p, Request{Audience: HolderCode, Scope: ScopeVerify}, ErrLevelRejected},
		{"shared code, unknown level", p, Request{Audience: HolderCode, Scope: ScopeVerify, Level: "gold"}, ErrLevelRejected},
		{"level where none is offered", p, Request{Audience: Public, Scope: ScopeVerify, Level: "full"}, ErrLevelRejected},

		{"dataset request", p, Request{Audience: Office, Scope: ScopeDatasetRequest, Granted: []string{"dataset.request"},
			Org: "office:national", Purpose: "degree_quality_evaluation"}, nil},
		{"dataset request without purpose", p, Request{Audience: Office, Scope: ScopeDatasetRequest, Granted: []string{"dataset.request"},
			Org: "office:national"}, ErrPurposeRequired},
		{"dataset for marketing", p, Request{Audience: Office, Scope: ScopeDatasetApprove, Granted: []string{"dataset.approve"},
			Org: "office:national", Purpose: "marketing"}, ErrPurposeForbidden},
		{"dataset for an agency purpose", p, Request{Audience: Office, Scope: ScopeDatasetRequest, Granted: []string{"dataset.request"},
			Org: "office:national", Purpose: purpose}, ErrPurposeRejected},
		{"agency posing as office", p, Request{Audience: Office, Scope: ScopeAuditRead, Granted: []string{"audit.read"},
			Org: "gov:x"}, ErrOrgDenied},

		{"unknown audience", p, Request{Audience: "robot", Scope: ScopeVerify}, ErrUnknownAudience},
		{"unknown operation", p, Request{Audience: Public, Scope: "degree.delete"}, ErrUnknownScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.policy.Decide(tt.req)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				if d.PolicyVersion != tt.policy.Version() || d.LegalBasis == "" || d.Scope != tt.req.Scope {
					t.Fatalf("decision %+v", d)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var de *DeniedError
			if !errors.As(err, &de) || de.PolicyVersion != tt.policy.Version() || de.Code() == "denied" {
				t.Fatalf("err = %#v: want a *DeniedError with version and code", err)
			}
		})
	}
}

func TestDecisionDetails(t *testing.T) {
	p := mustDefault(t)
	d, err := p.Decide(Request{Audience: Agency, Scope: ScopeVerifyBatch, Granted: []string{"degree.verify.batch"},
		Org: "gov:mps", Purpose: "public_security_investigation"})
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := p.Purpose("public_security_investigation")
	if d.Purpose != pu.ID || d.LegalBasis != pu.LegalBasis || d.Org != "gov:mps" {
		t.Errorf("decision %+v", d)
	}
	if d.Limits != p.Limits(Agency) {
		t.Errorf("limits %+v, want %+v", d.Limits, p.Limits(Agency))
	}
	if err := d.CheckBatch(d.MaxBatch); err != nil {
		t.Errorf("full batch: %v", err)
	}
	if err := d.CheckBatch(d.MaxBatch + 1); !errors.Is(err, ErrBatchTooLarge) {
		t.Errorf("batch over the limit: %v", err)
	}
	single, _ := p.Decide(Request{Audience: Public, Scope: ScopeVerify})
	if single.CheckBatch(2) == nil || single.LegalBasis != "Art. 22" {
		t.Errorf("public decision %+v", single)
	}
}

// Whatever scopes a token carries, a decision is given only for a scope
// that the token carries and the policy grants to the audience; holders
// and contractors never get a record scope of another audience.
func TestDecideIsIntersection(t *testing.T) {
	p := mustDefault(t)
	r := rand.New(rand.NewPCG(4, 2))
	scopes := Scopes()
	for range 2000 {
		var granted []string
		for _, s := range scopes {
			if r.IntN(2) == 0 {
				granted = append(granted, string(s))
			}
		}
		a := Audiences()[r.IntN(len(Audiences()))]
		s := scopes[r.IntN(len(scopes))]
		purposes := []string{"", "employment_background_check", "degree_quality_evaluation"}
		req := Request{Audience: a, Scope: s, Granted: granted, Org: []string{"gov:a", "office:national", "corp:x"}[r.IntN(3)],
			Purpose: purposes[r.IntN(len(purposes))], Level: []string{"", "basic"}[r.IntN(2)]}
		d, err := p.Decide(req)
		if err != nil {
			continue
		}
		if a.Tokened() && !slices.Contains(granted, string(s)) {
			t.Fatalf("%+v: allowed a scope the token lacks", req)
		}
		if !slices.Contains(p.Grants(a), s) {
			t.Fatalf("%+v: allowed a scope the policy does not grant", req)
		}
		if (a == Holder || a == Contractor) && (s == ScopeVerify || s == ScopeVerifyBatch || s == ScopeVerifyByID) {
			t.Fatalf("%+v: %s got an agency decision %+v", req, a, d)
		}
	}
}

func TestHolderCodes(t *testing.T) {
	p := mustDefault(t)
	h := p.HolderCodes()
	level, validity, err := p.CheckHolderCode("", 0)
	if err != nil || level != h.DefaultLevel || validity != h.DefaultValidity {
		t.Fatalf("defaults: %q %s %v", level, validity, err)
	}
	for _, tt := range []struct {
		level    string
		validity int64 // in units of MinValidity
		want     error
	}{
		{"full", 1, nil},
		{"basic", 0, nil},
		{"gold", 1, ErrLevelRejected},
		{"full", -1, ErrValidity},
	} {
		_, _, err := p.CheckHolderCode(tt.level, h.MinValidity*time.Duration(tt.validity))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s × %d: err %v, want %v", tt.level, tt.validity, err, tt.want)
		}
	}
	if _, _, err := p.CheckHolderCode("basic", h.MaxValidity+1); !errors.Is(err, ErrValidity) {
		t.Errorf("over max: %v", err)
	}
	if _, _, err := p.CheckHolderCode("basic", h.MinValidity-1); !errors.Is(err, ErrValidity) {
		t.Errorf("under min: %v", err)
	}
	for _, lv := range h.Levels {
		if lv.Description.ZH == "" || lv.Description.EN == "" {
			t.Errorf("level %s without description", lv.Name)
		}
	}
}

// Whatever a caller puts where a name belongs never comes back in a
// refusal, which the gateway may log.
func TestRefusalsDoNotEcho(t *testing.T) {
	p := mustDefault(t)
	const secret = "110105199003071234"
	errs := []error{}
	add := func(_ Decision, err error) { errs = append(errs, err) }
	add(p.Decide(Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify", secret}, Org: "gov:x"}))
	add(p.Decide(Request{Audience: Agency, Scope: ScopeVerify, Granted: []string{"degree.verify"}, Org: "gov:x", Purpose: secret}))
	add(p.Decide(Request{Audience: HolderCode, Scope: ScopeVerify, Level: secret}))
	add(p.Decide(Request{Audience: Audience(secret), Scope: ScopeVerify}))
	add(p.Decide(Request{Audience: Public, Scope: Scope(secret)}))
	_, _, err := p.CheckHolderCode(secret, 0)
	errs = append(errs, err,
		p.CheckDataset(DatasetRequest{Purpose: secret}),
		p.CheckDataset(DatasetRequest{Purpose: "degree_quality_evaluation", Fields: []string{secret}}))
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: allowed", i)
			continue
		}
		var de *DeniedError
		if strings.Contains(err.Error(), secret) || (errors.As(err, &de) && (strings.Contains(string(de.Audience), secret) || strings.Contains(string(de.Scope), secret))) {
			t.Errorf("case %d echoes the input: %v", i, err)
		}
	}
}

// TestFilingScopesByOrganisation: the default policy lets a unit collect
// and check, a province review and the national office consent, and no
// organisation any other's filing scope or the officials' scopes.
func TestFilingScopesByOrganisation(t *testing.T) {
	p := mustDefault(t)
	orgs := []string{"unit:10001", "province:11", "national", "office:national"}
	allowed := map[Scope]string{ScopeFilingCollect: "unit:10001", ScopeFilingCheck: "unit:10001",
		ScopeFilingReview: "province:11", ScopeFilingConsent: "national", ScopeAuditRead: "office:national",
		ScopeStatsRead: "office:national"}
	for s, holder := range allowed {
		for _, org := range orgs {
			_, err := p.Decide(Request{Audience: Office, Scope: s, Granted: []string{string(s)}, Org: org})
			switch {
			case org == holder && err != nil:
				t.Errorf("%s for %s: %v", s, org, err)
			case org != holder && !errors.Is(err, ErrOrgDenied):
				t.Errorf("%s for %s: %v, want ErrOrgDenied", s, org, err)
			}
		}
	}
}

// TestGrantOrgsChecked: a filing grant must name its organisations, and
// only an audience with tokens has organisations to name.
func TestGrantOrgsChecked(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(t *testing.T, d map[string]any)
		path   string
	}{
		{"filing without orgs", func(t *testing.T, d map[string]any) {
			delete(obj(t, d, "audiences", "office", "scopes", "filing.review"), "orgs")
		}, `audiences.office.scopes["filing.review"].orgs`},
		{"orgs for the public", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "public", "scopes", "degree.verify")["orgs"] = []any{"unit:"}
		}, `audiences.public.scopes["degree.verify"].orgs`},
		{"a malformed org", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "office", "scopes", "filing.check")["orgs"] = []any{""}
		}, `audiences.office.scopes["filing.check"].orgs`},
	} {
		_, err := Parse(mutated(t, c.change))
		var pe *Error
		if !errors.As(err, &pe) || !strings.HasPrefix(pe.Path, c.path) {
			t.Errorf("%s: %v, want an error at %s", c.name, err, c.path)
		}
	}
}
