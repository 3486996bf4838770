package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// jwksServer is an identity provider's JWKS endpoint on loopback TLS whose
// keys the test can rotate, counting the fetches.
type jwksServer struct {
	*httptest.Server
	hits  atomic.Int32
	mu    sync.Mutex
	set   JWKSet
	delay time.Duration
}

func newJWKSServer(t *testing.T, keys ...JWK) *jwksServer {
	s := &jwksServer{set: JWKSet{Keys: keys}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		set, delay := s.set, s.delay
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(keys ...JWK) {
	s.mu.Lock()
	s.set = JWKSet{Keys: keys}
	s.mu.Unlock()
}

func newEdMinter(t *testing.T, c *clock) *Minter {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	return mustMinter(t, priv).WithClock(c.now)
}

func urlVerifier(t *testing.T, srv *jwksServer, c *clock, opt Options) *Verifier {
	t.Helper()
	opt.HTTPClient, opt.Now = srv.Client(), c.now
	cfg := Config{Issuers: []IssuerConfig{{
		Issuer: agencyIss, Audience: []string{testAud}, Kind: AudienceAgency, JWKS: srv.URL + "/jwks.json",
		Algorithms: []string{AlgEdDSA}, MaxLifetime: Duration(agencyMax),
	}}}
	v, err := NewVerifier(context.Background(), cfg, opt)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// TestKeyRotation: a new kid is picked up by one refresh, at most once per
// RefreshInterval however many tokens name unknown kids, and concurrent
// requests share that one fetch.
func TestKeyRotation(t *testing.T) {
	c := newClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	oldKey, newKey := newEdMinter(t, c), newEdMinter(t, c)
	srv := newJWKSServer(t, oldKey.PublicJWK())
	v := urlVerifier(t, srv, c, Options{RefreshInterval: 30 * time.Second})
	ctx := context.Background()
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("start-up made %d fetches, want 1", n)
	}
	if _, err := v.Verify(ctx, mint(t, oldKey, agencyClaims(), time.Minute)); err != nil {
		t.Fatal(err)
	}

	srv.publish(oldKey.PublicJWK(), newKey.PublicJWK())
	fresh := mint(t, newKey, agencyClaims(), time.Minute)
	// Within the interval after start-up: refused without a fetch.
	if _, err := v.Verify(ctx, fresh); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("new kid before the interval: %v, want ErrUnknownKey", err)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("refresh inside the rate limit: %d fetches", n)
	}

	c.advance(31 * time.Second)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			cl := agencyClaims()
			cl.ID = string(rune('a' + i))
			_, errs[i] = v.Verify(ctx, mint(t, newKey, cl, time.Minute))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d after rotation: %v", i, err)
		}
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("16 concurrent requests for a new kid made %d fetches in all, want 2 (start-up + one)", n)
	}

	// A flood of invented kids right after: no further fetch.
	for i := 0; i < 50; i++ {
		tok := signRawKid(t, newKey, "invented-"+strings.Repeat("k", i))
		if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("invented kid: %v", err)
		}
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("invented kids caused %d fetches, want none beyond 2", n)
	}
	// The next interval allows exactly one more, and the kid is still unknown.
	c.advance(31 * time.Second)
	for i := 0; i < 5; i++ {
		if _, err := v.Verify(ctx, signRawKid(t, newKey, "invented")); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("invented kid: %v", err)
		}
	}
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}

func signRawKid(t *testing.T, m *Minter, kid string) string {
	t.Helper()
	c := timed(agencyClaims(), m.now(), dur(0), nil, dur(time.Minute))
	return signRaw(t, m.method, m.key, c, map[string]any{"kid": kid})
}

