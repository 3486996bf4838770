package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/degreegate/degreegate/gateway/recordcache"
	"github.com/degreegate/degreegate/registry"
)

// revokingStore answers one certificate as revoked once told to, as the
// store does after a revocation, and fails every lookup once down.
type revokingStore struct {
	registry.Store
	cert          string
	revoked, down atomic.Bool
}

func (s *revokingStore) Current(ctx context.Context, cert string) (registry.Version, error) {
	if s.down.Load() {
		return registry.Version{}, errors.New("database down")
	}
	v, err := s.Store.Current(ctx, cert)
	if err == nil && cert == s.cert && s.revoked.Load() {
		v.Status = registry.StatusRevoked
	}
	return v, err
}

func (s *revokingStore) CurrentMany(ctx context.Context, certs []string) ([]registry.Version, error) {
	var out []registry.Version
	for _, c := range certs {
		v, err := s.Current(ctx, c)
		if errors.Is(err, registry.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Public verification reads through the record cache when the registry is
// built over it (serve), counts its hits, shows a revocation once the
// cache is told, and answers a lookup failure as an error, never as
// no_match.
func TestVerifyThroughCachedStore(t *testing.T) {
	f := newFixture(t, 200, fixtureOptions{})
	r := f.find(t, func(r registry.Record) bool { return r.Status == registry.StatusFiled })
	src := &revokingStore{Store: f.store, cert: r.CertificateNumber}
	cached := recordcache.NewStore(src, recordcache.Options{TTL: time.Hour})
	d := f.srv.deps
	d.Registry = registry.New(cached, f.keys, testLogKey, time.Now)
	d.CacheStats = func() (int64, int64) {
		st := cached.Cache().Stats()
		return st.Hits, st.Misses + st.Bypassed
	}
	srv, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv

	ask := func() (int, verifyResponse) {
		t.Helper()
		resp := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, r.Name))
		var got verifyResponse
		json.Unmarshal([]byte(readBody(t, resp)), &got)
		return resp.StatusCode, got
	}
	for i := 0; i < 2; i++ {
		if code, got := ask(); code != 200 || got.Status != "valid" {
			t.Fatalf("ask %d: %d %+v", i, code, got)
		}
	}
	metrics := readBody(t, f.do(t, "GET", "/metrics", "", ""))
	for _, want := range []string{
		`degreegate_cache_lookups_total{cache="record",result="hit"} 1`,
		`degreegate_cache_lookups_total{cache="record",result="miss"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	src.revoked.Store(true)
	// The cache still holds the filed version until it is told.
	if _, got := ask(); got.Status != "valid" {
		t.Fatalf("before the invalidation the cached answer stands, got %+v", got)
	}
	cached.Cache().Invalidate(r.CertificateNumber)
	if _, got := ask(); got.Status != "revoked" {
		t.Fatalf("after the invalidation: %+v, want revoked", got)
	}

	src.down.Store(true)
	cached.Cache().Reset()
	if code, got := ask(); code < 500 || got.Result == "no_match" {
		t.Errorf("a failed lookup answered %d %+v, want a 5xx problem", code, got)
	}
}
