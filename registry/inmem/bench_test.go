package inmem

import (
	"runtime"
	"testing"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/registrytest"
)

// filled returns a store holding samples 0..n-1, filed in batches as an
// import would.
func filled(tb testing.TB, n int) *Store {
	tb.Helper()
	s := New()
	const batch = 5000
	recs := make([]registry.Sealed, 0, batch)
	for start := 0; start < n; start += batch {
		recs = recs[:0]
		for i := start; i < min(start+batch, n); i++ {
			recs = append(recs, registrytest.SampleSealed(i))
		}
		if _, err := registry.Insert(tb.Context(), s, testLogKey, recs, testChange); err != nil {
			tb.Fatalf("Insert: %v", err)
		}
	}
	return s
}

func BenchmarkCurrent(b *testing.B) {
	const n = 100_000
	s := filled(b, n)
	certs := make([]string, 1024)
	for i := range certs {
		certs[i] = registrytest.SampleSealed(i * (n / len(certs))).CertificateNumber
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Current(b.Context(), certs[i%len(certs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkCurrentParallel shows that lookups do not serialise.
func BenchmarkCurrentParallel(b *testing.B) {
	const n = 100_000
	s := filled(b, n)
	cert := registrytest.SampleSealed(n / 2).CertificateNumber
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Current(b.Context(), cert); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkByPerson(b *testing.B) {
	const n = 100_000
	s := filled(b, n)
	pi := registrytest.SampleSealed(n / 2).PersonIndex
	b.ReportAllocs()
	for b.Loop() {
		vs, err := s.ByPerson(b.Context(), pi)
		if err != nil || len(vs) != 2 {
			b.Fatalf("ByPerson = %d versions, %v", len(vs), err)
		}
	}
}

// BenchmarkInsert files batches of 5,000 new records, the size an import
// uses, into a store that already holds 100,000.
func BenchmarkInsert(b *testing.B) {
	const size, pool = 5000, 20
	batches := make([][]registry.Sealed, pool)
	for k := range batches {
		batches[k] = make([]registry.Sealed, size)
		for i := range batches[k] {
			batches[k][i] = registrytest.SampleSealed(100_000 + k*size + i)
		}
	}
	s := filled(b, 100_000)
	k := 0
	b.ReportAllocs()
	for b.Loop() {
		if k == pool { // every pooled record is filed: start over
			b.StopTimer()
			s, k = filled(b, 100_000), 0
			b.StartTimer()
		}
		if _, err := registry.Insert(b.Context(), s, testLogKey, batches[k], testChange); err != nil {
			b.Fatal(err)
		}
		k++
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkLoad files 200,000 sample records and reports the live heap
// each costs — strings and byte slices included, as an import would keep
// them — to check the dev target (1,000,000 records in < 2 GB).
func BenchmarkLoad(b *testing.B) {
	const n = 200_000
	var perRecord float64
	for b.Loop() {
		before := liveHeap()
		s := filled(b, n)
		after := liveHeap()
		runtime.KeepAlive(s)
		perRecord = float64(after-before) / n
	}
	b.ReportMetric(perRecord, "heap-B/record")
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkScan reads every record of a 200,000-record store, as a
// dataset build does; the figure is per record.
func BenchmarkScan(b *testing.B) {
	const n = 200_000
	s := filled(b, n)
	b.ReportAllocs()
	for b.Loop() {
		seen := 0
		if err := s.Scan(b.Context(), registry.Filter{}, func(registry.Version) error { seen++; return nil }); err != nil || seen != n {
			b.Fatalf("Scan saw %d, %v", seen, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// BenchmarkAppendAuditOne is dev's audit of one public verification: one
// committed entry per AppendAudit (registry.DirectAudit), on a trail of
// 20,000 filing entries as dev starts with.
func BenchmarkAppendAuditOne(b *testing.B) {
	s := filled(b, 20_000)
	log := logged(s)
	detail := `{"result":"match","fields":["conferral_date","degree_category","degree_level","degree_type","discipline_name","kind","name","status","unit_name"],"receipt":"ZZCNXM3ZKR7SJFSU372KDYQWLQ","policy_version":"default-2025.1"}`
	entry := []registry.AuditEntry{{Actor: "public:M3ZKR7SJFSU372KD", Action: "verify.public", RecordRef: "1000142020000001",
		Purpose: "public_verification", Detail: detail}}
	b.ReportAllocs()
	for b.Loop() {
		entry[0].At = testChange.At
		entry[0].Seq, entry[0].Hash, entry[0].PrevHash = 0, nil, nil
		if err := log.AppendAudit(b.Context(), entry); err != nil {
			b.Fatal(err)
		}
	}
}
