package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
	"github.com/degreegate/degreegate/registry/synth"
)

func newRegistry(t *testing.T, n int) (*registry.Registry, *inmem.Store, []registry.Record) {
	t.Helper()
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	store := inmem.New()
	g := synth.New(11)
	var recs []registry.Record
	var batch []registry.Sealed
	for i := 0; i < n; i++ {
		r := g.Record(i)
		registry.Normalize(&r)
		recs = append(recs, r)
		s, err := keys.Seal(r)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, s)
	}
	if _, err := registry.Insert(context.Background(), store, testLogKey, batch, registry.Change{Actor: "test", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC) }
	return registry.New(store, keys, testLogKey, now), store, recs
}

// testLogKey commits the filing entries of these tests.
var testLogKey = registry.NewRandomLogKey()

func TestAmendKeepsEveryVersion(t *testing.T) {
	ctx := context.Background()
	reg, store, recs := newRegistry(t, 20)
	r := recs[3]
	e, err := reg.Amend(ctx, r.CertificateNumber, func(rec *registry.Record) { rec.ResolutionNumber = "XW-2026-amended" },
		registry.Change{Actor: "official:7", Reason: "Art. 18 correction, province approval 2026-17"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Version != 2 || e.Record.ResolutionNumber != "XW-2026-amended" {
		t.Fatalf("amend gave version %d", e.Version)
	}
	hist, err := reg.History(ctx, r.CertificateNumber)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history: %d versions, err %v", len(hist), err)
	}
	if hist[0].Record.ResolutionNumber != r.ResolutionNumber || hist[0].Record.IDNumber != r.IDNumber {
		t.Error("the original version changed")
	}
	if hist[1].Change.Actor != "official:7" {
		t.Errorf("version 2 actor %q", hist[1].Change.Actor)
	}
	cur, _ := reg.Get(ctx, r.CertificateNumber)
	if cur.Version != 2 {
		t.Errorf("current version %d", cur.Version)
	}
	// Every version was filed with its entry, the change last, and the
	// trail verifies.
	var filed []registry.AuditEntry
	store.ScanAudit(ctx, 1, func(e registry.AuditEntry) error { filed = append(filed, e); return nil })
	last := filed[len(filed)-1]
	if ref, _, ok := registry.FiledVersion(&last); !ok || last.Action != "record.amend" || ref != (registry.VersionRef{CertificateNumber: r.CertificateNumber, Version: 2}) {
		t.Errorf("last audit entry %+v, want the amendment filing version 2", last)
	}
	for _, e := range filed[:len(filed)-1] {
		if ref, _, ok := registry.FiledVersion(&e); !ok || e.Action != registry.ActionFile || ref.Version != 1 {
			t.Errorf("audit entry %+v, want a filing of version 1", e)
		}
	}
	if _, err := registry.VerifyChain(ctx, store); err != nil {
		t.Error(err)
	}
}

func TestAmendRefusesInvalidAndEmptyChanges(t *testing.T) {
	ctx := context.Background()
	reg, _, recs := newRegistry(t, 5)
	cert := recs[0].CertificateNumber
	change := registry.Change{Actor: "official:1", Reason: "test"}

	_, err := reg.Amend(ctx, cert, func(r *registry.Record) { r.ConferralDate = registry.NewDate(2030, 1, 1) }, change)
	var inv *registry.InvalidError
	if !errors.As(err, &inv) || !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("future conferral date: %v", err)
	}
	if _, err := reg.Amend(ctx, cert, func(*registry.Record) {}, change); !errors.Is(err, registry.ErrNoChange) {
		t.Errorf("empty amendment: %v", err)
	}
	if _, err := reg.Amend(ctx, cert, func(r *registry.Record) { r.CertificateNumber = recs[1].CertificateNumber; r.ResolutionNumber = "x-1" }, change); err != nil {
		t.Fatal(err)
	}
	if e, _ := reg.Get(ctx, recs[1].CertificateNumber); e.Version != 1 {
		t.Error("an amendment moved to another certificate")
	}
	if _, err := reg.Amend(ctx, cert, func(r *registry.Record) { r.ResolutionNumber = "y" }, registry.Change{}); err == nil {
		t.Error("a change without an actor was accepted")
	}
	if _, err := reg.Amend(ctx, "9999942020000000", func(*registry.Record) {}, change); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("unknown certificate: %v", err)
	}
}

