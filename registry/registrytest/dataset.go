package registrytest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// The dataset tests check the comments of registry/dataset.go and, beyond
// them, that
//   - times come back as the same instant cut to microseconds, in UTC, and
//     zero times stay zero;
//   - the spec (fields, filters, privacy parameters, term) and the
//     manifest come back exactly;
//   - a refused update changes nothing, and of several officials deciding
//     the same request at once exactly one succeeds.

type datasetTest struct {
	name string
	fn   func(t *testing.T, s registry.DatasetStore)
}

func runDatasets(t *testing.T, open func(t *testing.T) Backend) {
	tests := []datasetTest{
		{"PutGet", testDatasetPutGet},
		{"NotFound", testDatasetNotFound},
		{"Invalid", testDatasetInvalid},
		{"Duplicate", testDatasetDuplicate},
		{"Lifecycle", testDatasetLifecycle},
		{"RefusedTransitions", testDatasetRefused},
		{"ConcurrentDecisions", testDatasetConcurrent},
		{"List", testDatasetList},
		{"CopiesInAndOut", testDatasetCopies},
		{"CancelledContext", testDatasetCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			ds := b.Datasets
			if ds == nil {
				ds, _ = b.Store.(registry.DatasetStore)
			}
			if ds == nil {
				t.Skip("the backend keeps no datasets")
			}
			tc.fn(t, ds)
		})
	}
}

var datasetEpoch = time.Date(2025, 7, 1, 9, 30, 0, 987_654_321, cst)

// datasetID makes a well-formed id from a name.
func datasetID(name string) string {
	h := sha256.Sum256([]byte("dataset:" + name))
	return "ds_" + strings.ToLower(base32.StdEncoding.EncodeToString(h[:16]))[:26]
}

// newDataset is a request made n minutes after datasetEpoch.
func newDataset(name, contractor string, n int) registry.Dataset {
	// The store keeps the sealed key as it is given; any bytes of the
	// sealed length do for it.
	k1, k2 := sha256.Sum256([]byte("key:"+name)), sha256.Sum256([]byte("nonce and tag:"+name))
	sealed := append(k1[:], k2[:registry.SealedDatasetKeySize-len(k1)]...)
	return registry.Dataset{
		ID:            datasetID(name),
		Contractor:    contractor,
		Purpose:       "education_statistics_research",
		LegalBasis:    "Art. 23",
		PolicyVersion: "test-1",
		Spec: registry.DatasetSpec{
			Fields:            []string{"gender", "birth_date", "unit_code", "discipline_code", "status"},
			ConferralYearFrom: 2015, ConferralYearTo: 2020,
			Levels:         []string{"doctor", "master"},
			Regions:        []string{"11", "east"},
			K:              10,
			Sensitive:      "status",
			L:              2,
			MaxSuppression: 0.05,
			Method:         "global",
			Term:           30 * 24 * time.Hour,
		},
		RequestedBy:  "official-1",
		RequestedAt:  datasetEpoch.Add(time.Duration(n) * time.Minute),
		KeyID:        "d20250701-test",
		SealedKey:    sealed,
		DatasetState: registry.DatasetState{Status: registry.DatasetRequested},
	}
}

func mustPutDataset(t *testing.T, s registry.DatasetStore, d registry.Dataset) {
	t.Helper()
	if err := s.PutDataset(t.Context(), d); err != nil {
		t.Fatalf("PutDataset: %v", err)
	}
}

func mustGetDataset(t *testing.T, s registry.DatasetStore, id string) registry.Dataset {
	t.Helper()
	d, err := s.Dataset(t.Context(), id)
	if err != nil {
		t.Fatalf("Dataset: %v", err)
	}
	return d
}

