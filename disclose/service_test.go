package disclose

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
	"github.com/degreegate/degreegate/registry/synth"
)

// trail records entries, or refuses them all.
type trail struct {
	mu      sync.Mutex
	entries []registry.AuditEntry
	refuse  bool
}

func (t *trail) Record(ctx context.Context, e registry.AuditEntry) error {
	return t.RecordBatch(ctx, []registry.AuditEntry{e})
}
func (t *trail) RecordBatch(_ context.Context, es []registry.AuditEntry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.refuse {
		return registry.ErrAuditBacklog
	}
	t.entries = append(t.entries, es...)
	return nil
}
func (t *trail) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// checkingSigner fails the test when it is asked to sign before the
// trail holds an entry: a receipt is an answer, and no answer comes
// before its audit entry.
type checkingSigner struct {
	t     *testing.T
	trail *trail
	signs int
}

func (s *checkingSigner) check() {
	s.signs++
	if s.trail.len() == 0 {
		s.t.Error("a receipt was signed before the access was on the trail")
	}
}
func (s *checkingSigner) AppendJWS(dst, _ []byte) []byte { s.check(); return append(dst, "h.p.s"...) }
func (s *checkingSigner) Sign(any) (string, error)       { s.check(); return "h.p.s", nil }

type fixture struct {
	svc    *Service
	trail  *trail
	signer *checkingSigner
	policy *policies.Policy
	store  *inmem.Store
	rec    registry.Record // filed
	code   CodeRef         // a usable code for rec
}

