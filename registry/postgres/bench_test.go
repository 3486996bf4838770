package postgres

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/registrytest"
	"github.com/degreegate/degreegate/translog"
)

// benchRowsEnv sets how many records the read benchmarks preload; the
// default keeps `go test -bench .` quick. The latency target is set at
// one million:
//
//	DEGREEGATE_BENCH_ROWS=1000000 go test -run '^$' -bench 'Current$' -benchtime 20000x ./registry/postgres/
const benchRowsEnv = "DEGREEGATE_BENCH_ROWS"

const importBatch = 5000

func benchRows(b *testing.B) int {
	n := 20_000
	if v := os.Getenv(benchRowsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("%s=%q: want a positive number", benchRowsEnv, v)
		}
	}
	return n
}

// preload fills a fresh store with n sample records in import-sized
// batches, amends every twentieth (so newest-version lookups meet
// histories), and returns the store and the certificate numbers. It logs
// the import rate, which is the end-to-end figure of Insert at that size.
func preload(b *testing.B, n int) (*Store, []string) {
	b.Helper()
	s, _ := newStore(b)
	ctx := context.Background()
	numbers := make([]string, 0, n)
	var spent time.Duration
	for from := 0; from < n; from += importBatch {
		batch := sampleRange(from, min(importBatch, n-from))
		for i := range batch {
			numbers = append(numbers, batch[i].CertificateNumber)
		}
		start := time.Now()
		if _, err := registry.Insert(ctx, s, testLogKey, batch, change("bench import")); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(start)
	}
	for i := 0; i < n; i += 20 {
		next := registrytest.SampleSealed(i)
		next.Status = registry.StatusRevoked
		next.Digest = slices.Concat(next.Digest[:31], []byte{next.Digest[31] ^ 1})
		if _, err := registry.Append(ctx, s, testLogKey, "record.amend", 1, next, change("bench amend")); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE record_versions"); err != nil {
		b.Fatal(err)
	}
	var heap, pk, person string
	if err := s.pool.QueryRow(ctx, `SELECT pg_size_pretty(pg_table_size('record_versions')),
		pg_size_pretty(pg_relation_size('record_versions_pkey')),
		pg_size_pretty(pg_relation_size('record_versions_person_index'))`).Scan(&heap, &pk, &person); err != nil {
		b.Fatal(err)
	}
	b.Logf("preloaded %d records: Insert at %.0f records/s; table %s, primary key %s, person index %s",
		n, float64(n)/spent.Seconds(), heap, pk, person)
	return s, numbers
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds())
	}
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

// BenchmarkCurrent measures one lookup by certificate number at a time
// and reports its latency percentiles (target: p99 < 2 ms at 1M rows).
func BenchmarkCurrent(b *testing.B) {
	testDatabaseURL(b)
	s, numbers := preload(b, benchRows(b))
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		n := numbers[rng.IntN(len(numbers))]
		start := time.Now()
		if _, err := s.Current(ctx, n); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportLatency(b, lat)
}

// BenchmarkCurrentMany measures a batch of 1,000 lookups (one query).
func BenchmarkCurrentMany(b *testing.B) {
	testDatabaseURL(b)
	s, numbers := preload(b, benchRows(b))
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	ask := make([]string, 1000)
	lat := make([]time.Duration, 0, 1<<12)
	for b.Loop() {
		for i := range ask {
			ask[i] = numbers[rng.IntN(len(numbers))]
		}
		start := time.Now()
		if _, err := s.CurrentMany(ctx, ask); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportLatency(b, lat)
}

// BenchmarkByPerson measures a holder's lookup through the blind index.
func BenchmarkByPerson(b *testing.B) {
	testDatabaseURL(b)
	n := benchRows(b)
	s, _ := preload(b, n)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	lat := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		person := registrytest.SampleSealed(rng.IntN(n)).PersonIndex
		start := time.Now()
		vs, err := s.ByPerson(ctx, person)
		lat = append(lat, time.Since(start))
		if err != nil || len(vs) == 0 {
			b.Fatalf("ByPerson = %d versions, %v", len(vs), err)
		}
	}
	reportLatency(b, lat)
}

