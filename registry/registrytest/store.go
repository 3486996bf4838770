package registrytest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// storeTest is one promise of the Store contract.
type storeTest struct {
	name string
	fn   func(t *testing.T, s registry.Store)
}

func runStore(t *testing.T, open func(t *testing.T) Backend) {
	tests := []storeTest{
		{"InsertNew", testInsertNew},
		{"InsertOutcomes", testInsertOutcomes},
		{"InsertRepeatedNumberWritesNothing", testInsertRepeatedNumber},
		{"InsertCancelledWritesNothing", testInsertCancelled},
		{"InsertEmptyBatch", testInsertEmpty},
		{"InsertConcurrentSameBatch", testInsertConcurrent},
		{"RoundTrip", testRoundTrip},
		{"CopiesInAndOut", testCopies},
		{"CurrentNotFound", testCurrentNotFound},
		{"History", testHistory},
		{"Append", testAppend},
		{"AppendConcurrentOneWins", testAppendConcurrent},
		{"ByPerson", testByPerson},
		{"CurrentMany", testCurrentMany},
		{"ScanNewestInOrder", testScanOrder},
		{"ScanFilter", testScanFilter},
		{"ScanStopsAtError", testScanStops},
		{"Count", testCount},
		{"CancelledContext", testCancelledContext},
	}
	runStoreTests(t, open, tests)
}

// cst is China Standard Time: changes arrive in local time and must come
// back in UTC.
var cst = time.FixedZone("CST", 8*3600)

// changeAt returns a Change made n minutes after a fixed instant that has
// nanoseconds, so that stores must cut it to microseconds.
func changeAt(n int, reason string) registry.Change {
	return registry.Change{
		Actor:  fmt.Sprintf("office:省学位办-%d", n%3),
		Reason: reason,
		At:     time.Date(2024, 7, 1, 9, 30, 15, 123_456_789, cst).Add(time.Duration(n) * time.Minute),
	}
}

func samples(indices ...int) []registry.Sealed {
	out := make([]registry.Sealed, len(indices))
	for k, i := range indices {
		out[k] = SampleSealed(i)
	}
	return out
}

func sampleRange(from, n int) []registry.Sealed {
	out := make([]registry.Sealed, n)
	for k := range out {
		out[k] = SampleSealed(from + k)
	}
	return out
}

// cloneSealed deep-copies s, so a test can keep a pristine expectation.
func cloneSealed(s registry.Sealed) registry.Sealed {
	s.ThesisKeywords = slices.Clone(s.ThesisKeywords)
	s.Secret = slices.Clone(s.Secret)
	s.PersonIndex = slices.Clone(s.PersonIndex)
	s.Digest = slices.Clone(s.Digest)
	return s
}

// amended returns a copy of s with the thesis title corrected and a digest
// that no sample has, as an amendment would.
func amended(s registry.Sealed, tag string) registry.Sealed {
	s = cloneSealed(s)
	s.ThesisTitle += "（更正" + tag + "）"
	d := sampleSeed("amended-"+tag+"-"+s.CertificateNumber, 0)
	s.Digest = d[:]
	return s
}

func revoked(s registry.Sealed, tag string) registry.Sealed {
	s = amended(s, tag)
	s.Status = registry.StatusRevoked
	s.RevokedOn = registry.NewDate(s.ConferralDate.Year()+2, time.May, 20)
	s.RevocationResolution = "撤销决定〔" + tag + "〕"
	s.RevocationReason = "学术不端"
	return s
}

func mustInsert(t *testing.T, s registry.Store, batch []registry.Sealed, c registry.Change) []registry.Outcome {
	t.Helper()
	out, err := registry.Insert(t.Context(), s, suiteLogKey, batch, c)
	if err != nil {
		t.Fatalf("Insert of %d records: %v", len(batch), err)
	}
	if len(out) != len(batch) {
		t.Fatalf("Insert of %d records returned %d outcomes", len(batch), len(out))
	}
	return out
}

func mustAppend(t *testing.T, s registry.Store, after int, next registry.Sealed, c registry.Change) registry.Version {
	t.Helper()
	v, err := registry.Append(t.Context(), s, suiteLogKey, "record.amend", after, next, c)
	if err != nil {
		t.Fatalf("Append after %d to %s: %v", after, next.CertificateNumber, err)
	}
	return v
}

