package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// benchAuditRowsEnv sets how many audit entries BenchmarkSearchAudit
// preloads; the default keeps `go test -bench .` quick. The indexes are
// meant for millions:
//
//	DEGREEGATE_BENCH_AUDIT_ROWS=2000000 go test -run '^$' -bench SearchAudit ./registry/postgres/
const benchAuditRowsEnv = "DEGREEGATE_BENCH_AUDIT_ROWS"

// The shape of the preloaded trail: one entry every 30 s over its span,
// so a day holds 2,880; refs shared by about three entries each.
const (
	benchAuditStep = 30 * time.Second
	benchOrgs      = 200
	benchRefsPer   = 3
)

var benchAuditStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// preloadAudit writes n synthetic entries straight into audit_entries
// (one INSERT … SELECT: the chain is not what is measured, and the
// triggers allow inserts) and analyses the table. Actors: 60 % keyed
// public addresses, 20 % organisations (benchOrgs of them), 10 % holders,
// 10 % officials; at drifts a little against seq, as a batched writer's
// does.
func preloadAudit(b *testing.B, n int) *Store {
	b.Helper()
	s, _ := newStore(b)
	ctx := context.Background()
	start := time.Now()
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_entries (seq, at, actor, action, record_ref, purpose, detail, prev_hash, hash)
		SELECT g,
			$2::timestamptz + g * $3::interval - (g % 7) * interval '1 second',
			CASE WHEN g % 10 < 6 THEN 'public:hmac-' || (g % 5000)
			     WHEN g % 10 < 8 THEN 'org:agency-' || (g % $4)
			     WHEN g % 10 = 8 THEN 'holder:' || (g % 100000)
			     ELSE 'office:official-' || (g % 20) END,
			(ARRAY['verify', 'holder.view', 'code.view', 'verify.batch'])[1 + g % 4],
			lpad(((g::bigint * 7919) % ($1 / $5 + 1))::text, 16, '0'),
			CASE WHEN g % 3 = 0 THEN '招聘核验' WHEN g % 3 = 1 THEN '' ELSE '入学资格审查' END,
			'{}', '\x00'::bytea, '\x00'::bytea
		FROM generate_series(1, $1::bigint) AS g`,
		n, benchAuditStart, fmt.Sprintf("%d seconds", int(benchAuditStep.Seconds())), benchOrgs, benchRefsPer)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE audit_entries"); err != nil {
		b.Fatal(err)
	}
	var table, ref, actor, hours string
	if err := s.pool.QueryRow(ctx, `SELECT pg_size_pretty(pg_table_size('audit_entries')),
		pg_size_pretty(pg_relation_size('audit_entries_record_ref')),
		pg_size_pretty(pg_relation_size('audit_entries_actor')),
		pg_size_pretty(pg_total_relation_size('audit_hours'))`).Scan(&table, &ref, &actor, &hours); err != nil {
		b.Fatal(err)
	}
	b.Logf("preloaded %d audit entries in %s: table %s; indexes record_ref %s, actor %s; audit_hours %s",
		n, time.Since(start).Round(time.Millisecond), table, ref, actor, hours)
	return s
}

func BenchmarkSearchAudit(b *testing.B) {
	testDatabaseURL(b)
	n := 200_000
	if v := os.Getenv(benchAuditRowsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("%s=%q: want a number of at least 1000", benchAuditRowsEnv, v)
		}
	}
	s := preloadAudit(b, n)
	span := time.Duration(n) * benchAuditStep
	day := func(r *rand.Rand) (time.Time, time.Time) {
		from := benchAuditStart.Add(time.Duration(r.Int64N(int64(span - 24*time.Hour))))
		return from, from.Add(24 * time.Hour)
	}
	ref := func(r *rand.Rand) string { return fmt.Sprintf("%016d", r.IntN(n/benchRefsPer)) }
	org := func(r *rand.Rand) string { return fmt.Sprintf("org:agency-%d", r.IntN(benchOrgs)) }
	cases := []struct {
		name  string
		query func(r *rand.Rand) registry.AuditQuery
	}{
		{"HolderThreeRecords", func(r *rand.Rand) registry.AuditQuery {
			return registry.AuditQuery{RecordRefs: []string{ref(r), ref(r), ref(r)}}
		}},
		{"OneRecord", func(r *rand.Rand) registry.AuditQuery {
			return registry.AuditQuery{RecordRefs: []string{ref(r)}}
		}},
		{"OrgOneDay", func(r *rand.Rand) registry.AuditQuery {
			from, to := day(r)
			return registry.AuditQuery{Actor: org(r), From: from, To: to}
		}},
		{"OrgAllTimeDeepPage", func(r *rand.Rand) registry.AuditQuery {
			return registry.AuditQuery{Actor: org(r), AfterSeq: r.Int64N(int64(n))}
		}},
		{"OrgPrefixOneDay", func(r *rand.Rand) registry.AuditQuery {
			from, to := day(r)
			return registry.AuditQuery{ActorPrefix: "org:", From: from, To: to}
		}},
		{"OneDay", func(r *rand.Rand) registry.AuditQuery {
			from, to := day(r)
			return registry.AuditQuery{From: from, To: to}
		}},
		{"OneDayPurposeAction", func(r *rand.Rand) registry.AuditQuery {
			from, to := day(r)
			return registry.AuditQuery{From: from, To: to, Purpose: "入学资格审查", Actions: []string{"verify", "verify.batch"}}
		}},
		{"OrgPrefixAllTime", func(r *rand.Rand) registry.AuditQuery {
			return registry.AuditQuery{ActorPrefix: "org:", AfterSeq: r.Int64N(int64(n))}
		}},
		{"SinceAMonthBeforeTheEnd", func(r *rand.Rand) registry.AuditQuery {
			return registry.AuditQuery{From: benchAuditStart.Add(span - 30*24*time.Hour)}
		}},
		{"WholeSpanDeepPage", func(r *rand.Rand) registry.AuditQuery {
			return registry.AuditQuery{From: benchAuditStart, To: benchAuditStart.Add(span), AfterSeq: r.Int64N(int64(n))}
		}},
		{"PurposeNobodyUsed", func(r *rand.Rand) registry.AuditQuery {
			return registry.AuditQuery{Purpose: "statistics"}
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			b.Logf("plan: %s", explainSearch(b, s, tc.query(r)))
			rows := 0
			for b.Loop() {
				got, err := s.SearchAudit(b.Context(), tc.query(r))
				if err != nil {
					b.Fatal(err)
				}
				rows += len(got)
			}
			b.ReportMetric(float64(rows)/float64(b.N), "entries/op")
		})
	}
}

// explainSearch returns the plan of q's query, on one line.
func explainSearch(b *testing.B, s *Store, q registry.AuditQuery) string {
	b.Helper()
	span, none, err := s.searchSpan(b.Context(), q)
	if err != nil || none {
		return fmt.Sprintf("nothing to read (%v)", err)
	}
	sql, args := auditSearchSQL(q, span)
	rows, err := s.pool.Query(b.Context(), "EXPLAIN (COSTS OFF) "+sql, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			b.Fatal(err)
		}
		lines = append(lines, strings.TrimSpace(line))
	}
	return strings.Join(lines, " | ")
}
