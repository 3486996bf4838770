package main

// End-to-end tests of `degreegate serve`: the real binary, several
// processes, the real PostgreSQL and Redis named by
// DEGREEGATE_TEST_DATABASE_URL and DEGREEGATE_TEST_REDIS_URL.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveFixture is one migrated, filled schema, keys, and a Redis prefix
// of its own, for every serve process of a test.
type serveFixture struct {
	env     []string
	prefix  string
	records []registry.Record
	conn    *pgx.Conn
	rdb     *redis.Client
	tr      transcript
	logs    []*lockedBuffer
}

func testRedis(t *testing.T) string {
	t.Helper()
	u := os.Getenv("DEGREEGATE_TEST_REDIS_URL")
	if u == "" {
		t.Skip("set DEGREEGATE_TEST_REDIS_URL (and DEGREEGATE_TEST_DATABASE_URL) to run the serve end-to-end tests")
	}
	return u
}

// relaxedPolicy is the default policy with public limits high enough for
// a test that polls from one address.
func relaxedPolicy(t *testing.T, dir string) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(policies.DefaultDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	doc["version"] = "e2e-relaxed"
	public := doc["audiences"].(map[string]any)["public"].(map[string]any)
	public["limits"] = map[string]any{
		"per_client":      map[string]any{"rps": 1000, "burst": 2000},
		"per_block":       map[string]any{"rps": 1000, "burst": 2000},
		"per_certificate": map[string]any{"rps": 1000, "burst": 2000},
	}
	b, _ := json.Marshal(doc)
	p := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := policies.Load(p); err != nil {
		t.Fatalf("the relaxed test policy does not load: %v", err)
	}
	return p
}

func newServeFixture(t *testing.T, records int) *serveFixture {
	t.Helper()
	redisURL := testRedis(t)
	dbURL, conn := testDatabase(t)
	dir := t.TempDir()
	suffix := make([]byte, 6)
	rand.Read(suffix)
	f := &serveFixture{prefix: "dge2e:" + hex.EncodeToString(suffix) + ":", conn: conn}
	f.env = []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL, "DEGREEGATE_KEYS_DIR=" + filepath.Join(dir, "keys"), "DEGREEGATE_DATASETS_DIR=" + filepath.Join(dir, "datasets"), "DEGREEGATE_CHECKPOINTS_DIR=" + filepath.Join(dir, "checkpoints")}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	f.rdb = redis.NewClient(opt)
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := f.rdb.Keys(ctx, f.prefix+"*").Result()
		if len(keys) > 0 {
			f.rdb.Del(ctx, keys...)
		}
		f.rdb.Close()
	})
	for _, args := range [][]string{
		{"keys", "init"},
		{"migrate"},
		{"gen", "--records", fmt.Sprint(records), "--seed", "11", "--out", filepath.Join(dir, "records.csv")},
		{"import", "--quiet", filepath.Join(dir, "records.csv")},
	} {
		if r := f.tr.run(t, f.env, args...); r.code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
		}
	}
	f.records = readRecords(t, filepath.Join(dir, "records.csv"))
	return f
}