func mustCurrent(t *testing.T, s registry.Store, cert string) registry.Version {
	t.Helper()
	v, err := s.Current(t.Context(), cert)
	if err != nil {
		t.Fatalf("Current(%s): %v", cert, err)
	}
	return v
}

func mustHistory(t *testing.T, s registry.Store, cert string) []registry.Version {
	t.Helper()
	h, err := s.History(t.Context(), cert)
	if err != nil {
		t.Fatalf("History(%s): %v", cert, err)
	}
	return h
}

func mustCount(t *testing.T, s registry.Store) int64 {
	t.Helper()
	n, err := s.Count(t.Context())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

func scanAll(t *testing.T, s registry.Store, f registry.Filter) []registry.Version {
	t.Helper()
	var out []registry.Version
	if err := s.Scan(t.Context(), f, func(v registry.Version) error {
		out = append(out, v)
		return nil
	}); err != nil {
		t.Fatalf("Scan(%+v): %v", f, err)
	}
	return out
}

func certNumbers(vs []registry.Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.CertificateNumber
	}
	return out
}

func testInsertNew(t *testing.T, s registry.Store) {
	batch := sampleRange(0, 12)
	c := changeAt(0, "initial import")
	for i, o := range mustInsert(t, s, batch, c) {
		if o != registry.Inserted {
			t.Errorf("outcome[%d] = %v, want inserted", i, o)
		}
	}
	if n := mustCount(t, s); n != int64(len(batch)) {
		t.Errorf("Count = %d, want %d", n, len(batch))
	}
	for _, r := range batch {
		checkVersion(t, "Current", mustCurrent(t, s, r.CertificateNumber), r, 1, c)
	}
}

func testInsertOutcomes(t *testing.T, s registry.Store) {
	base := sampleRange(100, 4)
	c0 := changeAt(0, "import")
	mustInsert(t, s, base, c0)
	// Certificate 1 is amended, certificate 3 revoked: re-importing the file
	// they came from must still be a no-op.
	fix1 := amended(base[1], "1")
	mustAppend(t, s, 1, fix1, changeAt(1, "amend"))
	rev3 := revoked(base[3], "3")
	mustAppend(t, s, 1, rev3, changeAt(2, "revoke"))

	other2 := cloneSealed(base[2])
	other2.Name += "某"
	d := sampleSeed("conflict", 2)
	other2.Digest = d[:]
	fresh := SampleSealed(200)

	// Certificate numbers are distinct within a batch, so the original and
	// the amended file are two batches.
	for _, tc := range []struct {
		batch []registry.Sealed
		want  []registry.Outcome
	}{
		{
			[]registry.Sealed{fresh, base[0], base[1], other2, base[3]},
			[]registry.Outcome{registry.Inserted, registry.Unchanged, registry.Unchanged, registry.Conflict, registry.Unchanged},
		},
		{
			[]registry.Sealed{rev3, base[2], fix1},
			[]registry.Outcome{registry.Unchanged, registry.Unchanged, registry.Unchanged},
		},
	} {
		got := mustInsert(t, s, tc.batch, changeAt(3, "re-import"))
		for i := range tc.want {
			if got[i] != tc.want[i] {
				t.Errorf("outcome[%d] (%s) = %v, want %v", i, tc.batch[i].CertificateNumber, got[i], tc.want[i])
			}
		}
	}

	// Unchanged and Conflict wrote nothing; the new record was filed
	// although the batch also held a conflict.
	wantHist := map[string]int{base[0].CertificateNumber: 1, base[1].CertificateNumber: 2, base[2].CertificateNumber: 1, base[3].CertificateNumber: 2, fresh.CertificateNumber: 1}
	for cert, n := range wantHist {
		if h := mustHistory(t, s, cert); len(h) != n {
			t.Errorf("History(%s) has %d versions after re-import, want %d", cert, len(h), n)
		}
	}
	checkVersion(t, "Current after conflict", mustCurrent(t, s, base[2].CertificateNumber), base[2], 1, c0)
	checkVersion(t, "Current of new record", mustCurrent(t, s, fresh.CertificateNumber), fresh, 1, changeAt(3, "re-import"))
	if n := mustCount(t, s); n != 5 {
		t.Errorf("Count = %d, want 5", n)
	}
}

