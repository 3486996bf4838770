package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/degreegate/degreegate/gateway"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/recordcache"
	"github.com/degreegate/degreegate/gateway/redisstate"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/postgres"
)

// serveConfig is the configuration of `degreegate serve`: DESIGN.md's
// environment, each also a flag, and a few tuning flags.
type serveConfig struct {
	addr           string
	db             dbConfig
	redis          redisConfig
	policy         string
	trustedIssuers string
	trustedProxies string
	publicURL      string
	dbPool         int
	cacheSize      int
	cacheTTL       time.Duration
	lookupQueries  int
	grace          time.Duration
	accessLog      bool
	debugAddr      string
}

// redisConfig is the Redis that serve and revoke share: one prefix per
// deployment, so that several deployments (or tests) can share a server.
type redisConfig struct {
	url    string
	prefix string
}

func (c *redisConfig) register(fs *flag.FlagSet, e env) {
	fs.StringVar(&c.url, "redis-url", e.getenv("REDIS_URL"), "Redis for shared limits, replay state and revocation broadcasts (env REDIS_URL)")
	fs.StringVar(&c.prefix, "redis-prefix", "degreegate:", "prefix of every Redis key and channel; the same for every replica of one deployment")
}

func runServe(ctx context.Context, args []string, e env) error {
	fs := newFlags("serve", e)
	var c serveConfig
	fs.StringVar(&c.addr, "addr", ":8080", "listen address")
	c.db.register(fs, e, true)
	c.redis.register(fs, e)
	fs.StringVar(&c.policy, "policy", e.getenv("DEGREEGATE_POLICY"), "policy file (env DEGREEGATE_POLICY); the embedded default when empty")
	fs.StringVar(&c.trustedIssuers, "trusted-issuers", e.getenv("DEGREEGATE_TRUSTED_ISSUERS"), "trusted token issuers file (env DEGREEGATE_TRUSTED_ISSUERS); without it token routes answer 503")
	fs.StringVar(&c.publicURL, "public-url", e.getenv("DEGREEGATE_PUBLIC_URL"), "the gateway's public address, scheme://host[:port], for the web page's QR codes (env DEGREEGATE_PUBLIC_URL); without it they follow each request's Host")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", e.getenv("DEGREEGATE_TRUSTED_PROXIES"), "CIDRs whose X-Forwarded-For is believed (env DEGREEGATE_TRUSTED_PROXIES)")
	fs.IntVar(&c.dbPool, "db-pool", 0, "PostgreSQL connections (default: the URL's pool_max_conns, else 4 per CPU, 4 to 32)")
	fs.IntVar(&c.cacheSize, "cache-size", recordcache.DefaultSize, "records kept in the public verification cache")
	fs.DurationVar(&c.cacheTTL, "cache-ttl", recordcache.DefaultTTL, "how long a cached record is served (revocations are broadcast and show at once)")
	fs.IntVar(&c.lookupQueries, "lookup-queries", recordcache.DefaultLoaders, "store queries run at once for public lookups; misses arriving meanwhile are batched into the next (raise it for a distant database)")
	fs.DurationVar(&c.grace, "grace", 20*time.Second, "on SIGTERM, how long in-flight requests may take to finish")
	fs.BoolVar(&c.accessLog, "access-log", true, "log one JSON line per request (route, status, latency; never client data)")
	fs.StringVar(&c.debugAddr, "debug-addr", "", "serve Go's pprof profiles here, e.g. 127.0.0.1:6060 (loopback only: they reveal internals)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"serve takes no arguments, only flags"}
	}
	return c.run(ctx, e)
}

// servedKeys are the secrets serve needs, loaded before anything connects.
type servedKeys struct {
	ring    *registry.Keyring
	receipt *token.Signer
}

// loadServeKeys reads the keys folder; every error names what is missing
// and never prints a key.
func loadServeKeys(dir string, getenv func(string) string) (servedKeys, error) {
	if dir == "" {
		return servedKeys{}, fmt.Errorf("no keys folder: set DEGREEGATE_KEYS_DIR or --keys-dir to the folder `degreegate keys init` wrote (%s, %s, %s)",
			registry.ReceiptSigningFile, registry.DataKeysFile, registry.IndexKeyFile)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return servedKeys{}, fmt.Errorf("keys folder %s (DEGREEGATE_KEYS_DIR) does not exist or is not a readable folder", dir)
	}
	ring, err := registry.LoadKeyring(dir, getenv)
	if err != nil {
		return servedKeys{}, err
	}
	priv, err := registry.LoadReceiptKey(dir)
	if err != nil {
		return servedKeys{}, err
	}
	signer, err := token.NewSigner(priv)
	if err != nil {
		return servedKeys{}, fmt.Errorf("receipt-signing key: %w", err)
	}
	return servedKeys{ring: ring, receipt: signer}, nil
}

