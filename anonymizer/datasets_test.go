package anonymizer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
)

type memAudit struct {
	mu      sync.Mutex
	entries []registry.AuditEntry
}

func (a *memAudit) Record(e registry.AuditEntry) error {
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
	audit *memAudit
	dir   string
	now   time.Time
	mu    sync.Mutex
}

func newServiceFixture(t *testing.T, records registry.Store) *serviceFixture {
	t.Helper()
	f := &serviceFixture{audit: &memAudit{}, dir: t.TempDir(), now: time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)}
	svc, err := NewService(ServiceConfig{Store: inmem.NewDatasets(), Records: records, Policy: defaultPolicy(t),
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
		got, _ := f.svc.Store().Dataset(t.Context(), d.ID)
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
	if _, err := f.svc.OpenDownload(t.Context(), d1.ID, "pub:other", "csv"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("another contractor's download: %v", err)
	}
	dl, err := f.svc.OpenDownload(t.Context(), d1.ID, "pub:institute", "parquet")
	if err != nil {
		t.Fatal(err)
	}
	dl.File.Close()
	// A stale temporary folder of a build that died goes with the purge.
	stale := filepath.Join(f.dir, TempPrefix+"ds_dead")
	os.Mkdir(stale, 0o700)
	os.Chtimes(stale, f.now.Add(-2*time.Hour), f.now.Add(-2*time.Hour))
	f.advance(spec.Term)
	if _, err := f.svc.OpenDownload(t.Context(), d1.ID, "pub:institute", "csv"); !errors.Is(err, ErrDatasetExpired) {
		t.Errorf("download at expiry: %v, want ErrDatasetExpired", err)
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
	if _, err := f.svc.Build(t.Context(), d.ID); !errors.Is(err, ErrUnsatisfiable) {
		t.Fatalf("Build: %v, want ErrUnsatisfiable", err)
	}
	got, _ := f.svc.Store().Dataset(t.Context(), d.ID)
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
	got, _ = f.svc.Store().Dataset(t.Context(), d.ID)
	if got.Status != registry.DatasetApproved {
		t.Errorf("after an interrupted build: %s, want approved", got.Status)
	}
	if _, err := os.Stat(f.svc.Folder(d.ID)); !os.IsNotExist(err) {
		t.Errorf("an interrupted build left its folder")
	}
	if _, err := f.svc.OpenDownload(t.Context(), d.ID, "pub:institute", "csv"); !errors.Is(err, ErrDatasetNotReady) {
		t.Errorf("download of an interrupted build: %v", err)
	}
	if got, err := f.svc.Build(t.Context(), d.ID); err != nil || got.Status != registry.DatasetReady {
		t.Errorf("retry: %s %v", got.Status, err)
	}
}
