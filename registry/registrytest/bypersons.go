package registrytest

import (
	"bytes"
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/degreegate/degreegate/registry"
)

// runByPersons checks Store.ByPersons, the batch form of ByPerson that
// the agency interface answers identity-document items with.
func runByPersons(t *testing.T, open func(t *testing.T) Backend) {
	tests := []storeTest{
		{"GroupsAndOrders", testByPersonsGroups},
		{"NewestOnlyAfterMove", testByPersonsMove},
		{"NothingAsked", testByPersonsNothing},
		{"AgreesWithByPerson", testByPersonsAgrees},
		{"Copies", testByPersonsCopies},
		{"CancelledContext", testByPersonsCancelled},
	}
	runStoreTests(t, open, tests)
}

func mustByPersons(t *testing.T, s registry.Store, pis [][]byte) []registry.Version {
	t.Helper()
	vs, err := s.ByPersons(t.Context(), pis)
	if err != nil {
		t.Fatalf("ByPersons of %d indexes: %v", len(pis), err)
	}
	return vs
}

// testByPersonsGroups: every certificate of every asked person, once
// each however often its person was asked, in certificate-number order,
// each carrying its person index so the caller can group.
func testByPersonsGroups(t *testing.T, s registry.Store) {
	// 2000/2001 share a person (p); 2004 joins p as a third degree;
	// 2002/2003 are q; 2006/2007 are r, never asked for.
	recs := samples(2001, 2004, 2002, 2007, 2000, 2003, 2006)
	recs[1].PersonIndex = slices.Clone(recs[0].PersonIndex)
	p, q, r := recs[0].PersonIndex, recs[2].PersonIndex, recs[3].PersonIndex
	if bytes.Equal(p, q) || bytes.Equal(p, r) || bytes.Equal(q, r) {
		t.Fatal("the samples' persons are not distinct")
	}
	byCert := map[string]registry.Sealed{}
	for _, rec := range recs {
		byCert[rec.CertificateNumber] = cloneSealed(rec)
	}
	ch := changeAt(0, "import")
	mustInsert(t, s, recs[:3], ch)
	mustInsert(t, s, recs[3:], ch)

	unknown := sampleSeed("nobody", 1)
	got := mustByPersons(t, s, [][]byte{q, unknown[:], p, slices.Clone(q), nil, {}})
	var want []string
	for _, rec := range recs {
		if !bytes.Equal(rec.PersonIndex, r) {
			want = append(want, rec.CertificateNumber)
		}
	}
	slices.Sort(want)
	if got := certNumbers(got); !slices.Equal(got, want) {
		t.Fatalf("ByPersons(q, unknown, p, q, nil, empty) = %v, want %v (each once, in order)", got, want)
	}
	for _, v := range got {
		w := byCert[v.CertificateNumber]
		checkVersion(t, "ByPersons", v, w, 1, ch)
		if !bytes.Equal(v.PersonIndex, w.PersonIndex) {
			t.Errorf("ByPersons: %s came back without its person index", v.CertificateNumber)
		}
	}
}

// testByPersonsMove: a record amended to another person is found under
// the new person only, as its newest version.
func testByPersonsMove(t *testing.T, s registry.Store) {
	recs := sampleRange(2100, 4) // persons p (2100, 2101) and q (2102, 2103)
	p, q := slices.Clone(recs[0].PersonIndex), slices.Clone(recs[2].PersonIndex)
	ch := changeAt(0, "import")
	mustInsert(t, s, recs, ch)
	moved := amended(recs[1], "move")
	moved.PersonIndex = slices.Clone(q)
	ch2 := changeAt(1, "identity corrected")
	mustAppend(t, s, 1, moved, ch2)

	cases := []struct {
		name string
		ask  [][]byte
		want []string
	}{
		{"p", [][]byte{p}, []string{recs[0].CertificateNumber}},
		{"q", [][]byte{q}, []string{recs[1].CertificateNumber, recs[2].CertificateNumber, recs[3].CertificateNumber}},
		{"p and q", [][]byte{p, q}, []string{recs[0].CertificateNumber, recs[1].CertificateNumber, recs[2].CertificateNumber, recs[3].CertificateNumber}},
	}
	for _, c := range cases {
		got := mustByPersons(t, s, c.ask)
		if g, w := certNumbers(got), sorted(c.want); !slices.Equal(g, w) {
			t.Errorf("ByPersons(%s) after the move = %v, want %v", c.name, g, w)
		}
		for _, v := range got {
			if v.CertificateNumber == moved.CertificateNumber {
				checkVersion(t, "ByPersons("+c.name+") of the moved record", v, moved, 2, ch2)
			}
		}
	}
}

