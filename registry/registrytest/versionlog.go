package registrytest

import (
	"errors"
	"slices"
	"testing"

	"github.com/degreegate/degreegate/registry"
)

// runVersionLog: every version a store files is a leaf of the log, by
// its filing entry, written in the same step as the version or not at
// all.
func runVersionLog(t *testing.T, open func(t *testing.T) Backend) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s registry.Store, a registry.AuditLog)
	}{
		{"FilingEntriesOfWhatWasFiled", testFilingEntries},
		{"UnfiledRefused", testUnfiledRefused},
		{"RefusedAppendFilesNothing", testRefusedAppendFilesNothing},
		{"ScanVersionsInOrder", testScanVersions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			if b.Store == nil || b.Audit == nil {
				t.Fatal("open returned a Backend without a Store or an AuditLog")
			}
			tc.fn(t, b.Store, b.Audit)
		})
	}
}

func trailOf(t *testing.T, a registry.AuditLog) []registry.AuditEntry {
	t.Helper()
	var es []registry.AuditEntry
	if err := a.ScanAudit(t.Context(), 1, func(e registry.AuditEntry) error { es = append(es, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return es
}

func allVersions(t *testing.T, s registry.Store) []registry.Version {
	t.Helper()
	var vs []registry.Version
	if err := s.ScanVersions(t.Context(), func(v registry.Version) error { vs = append(vs, v); return nil }); err != nil {
		t.Fatal(err)
	}
	return vs
}

// testFilingEntries: Insert files entries for the records it inserts and
// for no other (Unchanged, Conflict), Append for its version; each names
// its version and the digest of what is stored; the trail verifies,
// versions included.
func testFilingEntries(t *testing.T, s registry.Store, a registry.AuditLog) {
	recs := sampleRange(3000, 3)
	mustInsert(t, s, recs[:1], changeAt(0, "import"))
	changed := amended(recs[0], "conflict")
	out := mustInsert(t, s, []registry.Sealed{recs[0], recs[1], recs[2]}, changeAt(1, "import again"))
	out = append(out, mustInsert(t, s, []registry.Sealed{changed}, changeAt(1, "import again"))...)
	if !slices.Equal(out, []registry.Outcome{registry.Unchanged, registry.Inserted, registry.Inserted, registry.Conflict}) {
		t.Fatalf("outcomes %v", out)
	}
	mustAppend(t, s, 1, amended(recs[1], "a2"), changeAt(2, "amend"))
	trail := trailOf(t, a)
	filed := map[registry.VersionRef]registry.AuditEntry{}
	for _, e := range trail {
		if ref, _, ok := registry.FiledVersion(&e); ok {
			filed[ref] = e
		}
	}
	if len(trail) != 4 || len(filed) != 4 {
		t.Fatalf("trail of %d entries, %d filings, want 4 of each: %+v", len(trail), len(filed), trail)
	}
	vs := allVersions(t, s)
	if len(vs) != 4 {
		t.Fatalf("ScanVersions gave %d versions, want 4", len(vs))
	}
	for i := range vs {
		ref := registry.VersionRef{CertificateNumber: vs[i].CertificateNumber, Version: vs[i].Version}
		e, ok := filed[ref]
		if !ok {
			t.Fatalf("version %d of record %d has no filing entry", vs[i].Version, i)
		}
		_, digest, _ := registry.FiledVersion(&e)
		if digest != registry.VersionDigest(&vs[i]) {
			t.Errorf("the filing entry of version %d of record %d names another digest than the stored version's", vs[i].Version, i)
		}
		wantAction := registry.ActionFile
		if vs[i].Version == 2 {
			wantAction = "record.amend"
		}
		if e.Action != wantAction || e.Actor != vs[i].Change.Actor || e.Purpose != vs[i].Change.Reason || !e.At.Equal(vs[i].Change.At) {
			t.Errorf("filing entry %+v does not describe its version's change %+v", e, vs[i].Change)
		}
	}
	if _, err := registry.VerifyTrail(t.Context(), a, s, suiteLogKey, nil); err != nil {
		t.Errorf("VerifyTrail with versions: %v", err)
	}
}

// testUnfiledRefused: without a filing entry for every record, or with
// one for another record, nothing is written.
func testUnfiledRefused(t *testing.T, s registry.Store, a registry.AuditLog) {
	recs := sampleRange(3100, 2)
	ch := changeAt(0, "import")
	filings := []registry.AuditEntry{
		suiteLogKey.FilingEntry(registry.ActionFile, &registry.Version{Sealed: recs[0], Version: 1, Change: ch}),
		suiteLogKey.FilingEntry(registry.ActionFile, &registry.Version{Sealed: recs[1], Version: 1, Change: ch}),
	}
	uncommitted := slices.Clone(filings)
	uncommitted[1].Commitment = nil
	for name, fs := range map[string][]registry.AuditEntry{
		"none":        nil,
		"one short":   filings[:1],
		"swapped":     {filings[1], filings[0]},
		"uncommitted": uncommitted,
	} {
		if _, err := s.Insert(t.Context(), recs, ch, fs); err == nil {
			t.Errorf("Insert with filing entries %s: no error", name)
		}
	}
	if _, err := s.Insert(t.Context(), recs, ch, nil); !errors.Is(err, registry.ErrUnfiled) {
		t.Errorf("Insert without filing entries: %v, want ErrUnfiled", err)
	}
	if _, err := s.Current(t.Context(), recs[0].CertificateNumber); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("a refused Insert filed a record: %v", err)
	}
	mustInsert(t, s, recs, ch)
	next := amended(recs[0], "a2")
	if _, err := s.Append(t.Context(), 1, next, ch, registry.AuditEntry{}); !errors.Is(err, registry.ErrUnfiled) {
		t.Errorf("Append without a filing entry: %v, want ErrUnfiled", err)
	}
	if _, err := s.Append(t.Context(), 1, next, ch, filings[1]); !errors.Is(err, registry.ErrUnfiled) {
		t.Errorf("Append with another record's filing entry: %v, want ErrUnfiled", err)
	}
	if h := mustHistory(t, s, recs[0].CertificateNumber); len(h) != 1 {
		t.Errorf("refused Appends left %d versions", len(h))
	}
	if n := len(trailOf(t, a)); n != 2 {
		t.Errorf("the trail holds %d entries, want the 2 filings of the one Insert that went through", n)
	}
}

// testRefusedAppendFilesNothing: an Append that loses (a stale version,
// an unknown certificate) leaves no entry behind.
func testRefusedAppendFilesNothing(t *testing.T, s registry.Store, a registry.AuditLog) {
	r := SampleSealed(3200)
	mustInsert(t, s, []registry.Sealed{r}, changeAt(0, "import"))
	before, err := a.AuditHead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Append(t.Context(), s, suiteLogKey, "record.amend", 0, amended(r, "stale"), changeAt(1, "x")); !errors.Is(err, registry.ErrVersionConflict) {
		t.Errorf("stale Append: %v", err)
	}
	if _, err := registry.Append(t.Context(), s, suiteLogKey, "record.amend", 1, SampleSealed(3201), changeAt(1, "x")); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Append to an unknown certificate: %v", err)
	}
	after, err := a.AuditHead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if after.Seq != before.Seq || after.LogSize != before.LogSize {
		t.Errorf("refused Appends moved the head from %d to %d", before.Seq, after.Seq)
	}
}

// testScanVersions: every version, by certificate number then version.
func testScanVersions(t *testing.T, s registry.Store, _ registry.AuditLog) {
	recs := sampleRange(3300, 5)
	mustInsert(t, s, recs[2:], changeAt(0, "import"))
	mustInsert(t, s, recs[:2], changeAt(1, "import"))
	mustAppend(t, s, 1, amended(recs[3], "a2"), changeAt(2, "amend"))
	mustAppend(t, s, 2, amended(recs[3], "a3"), changeAt(3, "amend"))
	vs := allVersions(t, s)
	if len(vs) != 7 {
		t.Fatalf("%d versions, want 7", len(vs))
	}
	if !slices.IsSortedFunc(vs, func(x, y registry.Version) int {
		if x.CertificateNumber != y.CertificateNumber {
			if x.CertificateNumber < y.CertificateNumber {
				return -1
			}
			return 1
		}
		return x.Version - y.Version
	}) {
		t.Error("versions out of order")
	}
}
