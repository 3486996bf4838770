package datasets

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/anonymizer"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
)

type memAudit struct {
	mu      sync.Mutex
	entries []registry.AuditEntry
}

func (a *memAudit) Record(_ context.Context, e registry.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	return nil
}

func (a *memAudit) actions() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := map[string]int{}
	for _, e := range a.entries {
		m[e.Action]++
	}
	return m
}

type serviceFixture struct {
	svc   *Service
	keys  *registry.Keyring
	audit *memAudit
	dir   string
	now   time.Time
	mu    sync.Mutex
}

func newServiceFixture(t *testing.T, records registry.Store) *serviceFixture {
	return newServiceFixtureOn(t, records, inmem.NewDatasets())
}

func newServiceFixtureOn(t *testing.T, records registry.Store, store registry.DatasetStore) *serviceFixture {
	t.Helper()
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	f := &serviceFixture{keys: keys, audit: &memAudit{}, dir: t.TempDir(), now: time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)}
	svc, err := NewService(Config{Store: store, Records: records, Keys: keys, Policy: defaultPolicy(t),
		Audit: f.audit, Dir: f.dir, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *serviceFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *serviceFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *serviceFixture) approved(t *testing.T, spec registry.DatasetSpec) registry.Dataset {
	t.Helper()
	d, err := f.svc.Request(t.Context(), Request{Contractor: "pub:institute", Purpose: "education_statistics_research", Spec: spec, Official: "official-1"})
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if _, err := f.svc.Decide(t.Context(), Decision{ID: d.ID, Official: "official-1", Approve: true}); !errors.Is(err, ErrSelfDecision) {
		t.Fatalf("self-approval: %v, want ErrSelfDecision", err)
	}
	if d, err = f.svc.Decide(t.Context(), Decision{ID: d.ID, Official: "official-2", Approve: true}); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return d
}

func TestServiceLifecycleAndTrace(t *testing.T) {
	fx := synthStore(t, 3000)
	f := newServiceFixture(t, fx.store)
	spec := registry.DatasetSpec{Fields: usualFields, K: 5, MaxSuppression: 0.05, Term: 10 * 24 * time.Hour}
	d1 := f.approved(t, spec)
	d2 := f.approved(t, spec)
	built, err := f.svc.BuildPending(t.Context())
	if err != nil || len(built) != 2 {
		t.Fatalf("BuildPending: %v %v", built, err)
	}
	for _, d := range []registry.Dataset{d1, d2} {
		got, _ := f.svc.Dataset(t.Context(), d.ID)
		if got.Status != registry.DatasetReady || !got.ExpiresAt.Equal(f.now.Add(spec.Term)) {
			t.Fatalf("after the build: %s expiring %s", got.Status, got.ExpiresAt)
		}
	}
	// Trace: the whole CSV, the Parquet, and an excerpt of three rows
	// with the header gone each name their dataset, and only it.
	csv1 := filepath.Join(f.svc.Folder(d1.ID), DataCSV)
	raw, _ := os.ReadFile(csv1)
	lines := strings.Split(string(raw), "\n")
	excerpt := filepath.Join(t.TempDir(), "excerpt.txt")
	os.WriteFile(excerpt, []byte(strings.Join(lines[100:103], "\n")), 0o600)
	for path, want := range map[string]string{
		csv1: d1.ID, filepath.Join(f.svc.Folder(d2.ID), DataParquet): d2.ID, excerpt: d1.ID,
	} {
		res, err := f.svc.Trace(t.Context(), path, "official-3")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Matches) != 1 || res.Matches[0].Dataset.ID != want || res.Matches[0].Dataset.Contractor != "pub:institute" {
			t.Errorf("trace of %s: %+v, want only %s", filepath.Base(path), res.Matches, want)
		}
	}
	// Downloads: only the contractor's, only until expiry.
	if _, err := f.svc.OpenDownload(t.Context(), d1.ID, Downloader{Org: "pub:other"}, "csv"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("another contractor's download: %v", err)
	}
	dl, err := f.svc.OpenDownload(t.Context(), d1.ID, Downloader{Org: "pub:institute"}, "parquet")
	if err != nil {
		t.Fatal(err)
	}
	dl.File.Close()
	// A stale temporary folder of a build that died goes with the purge.
	stale := filepath.Join(f.dir, TempPrefix+"ds_dead")
	os.Mkdir(stale, 0o700)
	os.Chtimes(stale, f.now.Add(-2*time.Hour), f.now.Add(-2*time.Hour))
	f.advance(spec.Term)
	if _, err := f.svc.OpenDownload(t.Context(), d1.ID, Downloader{Org: "pub:institute"}, "csv"); !errors.Is(err, ErrExpired) {
		t.Errorf("download at expiry: %v, want ErrExpired", err)
	}
	purged, err := f.svc.Purge(t.Context())
	if err != nil || len(purged) != 2 {
		t.Fatalf("Purge: %v %v", purged, err)
	}
	entries, _ := os.ReadDir(f.dir)
	if len(entries) != 0 {
		t.Errorf("after the purge the folder holds %d entries", len(entries))
	}
	// Purged datasets are still traced: their keys stay.
	if res, err := f.svc.Trace(t.Context(), excerpt, "official-3"); err != nil || len(res.Matches) != 1 {
		t.Errorf("trace after the purge: %+v %v", res, err)
	}
	for _, a := range []string{"dataset.request", "dataset.approve", "dataset.build", "dataset.purge", "dataset.trace"} {
		if f.audit.actions()[a] == 0 {
			t.Errorf("no %s on the trail", a)
		}
	}
}

