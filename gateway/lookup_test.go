package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/gateway/recordcache"
	"github.com/degreegate/degreegate/registry"
)

// Public verification goes through Deps.Lookup when it is wired (serve's
// cache), counts its hits, shows a revocation once the cache is told, and
// answers a lookup failure as an error, never as no_match.
func TestVerifyThroughLookup(t *testing.T) {
	f := newFixture(t, 200, fixtureOptions{})
	cache := recordcache.New(f.store, recordcache.Options{TTL: time.Hour})
	f.srv.deps.Lookup = cache.Get
	r := f.find(t, func(r registry.Record) bool { return r.Status == registry.StatusFiled })

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

	cur, err := f.store.Current(context.Background(), r.CertificateNumber)
	if err != nil {
		t.Fatal(err)
	}
	revoked := cur
	revoked.Status = registry.StatusRevoked
	// The cache still holds the filed version until it is told.
	f.srv.deps.Lookup = func(ctx context.Context, cert string) (registry.Version, bool, error) {
		v, hit, err := cache.Get(ctx, cert)
		if !hit && err == nil && cert == r.CertificateNumber {
			v = revoked // what the store answers after the revocation
		}
		return v, hit, err
	}
	if _, got := ask(); got.Status != "valid" {
		t.Fatalf("before the invalidation the cached answer stands, got %+v", got)
	}
	cache.Invalidate(r.CertificateNumber)
	if _, got := ask(); got.Status != "revoked" {
		t.Fatalf("after the invalidation: %+v, want revoked", got)
	}

	f.srv.deps.Lookup = func(context.Context, string) (registry.Version, bool, error) {
		return registry.Version{}, false, errors.New("database down")
	}
	if code, got := ask(); code < 500 || got.Result == "no_match" {
		t.Errorf("a failed lookup answered %d %+v, want a 5xx problem", code, got)
	}
}
