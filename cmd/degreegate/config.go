package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/degreegate/degreegate/filing/webhook"
	"github.com/degreegate/degreegate/gateway"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/recordcache"
	"github.com/degreegate/degreegate/registry"
)

// Config is every setting a verb reads from its environment and flags,
// parsed once (newConfig, then load). A verb fills only the fields its
// settings name (settings, below); the others keep their zero value.
type Config struct {
	Addr           string
	DatabaseURL    string // secret
	KeysDir        string
	DataKey        string // secret; base64, wins over the keys folder's
	IndexKey       string // secret; base64, wins over the keys folder's
	LogKey         string // secret; base64, wins over the keys folder's
	RedisURL       string // secret: it may carry a password
	RedisPrefix    string
	Policy         string
	TrustedIssuers string
	TrustedProxies string
	PublicURL      string
	// FilingWebhook is told when records of the filing workflow become
	// overdue, signed with FilingWebhookSecret (a secret).
	FilingWebhook       string
	FilingWebhookSecret string
	DatasetsDir         string // absolute, or "" where the verb has its own default
	CheckpointsDir      string // absolute, or "" where the verb has its own default
	DBPool              int
	CacheSize           int
	CacheTTL            time.Duration
	LookupQueries       int
	Grace               time.Duration
	AccessLog           bool
	MetricsAddr         string
	RequestTimeout      time.Duration
}

// setting is one line of the settings table: where a value comes from,
// its default, how it is checked, and which verbs take it.
type setting struct {
	flag  string // "" for a setting taken from the environment only
	env   string // "" for a flag only
	usage string
	def   string // the default, written as on the command line
	// secret: also read from the file named by env+"_FILE" (as container
	// platforms mount secrets); never a flag default in -h, never in a
	// message.
	secret bool
	verbs  []string
	// field points into c at the value: *string, *int, *time.Duration
	// or *bool.
	field func(c *Config) any
	// check validates the loaded value; its error never echoes a secret.
	check func(c *Config) error
}

var (
	databaseVerbs = []string{"serve", "migrate", "import", "audit", "dataset", "revoke", "filing"}
	keyVerbs      = []string{"serve", "import", "dataset", "revoke", "audit", "migrate"}
)