func TestServiceBuildFailures(t *testing.T) {
	fx := synthStore(t, 3000)
	f := newServiceFixture(t, fx.store)
	// Unmeetable: failed, with the reason, for good.
	d := f.approved(t, registry.DatasetSpec{Fields: usualFields, K: 5000, MaxSuppression: 0.05, Term: time.Hour})
	if _, err := f.svc.Build(t.Context(), d.ID); !errors.Is(err, anonymizer.ErrUnsatisfiable) {
		t.Fatalf("Build: %v, want ErrUnsatisfiable", err)
	}
	got, _ := f.svc.Dataset(t.Context(), d.ID)
	if got.Status != registry.DatasetFailed || !strings.Contains(got.Failure, "fewer than k") {
		t.Errorf("status %s, failure %q", got.Status, got.Failure)
	}
	// Interrupted: handed back as approved, nothing on disk, and the
	// retry succeeds.
	d = f.approved(t, registry.DatasetSpec{Fields: usualFields, K: 5, MaxSuppression: 0.05, Term: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.svc.Build(ctx, d.ID); err == nil {
		t.Fatal("a cancelled build succeeded")
	}
	got, _ = f.svc.Dataset(t.Context(), d.ID)
	if got.Status != registry.DatasetApproved {
		t.Errorf("after an interrupted build: %s, want approved", got.Status)
	}
	if _, err := os.Stat(f.svc.Folder(d.ID)); !os.IsNotExist(err) {
		t.Errorf("an interrupted build left its folder")
	}
	if _, err := f.svc.OpenDownload(t.Context(), d.ID, Downloader{Org: "pub:institute"}, "csv"); !errors.Is(err, ErrNotReady) {
		t.Errorf("download of an interrupted build: %v", err)
	}
	if got, err := f.svc.Build(t.Context(), d.ID); err != nil || got.Status != registry.DatasetReady {
		t.Errorf("retry: %s %v", got.Status, err)
	}
}

// TestDatasetKeyNeverStoredInClear: what the store holds of a dataset's
// pseudonym key is not the key the files were made with, and without the
// keyring it yields nothing: neither as a key, nor under another data
// key, nor copied onto another dataset. The service opens it to trace.
func TestDatasetKeyNeverStoredInClear(t *testing.T) {
	fx := synthStore(t, 3000)
	f := newServiceFixture(t, fx.store)
	spec := registry.DatasetSpec{Fields: usualFields, K: 5, MaxSuppression: 0.05, Term: 10 * 24 * time.Hour}
	d := f.approved(t, spec)
	other := f.approved(t, spec)
	if _, err := f.svc.BuildPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	stored, err := f.svc.Dataset(t.Context(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.KeyID != f.keys.ActiveKeyID() || len(stored.SealedKey) != registry.SealedDatasetKeySize {
		t.Fatalf("stored key: id %q, %d bytes; want the active data key's seal", stored.KeyID, len(stored.SealedKey))
	}
	key, err := f.keys.OpenDatasetKey(d.ID, stored.KeyID, stored.SealedKey)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.SealedKey, key) || bytes.Contains(stored.SealedKey, key[:16]) {
		t.Fatal("the stored bytes hold the key in clear")
	}
	// The file's pseudonyms are the opened key's, not the stored bytes'.
	tokens, err := TraceTokens(filepath.Join(f.svc.Folder(d.ID), DataCSV))
	if err != nil || len(tokens) == 0 {
		t.Fatalf("tokens: %d, %v", len(tokens), err)
	}
	recognised := func(k []byte) int {
		p, err := anonymizer.NewPseudonyms(k)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, tok := range tokens {
			if p.Recognise(tok) {
				n++
			}
		}
		return n
	}
	if n := recognised(key); n != len(tokens) {
		t.Errorf("the opened key recognises %d of %d pseudonyms", n, len(tokens))
	}
	for name, k := range map[string][]byte{"stored bytes": stored.SealedKey, "stored bytes after the nonce": stored.SealedKey[12:]} {
		if n := recognised(k); n != 0 {
			t.Errorf("the %s recognise %d pseudonyms", name, n)
		}
	}
	// Another keyring (a database without the keys folder) cannot open
	// it, nor can a sealed key moved onto another dataset.
	stranger, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.OpenDatasetKey(d.ID, stored.KeyID, stored.SealedKey); err == nil {
		t.Error("another keyring opened the key")
	}
	if _, err := f.keys.OpenDatasetKey(other.ID, stored.KeyID, stored.SealedKey); err == nil {
		t.Error("the sealed key opened as another dataset's")
	}
	// Trace opens it and names the dataset.
	res, err := f.svc.Trace(t.Context(), filepath.Join(f.svc.Folder(d.ID), DataCSV), "official-3")
	if err != nil || len(res.Matches) != 1 || res.Matches[0].Dataset.ID != d.ID {
		t.Fatalf("trace: %+v %v", res, err)
	}
	// Without the keyring the service refuses rather than store a clear key.
	keyless, err := NewService(Config{Store: f.svc.cfg.Store, Records: fx.store, Policy: defaultPolicy(t), Audit: f.audit, Dir: f.dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyless.Request(t.Context(), Request{Contractor: "pub:institute", Purpose: "education_statistics_research", Spec: spec, Official: "official-1"}); !errors.Is(err, ErrNoKeys) {
		t.Errorf("Request without keys: %v, want ErrNoKeys", err)
	}
	if _, err := keyless.Trace(t.Context(), filepath.Join(f.svc.Folder(d.ID), DataCSV), "official-3"); !errors.Is(err, ErrNoKeys) {
		t.Errorf("Trace without keys: %v, want ErrNoKeys", err)
	}
}

// legacyStore presents some datasets as a store does that still holds
// their keys in clear (rows from before sealing), and seals them on
// request, once.
type legacyStore struct {
	inner  *inmem.Datasets
	mu     sync.Mutex
	clear  map[string][]byte // id → clear key
	sealed map[string][]byte // id → sealed key written by SealLegacyKey
	keyIDs map[string]string
}

func (s *legacyStore) view(d registry.Dataset) registry.Dataset {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.clear[d.ID]; ok {
		d.KeyID, d.SealedKey = "", k
	} else if k, ok := s.sealed[d.ID]; ok {
		d.KeyID, d.SealedKey = s.keyIDs[d.ID], k
	}
	return d
}

func (s *legacyStore) PutDataset(ctx context.Context, d registry.Dataset) error {
	return s.inner.PutDataset(ctx, d)
}

func (s *legacyStore) Dataset(ctx context.Context, id string) (registry.Dataset, error) {
	d, err := s.inner.Dataset(ctx, id)
	return s.view(d), err
}

func (s *legacyStore) Datasets(ctx context.Context, q registry.DatasetQuery) ([]registry.Dataset, error) {
	ds, err := s.inner.Datasets(ctx, q)
	for i := range ds {
		ds[i] = s.view(ds[i])
	}
	return ds, err
}

func (s *legacyStore) UpdateDataset(ctx context.Context, id string, from registry.DatasetStatus, next registry.DatasetState) (registry.Dataset, error) {
	d, err := s.inner.UpdateDataset(ctx, id, from, next)
	return s.view(d), err
}

func (s *legacyStore) SealLegacyKey(_ context.Context, id, keyID string, sealed []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clear[id]; !ok {
		return registry.ErrDatasetTransition
	}
	delete(s.clear, id)
	s.sealed[id], s.keyIDs[id] = sealed, keyID
	return nil
}

// TestSealLegacyKeys: a dataset whose key the store holds in clear (from
// before keys were sealed) still builds and traces with that key, and
// SealLegacyKeys replaces it with its seal, after which it traces the
// same; a second run has nothing left to seal.
func TestSealLegacyKeys(t *testing.T) {
	fx := synthStore(t, 3000)
	store := &legacyStore{inner: inmem.NewDatasets(), clear: map[string][]byte{}, sealed: map[string][]byte{}, keyIDs: map[string]string{}}
	f := newServiceFixtureOn(t, fx.store, store)
	spec := registry.DatasetSpec{Fields: usualFields, K: 5, MaxSuppression: 0.05, Term: 10 * 24 * time.Hour}
	legacy, current := f.approved(t, spec), f.approved(t, spec)
	clearKey := bytes.Repeat([]byte{0x42}, registry.DatasetKeySize)
	store.clear[legacy.ID] = clearKey
	if _, err := f.svc.BuildPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(f.svc.Folder(legacy.ID), DataCSV)
	tokens, err := TraceTokens(file)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := anonymizer.NewPseudonyms(clearKey)
	if len(tokens) == 0 || !p.Recognise(tokens[0]) {
		t.Fatal("the legacy dataset was not built with its clear key")
	}
	traces := func(when string) {
		t.Helper()
		res, err := f.svc.Trace(t.Context(), file, "official-3")
		if err != nil || len(res.Matches) != 1 || res.Matches[0].Dataset.ID != legacy.ID {
			t.Fatalf("trace %s: %+v %v", when, res, err)
		}
	}
	traces("before sealing")
	n, err := f.svc.SealLegacyKeys(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("SealLegacyKeys = %d, %v; want 1 sealed", n, err)
	}
	got, _ := store.Dataset(t.Context(), legacy.ID)
	if got.KeyID == "" || bytes.Contains(got.SealedKey, clearKey[:16]) {
		t.Fatalf("after sealing the store holds key id %q and the clear key", got.KeyID)
	}
	if k, err := f.keys.OpenDatasetKey(legacy.ID, got.KeyID, got.SealedKey); err != nil || !bytes.Equal(k, clearKey) {
		t.Fatalf("the seal opens to another key: %v", err)
	}
	traces("after sealing")
	if n, err := f.svc.SealLegacyKeys(t.Context()); err != nil || n != 0 {
		t.Errorf("second SealLegacyKeys = %d, %v; want nothing to do", n, err)
	}
	if cur, _ := store.Dataset(t.Context(), current.ID); cur.KeyID == "" {
		t.Error("a dataset requested with sealing reads back unsealed")
	}
}

// TestOfficialsAreIssuerAndSubject: an official is their token's issuer
// and subject, compared exactly: the same subject from another identity
// provider, or in another case, is another official and may decide; the
// same pair may not.
func TestOfficialsAreIssuerAndSubject(t *testing.T) {
	fx := synthStore(t, 300)
	spec := registry.DatasetSpec{Fields: usualFields, K: 5, MaxSuppression: 0.05, Term: 10 * 24 * time.Hour}
	requester := OfficialID("https://idp.office.example/", "official-1")
	for _, tc := range []struct {
		name    string
		decider string
		self    bool
	}{
		{"the same issuer and subject", OfficialID("https://idp.office.example/", "official-1"), true},
		{"the same subject from another issuer", OfficialID("https://idp.other.example/", "official-1"), false},
		{"the subject in another case", OfficialID("https://idp.office.example/", "Official-1"), false},
		{"the issuer without its slash", OfficialID("https://idp.office.example", "official-1"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newServiceFixture(t, fx.store)
			d, err := f.svc.Request(t.Context(), Request{Contractor: "pub:institute", Purpose: "education_statistics_research", Spec: spec, Official: requester})
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.svc.Decide(t.Context(), Decision{ID: d.ID, Official: tc.decider, Approve: true})
			if self := errors.Is(err, ErrSelfDecision); self != tc.self || (!tc.self && err != nil) {
				t.Errorf("Decide by %q of %q's request: %v, want self-decision %v", tc.decider, requester, err, tc.self)
			}
		})
	}
}