func testInsertRepeatedNumber(t *testing.T, s registry.Store) {
	a, b := SampleSealed(300), SampleSealed(301)
	otherA := amended(a, "dup")
	for _, tc := range []struct {
		name  string
		batch []registry.Sealed
	}{
		{"identical", []registry.Sealed{a, b, a}},
		{"different digest", []registry.Sealed{b, a, otherA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := registry.Insert(t.Context(), s, suiteLogKey, tc.batch, changeAt(0, "import")); err == nil {
				t.Fatal("Insert of a batch that repeats a certificate number: no error")
			}
			if n := mustCount(t, s); n != 0 {
				t.Errorf("Count = %d after a failed batch, want 0", n)
			}
			for _, r := range []registry.Sealed{a, b} {
				if _, err := s.Current(t.Context(), r.CertificateNumber); !errors.Is(err, registry.ErrNotFound) {
					t.Errorf("Current(%s) after a failed batch: err = %v, want ErrNotFound", r.CertificateNumber, err)
				}
			}
		})
	}
}

func testInsertCancelled(t *testing.T, s registry.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	batch := sampleRange(400, 50)
	if _, err := registry.Insert(ctx, s, suiteLogKey, batch, changeAt(0, "import")); err == nil {
		t.Fatal("Insert with a cancelled context: no error")
	}
	if n := mustCount(t, s); n != 0 {
		t.Errorf("Count = %d after a cancelled Insert, want 0", n)
	}
	if _, err := s.Current(t.Context(), batch[0].CertificateNumber); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Current after a cancelled Insert: err = %v, want ErrNotFound", err)
	}
}

func testInsertEmpty(t *testing.T, s registry.Store) {
	out, err := registry.Insert(t.Context(), s, suiteLogKey, nil, changeAt(0, "nothing"))
	if err != nil || len(out) != 0 {
		t.Errorf("Insert(nil) = %v, %v; want no outcomes, no error", out, err)
	}
	if n := mustCount(t, s); n != 0 {
		t.Errorf("Count = %d, want 0", n)
	}
}

// testInsertConcurrent runs the same import from several places at once,
// as two operators re-running one file would: each record is filed once.
func testInsertConcurrent(t *testing.T, s registry.Store) {
	const workers = 8
	batch := sampleRange(500, 40)
	outs := make([][]registry.Outcome, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			outs[w], errs[w] = registry.Insert(t.Context(), s, suiteLogKey, batch, changeAt(w, "parallel import"))
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: Insert: %v", w, err)
		}
		if len(outs[w]) != len(batch) {
			t.Fatalf("worker %d: %d outcomes for %d records", w, len(outs[w]), len(batch))
		}
	}
	for i, r := range batch {
		inserted := 0
		for w := range workers {
			switch outs[w][i] {
			case registry.Inserted:
				inserted++
			case registry.Unchanged:
			default:
				t.Errorf("worker %d: outcome[%d] = %v, want inserted or unchanged", w, i, outs[w][i])
			}
		}
		if inserted != 1 {
			t.Errorf("%s: inserted by %d workers, want exactly 1", r.CertificateNumber, inserted)
		}
		if h := mustHistory(t, s, r.CertificateNumber); len(h) != 1 {
			t.Errorf("History(%s) has %d versions, want 1", r.CertificateNumber, len(h))
		}
	}
	if n := mustCount(t, s); n != int64(len(batch)) {
		t.Errorf("Count = %d, want %d", n, len(batch))
	}
}

// roundTripRecords are records at the edges of what a store must keep:
// every field set, hardly anything set, unicode, separators, revocation.
func roundTripRecords() []registry.Sealed {
	full := SampleSealed(9) // revoked, every field set
	classified := SampleSealed(4)
	classified.ThesisClassified = true

	sparse := SampleSealed(21)
	sparse.Record = registry.Record{
		Kind:              registry.KindEquivalent,
		Name:              "李",
		Gender:            registry.GenderFemale,
		IDType:            registry.IDOther,
		UnitCode:          sparse.UnitCode,
		DegreeLevel:       registry.LevelMaster,
		CertificateNumber: sparse.CertificateNumber,
		Status:            registry.StatusFiled,
		// Zero dates and months, nil keywords, false, 0: "not given".
	}
	sparse.KeyID = ""

	unicode := SampleSealed(33)
	unicode.Name = "阿依古丽·买买提·艾尔肯"
	unicode.Nationality = "CHN"
	unicode.SupervisorName = "Jean-Luc d'Aubigné · 让"
	unicode.ThesisTitle = "“引号”, 'quotes', ; semicolons; \\ backslash \t tab 🎓 and a newline\nin a title"
	unicode.ThesisKeywords = []string{"a;b", "逗号,comma", "", "\"quoted\"", "{brace}", "日本語"}
	unicode.RevocationReason = ""

	emptyKeywords := SampleSealed(45)
	emptyKeywords.ThesisKeywords = []string{}
	emptyKeywords.ProgrammeYears = 0
	emptyKeywords.BirthDate = registry.NewDate(1, time.January, 1)
	emptyKeywords.ConferralDate = registry.NewDate(9999, time.December, 31)
	emptyKeywords.EnrolmentMonth = registry.NewMonth(1, time.January)
	emptyKeywords.GraduationMonth = registry.NewMonth(9999, time.December)

	return []registry.Sealed{full, classified, sparse, unicode, emptyKeywords}
}