// agencyToken makes a test issuer (`issuer init`, as the compose stack
// does), and one agency token from it with scope; trusted is the
// environment setting that makes serve trust the issuer.
func (f *serveFixture) agencyToken(t *testing.T, scope string) (trusted, tok string) {
	t.Helper()
	dir := t.TempDir()
	if r := f.tr.run(t, nil, "issuer", "init", "--dir", dir); r.code != 0 || !strings.Contains(r.stdout, "DEGREEGATE_TRUSTED_ISSUERS=") {
		t.Fatalf("issuer init: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := f.tr.run(t, nil, "token", "--key", filepath.Join(dir, token.DevIssuerFile), "--audience", "agency",
		"--sub", "officer-1", "--org", "gov:e2e-bureau", "--scope", scope, "--ttl", "10m")
	if r.code != 0 {
		t.Fatalf("token: %s", r.stderr)
	}
	return "DEGREEGATE_TRUSTED_ISSUERS=" + filepath.Join(dir, token.DevTrustedIssuersFile), strings.TrimSpace(r.stdout)
}

type replica struct {
	cmd  *exec.Cmd
	base string
	// metrics is the operations listener (--metrics-addr): /metrics and
	// pprof, never on base.
	metrics string
	logs    *lockedBuffer
	done    chan error
}

// start runs `degreegate serve` on a free loopback port with the
// fixture's environment plus env, and waits until it listens.
func (f *serveFixture) start(t *testing.T, env []string, args ...string) *replica {
	t.Helper()
	ops := freeAddr(t)
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", ops, "--redis-prefix", f.prefix}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(append(os.Environ(), f.env...), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, metrics: "http://" + ops, logs: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = r.logs
	f.logs = append(f.logs, r.logs)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.logs.Write([]byte(sc.Text() + "\n"))
			if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		r.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case r.base = <-addr:
	case err := <-r.done:
		t.Fatalf("serve exited before listening: %v\n%s", err, r.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not listen within 60 s\n%s", r.logs)
	}
	return r
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// stop sends SIGTERM and returns the exit error.
func (r *replica) stop(t *testing.T) error {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop within 30 s of SIGTERM\n%s", r.logs)
		return nil
	}
}

// client makes a fresh connection per request, so that no idle
// keep-alive connection races a shutdown.
var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

type verifyAnswer struct {
	Result  string `json:"result"`
	Status  string `json:"status"`
	Receipt string `json:"receipt"`
}

func verifyOn(base string, r registry.Record) (int, verifyAnswer, http.Header, error) {
	body, _ := json.Marshal(map[string]string{"certificate_number": r.CertificateNumber, "name": r.Name})
	resp, err := client.Post(base+"/v1/verify", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, verifyAnswer{}, nil, err
	}
	defer resp.Body.Close()
	var a verifyAnswer
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &a)
	return resp.StatusCode, a, resp.Header, nil
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitStatus polls /readyz until it says want.
func waitStatus(t *testing.T, r *replica, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := getBody(t, r.base+"/readyz")
		if code == 200 && strings.Contains(body, `"status":"`+want+`"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never said %s: %d %s\n%s", want, code, body, r.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServe(t *testing.T) {
	f := newServeFixture(t, 3000)
	policy := relaxedPolicy(t, t.TempDir())
	var ok200 atomic.Int64 // every 200 from /v1/verify is one audit entry

	t.Run("two replicas show a revocation within a second, drain on SIGTERM and lose no audit entry", func(t *testing.T) {
		// A long TTL: only the broadcast can make the revocation show.
		opts := []string{"--policy", policy, "--cache-ttl", "10m"}
		a, b := f.start(t, nil, opts...), f.start(t, nil, opts...)
		waitStatus(t, a, "ready")
		waitStatus(t, b, "ready")
		var rec registry.Record
		for _, r := range f.records {
			if r.Status == registry.StatusFiled {
				rec = r
				break
			}
		}
		for _, rp := range []*replica{a, b} {
			for i := 0; i < 2; i++ {
				code, ans, _, err := verifyOn(rp.base, rec)
				if err != nil || code != 200 || ans.Result != "match" || ans.Status != "valid" {
					t.Fatalf("verify before revocation: %v %d %+v", err, code, ans)
				}
				ok200.Add(1)
			}
		}
		if code, _ := getBody(t, b.base+"/metrics"); code != 404 {
			t.Errorf("/metrics on serve's public listener: %d, want 404 (it is on --metrics-addr)", code)
		}
		_, m := getBody(t, b.metrics+"/metrics")
		if !regexp.MustCompile(`degreegate_cache_lookups_total\{cache="record",result="hit"\} [1-9]`).MatchString(m) {
			t.Error("the second lookup on a replica was not a cache hit")
		}
		for _, pool := range []string{"postgres", "postgres_audit", "redis"} {
			if !regexp.MustCompile(`degreegate_pool_connections\{pool="` + pool + `",state="max"\} [1-9]`).MatchString(m) {
				t.Errorf("no %s pool on /metrics", pool)
			}
		}
		if !strings.Contains(m, "go_build_info{") {
			t.Error("no go_build_info on /metrics")
		}

		r := f.tr.run(t, f.env, "revoke", rec.CertificateNumber, "--resolution", "E2E-2025-1", "--reason", "test revocation",
			"--on", time.Now().Format("2006-01-02"), "--redis-prefix", f.prefix)
		if r.code != 0 || !strings.Contains(r.stdout, "broadcast") {
			t.Fatalf("revoke: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		revokedAt := time.Now()
		for _, rp := range []*replica{a, b} {
			for {
				code, ans, _, err := verifyOn(rp.base, rec)
				if err != nil || code != 200 {
					t.Fatalf("verify after revocation: %v %d", err, code)
				}
				ok200.Add(1)
				if ans.Status == "revoked" {
					break
				}
				if time.Since(revokedAt) > time.Second {
					t.Fatalf("%s still answers %q a second after the revocation", rp.base, ans.Status)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		t.Logf("both replicas answered revoked %s after the revoke command returned", time.Since(revokedAt).Round(time.Millisecond))
		// Revoked again with other details: refused, unless amended.
		again := []string{"revoke", rec.CertificateNumber, "--resolution", "E2E-2025-2", "--reason", "test revocation",
			"--on", time.Now().Format("2006-01-02"), "--redis-prefix", f.prefix}
		if r := f.tr.run(t, f.env, again...); r.code != 1 || !strings.Contains(r.stderr, "already revoked") || !strings.Contains(r.stderr, "E2E-2025-1") {
			t.Errorf("revoke of a revoked degree: exit %d %s", r.code, r.stderr)
		}
		if r := f.tr.run(t, f.env, append(again, "--amend")...); r.code != 0 || !strings.Contains(r.stdout, "version 3") {
			t.Errorf("revoke --amend: exit %d %s %s", r.code, r.stdout, r.stderr)
		}

		// Drain: requests in flight when SIGTERM comes are answered and
		// audited; the process exits 0.
		var wg sync.WaitGroup
		var served atomic.Int64
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; ; i += 4 {
					code, _, _, err := verifyOn(a.base, f.records[i%len(f.records)])
					if err != nil {
						return // the listener is closed
					}
					if code == 200 {
						ok200.Add(1)
						served.Add(1)
					}
				}
			}(w)
		}
		time.Sleep(300 * time.Millisecond)
		if err := a.stop(t); err != nil {
			t.Errorf("replica a after SIGTERM: %v\n%s", err, a.logs)
		}
		wg.Wait()
		if served.Load() == 0 {
			t.Fatal("no request was served before SIGTERM")
		}
		if err := b.stop(t); err != nil {
			t.Errorf("replica b after SIGTERM: %v\n%s", err, b.logs)
		}
	})

	t.Run("degraded, under local limits, while Redis is unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "redis://" + ln.Addr().String() + "/0"
		ln.Close()
		// The default policy's tight public limits, enforced locally.
		c := f.start(t, []string{"REDIS_URL=" + closed})
		waitStatus(t, c, "degraded")
		if _, m := getBody(t, c.metrics+"/metrics"); !strings.Contains(m, "degreegate_degraded 1") {
			t.Error("metrics do not report degraded")
		}
		rec := f.records[1]
		code, ans, _, err := verifyOn(c.base, rec)
		if err != nil || code != 200 || ans.Result != "match" {
			t.Fatalf("verify while degraded: %v %d %+v", err, code, ans)
		}
		ok200.Add(1)
		limited := 0
		for i := 0; i < 60 && limited == 0; i++ {
			code, _, h, err := verifyOn(c.base, f.records[2+i%100])
			switch {
			case err != nil:
				t.Fatal(err)
			case code == 200:
				ok200.Add(1)
			case code == 429 && h.Get("Retry-After") != "":
				limited++
			default:
				t.Fatalf("flood while degraded: status %d", code)
			}
		}
		if limited == 0 {
			t.Error("60 requests at once from one address were all admitted: no local limit while degraded")
		}
		if err := c.stop(t); err != nil {
			t.Errorf("after SIGTERM: %v\n%s", err, c.logs)
		}
	})

	t.Run("agency tokens from the trusted-issuers file; replay and quota in Redis", func(t *testing.T) {
		trusted, tok := f.agencyToken(t, "degree.verify degree.verify.batch")
		c := f.start(t, []string{trusted}, "--policy", policy)
		waitStatus(t, c, "ready")
		// The container health check: ready here, not on a closed port.
		if r := f.tr.run(t, nil, "health", "--url", c.base+"/readyz"); r.code != 0 || !strings.Contains(r.stdout, "ready") {
			t.Errorf("health of a ready gateway: exit %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := f.tr.run(t, nil, "health", "--url", "http://127.0.0.1:1/readyz", "--timeout", "1s"); r.code != 1 || !strings.Contains(r.stdout, "not ready") {
			t.Errorf("health of nothing: exit %d %s %s", r.code, r.stdout, r.stderr)
		}
		a, b := f.records[3], f.records[4]
		body, _ := json.Marshal(map[string]any{"purpose": "employment_background_check", "queries": []map[string]string{
			{"certificate_number": a.CertificateNumber, "name": a.Name},
			{"certificate_number": b.CertificateNumber, "name": b.Name + "某"},
		}})
		ask := func() (int, http.Header, string) {
			req, _ := http.NewRequest("POST", c.base+"/v1/agency/verify", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			out, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header, string(out)
		}
		code, h, out := ask()
		var ans struct {
			Results []struct {
				Result string `json:"result"`
			} `json:"results"`
		}
		json.Unmarshal([]byte(out), &ans)
		if code != 200 || len(ans.Results) != 2 || ans.Results[0].Result != "match" || ans.Results[1].Result != "no_match" {
			t.Fatalf("agency batch: %d %s", code, out)
		}
		if h.Get("Degreegate-Policy-Version") == "" || h.Get("Degreegate-Quota-Limit") == "" {
			t.Errorf("agency answer lacks the policy version or quota headers: %v", h)
		}
		// The batch scope demands a single-use token: the replay cache in
		// Redis refuses it the second time.
		if code, _, out := ask(); code != 401 || !strings.Contains(out, "replayed") {
			t.Errorf("the same token again: %d %s, want 401 replayed", code, out)
		}
		if err := c.stop(t); err != nil {
			t.Errorf("after SIGTERM: %v\n%s", err, c.logs)
		}
	})

	t.Run("not ready while PostgreSQL is unreachable, ready again when it returns", func(t *testing.T) {
		px := newTCPProxy(t, pgAddr(t))
		c := f.start(t, []string{"DATABASE_URL=" + px.url(t, f.env)}, "--policy", policy)
		waitStatus(t, c, "ready")
		px.stop()
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, body := getBody(t, c.base+"/readyz")
			if code == 503 && strings.Contains(body, "/problems/not-ready") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz with the database gone: %d %s", code, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if code, _ := getBody(t, c.base+"/healthz"); code != 200 {
			t.Errorf("/healthz %d while the database is gone: the process itself is alive", code)
		}
		// A verification that needs the database is told to come back,
		// within the request's deadline: never an internal error.
		start := time.Now()
		code, body, h := postJSON(t, c.base+"/v1/verify", map[string]string{
			"certificate_number": f.records[7].CertificateNumber, "name": f.records[7].Name})
		if code != 503 || h.Get("Retry-After") == "" || !strings.Contains(string(body), "/problems/") || time.Since(start) > 6*time.Second {
			t.Errorf("verify with the database gone: %d (Retry-After %q) after %v: %s", code, h.Get("Retry-After"), time.Since(start), body)
		}
		px.restart(t)
		waitStatus(t, c, "ready")
		if err := c.stop(t); err != nil {
			t.Errorf("after SIGTERM: %v\n%s", err, c.logs)
		}
	})

	// Every 200 was audited before it was sent, and the drain lost none.
	var n int64
	if err := f.conn.QueryRow(context.Background(), "SELECT count(*) FROM audit_entries WHERE action = 'verify.public'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != ok200.Load() {
		t.Errorf("audit trail holds %d public verifications, clients got %d answers", n, ok200.Load())
	}
	if r := f.tr.run(t, f.env, "audit", "verify"); r.code != 0 || !strings.Contains(r.stdout, "intact") {
		t.Errorf("audit verify: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	// Redis holds no certificate number or client address in clear. Limiter
	// keys end in a keyed hash written as 32 hex digits, which may hold 16
	// decimal digits in a row by chance (about 1 % of keys): look past it.
	keys, _ := f.rdb.Keys(context.Background(), f.prefix+"*").Result()
	hashed := regexp.MustCompile(`:[0-9a-f]{32}$`)
	for _, k := range keys {
		if clear := hashed.ReplaceAllString(k, ":<hash>"); strings.Contains(clear, "127.0.0.1") || regexp.MustCompile(`\d{16}`).MatchString(clear) {
			t.Errorf("Redis key in clear: %s", k)
		}
	}
	var all strings.Builder
	all.WriteString(f.tr.String())
	for _, l := range f.logs {
		all.WriteString(l.String())
	}
	assertNoPersonalData(t, all.String(), f.records)
}

func TestServeStopsWithoutKeys(t *testing.T) {
	var tr transcript
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if r := tr.run(t, nil, "keys", "init", "--dir", keys); r.code != 0 {
		t.Fatal(r.stderr)
	}
	partial := filepath.Join(dir, "partial")
	os.MkdirAll(partial, 0o700)
	for _, name := range []string{registry.DataKeysFile, registry.IndexKeyFile} {
		b, _ := os.ReadFile(filepath.Join(keys, name))
		os.WriteFile(filepath.Join(partial, name), b, 0o600)
	}
	secret, _ := os.ReadFile(filepath.Join(keys, registry.IndexKeyFile))
	// Nothing listens on these: serve must stop at the keys, before it
	// tries to connect anywhere.
	services := []string{"DATABASE_URL=postgres://nobody@127.0.0.1:1/none", "REDIS_URL=redis://127.0.0.1:1/0"}
	for _, tc := range []struct {
		name, keysDir string
		says          []string
	}{
		{"unset", "", []string{"DEGREEGATE_KEYS_DIR", "keys init"}},
		{"missing folder", filepath.Join(dir, "no-such-folder"), []string{filepath.Join(dir, "no-such-folder"), "DEGREEGATE_KEYS_DIR"}},
		{"no receipt-signing key", partial, []string{registry.ReceiptSigningFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string{"DEGREEGATE_KEYS_DIR=" + tc.keysDir, "DEGREEGATE_DATA_KEY=", "DEGREEGATE_INDEX_KEY="}, services...)
			r := tr.run(t, env, "serve", "--addr", "127.0.0.1:0")
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
			}
			for _, s := range tc.says {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("message %q does not name %q", strings.TrimSpace(r.stderr), s)
				}
			}
			if strings.Contains(r.stderr, "127.0.0.1:1") {
				t.Error("serve tried the services before checking its keys")
			}
		})
	}
	if strings.Contains(tr.String(), strings.TrimSpace(string(secret))) {
		t.Error("a key was printed")
	}
}

// A public URL that is not scheme://host[:port] stops serve with a
// message naming the variable, before it connects anywhere.
func TestServeRefusesABadPublicURL(t *testing.T) {
	var tr transcript
	keys := filepath.Join(t.TempDir(), "keys")
	if r := tr.run(t, nil, "keys", "init", "--dir", keys); r.code != 0 {
		t.Fatal(r.stderr)
	}
	env := []string{"DEGREEGATE_KEYS_DIR=" + keys, "DATABASE_URL=postgres://nobody@127.0.0.1:1/none", "REDIS_URL=redis://127.0.0.1:1/0"}
	for _, bad := range []string{"verify.example.cn", "https://verify.example.cn/path", "ftp://verify.example.cn"} {
		r := tr.run(t, append(env, "DEGREEGATE_PUBLIC_URL="+bad), "serve", "--addr", "127.0.0.1:0")
		if r.code != 1 || !strings.Contains(r.stderr, "DEGREEGATE_PUBLIC_URL") || strings.Contains(r.stderr, "127.0.0.1:1") {
			t.Errorf("public URL %q: exit %d\n%s", bad, r.code, r.stderr)
		}
	}
}

func TestPoolURLSizesThePoolExplicitly(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		wantSize int
		contains string
	}{
		{"URL, size given", "postgres://u@db:5432/reg?sslmode=disable", 12, 12, "pool_max_conns=12"},
		{"URL keeps its own size", "postgres://u@db/reg?pool_max_conns=5", 12, 5, "pool_max_conns=5"},
		{"key=value form", "host=db dbname=reg user=u", 7, 7, " pool_max_conns=7"},
		{"default", "postgresql://u@db/reg", 0, -1, "pool_max_conns="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, size, err := poolURL(tc.in, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, tc.contains) {
				t.Errorf("%q lacks %q", got, tc.contains)
			}
			if tc.wantSize > 0 && size != tc.wantSize {
				t.Errorf("size %d, want %d", size, tc.wantSize)
			}
			if size < 1 {
				t.Errorf("size %d", size)
			}
		})
	}
	if _, _, err := poolURL("postgres://u:s3cret@db:notaport/x", 4); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a bad URL: err %v (must fail without repeating the URL)", err)
	}
}

func TestDerivedSecretsDifferByPurposeAndHideTheKey(t *testing.T) {
	ring, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	a, b := deriveSecret(ring, "rate-limit-keys"), deriveSecret(ring, "audit-address-hash")
	if len(a) < 16 || bytes.Equal(a, b) || !bytes.Equal(a, deriveSecret(ring, "rate-limit-keys")) {
		t.Errorf("derived secrets: %d bytes, equal across purposes %v, stable %v", len(a), bytes.Equal(a, b), bytes.Equal(a, deriveSecret(ring, "rate-limit-keys")))
	}
	other, _ := registry.NewRandomKeyring()
	if bytes.Equal(a, deriveSecret(other, "rate-limit-keys")) {
		t.Error("two keyrings derive the same secret")
	}
}

func TestQuotaAdapterWithoutLimitAllows(t *testing.T) {
	d, err := quotaAdapter{}.Take(context.Background(), "gov:x", 3, 0)
	if err != nil || !d.Allowed {
		t.Errorf("limit 0 (no quota): %+v %v, want allowed without asking Redis", d, err)
	}
}

// FuzzPoolURL: any DATABASE_URL gives a sized URL or an error that does
// not repeat it (it may hold a password); nothing panics.
func FuzzPoolURL(f *testing.F) {
	for _, s := range []string{"postgres://u:pw@db/x", "host=db user=u password=pw", "postgres://db/x?pool_max_conns=3", "", "::", "postgres://%zz"} {
		f.Add(s, 4)
	}
	f.Fuzz(func(t *testing.T, in string, n int) {
		out, size, err := poolURL(in, n%64)
		if err != nil {
			if len(in) >= 8 && strings.Contains(err.Error(), in) {
				t.Errorf("the error repeats the URL: %v", err)
			}
			return
		}
		if size < 1 && !strings.Contains(in, "pool_max_conns") {
			t.Errorf("pool size %d for %q", size, in)
		}
		if !strings.Contains(out, "pool_max_conns") {
			t.Errorf("%q has no explicit pool size", out)
		}
	})
}

// tcpProxy forwards a local port to a server, and can cut every
// connection and refuse new ones, then accept again on the same port;
// or hang: keep every connection open and forward nothing.
type tcpProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	// flow is read-locked for each chunk forwarded; hang holds it.
	flow sync.RWMutex
	hung atomic.Bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go p.pipe(out, in)
			go p.pipe(in, out)
		}
	}()
}

// pipe forwards src to dst a chunk at a time, each while the proxy is
// not hung.
func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.flow.RLock()
			_, werr := dst.Write(buf[:n])
			p.flow.RUnlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// hang stops forwarding without closing anything, as a server that has
// stopped answering does; resume forwards again.
func (p *tcpProxy) hang() {
	if !p.hung.Swap(true) {
		p.flow.Lock()
	}
}

func (p *tcpProxy) resume() {
	if p.hung.Swap(false) {
		p.flow.Unlock()
	}
}

// stop refuses new connections and cuts the open ones.
func (p *tcpProxy) stop() {
	p.resume()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restart(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy restart: %v", err)
	}
	p.serve(ln)
}

// url is the fixture's DATABASE_URL with its host and port replaced by
// the proxy's.
func (p *tcpProxy) url(t *testing.T, env []string) string {
	t.Helper()
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok {
			u, err := url.Parse(v)
			if err != nil {
				t.Fatal(err)
			}
			u.Host = p.addr
			return u.String()
		}
	}
	t.Fatal("no DATABASE_URL in the fixture")
	return ""
}

// pgAddr is host:port of the test database.
func pgAddr(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(os.Getenv("DEGREEGATE_TEST_DATABASE_URL"))
	if err != nil || u.Host == "" {
		t.Skip("DEGREEGATE_TEST_DATABASE_URL is not a URL with a host; the proxy test needs one")
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	return host
}