// deriveSecret derives a secret for one purpose from the blind-index key
// without exposing it: the keyring's keyed hash of a label that no
// identity document type can carry. Every replica derives the same value.
func deriveSecret(ring *registry.Keyring, purpose string) []byte {
	return ring.PersonIndex(registry.IDType("degreegate-derived-secret"), purpose)
}

// poolURL returns the database URL with an explicit pool size: the
// URL's own pool_max_conns if it sets one, else n, else a default for
// this machine. It also returns the size.
func poolURL(dbURL string, n int) (string, int, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return "", 0, errors.New("DATABASE_URL is not a valid PostgreSQL connection string")
	}
	if strings.Contains(dbURL, "pool_max_conns") {
		return dbURL, int(cfg.MaxConns), nil
	}
	if n <= 0 {
		n = min(max(4*runtime.GOMAXPROCS(0), 4), 32)
	}
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		u, err := url.Parse(dbURL)
		if err != nil {
			return "", 0, errors.New("DATABASE_URL is not a valid URL")
		}
		q := u.Query()
		q.Set("pool_max_conns", strconv.Itoa(n))
		u.RawQuery = q.Encode()
		return u.String(), n, nil
	}
	return dbURL + " pool_max_conns=" + strconv.Itoa(n), n, nil // key=value form
}

// quotaAdapter makes redisstate.Quota the gateway's Quota: a limit below
// 1 means no quota (allowed, not counted), as gateway.Quota says.
type quotaAdapter struct{ q *redisstate.Quota }

func (a quotaAdapter) Take(ctx context.Context, org string, n, limit int64) (ratelimit.QuotaDecision, error) {
	if limit < 1 {
		return ratelimit.QuotaDecision{Allowed: true, Limit: limit}, nil
	}
	d, err := a.q.Take(ctx, org, n, limit)
	return ratelimit.QuotaDecision(d), err
}

func (a quotaAdapter) Refund(ctx context.Context, org string, n int64, day string) error {
	return a.q.Refund(ctx, org, n, day)
}

