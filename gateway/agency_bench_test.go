package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/postgres"
	"github.com/degreegate/degreegate/registry/synth"
)

// The speed target: a batch of 1,000 agency queries against
// PostgreSQL with 1M records answers in ≤ 200 ms at the median. Both
// benchmarks send whole HTTP requests through Fiber in process (app.Test):
// token verification, policy, quota, lookups, masking, audit entries and
// JSON, with a fresh single-use token per batch. The audit writer is left
// out (entries are built, then dropped): its cost is the AuditWriter's
// and is measured there.
//
//	go test -run '^$' -bench AgencyBatch1000 -benchtime 50x ./gateway/
//
// Against PostgreSQL (the database's current schema is filled once with
// DEGREEGATE_BENCH_ROWS synthetic records under fixed bench keys, and
// reused by later runs):
//
//	psql -c 'CREATE SCHEMA agencybench' test
//	DEGREEGATE_BENCH_DATABASE_URL='postgres://root@127.0.0.1:5432/test?sslmode=disable&search_path=agencybench' \
//	DEGREEGATE_BENCH_ROWS=1000000 go test -run '^$' -bench AgencyBatch1000Postgres -benchtime 50x -timeout 1h ./gateway/
//
// Right after the first load, run `ANALYZE agencybench.record_versions`
// (or wait for autovacuum): without statistics the lookups by person
// take a plan a hundred times slower. The gateway may not import a
// driver, so the benchmark cannot do it itself.

// benchAuditor accepts every entry and keeps none.
type benchAuditor struct{}

func (benchAuditor) Record(context.Context, registry.AuditEntry) error        { return nil }
func (benchAuditor) RecordBatch(context.Context, []registry.AuditEntry) error { return nil }
func (benchAuditor) Depth() int64                                             { return 0 }
func (benchAuditor) Healthy() bool                                            { return true }

func BenchmarkAgencyBatch1000(b *testing.B) {
	f := newAgencyFixture(b, 20_000, fixtureOptions{})
	f.srv.deps.Audit = benchAuditor{}
	f.rewire(b)
	recs := f.records
	runAgencyBench(b, f.srv, f.issuer, len(recs), func(i int) registry.Record { return recs[i] })
}

const benchSeed = 1

func BenchmarkAgencyBatch1000Postgres(b *testing.B) {
	url := os.Getenv("DEGREEGATE_BENCH_DATABASE_URL")
	if url == "" {
		b.Skip("set DEGREEGATE_BENCH_DATABASE_URL (a schema the benchmark may fill) to run against PostgreSQL")
	}
	rows := 100_000
	if v := os.Getenv("DEGREEGATE_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("DEGREEGATE_BENCH_ROWS=%q: want a number ≥ 1000", v)
		}
		rows = n
	}
	ctx := context.Background()
	if _, err := postgres.Migrate(ctx, url); err != nil {
		b.Fatal(err)
	}
	store, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(store.Close)
	// Fixed keys, so records loaded by an earlier run can be opened.
	keys, err := registry.NewKeyring(map[string][]byte{"bench": bytes.Repeat([]byte{1}, 32)}, "bench", bytes.Repeat([]byte{2}, 32))
	if err != nil {
		b.Fatal(err)
	}
	gen := synth.New(benchSeed)
	record := func(i int) registry.Record {
		r := gen.Record(i)
		registry.Normalize(&r)
		return r
	}
	have, err := store.Count(ctx)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for from := int(have); from < rows; from += 5000 {
		batch := make([]registry.Sealed, 0, 5000)
		for i := from; i < min(from+5000, rows); i++ {
			s, err := keys.Seal(record(i))
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, s)
		}
		if _, err := registry.Insert(ctx, store, testLogKey, batch, registry.Change{Actor: "bench", At: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	if int(have) < rows {
		b.Logf("loaded records %d..%d in %s", have, rows, time.Since(start).Round(time.Second))
	}

	pol, err := policies.Default()
	if err != nil {
		b.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(crand.Reader)
	signer, err := token.NewSigner(priv)
	if err != nil {
		b.Fatal(err)
	}
	issuer, err := token.NewDevIssuer()
	if err != nil {
		b.Fatal(err)
	}
	verifier, err := token.NewVerifier(ctx, issuer.Config(), token.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Deps{
		Registry: registry.New(store, keys, testLogKey, time.Now), Policy: pol, Receipts: signer,
		Limiter: ratelimit.Unlimited{}, Audit: benchAuditor{}, AddressKey: bytes.Repeat([]byte{7}, 32),
		Tokens: verifier, Replay: token.NewMemoryReplayCache(0, nil), Quota: ratelimit.NewMemoryQuota(nil),
	})
	if err != nil {
		b.Fatal(err)
	}
	runAgencyBench(b, srv, issuer, rows, record)
}

// runAgencyBench sends batches of 1,000 queries about random records
// (one in twenty with a wrong name) and reports latency percentiles: by
// certificate number (one CurrentMany), and by identity document (one
// ByPersons).
func runAgencyBench(b *testing.B, srv *Server, issuer *token.DevIssuer, n int, record func(int) registry.Record) {
	for _, kind := range []string{"certificate", "id"} {
		b.Run(kind, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(len(kind))))
			claims := issuer.Claims(token.AudienceAgency, "bench-officer")
			claims.Org, claims.Scope = agencyOrg, agencyScopes
			lat := make([]time.Duration, 0, 1024)
			queries := make([]disclose.AgencyQuery, 1000)
			for b.Loop() {
				for i := range queries {
					r := record(rng.IntN(n))
					if rng.IntN(20) == 0 {
						r.Name = "无名氏"
					}
					if kind == "id" {
						queries[i] = qID(r, r.Name)
					} else {
						queries[i] = q(r.CertificateNumber, r.Name)
					}
				}
				body, _ := json.Marshal(agencyRequest{Purpose: agencyPurpose, Queries: queries})
				tok, err := issuer.Mint(claims, time.Hour)
				if err != nil {
					b.Fatal(err)
				}
				req := httptest.NewRequest("POST", "/v1/agency/verify", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tok)
				start := time.Now()
				resp, err := srv.App().Test(req, -1)
				if err != nil {
					b.Fatal(err)
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
				if resp.StatusCode != 200 {
					b.Fatalf("status %d: %.300s", resp.StatusCode, out)
				}
			}
			slices.Sort(lat)
			at := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(at(0.5), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
		})
	}
}
