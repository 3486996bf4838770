package gateway

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/degreegate/degreegate/registry"
)

// Metrics are the gateway's Prometheus series. Labels carry route
// patterns, never paths (a path may hold a share code) and never clients.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	limiter  *prometheus.CounterVec

	// The series each request touches, found once: WithLabelValues
	// hashes its labels and locks the vector on every call, and on the
	// public route that cost more than the limiter it counts.
	requestsBy children[requestLabels, prometheus.Counter]
	latencyBy  children[string, prometheus.Observer]
	limiterBy  children[limitLabels, prometheus.Counter]
}

type requestLabels struct {
	route, method string
	status        int
}

type limitLabels struct {
	rule    string
	allowed bool
}

// children memoises a vector's series by their labels. Keys must be
// strings the caller owns for good (route patterns, constants), never
// views of a request's buffers. Label sets are few, so the map stays
// small.
type children[K comparable, M any] struct {
	mu     sync.RWMutex
	m      map[K]M
	series func(K) M
}

func newChildren[K comparable, M any](series func(K) M) children[K, M] {
	return children[K, M]{m: map[K]M{}, series: series}
}

func (c *children[K, M]) get(k K) M {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		return v
	}
	v = c.series(k)
	c.m[k] = v
	return v
}

// MetricSources are the live values the gateway reports as gauges.
type MetricSources struct {
	AuditQueueDepth func() float64
	// AuditCommits reads group commit's counts; nil when the auditor
	// does not group (dev).
	AuditCommits func() registry.AuditStats
	Degraded     func() bool // shared state (Redis) unreachable
	// RecordCache counts the record cache's lookups; nil without one.
	RecordCache func() (hits, misses int64)
	// Log reads the transparency log's checkpointer; nil without one.
	Log TransparencyLog
	// Pools reads the connection pools; nil without any.
	Pools func() []PoolStats
	// FilingOverdue reads the filing workflow's overdue counts by state,
	// as last counted; nil without the workflow.
	FilingOverdue func() map[string]int
}

// PoolStats is one connection pool's state.
type PoolStats struct {
	Name        string // e.g. "postgres", "postgres_audit", "redis"
	InUse, Idle int64
	Max         int64
	// Waits counts acquisitions that found no idle connection and
	// waited (or dialled), since the start.
	Waits int64
}