func TestRevokeIsAStatusVersion(t *testing.T) {
	ctx := context.Background()
	reg, _, recs := newRegistry(t, 5)
	var r registry.Record
	for _, c := range recs {
		if c.Status == registry.StatusFiled {
			r = c
			break
		}
	}
	on := r.ConferralDate.Time().AddDate(1, 0, 0)
	e, err := reg.Revoke(ctx, r.CertificateNumber, registry.Revocation{On: registry.DateOf(on), Resolution: "XW-R-2026-3", Reason: "学位论文作假"},
		registry.Change{Actor: "official:2", Reason: "Art. 19 revocation confirmed by province"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Record.Status != registry.StatusRevoked || e.Version != 2 {
		t.Fatalf("status %s version %d", e.Record.Status, e.Version)
	}
	hist, _ := reg.History(ctx, r.CertificateNumber)
	if hist[0].Record.Status != registry.StatusFiled {
		t.Error("the filed version was overwritten")
	}
	// A revoked degree is left as it is unless its revocation is amended.
	same := registry.Revocation{On: registry.DateOf(on), Resolution: "XW-R-2026-3", Reason: "学位论文作假"}
	if _, err := reg.Revoke(ctx, r.CertificateNumber, same, registry.Change{Actor: "official:2"}); !errors.Is(err, registry.ErrNoChange) {
		t.Errorf("the same revocation again: %v, want ErrNoChange", err)
	}
	other := registry.Revocation{On: registry.DateOf(on), Resolution: "XW-R-2026-9", Reason: "学位论文作假"}
	var already *registry.AlreadyRevokedError
	if _, err := reg.Revoke(ctx, r.CertificateNumber, other, registry.Change{Actor: "official:2"}); !errors.As(err, &already) ||
		already.Resolution != "XW-R-2026-3" || !errors.Is(err, registry.ErrAlreadyRevoked) {
		t.Errorf("another revocation of a revoked degree: %v", err)
	}
	if hist, _ := reg.History(ctx, r.CertificateNumber); len(hist) != 2 {
		t.Fatalf("refused revocations filed versions: %d", len(hist))
	}
	e, err = reg.AmendRevocation(ctx, r.CertificateNumber, other, registry.Change{Actor: "official:3", Reason: "resolution number corrected"})
	if err != nil || e.Version != 3 || e.Record.RevocationResolution != "XW-R-2026-9" {
		t.Fatalf("amend the revocation: %+v, %v", e, err)
	}
	for _, c := range recs {
		if c.Status == registry.StatusFiled && c.CertificateNumber != r.CertificateNumber {
			if _, err := reg.AmendRevocation(ctx, c.CertificateNumber, other, registry.Change{Actor: "official:3"}); !errors.Is(err, registry.ErrNotRevoked) {
				t.Errorf("amend the revocation of a filed degree: %v", err)
			}
			break
		}
	}
	if _, err := reg.Revoke(ctx, r.CertificateNumber, registry.Revocation{}, registry.Change{Actor: "official:2"}); err == nil {
		t.Errorf("revocation without resolution: accepted")
	}
}

func TestByPersonFindsEveryDegreeOfOnePerson(t *testing.T) {
	ctx := context.Background()
	reg, _, recs := newRegistry(t, 300)
	people := map[string]int{}
	for _, r := range recs {
		people[string(r.IDType)+r.IDNumber]++
	}
	checked := 0
	for _, r := range recs {
		want := people[string(r.IDType)+r.IDNumber]
		got, err := reg.ByPerson(ctx, r.IDType, " "+r.IDNumber+" ")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Fatalf("ByPerson found %d degrees, the person has %d", len(got), want)
		}
		for _, e := range got {
			if e.Record.IDNumber != r.IDNumber {
				t.Fatal("ByPerson returned someone else's degree")
			}
		}
		if want > 1 {
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no person with several degrees in the sample: the test proves nothing")
	}
	if got, _ := reg.ByPerson(ctx, registry.IDResident, "11010519491231002X"); len(got) != 0 {
		t.Errorf("unknown person: %d degrees", len(got))
	}
}
