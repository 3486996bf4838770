package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// stuckStore is a store whose Current waits for its caller's context to
// end, as a PostgreSQL query on a dead connection would, and reports the
// context's error once it did.
type stuckStore struct {
	registry.Store
	ended chan error
}

func (s stuckStore) Current(ctx context.Context, _ string) (registry.Version, error) {
	<-ctx.Done()
	s.ended <- ctx.Err()
	// Wrapped as drivers do: the gateway must not need to unwrap it.
	return registry.Version{}, fmt.Errorf("store: query: %w", ctx.Err())
}

func TestASlowStoreCallIsCutOffAtTheRequestDeadline(t *testing.T) {
	f := newFixture(t, 1, fixtureOptions{})
	store := stuckStore{Store: f.store, ended: make(chan error, 1)}
	logs := f.logs
	const timeout = 200 * time.Millisecond
	f.srv.deps.Registry = registry.New(store, f.keys, testLogKey, time.Now)
	f.srv.deps.RequestTimeout = timeout
	f.rewire(t)

	start := time.Now()
	resp := f.do(t, http.MethodPost, "/v1/verify", "application/json", `{"certificate_number":"1000142020000000","name":"张三"}`)
	took := time.Since(start)
	body := readBody(t, resp)

	var p Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("not a problem: %s", body)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || relType(p.Type) != "/problems/timeout" ||
		resp.Header.Get("Content-Type") != mimeProblem {
		t.Errorf("answer %d %s %q, want 503 /problems/timeout as problem+json", resp.StatusCode, p.Type, resp.Header.Get("Content-Type"))
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("a request cut off by its deadline has no Retry-After")
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("answered after %s, want about the %s deadline", took, timeout)
	}
	select {
	case err := <-store.ended:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("the store's context ended with %v, want its deadline", err)
		}
	default:
		t.Error("the store's call never saw its context end")
	}
	// The deadline is the client's answer, not an internal error.
	if strings.Contains(logs.String(), "internal error") {
		t.Errorf("a timeout was logged as an internal error:\n%s", logs)
	}
}

// Without a setting, requests still get DefaultRequestTimeout.
func TestEveryRequestHasADeadlineByDefault(t *testing.T) {
	f := newFixture(t, 1, fixtureOptions{})
	left := make(chan time.Duration, 1)
	f.srv.deps.Ready = func(ctx context.Context) error {
		dl, ok := ctx.Deadline()
		if !ok {
			return errors.New("no deadline")
		}
		left <- time.Until(dl)
		return nil
	}
	if resp := f.do(t, http.MethodGet, "/readyz", "", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %d %s", resp.StatusCode, readBody(t, resp))
	}
	if l := <-left; l <= 0 || l > DefaultRequestTimeout {
		t.Errorf("deadline %s away, want within DefaultRequestTimeout (%s)", l, DefaultRequestTimeout)
	}
}

// downStore is a store that cannot be reached: every lookup fails at
// once with registry.ErrUnavailable, as the PostgreSQL adapter reports a
// refused or broken connection.
type downStore struct{ registry.Store }

func (downStore) Current(context.Context, string) (registry.Version, error) {
	return registry.Version{}, fmt.Errorf("read current version: %w: dial tcp: connection refused", registry.ErrUnavailable)
}

// TestAnUnreachableStoreIs503 (issue 16, item 8): a registry that cannot
// be reached is a 503 with Retry-After, at once — not an internal error.
func TestAnUnreachableStoreIs503(t *testing.T) {
	f := newFixture(t, 1, fixtureOptions{})
	f.srv.deps.Registry = registry.New(downStore{f.store}, f.keys, testLogKey, time.Now)
	f.rewire(t)
	r := f.records[0]
	resp := f.do(t, http.MethodPost, "/v1/verify", "application/json", verifyBody(r.CertificateNumber, r.Name))
	body := readBody(t, resp)
	var p Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("not a problem: %s", body)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || relType(p.Type) != "/problems/registry-unavailable" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("store unreachable: %d %s (Retry-After %q), want 503 /problems/registry-unavailable with Retry-After",
			resp.StatusCode, p.Type, resp.Header.Get("Retry-After"))
	}
	if strings.Contains(body, "connection refused") || strings.Contains(body, r.CertificateNumber) {
		t.Errorf("the refusal tells more than it should: %s", body)
	}
}
