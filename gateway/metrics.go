package gateway

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the gateway's Prometheus series. Labels carry route
// patterns, never paths (a path may hold a share code) and never clients.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	limiter  *prometheus.CounterVec
	cache    *prometheus.CounterVec
}

// MetricSources are the live values the gateway reports as gauges.
type MetricSources struct {
	AuditQueueDepth func() float64
	Degraded        func() bool // shared state (Redis) unreachable
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
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "degreegate_cache_lookups_total", Help: "Record cache lookups by result.",
		}, []string{"cache", "result"}),
	}
	reg.MustRegister(m.requests, m.latency, m.limiter, m.cache,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src.AuditQueueDepth != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "degreegate_audit_queue_depth", Help: "Audit entries accepted but not yet stored.",
		}, src.AuditQueueDepth))
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
	return m
}

// RecordLimit counts one rate-limit decision.
func (m *Metrics) RecordLimit(rule string, allowed bool) {
	d := "allowed"
	if !allowed {
		d = "refused"
	}
	m.limiter.WithLabelValues(rule, d).Inc()
}

// RecordCache counts one cache lookup.
func (m *Metrics) RecordCache(cache string, hit bool) {
	r := "miss"
	if hit {
		r = "hit"
	}
	m.cache.WithLabelValues(cache, r).Inc()
}

func (m *Metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}

func (m *Metrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}