func testByPersonsNothing(t *testing.T, s registry.Store) {
	mustInsert(t, s, sampleRange(2200, 4), changeAt(0, "import"))
	unknown := sampleSeed("nobody", 2)
	for name, ask := range map[string][][]byte{
		"nil":               nil,
		"empty":             {},
		"one nil index":     {nil},
		"one empty index":   {{}},
		"an unknown index":  {unknown[:]},
		"a truncated index": {SampleSealed(2200).PersonIndex[:16]},
	} {
		got, err := s.ByPersons(t.Context(), ask)
		if err != nil || len(got) != 0 {
			t.Errorf("ByPersons(%s) = %d versions, %v; want none, no error", name, len(got), err)
		}
	}
}

// testByPersonsAgrees: on a store where persons have one to four
// records, ByPersons of any subset is the union of ByPerson of each,
// sorted.
func testByPersonsAgrees(t *testing.T, s registry.Store) {
	recs := sampleRange(2300, 60)
	rng := rand.New(rand.NewPCG(3, 4))
	// Regroup: each record joins one of 20 persons at random, so person
	// lists have varied lengths and are filed out of order.
	persons := make([][]byte, 20)
	for i := range persons {
		persons[i] = slices.Clone(recs[2*i].PersonIndex)
	}
	for i := range recs {
		recs[i].PersonIndex = slices.Clone(persons[rng.IntN(len(persons))])
	}
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	ch := changeAt(0, "import")
	mustInsert(t, s, recs[:25], ch)
	mustInsert(t, s, recs[25:], ch)

	for round := range 12 {
		ask := make([][]byte, 0, 8)
		for range 1 + rng.IntN(8) {
			ask = append(ask, persons[rng.IntN(len(persons))])
		}
		var want []string
		for _, pi := range ask {
			vs, err := s.ByPerson(t.Context(), pi)
			if err != nil {
				t.Fatalf("ByPerson: %v", err)
			}
			want = append(want, certNumbers(vs)...)
		}
		slices.Sort(want)
		want = slices.Compact(want)
		if got := certNumbers(mustByPersons(t, s, ask)); !slices.Equal(got, want) {
			t.Errorf("round %d: ByPersons of %d indexes = %v, want ByPerson's union %v", round, len(ask), got, want)
		}
	}
}

// testByPersonsCopies: neither the indexes passed in nor the versions
// returned alias stored data.
func testByPersonsCopies(t *testing.T, s registry.Store) {
	recs := sampleRange(2400, 2) // one person
	want := []registry.Sealed{cloneSealed(recs[0]), cloneSealed(recs[1])}
	ch := changeAt(0, "import")
	mustInsert(t, s, recs, ch)
	ask := [][]byte{slices.Clone(recs[0].PersonIndex)}
	got := mustByPersons(t, s, ask)
	if len(got) != 2 {
		t.Fatalf("ByPersons returned %d versions, want 2", len(got))
	}
	for _, b := range append([][]byte{ask[0]}, got[0].PersonIndex, got[0].Secret, got[1].PersonIndex, got[1].Digest) {
		for i := range b {
			b[i] ^= 0xff
		}
	}
	again := mustByPersons(t, s, [][]byte{want[0].PersonIndex})
	if len(again) != 2 {
		t.Fatalf("ByPersons after the caller changed a result returned %d versions, want 2", len(again))
	}
	slices.SortFunc(want, func(a, b registry.Sealed) int { return cmp.Compare(a.CertificateNumber, b.CertificateNumber) })
	for i, v := range again {
		checkVersion(t, "ByPersons after the caller changed its arguments and results", v, want[i], 1, ch)
	}
}

func testByPersonsCancelled(t *testing.T, s registry.Store) {
	r := SampleSealed(2500)
	mustInsert(t, s, []registry.Sealed{r}, changeAt(0, "import"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.ByPersons(ctx, [][]byte{r.PersonIndex}); err == nil {
		t.Error("ByPersons with a cancelled context: no error")
	}
}
