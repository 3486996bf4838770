// Package gateway is degreegate's HTTP front door on Fiber: public
// verification, holder self-service, the agency interface and the
// operational endpoints. It sees storage only through the registry's
// interfaces and shared state only through small interfaces of its own,
// never a driver.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// Auditor is disclose.Auditor with what readiness and metrics read:
// Record and RecordBatch return only once the entries are stored, and
// personal-data routes answer 503 rather than serve unaudited when they
// fail. *registry.AuditWriter (serve's group commit) and
// registry.DirectAudit (dev's trail in memory) are Auditors.
type Auditor interface {
	disclose.Auditor
	Depth() int64
	Healthy() bool
}

// Deps are everything the server needs; main wires them.
type Deps struct {
	Logger   *slog.Logger
	Registry *registry.Registry
	Policy   *policies.Policy
	// Receipts signs what public verification showed.
	Receipts *token.Signer
	// Limiter applies the policy's rate limits; ratelimit.Unlimited only
	// for `dev --unlimited`, and then no limit is taken, counted in
	// metrics or advertised in RateLimit-* headers.
	Limiter ratelimit.Limiter
	// Proxies whose X-Forwarded-For is believed.
	Proxies ratelimit.Proxies
	// PublicURL is the gateway's public address (scheme://host[:port]),
	// which the web page's QR codes link to. Empty: each request's Host
	// names it, which suits a developer machine; a deployment sets it so
	// that a printed QR code leads to the registry's own address whatever
	// Host the printing request sent.
	PublicURL string
	Audit     Auditor
	// Tokens verifies bearer tokens; nil leaves token routes answering 503.
	Tokens TokenVerifier
	// Replay refuses a replayed jti where the policy demands one.
	Replay token.ReplayCache
	// Codes keeps holders' share codes.
	Codes registry.ShareCodeStore
	// AuditSearch reads the trail for holders' access logs and officials.
	AuditSearch registry.AuditSearcher
	// Log serves the transparency log's checkpoints and proofs; nil: the
	// /v1/log routes answer 503.
	Log TransparencyLog
	// Datasets runs research dataset requests, approvals and downloads
	// (*datasets.Service); nil leaves the dataset routes answering 503.
	Datasets DatasetService
	// Filing is the filing workflow (*filing.Desk); nil leaves the
	// /v1/filing routes answering 503.
	Filing FilingDesk
	// FilingOverdue reads the workflow's overdue counts by state, as
	// last counted, for /metrics; nil: no such series.
	FilingOverdue func() map[string]int
	// Quota counts agency items per organisation and day across replicas
	// (an adapter over redisstate.Quota; ratelimit.NewMemoryQuota in dev). While the
	// policy sets a daily quota and Quota is nil, agency calls answer 503.
	Quota Quota
	// AddressKey keys the hash that stands for a client address in the
	// audit trail (the address itself is personal data).
	AddressKey []byte
	// Ready reports whether dependencies can serve (store reachable).
	Ready func(ctx context.Context) error
	// Degraded reports shared state (Redis) unreachable: limits are local.
	Degraded func() bool
	Now      func() time.Time
	// QuietAccessLog turns the per-request log line off (load tests).
	QuietAccessLog bool
	// PublicMetrics serves /metrics on the public listener too (dev);
	// otherwise metrics are only MetricsHandler's, for a listener of
	// their own.
	PublicMetrics bool
	// CacheStats reports the record cache's lookups so far (serve wraps
	// the store in gateway/recordcache); nil when there is no cache.
	CacheStats func() (hits, misses int64)
	// Pools reports the connection pools (PostgreSQL, Redis); nil:
	// none.
	Pools func() []PoolStats
	// RequestTimeout bounds every request: its UserContext ends then, so
	// no store, Redis or key-fetch call outlives it, and a request cut off
	// answers 503 /problems/timeout. Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// DefaultRequestTimeout is Deps.RequestTimeout when unset: well above
// the slowest route at its largest batch, well below the clients' own
// patience and the write timeout.
const DefaultRequestTimeout = 5 * time.Second

// Server is the gateway's HTTP server.
type Server struct {
	app     *fiber.App
	deps    Deps
	metrics *Metrics
	// disclose is where every answer about a person or a record is
	// decided and audited; handlers only translate.
	disclose *disclose.Service
	public   publicPolicy
	limits   limitBook
	openAPI  []byte
	// scratch holds *disclose.Scratch: public verification's buffers.
	scratch sync.Pool
	// limitsOff: Deps.Limiter is ratelimit.Unlimited (dev --unlimited).
	limitsOff bool
	// receiptKeys are the published receipt keys, as a verifier reads
	// them, for the page that checks receipts.
	receiptKeys *token.KeySet
	// sheetReads bounds the workbooks read at once: a read may allocate
	// some 40 MiB (gateway/sheet's TestReadBoundsMemory), so the
	// server's share stays bounded however many uploads arrive.
	sheetReads chan struct{}
	// batchReads bounds the filing batches made at once: each reads its
	// records file (up to filing.MaxRecordsFile) into memory.
	batchReads chan struct{}
}

// maxSheetReads is how many XLSX uploads are read at once; the rest
// wait, within their request's deadline.
const maxSheetReads = 4

// maxBatchReads is how many filing batches are made at once.
const maxBatchReads = 2

// New builds the server and registers every route (routes.go). The
// policy's fixed decisions are taken here once, not per request.
func New(d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Ready == nil {
		d.Ready = func(context.Context) error { return nil }
	}
	if d.Degraded == nil {
		d.Degraded = func() bool { return false }
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = DefaultRequestTimeout
	}
	switch {
	case d.Registry == nil, d.Policy == nil, d.Receipts == nil, d.Limiter == nil, d.Audit == nil:
		return nil, errors.New("gateway: registry, policy, receipt signer, limiter and audit are required")
	case len(d.AddressKey) < 16:
		return nil, errors.New("gateway: address key must be at least 16 bytes")
	}
	if d.PublicURL != "" {
		u, err := ParsePublicURL(d.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("gateway: public URL: %w", err)
		}
		d.PublicURL = u
	}
	var s *Server
	app := fiber.New(fiber.Config{
		AppName:               "degreegate",
		DisableStartupMessage: true,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           60 * time.Second,
		BodyLimit:             1 << 20,
		ReadBufferSize:        8 << 10,
		// s is set below, before anything is served.
		ErrorHandler: problemHandler(d.Logger, d.PublicURL, func(c *fiber.Ctx) string { return s.baseURL(c) }),
	})
	doc, err := buildOpenAPI()
	if err != nil {
		return nil, fmt.Errorf("gateway: openapi: %w", err)
	}
	_, limitsOff := d.Limiter.(ratelimit.Unlimited)
	s = &Server{app: app, deps: d, openAPI: doc, limitsOff: limitsOff, sheetReads: make(chan struct{}, maxSheetReads),
		batchReads: make(chan struct{}, maxBatchReads)}
	if err := s.wire(); err != nil {
		return nil, err
	}
	s.scratch.New = func() any { return new(disclose.Scratch) }
	src := MetricSources{
		AuditQueueDepth: func() float64 { return float64(d.Audit.Depth()) },
		Degraded:        d.Degraded,
		RecordCache:     d.CacheStats,
		Log:             d.Log,
		Pools:           d.Pools,
		FilingOverdue:   d.FilingOverdue,
	}
	if grouped, ok := d.Audit.(interface{ Stats() registry.AuditStats }); ok {
		src.AuditCommits = grouped.Stats
	}
	s.metrics = NewMetrics(src)
	s.routes()
	return s, nil
}

// wire derives from the dependencies what requests use: the policy's
// limits and public decision, and the disclosure service. Tests that
// replace a dependency call it again.
func (s *Server) wire() error {
	s.limits = newLimitBook(s.deps.Policy)
	pub, err := newPublicPolicy(s.deps.Policy, s.limits)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	s.public = pub
	var origin string
	var proofs disclose.Prover
	if s.deps.Log != nil {
		origin, proofs = s.deps.Log.Origin(), s.deps.Log
	}
	svc, err := disclose.New(disclose.Deps{
		Registry: s.deps.Registry, Audit: s.deps.Audit, Receipts: s.deps.Receipts,
		Codes: s.deps.Codes, AuditSearch: s.deps.AuditSearch, Policy: s.deps.Policy,
		ActorKey: s.deps.AddressKey, Now: s.deps.Now, Logger: s.deps.Logger,
		LogOrigin: origin, Proofs: proofs,
	})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	s.disclose = svc
	jwks, err := json.Marshal(s.deps.Receipts.JWKS())
	if err == nil {
		s.receiptKeys, err = token.ParseJWKS(jwks)
	}
	if err != nil {
		return fmt.Errorf("gateway: receipt keys: %w", err)
	}
	return nil
}

// App exposes the Fiber app for in-process tests (app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Serve listens on ln until ctx ends, then stops accepting and drains
// in-flight requests for up to grace before returning.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if err := s.app.ShutdownWithTimeout(grace); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return <-errc
}
