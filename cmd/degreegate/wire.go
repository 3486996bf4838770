package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/degreegate/degreegate/anonymizer"
	"github.com/degreegate/degreegate/filing"
	"github.com/degreegate/degreegate/filing/webhook"
	"github.com/degreegate/degreegate/gateway"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// gatewayStore is what the gateway keeps in the registry's store: the
// records, the audit trail, share codes, audit searches and the filing
// workflow. *postgres.Store and *inmem.Store are both one.
type gatewayStore interface {
	registry.Store
	registry.AuditLog
	registry.ShareCodeStore
	registry.AuditSearcher
	filing.Store
}

// unitRegions places units in provinces by the embedded table of
// degree-granting units, for the filing workflow's scope.
type unitRegions struct{}

func (unitRegions) UnitProvince(unit string) string { return anonymizer.UnitProvince(unit) }

// adapters are what differs between dev and serve: in-memory storage and
// limits in one, PostgreSQL and Redis in the other. Everything above them
// is built by buildGateway for both.
type adapters struct {
	store gatewayStore
	// publicMetrics: /metrics on the public listener too (dev, where
	// everything is on one machine for one developer). serve keeps it on
	// --metrics-addr alone.
	publicMetrics bool
	// groupCommit: the store commits to disk (PostgreSQL), so requests'
	// audit entries share transactions (registry.AuditWriter). Without
	// it (dev's trail in memory) each request appends its own entries
	// (registry.DirectAudit). Either way no answer leaves before its
	// entries are stored.
	groupCommit bool
	// records, when set, reads the records instead of store (serve: the
	// read-through gateway/recordcache over it).
	records registry.Store
	// onChanged hears of each version the filing workflow files over a
	// filed record (serve: the cache and the broadcast); nil without a
	// cache.
	onChanged func(certificateNumber string)
	keys      *registry.Keyring // seals the records
	datasets  registry.DatasetStore
	// datasetKeys seals each dataset's pseudonym key.
	datasetKeys *registry.Keyring
	datasetsDir string
	log         logKeys
	checkpoints string // the folder of the log's checkpoints
	receipts    *token.Signer
	addressKey  []byte
	limiter     ratelimit.Limiter
	replay      token.ReplayCache
	quota       gateway.Quota
	tokens      gateway.TokenVerifier // nil: token routes answer 503
	// cacheStats reports records' cache lookups; nil without a cache.
	cacheStats func() (hits, misses int64)
	// pools reports the connection pools; nil without any (dev).
	pools    func() []gateway.PoolStats
	ready    func(ctx context.Context) error
	degraded func() bool // nil: never
}

// buildGateway builds the gateway over a: the auditor (serve's group
// commit closed last), the dataset service and its worker, and the server. Everything
// it starts is l's to stop.
func buildGateway(cfg *Config, policy *policies.Policy, a adapters, quietLog bool, l *lifecycle, log *slog.Logger) (*gateway.Server, error) {
	// Every entry is committed to the log before the store sees it.
	trail := registry.Committing{AuditLog: a.store, Key: a.log.leaf}
	var audit gateway.Auditor = registry.DirectAudit{Log: trail}
	if a.groupCommit {
		w := registry.NewAuditWriter(trail, registry.AuditWriterOptions{Logger: log})
		l.onClose(func() error {
			// Requests drained and workers stopped, each having waited
			// for its commit: nothing is left but the writer itself,
			// stopped here before the store it writes to closes.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := w.Close(ctx); err != nil {
				return fmt.Errorf("close audit writer: %w", err)
			}
			return nil
		})
		audit = w
	}
	// Research datasets: built, offered and purged by this process; with
	// several replicas the folder must be shared storage.
	research, err := newDatasetService(a.store, a.datasets, a.datasetKeys, policy, audit, a.datasetsDir, log)
	if err != nil {
		return nil, err
	}
	l.Go(func(ctx context.Context) { research.Run(ctx, time.Minute) })
	checkpoints, err := registry.NewCheckpointer(a.store, a.log.signer, a.log.verifier, a.checkpoints, log)
	if err != nil {
		return nil, err
	}
	l.Go(func(ctx context.Context) { checkpoints.Run(ctx, time.Second) })
	proxies, err := ratelimit.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("DEGREEGATE_TRUSTED_PROXIES: %w", err)
	}
	records := a.records
	if records == nil {
		records = a.store
	}
	// The workflow reads the store, not the cache: its checks across
	// units must see what is filed now.
	desk := filing.NewDesk(a.store, a.store, a.keys, a.log.leaf, unitRegions{}, time.Now)
	if a.onChanged != nil {
		desk.OnChanged(a.onChanged)
	}
	overdue := &overdueCounts{store: a.store, log: log}
	if cfg.FilingWebhook != "" {
		var err error
		if overdue.webhook, err = webhook.New(cfg.FilingWebhook, []byte(cfg.FilingWebhookSecret)); err != nil {
			return nil, err
		}
	}
	l.Go(func(ctx context.Context) { overdue.run(ctx, time.Minute) })
	l.Go(func(ctx context.Context) { purgeStaged(ctx, a.store, time.Hour, log) })
	return gateway.New(gateway.Deps{
		Logger:      log,
		Registry:    registry.New(records, a.keys, a.log.leaf, time.Now),
		Policy:      policy,
		Receipts:    a.receipts,
		Limiter:     a.limiter,
		Proxies:     proxies,
		PublicURL:   cfg.PublicURL,
		Audit:       audit,
		Tokens:      a.tokens,
		Replay:      a.replay,
		Quota:       a.quota,
		Codes:       a.store,
		AuditSearch: a.store,
		Datasets:    research,
		Filing:      desk,
		// Counted in the background: a scrape never waits for it.
		FilingOverdue:  overdue.read,
		AddressKey:     a.addressKey,
		Ready:          a.ready,
		Degraded:       a.degraded,
		QuietAccessLog: quietLog,
		PublicMetrics:  a.publicMetrics,
		CacheStats:     a.cacheStats,
		Pools:          a.pools,
		RequestTimeout: cfg.RequestTimeout,
		Log:            checkpoints,
	})
}