func testRoundTrip(t *testing.T, s registry.Store) {
	recs := roundTripRecords()
	want := make([]registry.Sealed, len(recs))
	for i, r := range recs {
		want[i] = cloneSealed(r)
	}
	c1 := changeAt(7, "导入 import ✓")
	mustInsert(t, s, recs, c1)

	byCert := make(map[string]registry.Sealed, len(want))
	var certs []string
	for _, w := range want {
		byCert[w.CertificateNumber] = w
		certs = append(certs, w.CertificateNumber)
		checkVersion(t, "Current", mustCurrent(t, s, w.CertificateNumber), w, 1, c1)
		h := mustHistory(t, s, w.CertificateNumber)
		if len(h) != 1 {
			t.Fatalf("History(%s) has %d versions, want 1", w.CertificateNumber, len(h))
		}
		checkVersion(t, "History", h[0], w, 1, c1)
		got, err := s.ByPerson(t.Context(), w.PersonIndex)
		if err != nil {
			t.Fatalf("ByPerson: %v", err)
		}
		found := false
		for _, v := range got {
			if v.CertificateNumber == w.CertificateNumber {
				found = true
				checkVersion(t, "ByPerson", v, w, 1, c1)
			}
		}
		if !found {
			t.Errorf("ByPerson of %s's person index does not return it", w.CertificateNumber)
		}
	}
	many, err := s.CurrentMany(t.Context(), certs)
	if err != nil {
		t.Fatalf("CurrentMany: %v", err)
	}
	if len(many) != len(want) {
		t.Errorf("CurrentMany returned %d versions, want %d", len(many), len(want))
	}
	for _, v := range many {
		checkVersion(t, "CurrentMany", v, byCert[v.CertificateNumber], 1, c1)
	}
	scanned := scanAll(t, s, registry.Filter{})
	if len(scanned) != len(want) {
		t.Errorf("Scan returned %d versions, want %d", len(scanned), len(want))
	}
	for _, v := range scanned {
		checkVersion(t, "Scan", v, byCert[v.CertificateNumber], 1, c1)
	}

	// A second version, with its own change, round-trips as well, and the
	// first is kept as it was.
	next := revoked(want[3], "rt")
	next.KeyID = "dek-rotated"
	c2 := changeAt(60*24*400, "撤销 revocation")
	c2.At = time.Date(2031, 2, 3, 4, 5, 6, 999, time.UTC) // a microsecond boundary case: 999ns cut to 0
	v2 := mustAppend(t, s, 1, next, c2)
	checkVersion(t, "Append result", v2, next, 2, c2)
	checkVersion(t, "Current after Append", mustCurrent(t, s, next.CertificateNumber), next, 2, c2)
	h := mustHistory(t, s, next.CertificateNumber)
	if len(h) != 2 {
		t.Fatalf("History has %d versions after Append, want 2", len(h))
	}
	checkVersion(t, "History[0] after Append", h[0], want[3], 1, c1)
	checkVersion(t, "History[1] after Append", h[1], next, 2, c2)
}

// testCopies checks that neither the slices a caller passed in nor those
// it got back alias stored data.
func testCopies(t *testing.T, s registry.Store) {
	batch := sampleRange(600, 3)
	want := make([]registry.Sealed, len(batch))
	for i, r := range batch {
		want[i] = cloneSealed(r)
	}
	c := changeAt(0, "import")
	mustInsert(t, s, batch, c)
	scribble := func(r *registry.Sealed) {
		for _, b := range [][]byte{r.Secret, r.PersonIndex, r.Digest} {
			for i := range b {
				b[i] ^= 0xff
			}
		}
		for i := range r.ThesisKeywords {
			r.ThesisKeywords[i] = "scribbled"
		}
	}
	for i := range batch {
		scribble(&batch[i])
	}
	for _, w := range want {
		v := mustCurrent(t, s, w.CertificateNumber)
		checkVersion(t, "Current after the caller changed its batch", v, w, 1, c)
		scribble(&v.Sealed)
		h := mustHistory(t, s, w.CertificateNumber)
		scribble(&h[0].Sealed)
		checkVersion(t, "Current after the caller changed a result", mustCurrent(t, s, w.CertificateNumber), w, 1, c)
	}
	next := amended(want[0], "copy")
	pristine := cloneSealed(next)
	mustAppend(t, s, 1, next, c)
	scribble(&next)
	checkVersion(t, "Current after the caller changed an appended record", mustCurrent(t, s, pristine.CertificateNumber), pristine, 2, c)
}

