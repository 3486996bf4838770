package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/degreegate/degreegate/gateway"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/recordcache"
	"github.com/degreegate/degreegate/gateway/redisstate"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/postgres"
	"github.com/degreegate/degreegate/translog"
)

func runServe(ctx context.Context, args []string, e env) error {
	fs := newFlags("serve", e)
	conf := newConfig(fs, "serve", e.getenv)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"serve takes no arguments, only flags"}
	}
	cfg, err := conf.load()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return serve(ctx, cfg, e)
}

// servedKeys are the secrets serve needs, loaded before anything connects.
type servedKeys struct {
	ring    *registry.Keyring
	receipt *token.Signer
	log     logKeys
}

// logKeys are the transparency log's: the leaf key commits entries, the
// signer signs checkpoints, the verifier checks those kept.
type logKeys struct {
	leaf     *registry.LogKey
	signer   *translog.Signer
	verifier *translog.Verifier
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
	var lk logKeys
	if lk.leaf, err = registry.LoadLogKey(dir, getenv); err != nil {
		return servedKeys{}, err
	}
	if lk.signer, err = registry.LoadLogSigner(dir); err != nil {
		return servedKeys{}, err
	}
	if lk.verifier, _, err = registry.LoadLogVerifier(filepath.Join(dir, registry.LogVerifierFile)); err != nil {
		return servedKeys{}, err
	}
	return servedKeys{ring: ring, receipt: signer, log: lk}, nil
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
	return a.q.Take(ctx, org, n, limit)
}

func (a quotaAdapter) Refund(ctx context.Context, org string, n int64, day string) error {
	return a.q.Refund(ctx, org, n, day)
}

// serve checks what needs no network first (keys, configuration,
// policy), then opens in order — token issuers, PostgreSQL, Redis and its
// workers, the gateway — and on ctx's end stops accepting, drains
// requests, and closes in reverse (lifecycle.close).
func serve(ctx context.Context, cfg *Config, e env) (err error) {
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	fail := func(err error) error { return fmt.Errorf("serve: %w", err) }

	pre, err := prepareServe(cfg, e, log)
	if err != nil {
		return err
	}
	tokens, err := trustedIssuers(ctx, cfg, log)
	if err != nil {
		return fail(err)
	}
	l := newLifecycle()
	defer func() {
		if cerr := l.close(); cerr != nil && err == nil {
			err = fail(cerr)
		}
	}()
	store, rdb, err := openServeStores(ctx, cfg, pre.dbURL, l)
	if err != nil {
		return fail(err)
	}
	a, cache := serveAdapters(cfg, pre, store, rdb, tokens, l, log)
	srv, err := buildGateway(cfg, pre.policy, a, !cfg.AccessLog, l, log)
	if err != nil {
		return fail(err)
	}
	serveErr := serveGateway(ctx, srv, cfg, cfg.Grace, l, log, func(base string) error {
		fmt.Fprintf(e.stdout, "listening on %s (policy %s, %d database connections)\n", base, pre.policy.Version(), pre.poolSize)
		log.Info("serving", "addr", strings.TrimPrefix(base, "http://"), "policy", pre.policy.Version(), "db_pool", pre.poolSize)
		return nil
	})
	if err := l.close(); err != nil {
		return fail(err)
	}
	st := cache.Stats()
	log.Info("stopped", "cache_hits", st.Hits, "cache_misses", st.Misses, "cache_bypassed", st.Bypassed,
		"store_queries", st.Queries, "store_keys", st.Keys)
	if serveErr != nil {
		return fail(serveErr)
	}
	return nil
}

// servePrep is what serve checked before connecting anywhere.
type servePrep struct {
	keys     servedKeys
	policy   *policies.Policy
	dbURL    string
	poolSize int
}

// prepareServe checks everything that needs no network: the keys, that
// the services are named, the policy, the database URL's form.
func prepareServe(cfg *Config, e env, log *slog.Logger) (servePrep, error) {
	fail := func(err error) error { return fmt.Errorf("serve: %w", err) }
	keys, err := loadServeKeys(cfg.KeysDir, cfg.keyEnv)
	if err != nil {
		return servePrep{}, fail(err)
	}
	if err := cfg.requireDatabase(); err != nil {
		return servePrep{}, err
	}
	if cfg.RedisURL == "" {
		return servePrep{}, usageError{"no Redis: set REDIS_URL or --redis-url (serve shares rate limits, token replay state and revocations through it; `degreegate dev` runs without)"}
	}
	policy, err := loadPolicy(cfg.Policy)
	if err != nil {
		return servePrep{}, fail(err)
	}
	if cfg.PublicURL == "" {
		log.Warn("no public URL (DEGREEGATE_PUBLIC_URL): the web page's QR codes link to the Host each request names")
	}
	dbURL, poolSize, err := poolURL(cfg.DatabaseURL, cfg.DBPool)
	if err != nil {
		return servePrep{}, fail(err)
	}
	if _, err := redisstate.Options(cfg.RedisURL); err != nil {
		return servePrep{}, fail(err)
	}
	return servePrep{keys: keys, policy: policy, dbURL: dbURL, poolSize: poolSize}, nil
}