// diffDataset names every field of got that is not the stored form of
// want. Keys are not printed.
func diffDataset(got, want registry.Dataset) []string {
	var diffs []string
	str := func(field, g, w string) {
		if g != w {
			diffs = append(diffs, fmt.Sprintf("%s: got %q, want %q", field, g, w))
		}
	}
	str("ID", got.ID, want.ID)
	str("Contractor", got.Contractor, want.Contractor)
	str("Purpose", got.Purpose, want.Purpose)
	str("LegalBasis", got.LegalBasis, want.LegalBasis)
	str("PolicyVersion", got.PolicyVersion, want.PolicyVersion)
	str("RequestedBy", got.RequestedBy, want.RequestedBy)
	str("Status", string(got.Status), string(want.Status))
	str("DecidedBy", got.DecidedBy, want.DecidedBy)
	str("DecisionNote", got.DecisionNote, want.DecisionNote)
	str("Failure", got.Failure, want.Failure)
	str("KeyID", got.KeyID, want.KeyID)
	if !bytes.Equal(got.SealedKey, want.SealedKey) {
		diffs = append(diffs, "SealedKey differs")
	}
	if !bytes.Equal(got.Manifest, want.Manifest) {
		diffs = append(diffs, fmt.Sprintf("Manifest: got %d bytes, want %d", len(got.Manifest), len(want.Manifest)))
	}
	if !reflect.DeepEqual(normSpec(got.Spec), normSpec(want.Spec)) {
		diffs = append(diffs, fmt.Sprintf("Spec: got %+v, want %+v", got.Spec, want.Spec))
	}
	diffs = append(diffs, diffTime("RequestedAt", got.RequestedAt, want.RequestedAt)...)
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{
		{"DecidedAt", got.DecidedAt, want.DecidedAt},
		{"BuiltAt", got.BuiltAt, want.BuiltAt},
		{"ExpiresAt", got.ExpiresAt, want.ExpiresAt},
		{"PurgedAt", got.PurgedAt, want.PurgedAt},
	} {
		if tm.want.IsZero() {
			if !tm.got.IsZero() {
				diffs = append(diffs, tm.name+": got "+tm.got.String()+", want zero")
			}
			continue
		}
		diffs = append(diffs, diffTime(tm.name, tm.got, tm.want)...)
	}
	return diffs
}

// normSpec makes nil and empty slices alike.
func normSpec(s registry.DatasetSpec) registry.DatasetSpec {
	for _, p := range []*[]string{&s.Fields, &s.Levels, &s.Regions} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	return s
}

func checkDataset(t *testing.T, where string, got, want registry.Dataset) {
	t.Helper()
	for _, d := range diffDataset(got, want) {
		t.Errorf("%s: %s", where, d)
	}
}

func testDatasetPutGet(t *testing.T, s registry.DatasetStore) {
	full := newDataset("full", "pub:institute-1", 0)
	bare := newDataset("bare", "pub:institute-2", 1)
	bare.Spec = registry.DatasetSpec{Fields: []string{"gender"}, K: 5, Term: time.Hour}
	bare.LegalBasis = ""
	odd := newDataset("odd", "pub:研究所", 2)
	odd.Spec.MaxSuppression = 0.1 + 0.2 // no short decimal form
	odd.Spec.Term = 90*24*time.Hour + 1
	for _, d := range []registry.Dataset{full, bare, odd} {
		mustPutDataset(t, s, d)
	}
	for _, d := range []registry.Dataset{full, bare, odd} {
		checkDataset(t, "Dataset "+d.ID, mustGetDataset(t, s, d.ID), d)
	}
}