func testCurrentNotFound(t *testing.T, s registry.Store) {
	if _, err := s.Current(t.Context(), "1000141999000001"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Current on an empty store: err = %v, want ErrNotFound", err)
	}
	mustInsert(t, s, sampleRange(700, 3), changeAt(0, "import"))
	// A store may read a known number in an unknown one's place, to keep
	// their times alike: a number found before must not leak into the
	// answers for others.
	for _, known := range []string{SampleSealed(701).CertificateNumber, SampleSealed(702).CertificateNumber} {
		if v, err := s.Current(t.Context(), known); err != nil || v.CertificateNumber != known {
			t.Fatalf("Current(%q) = %q, %v", known, v.CertificateNumber, err)
		}
		for _, cert := range []string{"1000141999000001", "", SampleSealed(703).CertificateNumber} {
			if v, err := s.Current(t.Context(), cert); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("Current(%q) = %q, %v; want ErrNotFound", cert, v.CertificateNumber, err)
			}
		}
	}
}

func testHistory(t *testing.T, s registry.Store) {
	r := SampleSealed(800)
	other := SampleSealed(801)
	c1, c2, c3 := changeAt(0, "import"), changeAt(1, "amend"), changeAt(2, "revoke")
	mustInsert(t, s, []registry.Sealed{r, other}, c1)
	r2 := amended(r, "h2")
	r3 := revoked(r2, "h3")
	mustAppend(t, s, 1, r2, c2)
	mustAppend(t, s, 2, r3, c3)
	h := mustHistory(t, s, r.CertificateNumber)
	if len(h) != 3 {
		t.Fatalf("History has %d versions, want 3", len(h))
	}
	checkVersion(t, "History[0]", h[0], r, 1, c1)
	checkVersion(t, "History[1]", h[1], r2, 2, c2)
	checkVersion(t, "History[2]", h[2], r3, 3, c3)
	if h := mustHistory(t, s, other.CertificateNumber); len(h) != 1 {
		t.Errorf("History of an untouched certificate has %d versions, want 1", len(h))
	}
	if _, err := s.History(t.Context(), SampleSealed(802).CertificateNumber); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("History of an unknown certificate: err = %v, want ErrNotFound", err)
	}
}

func testAppend(t *testing.T, s registry.Store) {
	r := SampleSealed(900)
	c1 := changeAt(0, "import")
	mustInsert(t, s, []registry.Sealed{r}, c1)
	r2 := amended(r, "a2")
	c2 := changeAt(1, "amend")
	checkVersion(t, "Append after 1", mustAppend(t, s, 1, r2, c2), r2, 2, c2)

	r3 := amended(r2, "a3")
	for _, after := range []int{1, 0, 3, 7, -1} {
		_, err := registry.Append(t.Context(), s, suiteLogKey, "record.amend", after, r3, changeAt(2, "stale"))
		if !errors.Is(err, registry.ErrVersionConflict) {
			t.Errorf("Append after %d when the newest is 2: err = %v, want ErrVersionConflict", after, err)
		}
	}
	if h := mustHistory(t, s, r.CertificateNumber); len(h) != 2 {
		t.Errorf("History has %d versions after refused Appends, want 2", len(h))
	}
	checkVersion(t, "Current after refused Appends", mustCurrent(t, s, r.CertificateNumber), r2, 2, c2)

	unknown := SampleSealed(901)
	if _, err := registry.Append(t.Context(), s, suiteLogKey, "record.amend", 1, unknown, changeAt(3, "amend")); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Append to an unknown certificate: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Current(t.Context(), unknown.CertificateNumber); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Append to an unknown certificate created it: err = %v", err)
	}
	c3 := changeAt(4, "amend again")
	checkVersion(t, "Append after 2", mustAppend(t, s, 2, r3, c3), r3, 3, c3)
	if n := mustCount(t, s); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
}