// settings is the table of every setting. A flag may appear twice for
// disjoint verbs, with a default of each verb's own.
var settings = []setting{
	{flag: "addr", def: ":8080", usage: "listen address", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.Addr }},
	{flag: "addr", def: "127.0.0.1:8080", usage: "listen address", verbs: []string{"dev"},
		field: func(c *Config) any { return &c.Addr }},
	{flag: "database-url", env: "DATABASE_URL", secret: true, usage: "PostgreSQL connection string", verbs: databaseVerbs,
		field: func(c *Config) any { return &c.DatabaseURL }},
	{flag: "keys-dir", env: "DEGREEGATE_KEYS_DIR", usage: "folder written by 'keys init'", verbs: keyVerbs,
		field: func(c *Config) any { return &c.KeysDir }},
	{flag: "dir", env: "DEGREEGATE_KEYS_DIR", usage: "folder to create the keys in", verbs: []string{"keys"},
		field: func(c *Config) any { return &c.KeysDir }},
	{env: registry.EnvDataKey, secret: true, usage: "data-encryption key, base64, instead of the keys folder's", verbs: keyVerbs,
		field: func(c *Config) any { return &c.DataKey }},
	{env: registry.EnvIndexKey, secret: true, usage: "blind-index key, base64, instead of the keys folder's", verbs: keyVerbs,
		field: func(c *Config) any { return &c.IndexKey }},
	{env: registry.EnvLogKey, secret: true, usage: "the log's leaf key, base64, instead of the keys folder's", verbs: keyVerbs,
		field: func(c *Config) any { return &c.LogKey }},
	{flag: "redis-url", env: "REDIS_URL", secret: true, usage: "Redis for shared limits, replay state and revocation broadcasts", verbs: []string{"serve", "revoke"},
		field: func(c *Config) any { return &c.RedisURL }},
	{flag: "redis-prefix", def: "degreegate:", usage: "prefix of every Redis key and channel; the same for every replica of one deployment", verbs: []string{"serve", "revoke"},
		field: func(c *Config) any { return &c.RedisPrefix }},
	{flag: "policy", env: "DEGREEGATE_POLICY", usage: "policy file; the embedded default when empty", verbs: []string{"serve", "dev", "dataset", "audit"},
		field: func(c *Config) any { return &c.Policy }},
	{flag: "trusted-issuers", env: "DEGREEGATE_TRUSTED_ISSUERS", usage: "trusted token issuers file; without it token routes answer 503", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.TrustedIssuers }},
	{flag: "public-url", env: "DEGREEGATE_PUBLIC_URL", usage: "the gateway's public address, scheme://host[:port], for the web page's QR codes and problem type URIs; without it they follow each request's Host", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.PublicURL },
		check: func(c *Config) error {
			if c.PublicURL == "" {
				return nil
			}
			_, err := gateway.ParsePublicURL(c.PublicURL)
			return err
		}},
	{flag: "filing-webhook", env: "DEGREEGATE_FILING_WEBHOOK", usage: "https endpoint told (a signed JSON POST, retried) when records of the filing workflow become overdue; none when empty", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.FilingWebhook },
		check: func(c *Config) error {
			if c.FilingWebhook == "" {
				if c.FilingWebhookSecret != "" {
					return errors.New("DEGREEGATE_FILING_WEBHOOK_SECRET is set without DEGREEGATE_FILING_WEBHOOK")
				}
				return nil
			}
			_, err := webhook.New(c.FilingWebhook, []byte(c.FilingWebhookSecret))
			return err
		}},
	{env: "DEGREEGATE_FILING_WEBHOOK_SECRET", secret: true, usage: "the filing webhook's HMAC key, at least 16 bytes", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.FilingWebhookSecret }},
	{flag: "trusted-proxies", env: "DEGREEGATE_TRUSTED_PROXIES", usage: "CIDRs whose X-Forwarded-For is believed", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.TrustedProxies },
		check: func(c *Config) error { _, err := ratelimit.ParseProxies(c.TrustedProxies); return err }},
	{flag: "datasets-dir", env: "DEGREEGATE_DATASETS_DIR", def: "datasets", usage: "folder of the built datasets; with several replicas, shared storage", verbs: []string{"serve", "dataset"},
		field: func(c *Config) any { return &c.DatasetsDir }, check: absolute(func(c *Config) *string { return &c.DatasetsDir })},
	{flag: "datasets-dir", env: "DEGREEGATE_DATASETS_DIR", usage: "folder of the built datasets (default: --state-dir/datasets, else a temporary folder removed at exit)", verbs: []string{"dev"},
		field: func(c *Config) any { return &c.DatasetsDir }, check: absolute(func(c *Config) *string { return &c.DatasetsDir })},
	{flag: "checkpoints-dir", env: "DEGREEGATE_CHECKPOINTS_DIR", def: "checkpoints", usage: "folder where every checkpoint of the log that this gateway signs is kept, outside the database (append-only; back it up, or run witnesses)", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.CheckpointsDir }, check: absolute(func(c *Config) *string { return &c.CheckpointsDir })},
	{flag: "checkpoints-dir", env: "DEGREEGATE_CHECKPOINTS_DIR", usage: "folder of the log's checkpoints (default: --state-dir/checkpoints, else a temporary folder removed at exit)", verbs: []string{"dev"},
		field: func(c *Config) any { return &c.CheckpointsDir }, check: absolute(func(c *Config) *string { return &c.CheckpointsDir })},
	{flag: "checkpoints-dir", env: "DEGREEGATE_CHECKPOINTS_DIR", usage: "the gateway's checkpoints folder, whose newest checkpoint goes into an archive (audit archive)", verbs: []string{"audit"},
		field: func(c *Config) any { return &c.CheckpointsDir }, check: absolute(func(c *Config) *string { return &c.CheckpointsDir })},
	{flag: "db-pool", usage: "PostgreSQL connections (default: the URL's pool_max_conns, else 4 per CPU, 4 to 32)", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.DBPool },
		check: func(c *Config) error { return atLeast(c.DBPool, 0) }},
	{flag: "cache-size", def: strconv.Itoa(recordcache.DefaultSize), usage: "records kept in the public verification cache", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.CacheSize }},
	{flag: "cache-ttl", def: recordcache.DefaultTTL.String(), usage: "how long a cached record is served (revocations are broadcast and show at once)", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.CacheTTL }},
	{flag: "lookup-queries", def: strconv.Itoa(recordcache.DefaultLoaders), usage: "store queries run at once for public lookups; misses arriving meanwhile are batched into the next (raise it for a distant database)", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.LookupQueries }},
	{flag: "grace", def: "20s", usage: "on SIGTERM, how long in-flight requests may take to finish", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.Grace }},
	{flag: "access-log", def: "true", usage: "log one JSON line per request (route, status, latency; never client data)", verbs: []string{"serve"},
		field: func(c *Config) any { return &c.AccessLog }},
	{flag: "metrics-addr", usage: "serve /metrics and Go's pprof profiles here, e.g. 127.0.0.1:6060 (loopback only: profiles reveal internals); serve has no /metrics without it", verbs: []string{"serve", "dev"},
		field: func(c *Config) any { return &c.MetricsAddr },
		check: func(c *Config) error {
			if c.MetricsAddr == "" {
				return nil
			}
			host, _, err := net.SplitHostPort(c.MetricsAddr)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return errors.New("want a loopback address and port, e.g. 127.0.0.1:6060")
			}
			return nil
		}},
	{flag: "request-timeout", env: "DEGREEGATE_REQUEST_TIMEOUT", def: gateway.DefaultRequestTimeout.String(), usage: "longest a request may wait on the store or Redis before it answers 503 /problems/timeout", verbs: []string{"serve", "dev"},
		field: func(c *Config) any { return &c.RequestTimeout },
		check: func(c *Config) error {
			if c.RequestTimeout <= 0 {
				return errors.New("want a positive duration such as 5s")
			}
			return nil
		}},
}

