package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/degreegate/degreegate/anonymizer"
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
// already holds the records, e.g. a million of them loaded with
//
//	degreegate migrate && degreegate gen --records 1000000 --out r.csv && degreegate import r.csv
//
// Unset, the benchmark skips: loading a million records takes minutes.
func BenchmarkDatasetBuildPostgres(b *testing.B) {
	url := os.Getenv("DEGREEGATE_BENCH_DATASET_DB")
	if url == "" {
		b.Skip("set DEGREEGATE_BENCH_DATASET_DB to a database with preloaded records")
	}
	ctx := context.Background()
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
	var m *anonymizer.DatasetManifest
	for i := 0; b.Loop(); i++ {
		d := registry.Dataset{
			ID: anonymizer.NewDatasetID(), Contractor: "pub:bench", Purpose: "education_statistics_research",
			PolicyVersion: pol.Version(), Spec: spec, RequestedBy: "o1", RequestedAt: time.Now(),
			Key: make([]byte, 32), DatasetState: registry.DatasetState{Status: registry.DatasetBuilding, DecidedBy: "o2"},
		}
		d.Key[0] = byte(i)
		m, err = anonymizer.BuildDataset(ctx, anonymizer.BuildInput{Dataset: d, Rules: pol.Dataset(), Records: store, Dir: filepath.Join(dir, d.ID)})
		if err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(filepath.Join(dir, d.ID))
	}
	b.ReportMetric(float64(m.RowsIn), "records")
	b.ReportMetric(float64(m.Suppressed), "suppressed")
	b.ReportMetric(float64(m.AchievedK), "achieved-k")
}