func testAppendConcurrent(t *testing.T, s registry.Store) {
	const workers = 8
	r := SampleSealed(1000)
	mustInsert(t, s, []registry.Sealed{r}, changeAt(0, "import"))
	nexts := make([]registry.Sealed, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		nexts[w] = amended(r, fmt.Sprint(w))
		wg.Go(func() {
			_, errs[w] = registry.Append(t.Context(), s, suiteLogKey, "record.amend", 1, nexts[w], changeAt(w+1, "race"))
		})
	}
	wg.Wait()
	winner := -1
	for w, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("workers %d and %d both appended after version 1", winner, w)
			}
			winner = w
		case !errors.Is(err, registry.ErrVersionConflict):
			t.Errorf("worker %d: err = %v, want nil or ErrVersionConflict", w, err)
		}
	}
	if winner < 0 {
		t.Fatal("no worker appended")
	}
	h := mustHistory(t, s, r.CertificateNumber)
	if len(h) != 2 {
		t.Fatalf("History has %d versions, want 2", len(h))
	}
	checkVersion(t, "the winner's version", h[1], nexts[winner], 2, changeAt(winner+1, "race"))
}

func testByPerson(t *testing.T, s registry.Store) {
	// Samples 2k and 2k+1 share a person; e joins a and b's person as a
	// third degree. Filing order is neither certificate-number order nor
	// its reverse, so only a real sort passes.
	a, b := SampleSealed(1101), SampleSealed(1100)
	c, d := SampleSealed(1102), SampleSealed(1103)
	e := SampleSealed(1104)
	e.PersonIndex = slices.Clone(a.PersonIndex)
	p, q := slices.Clone(a.PersonIndex), slices.Clone(c.PersonIndex)
	ch := changeAt(0, "import")
	mustInsert(t, s, []registry.Sealed{a, c}, ch)
	mustInsert(t, s, []registry.Sealed{e, b, d}, ch)

	byPerson := func(pi []byte) []registry.Version {
		t.Helper()
		vs, err := s.ByPerson(t.Context(), pi)
		if err != nil {
			t.Fatalf("ByPerson: %v", err)
		}
		return vs
	}
	ordered := func(certs ...string) []string { slices.Sort(certs); return certs }

	if got, want := certNumbers(byPerson(p)), ordered(a.CertificateNumber, b.CertificateNumber, e.CertificateNumber); !slices.Equal(got, want) {
		t.Errorf("ByPerson(p) = %v, want %v", got, want)
	}

	// a is amended to another person (a wrongly matched identity, say):
	// it moves from p to q, as its newest version.
	moved := amended(a, "move")
	moved.PersonIndex = slices.Clone(q)
	ch2 := changeAt(1, "identity corrected")
	mustAppend(t, s, 1, moved, ch2)

	if got, want := certNumbers(byPerson(p)), ordered(b.CertificateNumber, e.CertificateNumber); !slices.Equal(got, want) {
		t.Errorf("ByPerson(p) after the move = %v, want %v", got, want)
	}
	gotQ := byPerson(q)
	if got, want := certNumbers(gotQ), ordered(a.CertificateNumber, c.CertificateNumber, d.CertificateNumber); !slices.Equal(got, want) {
		t.Errorf("ByPerson(q) after the move = %v, want %v", got, want)
	}
	for _, v := range gotQ {
		if v.CertificateNumber == a.CertificateNumber {
			checkVersion(t, "ByPerson newest", v, moved, 2, ch2)
		}
	}
	unknown := sampleSeed("nobody", 0)
	for _, pi := range [][]byte{unknown[:], nil} {
		if vs := byPerson(pi); len(vs) != 0 {
			t.Errorf("ByPerson of an unknown index returned %d versions", len(vs))
		}
	}
}