// TestStaleKeysRefreshInBackground: past MaxKeyAge a request whose key is
// known is answered at once while the set refreshes; a withdrawn key stops
// working after that refresh.
func TestStaleKeysRefreshInBackground(t *testing.T) {
	c := newClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	k := newEdMinter(t, c)
	other := newEdMinter(t, c)
	srv := newJWKSServer(t, k.PublicJWK())
	v := urlVerifier(t, srv, c, Options{MaxKeyAge: 10 * time.Minute, CacheSize: -1})
	ctx := context.Background()

	srv.publish(other.PublicJWK()) // the provider withdraws k
	srv.mu.Lock()
	srv.delay = 200 * time.Millisecond
	srv.mu.Unlock()
	c.advance(11 * time.Minute)
	start := time.Now()
	if _, err := v.Verify(ctx, mint(t, k, agencyClaims(), time.Minute)); err != nil {
		t.Fatalf("known key in a stale set: %v", err)
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("request waited %v for the background refresh", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Verify(ctx, mint(t, k, agencyClaims(), time.Minute))
		if errors.Is(err, ErrUnknownKey) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("withdrawn key still trusted after the refresh: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJWKSFetchLimits: bad endpoints stop start-up with a clear error.
func TestJWKSFetchLimits(t *testing.T) {
	good := newEdMinter(t, newClock(time.Now()))
	big := JWKSet{Keys: []JWK{good.PublicJWK()}}
	for i := 0; i < 3000; i++ {
		big.Keys = append(big.Keys, JWK{Kty: "oct", Kid: strings.Repeat("p", 80)})
	}
	rows := []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
		want    string
	}{
		{"status 500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 500) }, 0, "HTTP status 500"},
		{"over the size limit", func(w http.ResponseWriter, r *http.Request) { _ = json.NewEncoder(w).Encode(big) }, 0, "larger than"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) }, 0, "not a JSON JWK set"},
		{"hangs", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			panic(http.ErrAbortHandler) // no response at all, not an empty 200
		}, 100 * time.Millisecond, "deadline"},
		{"redirects to plain http", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/jwks.json", http.StatusFound)
		}, 0, "redirect away from https"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(r.handler)
			defer srv.Close()
			cfg := Config{Issuers: []IssuerConfig{{
				Issuer: agencyIss, Audience: []string{testAud}, Kind: AudienceAgency, JWKS: srv.URL + "/jwks.json",
				Algorithms: []string{AlgEdDSA}, MaxLifetime: Duration(time.Minute),
			}}}
			start := time.Now()
			_, err := NewVerifier(context.Background(), cfg, Options{HTTPClient: srv.Client(), FetchTimeout: r.timeout})
			if err == nil || !strings.Contains(err.Error(), r.want) {
				t.Fatalf("NewVerifier error = %v, want one containing %q", err, r.want)
			}
			if !strings.Contains(err.Error(), agencyIss) {
				t.Errorf("error %v does not name the issuer", err)
			}
			if r.timeout > 0 && time.Since(start) > 20*r.timeout {
				t.Errorf("fetch timeout %v not honoured: took %v", r.timeout, time.Since(start))
			}
		})
	}
}

// TestJWKSFile: a file source loads, resolves relative to the config,
// refuses a weak RSA key, and picks up a rotated file after the interval.
func TestJWKSFile(t *testing.T) {
	dir := t.TempDir()
	c := newClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	k1, k2 := newEdMinter(t, c), newEdMinter(t, c)
	writeJSON(t, filepath.Join(dir, "idp.json"), JWKSet{Keys: []JWK{k1.PublicJWK()}})
	writeJSON(t, filepath.Join(dir, "issuers.json"), map[string]any{"issuers": []map[string]any{{
		"iss": agencyIss, "aud": []string{testAud}, "kind": "agency", "jwks": "idp.json",
		"algorithms": []string{"EdDSA"}, "max_lifetime": "5m",
	}}})
	cfg, err := LoadConfig(filepath.Join(dir, "issuers.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(context.Background(), cfg, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), mint(t, k1, agencyClaims(), time.Minute)); err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(dir, "idp.json"), JWKSet{Keys: []JWK{k1.PublicJWK(), k2.PublicJWK()}})
	c.advance(time.Minute)
	if _, err := v.Verify(context.Background(), mint(t, k2, agencyClaims(), time.Minute)); err != nil {
		t.Fatalf("rotated file: %v", err)
	}

	cfg.Issuers[0].JWKS = filepath.Join("testdata", "jwks-weak-rsa.json")
	if _, err := NewVerifier(context.Background(), cfg, Options{}); !errors.Is(err, ErrWeakKey) {
		t.Fatalf("JWKS with a 1024-bit RSA key: %v, want ErrWeakKey", err)
	}
	cfg.Issuers[0].JWKS = filepath.Join(dir, "missing.json")
	if _, err := NewVerifier(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), agencyIss) {
		t.Fatalf("missing JWKS file: %v", err)
	}
}

// TestRefreshHonoursContext: a caller whose context ends stops waiting
// for a slow refresh, with an error that is not a token refusal.
func TestRefreshHonoursContext(t *testing.T) {
	c := newClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	k, other := newEdMinter(t, c), newEdMinter(t, c)
	srv := newJWKSServer(t, k.PublicJWK())
	v := urlVerifier(t, srv, c, Options{FetchTimeout: 2 * time.Second})
	srv.mu.Lock()
	srv.delay = 400 * time.Millisecond
	srv.mu.Unlock()
	c.advance(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := v.Verify(ctx, mint(t, other, agencyClaims(), time.Minute))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("error = %v, want the context's deadline (not a 401)", err)
	}
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Errorf("waited %v past the context", d)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
