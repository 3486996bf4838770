package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
	"github.com/degreegate/degreegate/registry/synth"
)

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// recordingAuditor keeps entries in memory; refuse makes Record fail.
type recordingAuditor struct {
	mu      sync.Mutex
	entries []registry.AuditEntry
	refuse  bool
}

func (a *recordingAuditor) Record(_ context.Context, e registry.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refuse {
		return registry.ErrAuditBacklog
	}
	a.entries = append(a.entries, e)
	return nil
}
func (a *recordingAuditor) RecordBatch(_ context.Context, es []registry.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refuse {
		return registry.ErrAuditBacklog
	}
	a.entries = append(a.entries, es...)
	return nil
}
func (a *recordingAuditor) Depth() int64  { return 0 }
func (a *recordingAuditor) Healthy() bool { return !a.refuse }

func (a *recordingAuditor) all() []registry.AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]registry.AuditEntry(nil), a.entries...)
}

type fixture struct {
	srv     *Server
	records []registry.Record
	audit   *recordingAuditor
	logs    *syncBuffer
	signer  *token.Signer
	store   *inmem.Store
	keys    *registry.Keyring
}

type fixtureOptions struct {
	limiter ratelimit.Limiter
	proxies string
}

// newFixture is a gateway over an embedded store of synthetic records.
func newFixture(t testing.TB, n int, o fixtureOptions) *fixture {
	t.Helper()
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	store := inmem.New()
	g := synth.New(5)
	var recs []registry.Record
	var batch []registry.Sealed
	for i := 0; i < n; i++ {
		r := g.Record(i)
		registry.Normalize(&r)
		recs = append(recs, r)
		s, err := keys.Seal(r)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, s)
	}
	if _, err := registry.Insert(context.Background(), store, testLogKey, batch, registry.Change{Actor: "test", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	pol, err := policies.Default()
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := token.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	lim := o.limiter
	if lim == nil {
		lim = ratelimit.Unlimited{}
	}
	proxies, err := ratelimit.ParseProxies(o.proxies)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	audit := &recordingAuditor{}
	srv, err := New(Deps{
		Logger:     slog.New(slog.NewJSONHandler(logs, nil)),
		Registry:   registry.New(store, keys, testLogKey, time.Now),
		Policy:     pol,
		Receipts:   signer,
		Limiter:    lim,
		Proxies:    proxies,
		Audit:      audit,
		AddressKey: bytes.Repeat([]byte{7}, 32),
		// As in dev: the tests read /metrics through the app.
		PublicMetrics: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, records: recs, audit: audit, logs: logs, signer: signer, store: store, keys: keys}
}

// rewire makes the server see dependencies a test replaced.
func (f *fixture) rewire(t testing.TB) {
	t.Helper()
	if err := f.srv.wire(); err != nil {
		t.Fatal(err)
	}
}

// serveOnSocket serves srv on a loopback port until the test ends and
// returns the address, for what app.Test cannot show: a connection that
// is reused, limits the server applies before routing.
func serveOnSocket(t testing.TB, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// do sends one request through the whole Fiber stack in process.
func (f *fixture) do(t testing.TB, method, path, contentType, body string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readBody(t testing.TB, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return string(b)
}

// find returns the first record satisfying ok.
func (f *fixture) find(t testing.TB, ok func(registry.Record) bool) registry.Record {
	t.Helper()
	for _, r := range f.records {
		if ok(r) {
			return r
		}
	}
	t.Fatal("no record in the fixture satisfies the test's need")
	return registry.Record{}
}

// assertNoPersonalData fails when any record's name, ID number, phone,
// e-mail or birth date appears in s.
func assertNoPersonalData(t testing.TB, what, s string, recs []registry.Record) {
	t.Helper()
	for _, r := range recs {
		for field, v := range map[string]string{"name": r.Name, "id_number": r.IDNumber, "phone": r.Phone, "email": r.Email} {
			if len([]rune(v)) >= 2 && strings.Contains(s, v) {
				t.Errorf("%s contains a record's %s", what, field)
				return
			}
		}
	}
}

// logged is a store's trail as cmd wires it: entries committed to the
// log before the store sees them.
func logged(s registry.AuditLog) registry.AuditLog {
	return registry.Committing{AuditLog: s, Key: testLogKey}
}

var testLogKey = registry.NewRandomLogKey()

// apiTime is the one shape of a time in a JSON answer: RFC 3339, UTC, to
// the second or the millisecond (Go writes a fraction without its
// trailing zeros, as RFC 3339 allows: ".89" is 890 ms).
var apiTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$`)

// assertTimestamps checks every "at" or "…_at" string of a JSON body.
func assertTimestamps(t testing.TB, body string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	n := 0
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(k, e)
			}
		case []any:
			for _, e := range x {
				walk(key, e)
			}
		case string:
			if key == "at" || strings.HasSuffix(key, "_at") {
				n++
				if !apiTime.MatchString(x) {
					t.Errorf("%s = %q: not RFC 3339 UTC to the second or millisecond", key, x)
				}
			}
		}
	}
	walk("", v)
	if n == 0 && strings.Contains(body, `_at"`) {
		t.Error("no timestamp found where the body names one")
	}
}

// relType is a problem type as the catalogue writes it: answers carry it
// absolute on the address the request named (app.Test's example.com).
func relType(typ string) string { return strings.TrimPrefix(typ, "http://example.com") }