func testDatasetNotFound(t *testing.T, s registry.DatasetStore) {
	mustPutDataset(t, s, newDataset("known", "pub:a", 0))
	for _, id := range []string{datasetID("unknown"), "", "ds_", "not-an-id"} {
		if _, err := s.Dataset(t.Context(), id); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("Dataset(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := s.UpdateDataset(t.Context(), id, registry.DatasetRequested, approval("official-2")); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("UpdateDataset(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func testDatasetInvalid(t *testing.T, s registry.DatasetStore) {
	tests := []struct {
		name  string
		edit  func(*registry.Dataset)
		field string
	}{
		{"bad id", func(d *registry.Dataset) { d.ID = "ds_TOO-SHORT" }, "id"},
		{"no contractor", func(d *registry.Dataset) { d.Contractor = "" }, "contractor"},
		{"no purpose", func(d *registry.Dataset) { d.Purpose = "" }, "purpose"},
		{"no policy version", func(d *registry.Dataset) { d.PolicyVersion = "" }, "policy_version"},
		{"no requester", func(d *registry.Dataset) { d.RequestedBy = "" }, "requested_by"},
		{"no request time", func(d *registry.Dataset) { d.RequestedAt = time.Time{} }, "requested_at"},
		{"short sealed key", func(d *registry.Dataset) { d.SealedKey = d.SealedKey[:16] }, "key"},
		{"key in clear", func(d *registry.Dataset) { d.KeyID, d.SealedKey = "", d.SealedKey[:registry.DatasetKeySize] }, "key"},
		{"sealed key without its key id", func(d *registry.Dataset) { d.KeyID = "" }, "key"},
		{"no fields", func(d *registry.Dataset) { d.Spec.Fields = nil }, "fields"},
		{"k zero", func(d *registry.Dataset) { d.Spec.K = 0 }, "k"},
		{"l without sensitive", func(d *registry.Dataset) { d.Spec.Sensitive = "" }, "l"},
		{"suppression 1", func(d *registry.Dataset) { d.Spec.MaxSuppression = 1 }, "max_suppression"},
		{"no term", func(d *registry.Dataset) { d.Spec.Term = 0 }, "term"},
		{"years reversed", func(d *registry.Dataset) { d.Spec.ConferralYearFrom = 2021 }, "conferral_year_from"},
		{"born approved", func(d *registry.Dataset) { d.Status = registry.DatasetApproved }, "status"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDataset(fmt.Sprintf("invalid-%d", i), "pub:a", i)
			tc.edit(&d)
			err := s.PutDataset(t.Context(), d)
			var ie *registry.InvalidError
			if !errors.Is(err, registry.ErrInvalid) || !errors.As(err, &ie) {
				t.Fatalf("PutDataset = %v, want an *InvalidError", err)
			}
			if !slices.ContainsFunc(ie.Violations, func(v registry.Violation) bool { return v.Field == tc.field }) {
				t.Errorf("PutDataset error %v names no violation of %s", err, tc.field)
			}
			if registry.ValidDatasetID(d.ID) {
				if _, err := s.Dataset(t.Context(), d.ID); !errors.Is(err, registry.ErrNotFound) {
					t.Errorf("after a refused PutDataset, Dataset = %v, want ErrNotFound", err)
				}
			}
		})
	}
}

func testDatasetDuplicate(t *testing.T, s registry.DatasetStore) {
	first := newDataset("same", "pub:a", 0)
	mustPutDataset(t, s, first)
	second := newDataset("same", "pub:b", 3)
	if err := s.PutDataset(t.Context(), second); !errors.Is(err, registry.ErrDuplicate) {
		t.Fatalf("PutDataset of a stored id = %v, want ErrDuplicate", err)
	}
	checkDataset(t, "after a duplicate", mustGetDataset(t, s, first.ID), first)
}

func approval(official string) registry.DatasetState {
	return registry.DatasetState{Status: registry.DatasetApproved, DecidedBy: official,
		DecidedAt: datasetEpoch.Add(time.Hour), DecisionNote: "同意 — approved"}
}

func testDatasetLifecycle(t *testing.T, s registry.DatasetStore) {
	d := newDataset("life", "pub:a", 0)
	mustPutDataset(t, s, d)
	update := func(from registry.DatasetStatus, next registry.DatasetState) {
		t.Helper()
		got, err := s.UpdateDataset(t.Context(), d.ID, from, next)
		if err != nil {
			t.Fatalf("UpdateDataset %s → %s: %v", from, next.Status, err)
		}
		d.DatasetState = next
		checkDataset(t, "UpdateDataset to "+string(next.Status), got, d)
		checkDataset(t, "Dataset after "+string(next.Status), mustGetDataset(t, s, d.ID), d)
	}
	st := approval("official-2")
	update(registry.DatasetRequested, st)
	st.Status = registry.DatasetBuilding
	update(registry.DatasetApproved, st)
	// A builder that lost its work hands the dataset back for a retry.
	st.Status = registry.DatasetApproved
	update(registry.DatasetBuilding, st)
	st.Status = registry.DatasetBuilding
	update(registry.DatasetApproved, st)
	st.Status = registry.DatasetReady
	st.BuiltAt = datasetEpoch.Add(2*time.Hour + 123)
	st.ExpiresAt = st.BuiltAt.Add(d.Spec.Term)
	st.Manifest = []byte(`{"dataset": "x",  "k": 10, "note": "键 order kept"}`)
	update(registry.DatasetBuilding, st)
	st.Status = registry.DatasetPurged
	st.PurgedAt = st.ExpiresAt.Add(time.Minute)
	update(registry.DatasetReady, st)
}

func testDatasetRefused(t *testing.T, s registry.DatasetStore) {
	type step struct {
		name string
		from registry.DatasetStatus
		next func(d registry.Dataset) registry.DatasetState
		want error
	}
	steps := []step{
		{"approval by the requester", registry.DatasetRequested, func(d registry.Dataset) registry.DatasetState { return approval(d.RequestedBy) }, registry.ErrInvalid},
		{"rejection by the requester", registry.DatasetRequested, func(d registry.Dataset) registry.DatasetState {
			st := approval(d.RequestedBy)
			st.Status = registry.DatasetRejected
			return st
		}, registry.ErrInvalid},
		{"approval without an official", registry.DatasetRequested, func(registry.Dataset) registry.DatasetState { return approval("") }, registry.ErrInvalid},
		{"wrong from status", registry.DatasetApproved, func(registry.Dataset) registry.DatasetState {
			return registry.DatasetState{Status: registry.DatasetBuilding}
		}, registry.ErrDatasetTransition},
		{"requested straight to ready", registry.DatasetRequested, func(registry.Dataset) registry.DatasetState {
			return registry.DatasetState{Status: registry.DatasetReady, BuiltAt: datasetEpoch, ExpiresAt: datasetEpoch.Add(time.Hour), Manifest: []byte("{}")}
		}, registry.ErrDatasetTransition},
		{"unknown status", registry.DatasetRequested, func(registry.Dataset) registry.DatasetState {
			return registry.DatasetState{Status: "published"}
		}, registry.ErrDatasetTransition},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			d := newDataset(fmt.Sprintf("refused-%d", i), "pub:a", i)
			mustPutDataset(t, s, d)
			_, err := s.UpdateDataset(t.Context(), d.ID, st.from, st.next(d))
			if !errors.Is(err, st.want) {
				t.Fatalf("UpdateDataset = %v, want %v", err, st.want)
			}
			checkDataset(t, "after a refused update", mustGetDataset(t, s, d.ID), d)
		})
	}
	// A ready dataset needs its manifest and an expiry after its build.
	d := newDataset("refused-ready", "pub:a", 50)
	mustPutDataset(t, s, d)
	for _, next := range []registry.DatasetState{approval("official-2"), {Status: registry.DatasetBuilding}} {
		if _, err := s.UpdateDataset(t.Context(), d.ID, mustGetDataset(t, s, d.ID).Status, next); err != nil {
			t.Fatal(err)
		}
	}
	before := mustGetDataset(t, s, d.ID)
	for _, next := range []registry.DatasetState{
		{Status: registry.DatasetReady, BuiltAt: datasetEpoch, ExpiresAt: datasetEpoch},
		{Status: registry.DatasetReady, BuiltAt: datasetEpoch, ExpiresAt: datasetEpoch.Add(time.Hour)},
		{Status: registry.DatasetFailed},
	} {
		if _, err := s.UpdateDataset(t.Context(), d.ID, registry.DatasetBuilding, next); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("UpdateDataset to %s without what it needs = %v, want ErrInvalid", next.Status, err)
		}
	}
	checkDataset(t, "after refused builds", mustGetDataset(t, s, d.ID), before)
}