// run checks what needs no network first (keys, configuration, policy),
// then opens in order — token issuers, PostgreSQL, Redis and its
// background loops, the audit writer, the listener — and closes in
// reverse: on ctx's end it stops accepting, drains requests, flushes the
// audit trail, stops the Redis loops, closes Redis, then the pool.
// Nothing served goes unaudited.
func (c serveConfig) run(ctx context.Context, e env) error {
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	fail := func(err error) error { return fmt.Errorf("serve: %w", err) }

	keys, err := loadServeKeys(c.db.keysDir, e.getenv)
	if err != nil {
		return fail(err)
	}
	if err := c.db.requireDatabase(); err != nil {
		return err
	}
	if c.redis.url == "" {
		return usageError{"no Redis: set REDIS_URL or --redis-url (serve shares rate limits, token replay state and revocations through it; `degreegate dev` runs without)"}
	}
	policy, err := loadPolicy(c.policy)
	if err != nil {
		return fail(err)
	}
	proxies, err := ratelimit.ParseProxies(c.trustedProxies)
	if err != nil {
		return fail(fmt.Errorf("DEGREEGATE_TRUSTED_PROXIES: %w", err))
	}
	if c.publicURL == "" {
		log.Warn("no public URL (DEGREEGATE_PUBLIC_URL): the web page's QR codes link to the Host each request names")
	} else if _, err := gateway.ParsePublicURL(c.publicURL); err != nil {
		return fail(fmt.Errorf("DEGREEGATE_PUBLIC_URL: %w", err))
	}
	dbURL, poolSize, err := poolURL(c.db.databaseURL, c.dbPool)
	if err != nil {
		return fail(err)
	}
	if _, err := redisstate.Options(c.redis.url); err != nil {
		return fail(err)
	}

	// Background loops (token key refresh, limiter settlement, revocation
	// subscription) outlive ctx: they must keep running while requests
	// drain, and stop only after.
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG() // on early returns; normally stopped earlier, below
	var loops sync.WaitGroup
	var tokens gateway.TokenVerifier
	if c.trustedIssuers != "" {
		cfg, err := token.LoadConfig(c.trustedIssuers)
		if err != nil {
			return fail(fmt.Errorf("DEGREEGATE_TRUSTED_ISSUERS: %w", err))
		}
		v, err := token.NewVerifier(bg, cfg, token.Options{Logger: log})
		if err != nil {
			return fail(fmt.Errorf("DEGREEGATE_TRUSTED_ISSUERS: %w", err))
		}
		tokens = v
	} else {
		log.Warn("no trusted token issuers (DEGREEGATE_TRUSTED_ISSUERS): token routes answer 503")
	}

	store, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	rdb, err := redisstate.NewClient(c.redis.url) // connects on first use
	if err != nil {
		return fail(err)
	}
	defer rdb.Close()
	defer func() {
		stopBG()
		loops.Wait()
	}()

	limiter := redisstate.NewLimiter(rdb, redisstate.LimiterConfig{
		Prefix: c.redis.prefix, KeySecret: deriveSecret(keys.ring, "rate-limit-keys"), Logger: log,
	})
	loops.Go(func() { limiter.Run(bg) })
	revocations := redisstate.NewRevocations(rdb, c.redis.prefix, log)
	cached := recordcache.NewStore(store, recordcache.Options{
		Size: c.cacheSize, TTL: c.cacheTTL, Live: revocations.Live,
		// Lookups batch rather than take more connections, which stay
		// free for the audit writer, readiness probes and token routes.
		Loaders: max(min(c.lookupQueries, poolSize-1), 1),
	})
	loops.Go(func() {
		_ = revocations.Subscribe(bg, redisstate.RevocationHandler{Revoked: cached.Cache().Invalidate, Resync: cached.Cache().Reset})
	})

	audit := registry.NewAuditWriter(store, registry.AuditWriterOptions{Logger: log})
	flushed := false
	defer func() {
		if flushed {
			return
		}
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = audit.Close(fctx) // a start-up failure: nothing was served
	}()
	// Research datasets: built, offered and purged by this process; with
	// several replicas the folder must be shared storage.
	datasets, err := newDatasetService(store, store, keys.ring, policy, audit, datasetsDir(e), log)
	if err != nil {
		return fail(err)
	}
	loops.Go(func() { datasets.Run(bg, time.Minute) })
	srv, err := gateway.New(gateway.Deps{
		Logger:      log,
		Datasets:    datasets,
		Registry:    registry.New(cached, keys.ring, store, time.Now),
		Policy:      policy,
		Receipts:    keys.receipt,
		Limiter:     limiter,
		Proxies:     proxies,
		PublicURL:   c.publicURL,
		Audit:       audit,
		Tokens:      tokens,
		Replay:      redisstate.NewReplayCache(rdb, c.redis.prefix),
		Quota:       quotaAdapter{redisstate.NewQuota(rdb, c.redis.prefix)},
		Codes:       store,
		AuditSearch: store,
		AddressKey:  deriveSecret(keys.ring, "audit-address-hash"),
		Ready: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			return store.Ping(ctx)
		},
		// Redis unreachable: limits are local, the cache is bypassed.
		Degraded:       func() bool { return limiter.Degraded() || !revocations.Live() },
		QuietAccessLog: !c.accessLog,
		CacheStats: func() (hits, misses int64) {
			st := cached.Cache().Stats()
			return st.Hits, st.Misses + st.Bypassed
		},
	})
	if err != nil {
		return fail(err)
	}
	if c.debugAddr != "" {
		stop, err := serveDebug(c.debugAddr, log)
		if err != nil {
			return fail(err)
		}
		defer stop()
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fail(fmt.Errorf("listen: %w", err))
	}
	fmt.Fprintf(e.stdout, "listening on http://%s (policy %s, %d database connections)\n", ln.Addr(), policy.Version(), poolSize)
	log.Info("serving", "addr", ln.Addr().String(), "policy", policy.Version(), "db_pool", poolSize)

	serveErr := srv.Serve(ctx, ln, c.grace)
	// Drained: flush the trail before anything it needs is closed.
	fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	flushed = true
	if err := audit.Close(fctx); err != nil {
		return fail(fmt.Errorf("flush audit trail: %w", err))
	}
	st := cached.Cache().Stats()
	log.Info("stopped", "cache_hits", st.Hits, "cache_misses", st.Misses, "cache_bypassed", st.Bypassed,
		"store_queries", st.Queries, "store_keys", st.Keys)
	if serveErr != nil {
		return fail(serveErr)
	}
	return nil
}

// serveDebug serves net/http/pprof on addr, which must be a loopback
// address: profiles show internals, and goroutine dumps can show request
// data in flight.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--debug-addr %s: want a loopback address and port, e.g. 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug listener stopped", "err", err)
		}
	}()
	return func() { _ = srv.Close() }, nil
}

// Compile-time checks that the adapters fit the gateway's interfaces.
var (
	_ gateway.Quota           = quotaAdapter{}
	_ registry.AuditSearcher  = (*postgres.Store)(nil)
	_ registry.ShareCodeStore = (*postgres.Store)(nil)
)