func atLeast(n, lo int) error {
	if n < lo {
		return fmt.Errorf("want at least %d", lo)
	}
	return nil
}

// absolute makes a path setting absolute at load, so that every later use
// (and every message) names the same folder whatever the working
// directory becomes.
func absolute(path func(*Config) *string) func(*Config) error {
	return func(c *Config) error {
		p := path(c)
		if *p == "" {
			return nil
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
		return nil
	}
}

// name is how messages call s: its variable, else its flag.
func (s setting) name() string {
	if s.env != "" {
		return s.env
	}
	return "--" + s.flag
}

func (s setting) help() string {
	switch {
	case s.env != "" && s.secret:
		return fmt.Sprintf("%s (env %s or %s_FILE)", s.usage, s.env, s.env)
	case s.env != "":
		return fmt.Sprintf("%s (env %s)", s.usage, s.env)
	}
	return s.usage
}

// configLoader is a Config on its way: flags registered, the environment
// read; load finishes it once the flags are parsed.
type configLoader struct {
	cfg  Config
	fs   *flag.FlagSet
	own  []setting
	errs []error
	// fromEnv holds the secrets read from the environment, applied in
	// load where no flag overrides them: a flag's default is printed by
	// -h, so a secret is never one.
	fromEnv map[string]string
}

// newConfig registers verb's settings on fs, each defaulting to its
// environment variable (or _FILE), else the table's default. Problems
// with the environment are kept for load, so that -h still answers.
func newConfig(fs *flag.FlagSet, verb string, getenv func(string) string) *configLoader {
	l := &configLoader{fs: fs, fromEnv: map[string]string{}}
	for _, s := range settings {
		if !slices.Contains(s.verbs, verb) {
			continue
		}
		l.own = append(l.own, s)
		text, fromEnv, err := s.lookup(getenv)
		if err != nil {
			l.errs = append(l.errs, err)
			text, fromEnv = s.def, false
		}
		if s.secret && fromEnv {
			l.fromEnv[s.env] = text
			text = s.def
		}
		if err := s.bind(fs, &l.cfg, text); err != nil {
			l.errs = append(l.errs, err)
			_ = s.bind(fs, &l.cfg, s.def) // so that -h still lists it
		}
	}
	return l
}

// lookup returns s's text from the environment (fromEnv) or its default.
func (s setting) lookup(getenv func(string) string) (text string, fromEnv bool, err error) {
	if s.env == "" {
		return s.def, false, nil
	}
	v := getenv(s.env)
	if s.secret {
		if path := getenv(s.env + "_FILE"); path != "" {
			if v != "" {
				return "", false, fmt.Errorf("%s and %s_FILE are both set: set one", s.env, s.env)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				// The path is no secret, and the error names only it.
				return "", false, fmt.Errorf("%s_FILE: %w", s.env, err)
			}
			v = strings.TrimSpace(string(b))
			if v == "" {
				return "", false, fmt.Errorf("%s_FILE: %s is empty", s.env, path)
			}
		}
	}
	if v == "" {
		return s.def, false, nil
	}
	return v, true, nil
}

// bind registers s's flag on fs with default text, or for an
// environment-only setting sets the field. A text that does not parse
// is an error naming the setting, never the text of a secret.
func (s setting) bind(fs *flag.FlagSet, c *Config, text string) error {
	bad := func(want string) error {
		if s.secret {
			return fmt.Errorf("%s: want %s", s.name(), want)
		}
		return fmt.Errorf("%s: %q: want %s", s.name(), text, want)
	}
	switch p := s.field(c).(type) {
	case *string:
		if s.flag == "" {
			*p = text
		} else {
			fs.StringVar(p, s.flag, text, s.help())
		}
	case *int:
		n, err := strconv.Atoi(cmpOr(text, "0"))
		if err != nil {
			return bad("a whole number")
		}
		fs.IntVar(p, s.flag, n, s.help())
	case *time.Duration:
		d, err := time.ParseDuration(cmpOr(text, "0s"))
		if err != nil {
			return bad("a duration such as 5s")
		}
		fs.DurationVar(p, s.flag, d, s.help())
	case *bool:
		b, err := strconv.ParseBool(cmpOr(text, "false"))
		if err != nil {
			return bad("true or false")
		}
		fs.BoolVar(p, s.flag, b, s.help())
	default:
		panic(fmt.Sprintf("setting %s: field of unknown type %T", s.name(), p))
	}
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// load finishes the Config after fs.Parse: secrets from the environment
// where no flag was given, then every check. Its errors name the
// setting, never a secret's value.
func (l *configLoader) load() (*Config, error) {
	given := map[string]bool{}
	l.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range l.own {
		if v, ok := l.fromEnv[s.env]; ok && (s.flag == "" || !given[s.flag]) {
			*(s.field(&l.cfg).(*string)) = v
		}
	}
	errs := l.errs
	for _, s := range l.own {
		if s.check == nil {
			continue
		}
		if err := s.check(&l.cfg); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name(), err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &l.cfg, nil
}

// LogValue shows every setting by name, secrets as "[redacted]": a
// careless log line cannot print one.
func (c *Config) LogValue() slog.Value {
	var attrs []slog.Attr
	seen := map[string]bool{}
	for _, s := range settings {
		if seen[s.name()] {
			continue
		}
		seen[s.name()] = true
		v := s.field(c)
		switch p := v.(type) {
		case *string:
			if s.secret && *p != "" {
				v = "[redacted]"
			} else {
				v = *p
			}
		case *int:
			v = *p
		case *time.Duration:
			v = p.String()
		case *bool:
			v = *p
		}
		attrs = append(attrs, slog.Any(s.name(), v))
	}
	return slog.GroupValue(attrs...)
}

// keyEnv answers registry.LoadKeyring's questions from the Config, so
// that the keys too come from one reading of the environment (and may
// come from _FILE variants).
func (c *Config) keyEnv(name string) string {
	switch name {
	case registry.EnvDataKey:
		return c.DataKey
	case registry.EnvIndexKey:
		return c.IndexKey
	case registry.EnvLogKey:
		return c.LogKey
	}
	return ""
}

// requireDatabase is the check of every verb that works on the database.
func (c *Config) requireDatabase() error {
	if c.DatabaseURL == "" {
		return usageError{"no database: set DATABASE_URL or --database-url"}
	}
	return nil
}