func testDatasetConcurrent(t *testing.T, s registry.DatasetStore) {
	d := newDataset("race", "pub:a", 0)
	mustPutDataset(t, s, d)
	const n = 8
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		wins      []string
		conflicts int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := approval(fmt.Sprintf("official-%d", i+2))
			if i%2 == 1 {
				st.Status = registry.DatasetRejected
			}
			_, err := s.UpdateDataset(t.Context(), d.ID, registry.DatasetRequested, st)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins = append(wins, st.DecidedBy)
			case errors.Is(err, registry.ErrDatasetTransition):
				conflicts++
			default:
				t.Errorf("decision %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if len(wins) != 1 || conflicts != n-1 {
		t.Fatalf("%d decisions won and %d conflicted, want 1 and %d", len(wins), conflicts, n-1)
	}
	if got := mustGetDataset(t, s, d.ID); got.DecidedBy != wins[0] {
		t.Errorf("stored decision by %q, but %q won", got.DecidedBy, wins[0])
	}
}

func testDatasetList(t *testing.T, s registry.DatasetStore) {
	a1 := newDataset("a1", "pub:a", 1)
	a2 := newDataset("a2", "pub:a", 3)
	b1 := newDataset("b1", "pub:b", 2)
	tie := newDataset("a-tie", "pub:a", 3) // same time as a2: ordered by id
	for _, d := range []registry.Dataset{a1, a2, b1, tie} {
		mustPutDataset(t, s, d)
	}
	if _, err := s.UpdateDataset(t.Context(), a1.ID, registry.DatasetRequested, approval("official-2")); err != nil {
		t.Fatal(err)
	}
	ids := func(q registry.DatasetQuery) []string {
		t.Helper()
		ds, err := s.Datasets(t.Context(), q)
		if err != nil {
			t.Fatalf("Datasets(%+v): %v", q, err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	first, second := a2.ID, tie.ID
	if second < first {
		first, second = second, first
	}
	tests := []struct {
		name string
		q    registry.DatasetQuery
		want []string
	}{
		{"all", registry.DatasetQuery{}, []string{first, second, b1.ID, a1.ID}},
		{"one contractor", registry.DatasetQuery{Contractor: "pub:a"}, []string{first, second, a1.ID}},
		{"approved", registry.DatasetQuery{Statuses: []registry.DatasetStatus{registry.DatasetApproved}}, []string{a1.ID}},
		{"contractor and statuses", registry.DatasetQuery{Contractor: "pub:b", Statuses: []registry.DatasetStatus{registry.DatasetRequested, registry.DatasetReady}}, []string{b1.ID}},
		{"unknown contractor", registry.DatasetQuery{Contractor: "pub:nobody"}, nil},
		{"contractor is exact, not a prefix", registry.DatasetQuery{Contractor: "pub:"}, nil},
	}
	for _, tc := range tests {
		if got := ids(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func testDatasetCopies(t *testing.T, s registry.DatasetStore) {
	d := newDataset("copies", "pub:a", 0)
	want := d
	want.SealedKey = slices.Clone(d.SealedKey)
	want.Spec.Fields = slices.Clone(d.Spec.Fields)
	mustPutDataset(t, s, d)
	d.SealedKey[0] ^= 0xff
	d.Spec.Fields[0] = "name"
	got := mustGetDataset(t, s, d.ID)
	got.SealedKey[1] ^= 0xff
	got.Spec.Fields[1] = "id_number"
	if len(got.Spec.Regions) > 0 {
		got.Spec.Regions[0] = "xx"
	}
	checkDataset(t, "after changing what went in and came out", mustGetDataset(t, s, d.ID), want)
}

func testDatasetCancelled(t *testing.T, s registry.DatasetStore) {
	d := newDataset("cancelled", "pub:a", 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.PutDataset(ctx, d); err == nil {
		t.Error("PutDataset on a cancelled context succeeded")
	}
	if _, err := s.Dataset(t.Context(), d.ID); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("a cancelled PutDataset stored the dataset: %v", err)
	}
	mustPutDataset(t, s, d)
	if _, err := s.Dataset(ctx, d.ID); err == nil {
		t.Error("Dataset on a cancelled context succeeded")
	}
	if _, err := s.Datasets(ctx, registry.DatasetQuery{}); err == nil {
		t.Error("Datasets on a cancelled context succeeded")
	}
	if _, err := s.UpdateDataset(ctx, d.ID, registry.DatasetRequested, approval("official-2")); err == nil {
		t.Error("UpdateDataset on a cancelled context succeeded")
	}
	checkDataset(t, "after cancelled calls", mustGetDataset(t, s, d.ID), d)
}
