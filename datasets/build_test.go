package datasets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/anonymizer"
	"github.com/degreegate/degreegate/anonymizer/csvio"
	"github.com/degreegate/degreegate/anonymizer/parquet"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
	"github.com/degreegate/degreegate/registry/synth"
)

// synthStore is an embedded store of n synthetic records (seed 7), and
// the records in clear, shared by the tests that need the same data.
type synthFixture struct {
	store   *inmem.Store
	records []registry.Record
	sealed  []registry.Sealed
}

var synthCache sync.Map // n → *synthFixture

// testLogKey commits the filing entries of these tests.
var testLogKey = registry.NewRandomLogKey()

func synthStore(t testing.TB, n int) *synthFixture {
	t.Helper()
	if f, ok := synthCache.Load(n); ok {
		return f.(*synthFixture)
	}
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	f := &synthFixture{store: inmem.New()}
	g := synth.New(7)
	for i := range n {
		r := g.Record(i)
		registry.Normalize(&r)
		s, err := keys.Seal(r)
		if err != nil {
			t.Fatal(err)
		}
		f.records = append(f.records, r)
		f.sealed = append(f.sealed, s)
	}
	for lo := 0; lo < n; lo += 5000 {
		if _, err := registry.Insert(context.Background(), f.store, testLogKey, f.sealed[lo:min(lo+5000, n)], registry.Change{Actor: "test", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	synthCache.Store(n, f)
	return f
}

func defaultPolicy(t testing.TB) *policies.Policy {
	t.Helper()
	p, err := policies.Default()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testDataset is an approved request over the usual fields. Its key is
// testKey's; BuildFiles takes it opened, so none is sealed here.
func testDataset(spec registry.DatasetSpec) registry.Dataset {
	if spec.Term == 0 {
		spec.Term = 30 * 24 * time.Hour
	}
	if spec.Method == "" {
		spec.Method = string(anonymizer.Global)
	}
	return registry.Dataset{
		ID: NewID(), Contractor: "pub:institute", Purpose: "education_statistics_research", LegalBasis: "Art. 23",
		PolicyVersion: "test", Spec: spec, RequestedBy: "official-1", RequestedAt: time.Now(),
		DatasetState: registry.DatasetState{Status: registry.DatasetBuilding, DecidedBy: "official-2"},
	}
}

var usualFields = []string{"gender", "birth_date", "unit_code", "discipline_code", "degree_level", "conferral_date", "status"}

// testKey is the pseudonym key of a test dataset: one per dataset id.
func testKey(d registry.Dataset) []byte {
	k := sha256.Sum256([]byte("test key " + d.ID))
	return k[:]
}

func build(t testing.TB, store registry.Store, d registry.Dataset) (*Manifest, string, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), d.ID)
	m, err := BuildFiles(context.Background(), BuildInput{Dataset: d, Key: testKey(d), Rules: defaultPolicy(t).Dataset(), Records: store, Dir: dir})
	return m, dir, err
}

// readCSV reads a dataset's CSV whole.
func readCSV(t testing.TB, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return all[0], all[1:]
}

// minPeople recomputes, independently of the engine, the smallest
// number of distinct persons in a class of the rows' quasi-identifiers.
func minPeople(header []string, rows [][]string, qis []string) int {
	var idx []int
	for _, q := range qis {
		idx = append(idx, slices.Index(header, q))
	}
	classes := map[string]map[string]bool{}
	for _, r := range rows {
		var key strings.Builder
		for _, i := range idx {
			fmt.Fprintf(&key, "%d:%s|", len(r[i]), r[i])
		}
		if classes[key.String()] == nil {
			classes[key.String()] = map[string]bool{}
		}
		classes[key.String()][r[0]] = true
	}
	least := -1
	for _, people := range classes {
		if least < 0 || len(people) < least {
			least = len(people)
		}
	}
	return least
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestBuildDataset(t *testing.T) {
	f := synthStore(t, 3000)
	for _, k := range []int{5, 10, 25} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			d := testDataset(registry.DatasetSpec{Fields: usualFields, K: k, MaxSuppression: 0.05})
			m, dir, err := build(t, f.store, d)
			if err != nil {
				t.Fatalf("BuildFiles: %v", err)
			}
			header, rows := readCSV(t, filepath.Join(dir, DataCSV))
			if want := append([]string{PersonColumn}, usualFields...); !slices.Equal(header, want) {
				t.Fatalf("header %v, want %v", header, want)
			}
			// The manifest tells the truth about the files.
			if m.RowsIn != int64(len(f.records)) || m.RowsOut != int64(len(rows)) || m.RowsOut+m.Suppressed != m.RowsIn {
				t.Errorf("manifest rows in %d out %d suppressed %d; store %d, file %d", m.RowsIn, m.RowsOut, m.Suppressed, len(f.records), len(rows))
			}
			if float64(m.Suppressed) > d.Spec.MaxSuppression*float64(m.RowsIn) {
				t.Errorf("suppressed %d of %d rows, over the bound", m.Suppressed, m.RowsIn)
			}
			qis := []string{"gender", "birth_date", "unit_code", "discipline_code", "degree_level", "conferral_date"}
			if got := minPeople(header, rows, qis); got < k || int64(got) != m.AchievedK {
				t.Errorf("file has classes of %d people; k = %d, manifest says %d", got, k, m.AchievedK)
			}
			for _, fi := range m.Files {
				if got := fileSHA(t, filepath.Join(dir, fi.Path)); got != fi.SHA256 {
					t.Errorf("%s: SHA-256 %s, manifest says %s", fi.Path, got, fi.SHA256)
				}
			}
			var onDisk Manifest
			b, err := os.ReadFile(filepath.Join(dir, ManifestJSON))
			if err != nil || json.Unmarshal(b, &onDisk) != nil || onDisk.Dataset != d.ID || len(onDisk.Files) != 3 {
				t.Errorf("manifest.json unreadable or incomplete: %v", err)
			}
			// No direct identifier, in any file.
			for _, name := range []string{DataCSV, ReportHTML, ManifestJSON} {
				b, _ := os.ReadFile(filepath.Join(dir, name))
				assertNoIdentifiers(t, name, string(b), f.records)
			}
			// Parquet holds the same rows in the same order.
			pf, err := os.Open(filepath.Join(dir, DataParquet))
			if err != nil {
				t.Fatal(err)
			}
			defer pf.Close()
			st, _ := pf.Stat()
			var prow [][]string
			var pheader []string
			if err := parquet.Read(pf, st.Size(), func(h, r []string) error {
				pheader = slices.Clone(h)
				prow = append(prow, slices.Clone(r))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(prow) != len(rows) {
				t.Fatalf("parquet has %d rows, csv %d", len(prow), len(rows))
			}
			for i := range rows {
				for j, name := range header {
					if v := prow[i][slices.Index(pheader, name)]; v != rows[i][j] {
						t.Fatalf("row %d column %s: parquet %q, csv %q", i, name, v, rows[i][j])
					}
				}
			}
		})
	}
}

// assertNoIdentifiers fails when a record's direct identifier appears.
func assertNoIdentifiers(t testing.TB, what, s string, recs []registry.Record) {
	t.Helper()
	for _, r := range recs {
		for field, v := range map[string]string{"name": r.Name, "id_number": r.IDNumber, "certificate_number": r.CertificateNumber,
			"student_number": r.StudentNumber, "phone": r.Phone, "email": r.Email, "thesis_title": r.ThesisTitle} {
			if len([]rune(v)) >= 4 && strings.Contains(s, v) {
				t.Fatalf("%s contains a record's %s", what, field)
			}
		}
	}
}

func TestBuildPseudonyms(t *testing.T) {
	f := synthStore(t, 3000)
	spec := registry.DatasetSpec{Fields: []string{"gender", "degree_level", "conferral_date"}, K: 5, MaxSuppression: 0.05}
	d1, d2 := testDataset(spec), testDataset(spec)
	_, dir1, err := build(t, f.store, d1)
	if err != nil {
		t.Fatal(err)
	}
	_, dir2, err := build(t, f.store, d2)
	if err != nil {
		t.Fatal(err)
	}
	_, rows1 := readCSV(t, filepath.Join(dir1, DataCSV))
	_, rows2 := readCSV(t, filepath.Join(dir2, DataCSV))

	// Rows per person in the store (people, by person index) against rows
	// per pseudonym in the file: the same multiset when nothing is
	// suppressed, so one person's degrees share one pseudonym.
	byPerson := map[string]int{}
	for _, s := range f.sealed {
		byPerson[string(s.PersonIndex)]++
	}
	byPseudonym := map[string]int{}
	for _, r := range rows1 {
		if _, ok := anonymizer.DecodePseudonym(r[0]); !ok {
			t.Fatalf("pseudonym %q is not 26 base32 characters", r[0])
		}
		byPseudonym[r[0]]++
	}
	if len(rows1) == len(f.sealed) {
		a, b := counts(byPerson), counts(byPseudonym)
		if !slices.Equal(a, b) {
			t.Errorf("degrees per person %v, per pseudonym %v", a, b)
		}
	} else if len(byPseudonym) > len(byPerson) {
		t.Errorf("%d pseudonyms for %d people", len(byPseudonym), len(byPerson))
	}
	if multi := len(f.sealed) - len(byPerson); multi == 0 {
		t.Fatal("the fixture has no person with two degrees: the test proves nothing")
	}
	// Two datasets over the same people share no pseudonym.
	for _, r := range rows2 {
		if byPseudonym[r[0]] > 0 {
			t.Fatal("a pseudonym appears in two datasets: they can be joined")
		}
	}
}

// counts returns the sorted values of m.
func counts(m map[string]int) []int {
	var out []int
	for _, n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// listStore is a Store whose Scan serves a fixed list of versions, and
// can cancel its caller's context after some of them.
type listStore struct {
	registry.Store
	versions   []registry.Version
	cancelAt   int
	cancel     context.CancelFunc
	lastFilter registry.Filter
}

func (s *listStore) Scan(ctx context.Context, f registry.Filter, fn func(registry.Version) error) error {
	s.lastFilter = f
	for i, v := range s.versions {
		if s.cancel != nil && i == s.cancelAt {
			s.cancel()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// person makes n degrees of one person, all alike in their
// quasi-identifiers.
func person(id string, n int, edit func(*registry.Record)) []registry.Version {
	var out []registry.Version
	for i := range n {
		r := registry.Record{Kind: registry.KindPostgraduate, Gender: registry.GenderFemale, DegreeLevel: registry.LevelMaster,
			ConferralDate: registry.NewDate(2020, 6, 30), UnitCode: "10001", DisciplineCode: "081201",
			Status: registry.StatusFiled, CertificateNumber: fmt.Sprintf("%s-%d", id, i), Name: "名字" + id}
		if edit != nil {
			edit(&r)
		}
		out = append(out, registry.Version{Sealed: registry.Sealed{Record: r, PersonIndex: []byte("person:" + id)}, Version: 1})
	}
	return out
}

func TestBuildCountsPeopleNotRows(t *testing.T) {
	// Four people with three identical degrees each: 12 rows, 4 people.
	var vs []registry.Version
	for _, id := range []string{"a", "b", "c", "d"} {
		vs = append(vs, person(id, 3, nil)...)
	}
	store := &listStore{versions: vs}
	spec := registry.DatasetSpec{Fields: []string{"gender", "degree_level", "conferral_date"}, K: 5, MaxSuppression: 0}
	if _, dir, err := build(t, store, testDataset(spec)); !errors.Is(err, anonymizer.ErrUnsatisfiable) {
		t.Fatalf("k=5 over 4 people (12 rows): err %v, want ErrUnsatisfiable", err)
	} else if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
		t.Errorf("a failed build left its folder")
	}
	spec.K = 4
	m, _, err := build(t, store, testDataset(spec))
	if err != nil {
		t.Fatalf("k=4 over 4 people: %v", err)
	}
	if m.People != 4 || m.AchievedK != 4 || m.RowsOut != 12 {
		t.Errorf("people %d, achieved k %d, rows out %d; want 4, 4, 12", m.People, m.AchievedK, m.RowsOut)
	}
}

func TestBuildClassifiedThesis(t *testing.T) {
	var vs []registry.Version
	for i := range 6 {
		vs = append(vs, person(fmt.Sprint(i), 1, func(r *registry.Record) {
			r.ThesisTopicSource = "国家自然科学基金"
			r.ThesisClassified = i%2 == 0
		})...)
	}
	spec := registry.DatasetSpec{Fields: []string{"gender", "thesis_topic_source"}, K: 2}
	m, dir, err := build(t, &listStore{versions: vs}, testDataset(spec))
	if err != nil {
		t.Fatal(err)
	}
	_, rows := readCSV(t, filepath.Join(dir, DataCSV))
	shown := 0
	for _, r := range rows {
		if r[2] != "" {
			shown++
		}
	}
	if shown != 3 || m.ClassifiedBlanked != 3 {
		t.Errorf("thesis topic shown on %d rows, blanked on %d; want 3 and 3", shown, m.ClassifiedBlanked)
	}
}

func TestBuildRefusals(t *testing.T) {
	f := synthStore(t, 3000)
	base := registry.DatasetSpec{Fields: usualFields, K: 5, MaxSuppression: 0.05}
	tests := []struct {
		name string
		edit func(*registry.DatasetSpec)
		want error
	}{
		{"k above the people", func(s *registry.DatasetSpec) { s.K = 10000 }, anonymizer.ErrUnsatisfiable},
		{"l that status cannot reach", func(s *registry.DatasetSpec) { s.Sensitive, s.L = "status", 3 }, anonymizer.ErrUnsatisfiable},
		{"no record in the years", func(s *registry.DatasetSpec) { s.ConferralYearFrom, s.ConferralYearTo = 1981, 1982 }, ErrEmptySelection},
		{"a direct identifier", func(s *registry.DatasetSpec) { s.Fields = append(s.Fields, "name") }, errPlan},
		{"a field the policy does not allow", func(s *registry.DatasetSpec) { s.Fields = append(s.Fields, "unit_name") }, errPlan},
		{"no quasi-identifier", func(s *registry.DatasetSpec) { s.Fields = []string{"status"} }, errPlan},
		{"an unknown region", func(s *registry.DatasetSpec) { s.Regions = []string{"atlantis"} }, errPlan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := base
			spec.Fields = slices.Clone(base.Fields)
			tc.edit(&spec)
			_, dir, err := build(t, f.store, testDataset(spec))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			assertNothingLeft(t, dir)
		})
	}
}

// assertNothingLeft: neither the dataset folder nor a temporary one.
func assertNothingLeft(t testing.TB, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range entries {
		t.Errorf("the build left %s behind", e.Name())
	}
}

func TestBuildInterrupted(t *testing.T) {
	f := synthStore(t, 3000)
	var vs []registry.Version
	err := f.store.Scan(context.Background(), registry.Filter{}, func(v registry.Version) error {
		vs = append(vs, v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := &listStore{versions: vs, cancelAt: len(vs) / 2, cancel: cancel}
	d := testDataset(registry.DatasetSpec{Fields: usualFields, K: 5, MaxSuppression: 0.05})
	dir := filepath.Join(t.TempDir(), d.ID)
	_, err = BuildFiles(ctx, BuildInput{Dataset: d, Key: testKey(d), Rules: defaultPolicy(t).Dataset(), Records: store, Dir: dir})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	assertNothingLeft(t, dir)
}

func TestBuildFilters(t *testing.T) {
	store := &listStore{versions: person("x", 1, nil)}
	spec := registry.DatasetSpec{Fields: []string{"gender"}, K: 1, ConferralYearFrom: 2015, ConferralYearTo: 2020,
		Levels: []string{"doctor"}, Regions: []string{"11", "northeast"}}
	if _, _, err := build(t, store, testDataset(spec)); err != nil {
		t.Fatal(err)
	}
	f := store.lastFilter
	if f.ConferralYearFrom != 2015 || f.ConferralYearTo != 2020 || !slices.Equal(f.Levels, []registry.DegreeLevel{"doctor"}) {
		t.Errorf("filter %+v does not carry the years and levels", f)
	}
	for _, u := range f.UnitCodes {
		if p := anonymizer.UnitProvince(u); p != "11" && anonymizer.ProvinceRegion(p) != "northeast" {
			t.Errorf("unit %s of province %s selected for regions 11 and northeast", u, p)
		}
	}
	if !slices.Contains(f.UnitCodes, "10001") || len(f.UnitCodes) < 20 {
		t.Errorf("regions 11 and northeast select %d units, without Peking University", len(f.UnitCodes))
	}
}

func TestReportIsSelfContained(t *testing.T) {
	f := synthStore(t, 3000)
	_, dir, err := build(t, f.store, testDataset(registry.DatasetSpec{Fields: usualFields, K: 5, MaxSuppression: 0.05}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ReportHTML))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "<rect", "birth_date", "achieved k", "expires"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://cdn", "<link"} {
		if bytes.Contains(b, []byte(bad)) {
			t.Errorf("report holds %q: it must stand alone", bad)
		}
	}
}

// TestBuildGuardsFormulaCells: values a spreadsheet would run as formulas
// reach the CSV behind a quote, the Parquet file unchanged, and reading
// the CSV back with csvio.UnguardFormula gives the values again.
func TestBuildGuardsFormulaCells(t *testing.T) {
	values := []string{`=HYPERLINK("http://evil.example","x")`, "-2+3+cmd|' /C calc'!A0", "@SUM(1,1)", "-5", "国家自然科学基金"}
	var vs []registry.Version
	for i := range 10 {
		vs = append(vs, person(fmt.Sprint(i), 1, func(r *registry.Record) {
			r.ThesisTopicSource = values[i%len(values)]
		})...)
	}
	spec := registry.DatasetSpec{Fields: []string{"gender", "thesis_topic_source"}, K: 2}
	m, dir, err := build(t, &listStore{versions: vs}, testDataset(spec))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.CSVCells, "formula") {
		t.Errorf("the manifest does not say how CSV cells are guarded: %q", m.CSVCells)
	}
	_, rows := readCSV(t, filepath.Join(dir, DataCSV))
	var pqRows [][]string
	pqFile, err := os.Open(filepath.Join(dir, DataParquet))
	if err != nil {
		t.Fatal(err)
	}
	defer pqFile.Close()
	st, _ := pqFile.Stat()
	var topic int
	if err := parquet.Read(pqFile, st.Size(), func(h, r []string) error {
		topic = slices.Index(h, "thesis_topic_source")
		pqRows = append(pqRows, slices.Clone(r))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	written := map[string]string{
		values[0]: "'" + values[0], values[1]: "'" + values[1], values[2]: "'" + values[2], "-5": "-5", values[4]: values[4],
	}
	seen := map[string]bool{}
	for _, r := range rows {
		cell := r[2]
		orig := csvio.UnguardFormula(cell)
		want, ok := written[orig]
		if !ok {
			t.Errorf("CSV cell %q reads back as %q, no value of the input", cell, orig)
			continue
		}
		if cell != want {
			t.Errorf("CSV cell for %q is %q, want %q", orig, cell, want)
		}
		seen[orig] = true
	}
	if len(seen) != len(values) {
		t.Errorf("the CSV holds %d of the %d values", len(seen), len(values))
	}
	for _, r := range pqRows {
		if !slices.Contains(values, r[topic]) {
			t.Errorf("Parquet cell %q is not an input value unchanged", r[topic])
		}
	}
}

// TestBuildReleasesNoRareValueAsIs: a certificate style held by six
// people of the registry, asked for with k = 10, does not reach the file
// as it is: every released field is generalised with the others, so the
// six are either generalised or suppressed, and no value of any column
// is held by fewer than k people.
func TestBuildReleasesNoRareValueAsIs(t *testing.T) {
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	store := inmem.New()
	g := synth.New(11)
	const rare = "2008版烫金"
	var batch []registry.Sealed
	for i := range 2000 {
		r := g.Record(i)
		registry.Normalize(&r)
		r.CertificateStyle = "2016版"
		if i%300 == 7 {
			r.CertificateStyle = rare // six people: 7, 307, …, 1507
		}
		s, err := keys.Seal(r)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, s)
	}
	if _, err := registry.Insert(context.Background(), store, testLogKey, batch, registry.Change{Actor: "test", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	fields := []string{"certificate_style", "degree_level", "gender"}
	d := testDataset(registry.DatasetSpec{Fields: fields, K: 10, MaxSuppression: 0.05})
	_, dir, err := build(t, store, d)
	if err != nil {
		t.Fatalf("BuildFiles: %v", err)
	}
	header, rows := readCSV(t, filepath.Join(dir, DataCSV))
	style := slices.Index(header, "certificate_style")
	for _, r := range rows {
		if r[style] == rare {
			t.Fatalf("a certificate style held by six people was released as it is")
		}
	}
	if got := minPeople(header, rows, fields); got < 10 {
		t.Errorf("a class of %d people, k = 10", got)
	}
}

// Deleted records (Art. 18) are in no dataset: the selection asks the
// store for filed and revoked records only.
func TestSelectionLeavesDeletedOut(t *testing.T) {
	f, err := selectionFilter(registry.DatasetSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(f.Statuses, registry.StatusDeleted) || !slices.Contains(f.Statuses, registry.StatusFiled) ||
		!slices.Contains(f.Statuses, registry.StatusRevoked) {
		t.Errorf("the selection's statuses: %v", f.Statuses)
	}
}