func testCurrentMany(t *testing.T, s registry.Store) {
	recs := sampleRange(1200, 5)
	c1 := changeAt(0, "import")
	mustInsert(t, s, recs, c1)
	r0v2 := amended(recs[0], "m")
	c2 := changeAt(1, "amend")
	mustAppend(t, s, 1, r0v2, c2)
	unknown := SampleSealed(1300).CertificateNumber

	req := []string{recs[2].CertificateNumber, unknown, recs[0].CertificateNumber, recs[2].CertificateNumber, "", recs[0].CertificateNumber}
	got, err := s.CurrentMany(t.Context(), req)
	if err != nil {
		t.Fatalf("CurrentMany: %v", err)
	}
	if got, want := sorted(certNumbers(got)), sorted([]string{recs[0].CertificateNumber, recs[2].CertificateNumber}); !slices.Equal(got, want) {
		t.Fatalf("CurrentMany returned %v, want each existing certificate once: %v", got, want)
	}
	for _, v := range got {
		if v.CertificateNumber == recs[0].CertificateNumber {
			checkVersion(t, "CurrentMany newest", v, r0v2, 2, c2)
		} else {
			checkVersion(t, "CurrentMany", v, recs[2], 1, c1)
		}
	}
	for _, req := range [][]string{nil, {unknown}} {
		got, err := s.CurrentMany(t.Context(), req)
		if err != nil || len(got) != 0 {
			t.Errorf("CurrentMany(%v) = %d versions, %v; want none, no error", req, len(got), err)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// scanFixture fills s with records spread over years, units, levels and
// statuses, inserted in shuffled batches, some amended so that the newest
// version differs from the first in a filtered field. It returns the
// newest version of each, keyed by certificate number.
func scanFixture(t *testing.T, s registry.Store) map[string]registry.Version {
	t.Helper()
	var recs []registry.Sealed
	for k := range 120 {
		recs = append(recs, SampleSealed(k*37))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	c := changeAt(0, "import")
	newest := make(map[string]registry.Version, len(recs))
	for start := 0; start < len(recs); start += 25 {
		batch := recs[start:min(start+25, len(recs))]
		mustInsert(t, s, batch, c)
		for _, r := range batch {
			newest[r.CertificateNumber] = registry.Version{Sealed: r, Version: 1, Change: c}
		}
	}
	for k, r := range recs {
		var next registry.Sealed
		switch {
		case k%5 == 1 && r.Status == registry.StatusFiled:
			next = revoked(r, "scan")
		case k%7 == 2:
			next = amended(r, "year")
			next.ConferralDate = registry.NewDate(r.ConferralDate.Year()+1, time.January, 15)
		case k%11 == 3:
			next = amended(r, "unit")
			next.UnitCode = "10730"
		default:
			continue
		}
		c2 := changeAt(k+1, "amend")
		v := mustAppend(t, s, 1, next, c2)
		newest[r.CertificateNumber] = registry.Version{Sealed: next, Version: v.Version, Change: c2}
	}
	return newest
}

// selects is the meaning of Filter, written as plainly as possible.
func selects(f registry.Filter, r registry.Record) bool {
	y := r.ConferralDate.Year()
	return (f.ConferralYearFrom == 0 || y >= f.ConferralYearFrom) &&
		(f.ConferralYearTo == 0 || y <= f.ConferralYearTo) &&
		(len(f.Levels) == 0 || slices.Contains(f.Levels, r.DegreeLevel)) &&
		(len(f.UnitCodes) == 0 || slices.Contains(f.UnitCodes, r.UnitCode)) &&
		(len(f.Statuses) == 0 || slices.Contains(f.Statuses, r.Status))
}

func checkScan(t *testing.T, s registry.Store, f registry.Filter, newest map[string]registry.Version) int {
	t.Helper()
	var want []string
	for cert, v := range newest {
		if selects(f, v.Record) {
			want = append(want, cert)
		}
	}
	slices.Sort(want)
	got := scanAll(t, s, f)
	if !slices.Equal(certNumbers(got), want) {
		t.Errorf("Scan(%+v) returned %d certificates %v,\nwant %d in order %v", f, len(got), certNumbers(got), len(want), want)
		return len(want)
	}
	for _, v := range got {
		w := newest[v.CertificateNumber]
		checkVersion(t, "Scan", v, w.Sealed, w.Version, w.Change)
	}
	return len(want)
}

func testScanOrder(t *testing.T, s registry.Store) {
	newest := scanFixture(t, s)
	if n := checkScan(t, s, registry.Filter{}, newest); n != len(newest) {
		t.Errorf("the empty filter selects %d of %d", n, len(newest))
	}
}

func testScanFilter(t *testing.T, s registry.Store) {
	newest := scanFixture(t, s)
	// Pick filter values from the data, so that each filter is known to
	// select some records and leave others out.
	var years []int
	for _, v := range newest {
		years = append(years, v.ConferralDate.Year())
	}
	slices.Sort(years)
	lo, mid, hi := years[len(years)/4], years[len(years)/2], years[3*len(years)/4]

	filters := []registry.Filter{
		{ConferralYearFrom: mid},
		{ConferralYearTo: mid},
		{ConferralYearFrom: lo, ConferralYearTo: hi},
		{ConferralYearFrom: mid, ConferralYearTo: mid},
		{ConferralYearFrom: hi, ConferralYearTo: lo},
		{Levels: []registry.DegreeLevel{registry.LevelDoctor}},
		{Levels: []registry.DegreeLevel{registry.LevelMaster, registry.LevelBachelor}},
		{UnitCodes: []string{"10730"}},
		{UnitCodes: []string{"10001", "10003", "99999"}},
		{UnitCodes: []string{"99999"}},
		{Statuses: []registry.Status{registry.StatusRevoked}},
		{Statuses: []registry.Status{registry.StatusFiled}},
		{Statuses: []registry.Status{registry.StatusFiled, registry.StatusRevoked}},
		{ConferralYearFrom: lo, ConferralYearTo: hi, Levels: []registry.DegreeLevel{registry.LevelMaster},
			UnitCodes: []string{"10001", "10246", "10284", "10335", "10730"}, Statuses: []registry.Status{registry.StatusFiled}},
	}
	total := len(newest)
	selectedSome, leftSomeOut := 0, 0
	for _, f := range filters {
		n := checkScan(t, s, f, newest)
		if n > 0 {
			selectedSome++
		}
		if n < total {
			leftSomeOut++
		}
	}
	// Guard the fixture itself: most filters must be discriminating, or
	// the checks above prove little.
	if selectedSome < len(filters)-3 || leftSomeOut < len(filters)-2 {
		t.Errorf("fixture too uniform: %d filters select something, %d leave something out", selectedSome, leftSomeOut)
	}
}

func testScanStops(t *testing.T, s registry.Store) {
	mustInsert(t, s, sampleRange(1400, 10), changeAt(0, "import"))
	stop := errors.New("enough")
	calls := 0
	err := s.Scan(t.Context(), registry.Filter{}, func(registry.Version) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Scan returned %v, want fn's error", err)
	}
	if calls != 3 {
		t.Errorf("fn called %d times, want 3 (Scan must stop at the first error)", calls)
	}
}

func testCount(t *testing.T, s registry.Store) {
	if n := mustCount(t, s); n != 0 {
		t.Errorf("Count of an empty store = %d", n)
	}
	recs := sampleRange(1500, 10)
	mustInsert(t, s, recs[:6], changeAt(0, "import"))
	mustInsert(t, s, recs[4:], changeAt(1, "import overlapping"))
	for k, r := range recs[:3] {
		mustAppend(t, s, 1, amended(r, fmt.Sprint(k)), changeAt(k+2, "amend"))
	}
	if n := mustCount(t, s); n != int64(len(recs)) {
		t.Errorf("Count = %d, want %d certificates", n, len(recs))
	}
}

// testCancelledContext: every call that may wait honours its context.
func testCancelledContext(t *testing.T, s registry.Store) {
	r := SampleSealed(1600)
	mustInsert(t, s, []registry.Sealed{r}, changeAt(0, "import"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	cert := r.CertificateNumber
	calls := map[string]func() error{
		"Current":     func() error { _, err := s.Current(ctx, cert); return err },
		"CurrentMany": func() error { _, err := s.CurrentMany(ctx, []string{cert}); return err },
		"ByPerson":    func() error { _, err := s.ByPerson(ctx, r.PersonIndex); return err },
		"History":     func() error { _, err := s.History(ctx, cert); return err },
		"Append": func() error {
			_, err := registry.Append(ctx, s, suiteLogKey, "record.amend", 1, amended(r, "ctx"), changeAt(1, "amend"))
			return err
		},
		"Scan":  func() error { return s.Scan(ctx, registry.Filter{}, func(registry.Version) error { return nil }) },
		"Count": func() error { _, err := s.Count(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s with a cancelled context: no error", name)
		}
	}
	if h := mustHistory(t, s, cert); len(h) != 1 {
		t.Errorf("Append with a cancelled context wrote a version")
	}
}

// runStoreTests runs each test on a fresh backend's Store.
func runStoreTests(t *testing.T, open func(t *testing.T) Backend, tests []storeTest) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			if b.Store == nil {
				t.Fatal("open returned a Backend without a Store")
			}
			tc.fn(t, b.Store)
		})
	}
}