// trustedIssuers loads the token issuers serve trusts; none leaves the
// token routes answering 503.
func trustedIssuers(ctx context.Context, cfg *Config, log *slog.Logger) (gateway.TokenVerifier, error) {
	if cfg.TrustedIssuers == "" {
		log.Warn("no trusted token issuers (DEGREEGATE_TRUSTED_ISSUERS): token routes answer 503")
		return nil, nil
	}
	tc, err := token.LoadConfig(cfg.TrustedIssuers)
	if err != nil {
		return nil, fmt.Errorf("DEGREEGATE_TRUSTED_ISSUERS: %w", err)
	}
	v, err := token.NewVerifier(ctx, tc, token.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("DEGREEGATE_TRUSTED_ISSUERS: %w", err)
	}
	return v, nil
}

// openServeStores opens the PostgreSQL pool and the Redis client (which
// connects on first use); l closes them.
func openServeStores(ctx context.Context, cfg *Config, dbURL string, l *lifecycle) (*postgres.Store, *redis.Client, error) {
	store, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return nil, nil, err
	}
	l.onClose(func() error { store.Close(); return nil })
	// Appends are refused while the trail holds entries the log does
	// not: say so now rather than answer every request 503.
	head, err := store.AuditHead(ctx)
	if err != nil {
		return nil, nil, err
	}
	if head.LogSize < head.Seq {
		return nil, nil, fmt.Errorf("the audit trail holds %d entries written before the transparency log: run `degreegate migrate` with the keys folder first", head.Seq-head.LogSize)
	}
	if n, err := store.UnloggedVersions(ctx); err != nil || n > 0 {
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("the registry holds %d record versions filed before the transparency log: run `degreegate migrate` with the keys folder first", n)
	}
	rdb, err := redisstate.NewClient(cfg.RedisURL)
	if err != nil {
		return nil, nil, err
	}
	l.onClose(rdb.Close)
	return store, rdb, nil
}

// serveAdapters are serve's PostgreSQL and Redis adapters, with their
// workers (limiter settlement, revocation subscription) started on l.
func serveAdapters(cfg *Config, pre servePrep, store *postgres.Store, rdb *redis.Client, tokens gateway.TokenVerifier, l *lifecycle, log *slog.Logger) (adapters, *recordcache.Cache) {
	limiter := redisstate.NewLimiter(rdb, redisstate.LimiterConfig{
		Prefix: cfg.RedisPrefix, KeySecret: deriveSecret(pre.keys.ring, "rate-limit-keys"), Logger: log,
	})
	l.Go(limiter.Run)
	revocations := redisstate.NewRevocations(rdb, cfg.RedisPrefix, log)
	cached := recordcache.NewStore(store, recordcache.Options{
		Size: cfg.CacheSize, TTL: cfg.CacheTTL, Live: revocations.Live,
		// Lookups batch rather than take more connections, which stay
		// free for the audit writer, readiness probes and token routes.
		Loaders: max(min(cfg.LookupQueries, pre.poolSize-1), 1),
	})
	l.Go(func(ctx context.Context) {
		_ = revocations.Subscribe(ctx, redisstate.RevocationHandler{Revoked: cached.Cache().Invalidate, Resync: cached.Cache().Reset})
	})
	// A change or revocation the filing workflow files shows on every
	// replica at once, as `degreegate revoke`'s does: the broadcast drops
	// the record from every cache, whatever the version.
	onChanged := func(cert string) {
		cached.Cache().Invalidate(cert)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := revocations.Publish(ctx, cert); err != nil {
			log.Warn("version filed but not broadcast: replicas show it once their cache entry expires", "err", err)
		}
	}
	return adapters{
		store:       store,
		groupCommit: true,
		records:     cached,
		onChanged:   onChanged,
		keys:        pre.keys.ring,
		datasets:    store,
		datasetKeys: pre.keys.ring,
		datasetsDir: cfg.DatasetsDir,
		log:         pre.keys.log,
		checkpoints: cfg.CheckpointsDir,
		receipts:    pre.keys.receipt,
		addressKey:  deriveSecret(pre.keys.ring, "audit-address-hash"),
		limiter:     limiter,
		replay:      redisstate.NewReplayCache(rdb, cfg.RedisPrefix),
		quota:       quotaAdapter{redisstate.NewQuota(rdb, cfg.RedisPrefix)},
		tokens:      tokens,
		pools: func() []gateway.PoolStats {
			records, audit := store.PoolStats()
			rs := rdb.PoolStats()
			pg := func(name string, st *pgxpool.Stat) gateway.PoolStats {
				return gateway.PoolStats{Name: name, InUse: int64(st.AcquiredConns()), Idle: int64(st.IdleConns()),
					Max: int64(st.MaxConns()), Waits: st.EmptyAcquireCount()}
			}
			return []gateway.PoolStats{pg("postgres", records), pg("postgres_audit", audit),
				{Name: "redis", InUse: int64(rs.TotalConns) - int64(rs.IdleConns), Idle: int64(rs.IdleConns),
					Max: int64(rdb.Options().PoolSize), Waits: int64(rs.Misses)}}
		},
		cacheStats: func() (hits, misses int64) {
			st := cached.Cache().Stats()
			return st.Hits, st.Misses + st.Bypassed
		},
		ready: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			return store.Ping(ctx)
		},
		// Redis unreachable: limits are local, the cache is bypassed.
		degraded: func() bool { return limiter.Degraded() || !revocations.Live() },
	}, cached.Cache()
}

// Compile-time checks that the adapters fit the gateway's interfaces.
var (
	_ gateway.Quota           = quotaAdapter{}
	_ registry.AuditSearcher  = (*postgres.Store)(nil)
	_ registry.ShareCodeStore = (*postgres.Store)(nil)
)