// serveGateway serves srv on cfg.Addr (and /metrics and pprof on
// cfg.MetricsAddr) until
// ctx ends, then drains requests for up to grace. announce prints what a
// user needs once the address is known. The caller closes l after.
func serveGateway(ctx context.Context, srv *gateway.Server, cfg *Config, grace time.Duration, l *lifecycle, log *slog.Logger, announce func(base string) error) error {
	if cfg.MetricsAddr != "" {
		if err := serveOperations(cfg.MetricsAddr, srv.MetricsHandler(), l, log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := announce("http://" + ln.Addr().String()); err != nil {
		ln.Close()
		return err
	}
	return srv.Serve(ctx, ln, grace)
}

// serveOperations serves metrics and net/http/pprof on addr, a loopback
// address (the settings check it), never on the public listener:
// profiles show internals, goroutine dumps can show request data in
// flight, and metrics show the service's load. It stops when l closes.
func serveOperations(addr string, metrics http.Handler, l *lifecycle, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	l.Go(func(ctx context.Context) {
		served := make(chan struct{})
		go func() {
			defer close(served)
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Warn("operations listener stopped", "err", err)
			}
		}()
		<-ctx.Done()
		_ = srv.Close()
		<-served
	})
	return nil
}

// overdueCounts counts the filing workflow's overdue records and requests
// once a period, for /metrics (a scrape reads the last count and never
// waits for the database), and tells the webhook, if any, what became
// overdue since the last count. The first count after a start tells it
// everything overdue; with several replicas, each tells it, with
// deliveries of their own.
type overdueCounts struct {
	store   filing.Store
	webhook *webhook.Sender // nil: none
	log     *slog.Logger
	last    atomic.Pointer[map[string]int]
	prev    []filing.OverdueCount
}

func (o *overdueCounts) run(ctx context.Context, every time.Duration) {
	for {
		o.count(ctx, every)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func (o *overdueCounts) count(ctx context.Context, every time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, every)
	defer cancel()
	now := time.Now()
	cur, err := filing.SummariseOverdue(ctx, o.store, filing.Query{}, now)
	if err != nil {
		if ctx.Err() == nil {
			o.log.Warn("filing: overdue records not counted", "err", err)
		}
		return
	}
	m := make(map[string]int, len(filing.Waiting()))
	for _, st := range filing.Waiting() {
		m[string(st)] = 0
	}
	for _, c := range cur {
		m[string(c.State)] += c.Count
	}
	o.last.Store(&m)
	newly := filing.NewlyOverdue(o.prev, cur)
	o.prev = cur
	if o.webhook != nil && len(newly) > 0 {
		if err := o.webhook.Send(ctx, webhook.Overdue(now, newly)); err != nil {
			o.log.Warn("filing: the overdue webhook was not told", "err", err)
		}
	}
}

// read is the last count; nothing until the first.
func (o *overdueCounts) read() map[string]int {
	if m := o.last.Load(); m != nil {
		return *m
	}
	return nil
}

// purgeStaged removes, once a period, the filing workflow's staged
// uploads older than filing.StagedLifetime.
func purgeStaged(ctx context.Context, store filing.Store, every time.Duration, log *slog.Logger) {
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := store.PurgeStaged(cctx, time.Now().Add(-filing.StagedLifetime))
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("filing: old staged uploads not purged", "err", err)
		case n > 0:
			log.Info("filing: old staged uploads purged", "uploads", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
