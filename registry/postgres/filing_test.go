package postgres

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/degreegate/degreegate/filing"
	"github.com/degreegate/degreegate/filing/filingtest"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordbin"
	"github.com/degreegate/degreegate/registry/registrytest"
)

// TestFilingContract runs the filing workflow's suite, each subtest on a
// freshly migrated schema of its own.
func TestFilingContract(t *testing.T) {
	testDatabaseURL(t)
	t.Parallel()
	filingtest.Run(t, func(t *testing.T) filingtest.Backend {
		s, _ := newStore(t)
		return s
	})
}

// BenchmarkFilingBatch: upload and accept a batch of 10,000 records
// (issue 17's targets: each ≤ 2 s).
func BenchmarkFilingBatch(b *testing.B) {
	testDatabaseURL(b)
	filingtest.Benchmark(b, 10_000, func(tb testing.TB) filingtest.Backend {
		s, _ := newStore(tb)
		return s
	})
}

// benchFilingRowsEnv sets how many records BenchmarkFilingQueue
// preloads; the default puts 1M in the queried province (issue 17's
// target: its review queue answers in ≤ 50 ms p99).
//
//	go test -run '^$' -bench FilingQueue -benchtime 2000x ./registry/postgres/
const benchFilingRowsEnv = "DEGREEGATE_BENCH_FILING_ROWS"

type benchRegions map[string]string

func (r benchRegions) UnitProvince(u string) string { return r[u] }

// BenchmarkFilingQueue asks a province with 1M records in its region
// for its queue: the first page of its submissions, a page deep in
// them, the first page over every state, one unit's submissions, and a
// unit's own drafts. The records are preloaded by SQL (1,000 batches of
// 50 units, four in five of them in Beijing, one record a second):
// 5 % submitted, 2 % drafts, 1 % returned, the rest filed.
func BenchmarkFilingQueue(b *testing.B) {
	testDatabaseURL(b)
	n := 1_250_000
	if v := os.Getenv(benchFilingRowsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("%s=%q: want a number ≥ 1000", benchFilingRowsEnv, v)
		}
	}
	s, u := newStore(b)
	ctx := context.Background()
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		b.Fatal(err)
	}
	sealed := registrytest.SampleSealed(0)
	body := recordbin.AppendRecord(nil, &sealed.Record)
	conn := adminConn(b, u)
	t0 := time.Now()
	mustExec(b, conn, `INSERT INTO filing_batches (id, unit_code, province, collector, resolution_number,
		resolution_effective, resolution_sha256, resolution_document, created_at)
		SELECT 'b' || g, (10001 + g % 50)::text, CASE WHEN g % 5 = 0 THEN '31' ELSE '11' END, 'c', 'R',
			date '2026-01-01', sha256('x'), '\x25504446'::bytea, timestamptz '2026-01-01'
		FROM generate_series(0, 999) g`)
	mustExec(b, conn, `INSERT INTO filing_records (batch_id, certificate_number, unit_code, province, state, since,
		actor, reason, person_index, key_id, secret, digest, body)
		SELECT 'b' || (g % 1000), lpad(g::text, 16, '0'), (10001 + g % 50)::text,
			CASE WHEN g % 5 = 0 THEN '31' ELSE '11' END,
			CASE WHEN g % 20 = 7 THEN 'submitted' WHEN g % 50 = 3 THEN 'draft' WHEN g % 100 = 11 THEN 'returned' ELSE 'filed' END,
			timestamptz '2026-01-01' + g * interval '1 second', 'a', '', $1, $2, $3, $4, $5
		FROM generate_series(0, $6::int - 1) g`, sealed.PersonIndex, sealed.KeyID, sealed.Secret, sealed.Digest, body, n)
	mustExec(b, conn, `ANALYZE filing_batches, filing_records`)
	b.Logf("preloaded %d records in %s", n, time.Since(t0).Round(time.Second))

	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	desk := filing.NewDesk(s, s, keys, registry.NewRandomLogKey(), benchRegions{}, func() time.Time { return now })
	beijing := filing.Actor{Subject: "bj", Kind: filing.Province, Code: "11"}
	unit := filing.Actor{Subject: "u", Kind: filing.Unit, Code: "10004", Duties: []filing.Duty{filing.Collector}}
	submitted := []filing.State{filing.Submitted}
	deep := &filing.Item{Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n/2) * time.Second)}
	cases := []struct {
		name string
		a    filing.Actor
		q    filing.Query
	}{
		{"province-submitted-first", beijing, filing.Query{States: submitted}},
		{"province-submitted-deep", beijing, filing.Query{States: submitted, After: deep}},
		{"province-all-states", beijing, filing.Query{}},
		{"province-one-unit", beijing, filing.Query{States: submitted, Unit: "10008"}},
		{"unit-drafts", unit, filing.Query{States: []filing.State{filing.Draft, filing.Checked, filing.Returned}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t := time.Now()
				page, err := desk.Queue(ctx, c.a, c.q)
				lat = append(lat, time.Since(t))
				if err != nil || len(page) != filing.DefaultQueue {
					b.Fatalf("Queue: %d items, %v", len(page), err)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
