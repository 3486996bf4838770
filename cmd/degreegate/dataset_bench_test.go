package main

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/degreegate/degreegate/datasets"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/postgres"
)

// BenchmarkDatasetBuildPostgres builds a research dataset of six
// quasi-identifiers (gender, birth date, unit, discipline, level,
// conferral date) and status, k = 10, streamed from PostgreSQL: the whole
// BuildDataset, scan, search and the CSV, Parquet, report and manifest
// written and synced.
//
// DEGREEGATE_BENCH_DATASET_DB names a database (with search_path) that
// holds the records, e.g. a million of them loaded with
//
//	degreegate migrate && degreegate gen --records 1000000 --out r.csv && degreegate import r.csv
//
// DEGREEGATE_BENCH_DATASET_ROWS=N sets the row count: an empty schema is
// migrated and filled with N synthetic records (seed 1) first, untimed;
// a schema holding another number fails, so that no figure is labelled
// with the wrong size. Unset, whatever the schema holds is built, and
// without a database the benchmark skips: loading a million records takes
// minutes.
//
// Besides time, it reports peak-MiB, the most memory the Go runtime held
// from the operating system during the builds (runtime/metrics
// /memory/classes/total:bytes, sampled every 5 ms), and on Linux
// peak-RSS-MiB, the process's high-water mark (VmHWM): run it with
// -benchtime 1x, one process per figure, so that one build is measured.
func BenchmarkDatasetBuildPostgres(b *testing.B) {
	url := os.Getenv("DEGREEGATE_BENCH_DATASET_DB")
	if url == "" {
		b.Skip("set DEGREEGATE_BENCH_DATASET_DB to a database with preloaded records")
	}
	ctx := context.Background()
	if rows := os.Getenv("DEGREEGATE_BENCH_DATASET_ROWS"); rows != "" {
		n, err := strconv.Atoi(rows)
		if err != nil || n <= 0 {
			b.Fatalf("DEGREEGATE_BENCH_DATASET_ROWS=%q: want a positive number", rows)
		}
		ensureRecords(b, url, n)
	}
	store, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	pol, err := policies.Default()
	if err != nil {
		b.Fatal(err)
	}
	spec := registry.DatasetSpec{
		Fields: []string{"gender", "birth_date", "unit_code", "discipline_code", "degree_level", "conferral_date", "status"},
		K:      10, MaxSuppression: 0.05, Method: "global", Term: 30 * 24 * time.Hour,
	}
	dir := b.TempDir()
	peak := watchPeakMemory()
	cpu0 := cpuTime()
	var m *datasets.Manifest
	for i := 0; b.Loop(); i++ {
		d := registry.Dataset{
			ID: datasets.NewID(), Contractor: "pub:bench", Purpose: "education_statistics_research",
			PolicyVersion: pol.Version(), Spec: spec, RequestedBy: "o1", RequestedAt: time.Now(),
			DatasetState: registry.DatasetState{Status: registry.DatasetBuilding, DecidedBy: "o2"},
		}
		key := sha256.Sum256([]byte(d.ID))
		m, err = datasets.BuildFiles(ctx, datasets.BuildInput{Dataset: d, Key: key[:], Rules: pol.Dataset(), Records: store, Dir: filepath.Join(dir, d.ID)})
		if err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(filepath.Join(dir, d.ID))
	}
	// CPU seconds of this process per build: with other work on the
	// machine, less noisy than the wall time (PostgreSQL's share is not
	// in it).
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	for phase, sec := range m.Phases {
		b.ReportMetric(sec, phase+"-s")
	}
	b.ReportMetric(float64(peak())/(1<<20), "peak-MiB")
	if hwm, ok := peakRSS(); ok {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	}
	b.ReportMetric(float64(m.RowsIn), "records")
	b.ReportMetric(float64(m.Suppressed), "suppressed")
	b.ReportMetric(float64(m.AchievedK), "achieved-k")
}

// ensureRecords makes the schema of url hold n records: an empty one is
// migrated and filled, any other count is an error.
func ensureRecords(b *testing.B, url string, n int) {
	b.Helper()
	ctx := context.Background()
	if _, err := postgres.Migrate(ctx, url); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var have int
	if err := conn.QueryRow(ctx, "SELECT count(DISTINCT certificate_number) FROM record_versions").Scan(&have); err != nil {
		b.Fatal(err)
	}
	switch {
	case have == n:
		return
	case have != 0:
		b.Fatalf("the schema holds %d records, not DEGREEGATE_BENCH_DATASET_ROWS=%d: use an empty schema", have, n)
	}
	store, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := loadSynthetic(ctx, store, keys, registry.NewRandomLogKey(), n, 1); err != nil {
		b.Fatal(err)
	}
	if err := store.Analyze(ctx); err != nil {
		b.Fatal(err)
	}
}

// watchPeakMemory samples the memory the runtime holds until the
// returned function is called, which returns the peak.
func watchPeakMemory() func() uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	read := func() {
		metrics.Read(sample)
		mu.Lock()
		peak = max(peak, sample[0].Value.Uint64())
		mu.Unlock()
	}
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		read()
		return peak
	}
}

// peakRSS reads the process's resident-set high-water mark (Linux).
func peakRSS() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