// BenchmarkInsert files fresh batches of importBatch records into a
// growing table and reports records per second (target: 100,000).
func BenchmarkInsert(b *testing.B) {
	testDatabaseURL(b)
	s, _ := newStore(b)
	ctx := context.Background()
	next, total := 0, 0
	for b.Loop() {
		b.StopTimer()
		batch := sampleRange(next, importBatch)
		next += importBatch
		b.StartTimer()
		if _, err := registry.Insert(ctx, s, testLogKey, batch, change("bench import")); err != nil {
			b.Fatal(err)
		}
		total += len(batch)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkCopyBaseline is the floor Insert is measured against: the same
// rows COPYed into a bare table of the same columns, with no index, no
// trigger, no existence check and no transaction of ours around it.
func BenchmarkCopyBaseline(b *testing.B) {
	testDatabaseURL(b)
	s, _ := newStore(b)
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, "CREATE TABLE bare (LIKE record_versions)"); err != nil {
		b.Fatal(err)
	}
	next, total := 0, 0
	for b.Loop() {
		b.StopTimer()
		batch := sampleRange(next, importBatch)
		next += importBatch
		rows := make([]int, len(batch))
		for i := range rows {
			rows[i] = i
		}
		src := &versionSource{batch: batch, rows: rows, change: change("bench import"), next: -1}
		b.StartTimer()
		if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"bare"}, copyColumns, src); err != nil {
			b.Fatal(err)
		}
		total += len(batch)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAuditWriter measures the audit trail's sustained append rate
// through group commit, as a gateway logs personal-data accesses: many
// goroutines record and wait, one writer per process commits their groups. Two
// writers on two pools stand for two gateway replicas sharing the chain.
func BenchmarkAuditWriter(b *testing.B) {
	s, url := newStore(b)
	other, err := Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer other.Close()
	writers := []*registry.AuditWriter{
		registry.NewAuditWriter(registry.Committing{AuditLog: s, Key: testLogKey}, registry.AuditWriterOptions{}),
		registry.NewAuditWriter(registry.Committing{AuditLog: other, Key: testLogKey}, registry.AuditWriterOptions{}),
	}
	start := time.Now()
	var next atomic.Int64
	// Each goroutine waits for its commit, as a request does: 64 per
	// core stand for a gateway's concurrent requests under load.
	b.SetParallelism(64)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := writers[next.Add(1)%2]
			e := registry.AuditEntry{Actor: "public:3f9a", Action: "verify.public", RecordRef: "1000142020123456", Purpose: "verification"}
			if err := w.Record(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for _, w := range writers {
		if err := w.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
	if n, err := registry.VerifyChain(context.Background(), s); err != nil || n != int64(b.N) {
		b.Fatalf("after the run: %d entries verified (want %d), err %v", n, b.N, err)
	}
}

// BenchmarkAppendAudit measures one AppendAudit of a gateway-sized batch
// (256 public verifications, about 50 ms of a busy replica): the
// store's own cost per entry, in time and allocations, without the
// writer's batching around it.
func BenchmarkAppendAudit(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	const batch = 256
	entries := make([]registry.AuditEntry, batch)
	detail := `{"result":"match","fields":["conferral_date","degree_category","degree_level","degree_type","discipline_name","kind","name","status","unit_name"],"receipt":"ZZCNXM3ZKR7SJFSU372KDYQWLQ","policy_version":"default-2025.1"}`
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at := time.Now().UTC()
		for k := range entries {
			entries[k] = registry.AuditEntry{At: at, Actor: "public:M3ZKR7SJFSU372KD", Action: "verify.public",
				RecordRef: "10" + strconv.Itoa(1e13+i*batch+k), Purpose: "public_verification", Detail: detail}
		}
		if err := s.AppendAudit(ctx, committed(entries)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkVerifyTrail is `audit verify --checkpoint` over a trail of
// DEGREEGATE_BENCH_TRAIL entries (default 200,000; issue 15's target is
// 10M in ≤ 60 s and < 500 MB): the chain, every leaf recomputed with the
// key and compared with the log's, and the root held to a checkpoint.
// Filling the trail is not timed; run it under /usr/bin/time -v for the
// memory.
func BenchmarkVerifyTrail(b *testing.B) {
	n := 200_000
	if v := os.Getenv("DEGREEGATE_BENCH_TRAIL"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	s, _ := newStore(b)
	ctx := context.Background()
	detail := `{"result":"match","fields":["conferral_date","degree_category","degree_level","degree_type","discipline_name","kind","name","status","unit_name"],"receipt":"ZZCNXM3ZKR7SJFSU372KDYQWLQ","policy_version":"default-2025.1"}`
	const batch = 4096
	entries := make([]registry.AuditEntry, batch)
	for done := 0; done < n; done += batch {
		k := min(batch, n-done)
		at := time.Now().UTC()
		for i := range k {
			entries[i] = registry.AuditEntry{At: at, Actor: "public:M3ZKR7SJFSU372KD", Action: "verify.public",
				RecordRef: "10" + strconv.Itoa(1e13+done+i), Purpose: "public_verification", Detail: detail}
		}
		if err := s.AppendAudit(ctx, committed(entries[:k])); err != nil {
			b.Fatal(err)
		}
	}
	head, err := s.AuditHead(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cp := translog.Checkpoint{Origin: "bench", Size: head.LogSize, Root: head.LogRoot}
	b.ResetTimer()
	for b.Loop() {
		got, err := registry.VerifyTrail(ctx, s, nil, testLogKey, []translog.Checkpoint{cp})
		if err != nil || got != int64(n) {
			b.Fatalf("%d entries verified, want %d: %v", got, n, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