func newServiceFixture(t *testing.T) *fixture {
	t.Helper()
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	store := inmem.New()
	g := synth.New(3)
	var rec registry.Record
	for i := 0; ; i++ {
		if rec = g.Record(i); rec.Status == registry.StatusFiled {
			break
		}
	}
	registry.Normalize(&rec)
	sealed, err := keys.Seal(rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := registry.Insert(ctx, store, registry.NewRandomLogKey(), []registry.Sealed{sealed}, registry.Change{Actor: "test", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	pol, err := policies.Default()
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("ABCDEFGHJKLMNPQRSTUV"))
	code := CodeRef{Hash: hash[:], ID: CodeID(hash[:])}
	now := time.Now()
	if err := store.PutShareCode(ctx, registry.ShareCode{
		Hash: code.Hash, CertificateNumber: rec.CertificateNumber, Owner: keys.PersonIndex(rec.IDType, rec.IDNumber),
		Level: pol.HolderCodes().DefaultLevel, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	}, 5); err != nil {
		t.Fatal(err)
	}
	tr := &trail{}
	sg := &checkingSigner{t: t, trail: tr}
	svc, err := New(Deps{
		Registry: registry.New(store, keys, registry.NewRandomLogKey(), time.Now), Audit: tr, Receipts: sg,
		Codes: store, AuditSearch: store, Policy: pol, ActorKey: make([]byte, 32),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, trail: tr, signer: sg, policy: pol, store: store, rec: rec, code: code}
}

// principal asks the policy as the given audience would, granted every
// scope it knows.
func (f *fixture) principal(a policies.Audience, org, purpose string) Principal {
	return Principal{Actor: "test:" + string(a), Org: org, Decide: func(scope policies.Scope, level string) (policies.Decision, error) {
		return f.policy.Decide(policies.Request{Audience: a, Scope: scope, Granted: grantAll(), Org: org, Purpose: purpose, Level: level})
	}}
}

func grantAll() []string {
	var all []string
	for _, s := range []policies.Scope{policies.ScopeVerify, policies.ScopeVerifyBatch, policies.ScopeVerifyByID, policies.ScopeHolderRead, policies.ScopeAuditRead} {
		all = append(all, string(s))
	}
	return all
}

// Every way data leaves the registry answers only after its audit entry
// is recorded, and answers nothing when the trail refuses it.
func TestEveryDisclosureIsAuditedFirst(t *testing.T) {
	ctx := context.Background()
	type disclosure struct {
		name string
		// run discloses rec; shown says whether the answer showed any of it.
		run func(f *fixture) (shown bool, err error)
	}
	agencyOrg, agencyPurpose := "gov:test-bureau", ""
	cases := []disclosure{
		{"public match", func(f *fixture) (bool, error) {
			a, err := f.svc.Public(ctx, f.principal(policies.Public, "", ""), PublicQuery{f.rec.CertificateNumber, f.rec.Name}, new(Scratch))
			return a.Match, err
		}},
		{"public no match", func(f *fixture) (bool, error) {
			a, err := f.svc.Public(ctx, f.principal(policies.Public, "", ""), PublicQuery{f.rec.CertificateNumber, "无名氏"}, new(Scratch))
			return a.Match, err
		}},
		{"shared report", func(f *fixture) (bool, error) {
			r, err := f.svc.SharedReport(ctx, f.principal(policies.HolderCode, "", ""), f.code)
			return r.Degree != nil, err
		}},
		{"holder degrees", func(f *fixture) (bool, error) {
			d, err := f.svc.HolderDegrees(ctx, f.principal(policies.Holder, "", ""), Holder{f.rec.IDType, f.rec.IDNumber})
			return len(d.Degrees) > 0, err
		}},
		{"access log", func(f *fixture) (bool, error) {
			_, err := f.svc.AccessLog(ctx, f.principal(policies.Holder, "", ""), Holder{f.rec.IDType, f.rec.IDNumber}, AccessQuery{Limit: 10})
			return false, err
		}},
		{"office audit read", func(f *fixture) (bool, error) {
			page, err := f.svc.OfficeAudit(ctx, f.principal(policies.Office, "office:national", ""), AuditRead{Query: registry.AuditQuery{Limit: 10}})
			return len(page.Entries) > 0, err
		}},
		{"agency item", func(f *fixture) (bool, error) {
			p := f.principal(policies.Agency, agencyOrg, agencyPurpose)
			a, err := f.svc.Agency(ctx, p, agencyPurpose, []AgencyQuery{{CertificateNumber: f.rec.CertificateNumber, Name: f.rec.Name}}, AgencyGuards{
				FreshToken: func(context.Context) error { return nil },
				Charge:     func(context.Context, int64, int64) (func(), error) { return nil, nil },
			})
			return len(a.Results) == 1 && a.Results[0].Degree != nil, err
		}},
	}
	f := newServiceFixture(t)
	agencyPurpose = f.policy.Purposes()[0].ID
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newServiceFixture(t)
			if _, err := tc.run(f); err != nil {
				t.Fatalf("with the trail up: %v", err)
			}
			if f.trail.len() == 0 {
				t.Fatal("answered with nothing on the trail")
			}

			f = newServiceFixture(t)
			f.trail.refuse = true
			shown, err := tc.run(f)
			if !errors.Is(err, ErrAuditUnavailable) {
				t.Errorf("with the trail down: err %v, want ErrAuditUnavailable", err)
			}
			if shown || f.signer.signs > 0 {
				t.Errorf("with the trail down: shown %v, %d receipts signed", shown, f.signer.signs)
			}
		})
	}
}

// An agency call that the trail refuses gives back the quota it charged.
func TestAgencyRefundsWhenTheTrailRefuses(t *testing.T) {
	f := newServiceFixture(t)
	f.trail.refuse = true
	purpose := f.policy.Purposes()[0].ID
	charged, refunded := int64(0), false
	_, err := f.svc.Agency(context.Background(), f.principal(policies.Agency, "gov:test-bureau", purpose), purpose,
		[]AgencyQuery{{CertificateNumber: f.rec.CertificateNumber, Name: f.rec.Name}, {CertificateNumber: "1000000000000000", Name: "x"}},
		AgencyGuards{
			FreshToken: func(context.Context) error { return nil },
			Charge: func(_ context.Context, n, _ int64) (func(), error) {
				charged = n
				return func() { refunded = true }, nil
			},
		})
	if !errors.Is(err, ErrAuditUnavailable) {
		t.Fatalf("err %v, want ErrAuditUnavailable", err)
	}
	if charged != 2 || !refunded {
		t.Errorf("charged %d, refunded %v; want 2 charged and given back", charged, refunded)
	}
}