// NewMetrics registers the series on a registry of its own, so tests and
// several servers in one process never collide.
func NewMetrics(src MetricSources) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "degreegate_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "degreegate_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		limiter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "degreegate_rate_limit_decisions_total", Help: "Rate-limit decisions by rule and outcome.",
		}, []string{"rule", "decision"}),
	}
	m.requestsBy = newChildren(func(l requestLabels) prometheus.Counter {
		return m.requests.WithLabelValues(l.route, l.method, strconv.Itoa(l.status))
	})
	m.latencyBy = newChildren(func(route string) prometheus.Observer { return m.latency.WithLabelValues(route) })
	m.limiterBy = newChildren(func(l limitLabels) prometheus.Counter {
		d := "allowed"
		if !l.allowed {
			d = "refused"
		}
		return m.limiter.WithLabelValues(l.rule, d)
	})
	reg.MustRegister(m.requests, m.latency, m.limiter,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	if src.AuditQueueDepth != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "degreegate_audit_queue_depth", Help: "Audit entries waiting for their commit (their requests wait too).",
		}, src.AuditQueueDepth))
	}
	if src.AuditCommits != nil {
		// Group commit's work, read from the writer's own counters.
		for _, c := range []struct {
			name, help string
			value      func(registry.AuditStats) float64
		}{
			{"degreegate_audit_commits_total", "Audit trail commits (each stores one group of requests' entries).",
				func(s registry.AuditStats) float64 { return float64(s.Commits) }},
			{"degreegate_audit_committed_entries_total", "Audit entries committed.",
				func(s registry.AuditStats) float64 { return float64(s.Entries) }},
			{"degreegate_audit_commit_failures_total", "Audit commits that failed; their requests answered 503.",
				func(s registry.AuditStats) float64 { return float64(s.Failures) }},
			{"degreegate_audit_commit_seconds_total", "Time spent committing audit entries.",
				func(s registry.AuditStats) float64 { return s.CommitTime.Seconds() }},
		} {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
				func() float64 { return c.value(src.AuditCommits()) }))
		}
	}
	if src.Degraded != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "degreegate_degraded", Help: "1 while shared state (Redis) is unreachable and limits are local only.",
		}, func() float64 {
			if src.Degraded() {
				return 1
			}
			return 0
		}))
	}
	if src.RecordCache != nil {
		// The cache counts for itself; the series read its counters.
		for _, result := range []string{"hit", "miss"} {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "degreegate_cache_lookups_total", Help: "Record cache lookups by result.",
				ConstLabels: prometheus.Labels{"cache": "record", "result": result},
			}, func() float64 {
				hits, misses := src.RecordCache()
				if result == "hit" {
					return float64(hits)
				}
				return float64(misses)
			}))
		}
	}
	if src.Pools != nil {
		reg.MustRegister(poolCollector{src.Pools})
	}
	if src.FilingOverdue != nil {
		reg.MustRegister(overdueCollector{src.FilingOverdue})
	}
	if src.Log != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "degreegate_log_checkpoint_size", Help: "Entries covered by the newest signed checkpoint of the transparency log.",
		}, func() float64 {
			c, _, err := src.Log.Latest()
			if err != nil {
				return 0
			}
			return float64(c.Size)
		}))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "degreegate_log_checkpoints_signed_total", Help: "Checkpoints of the transparency log signed and kept.",
		}, func() float64 { signed, _ := src.Log.Stats(); return float64(signed) }))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "degreegate_log_checkpoint_failures_total", Help: "Checkpoints not signed because the store's tree does not extend the last one kept (rolled back or rewritten).",
		}, func() float64 { _, failures := src.Log.Stats(); return float64(failures) }))
	}
	return m
}

// RecordLimit counts one rate-limit decision.
func (m *Metrics) RecordLimit(rule string, allowed bool) {
	m.limiterBy.get(limitLabels{rule, allowed}).Inc()
}

// MetricsHandler serves the Prometheus series, for the operations
// listener (and the public one where Deps.PublicMetrics allows).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) observe(route, method string, status int, d time.Duration) {
	m.requestsBy.get(requestLabels{route, method, status}).Inc()
	m.latencyBy.get(route).Observe(d.Seconds())
}

// overdueCollector reports the filing workflow's overdue counts.
type overdueCollector struct{ read func() map[string]int }

var filingOverdue = prometheus.NewDesc("degreegate_filing_overdue",
	"Records and requests of the filing workflow waiting past their deadline, by state (counted once a minute).", []string{"state"}, nil)

func (overdueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- filingOverdue }

func (o overdueCollector) Collect(ch chan<- prometheus.Metric) {
	for state, n := range o.read() {
		ch <- prometheus.MustNewConstMetric(filingOverdue, prometheus.GaugeValue, float64(n), state)
	}
}

// poolCollector reports every pool at each scrape.
type poolCollector struct{ read func() []PoolStats }

var (
	poolConns = prometheus.NewDesc("degreegate_pool_connections", "Connections of a pool by state (in_use, idle) and its maximum (max).", []string{"pool", "state"}, nil)
	poolWaits = prometheus.NewDesc("degreegate_pool_waits_total", "Acquisitions that found no idle connection.", []string{"pool"}, nil)
)

func (poolCollector) Describe(ch chan<- *prometheus.Desc) { ch <- poolConns; ch <- poolWaits }

func (p poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range p.read() {
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(st.InUse), st.Name, "in_use")
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(st.Idle), st.Name, "idle")
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(st.Max), st.Name, "max")
		ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(st.Waits), st.Name)
	}
}
