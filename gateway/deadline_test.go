package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
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

// bareDeps are the least a server needs, over store.
func bareDeps(t *testing.T, store registry.Store, logs *syncBuffer) Deps {
	t.Helper()
	keys, err := registry.NewRandomKeyring()
	if err != nil {
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
	return Deps{
		Logger:     slog.New(slog.NewJSONHandler(logs, nil)),
		Registry:   registry.New(store, keys, inmem.New(), time.Now),
		Policy:     pol,
		Receipts:   signer,
		Limiter:    ratelimit.Unlimited{},
		Audit:      &recordingAuditor{},
		AddressKey: bytes.Repeat([]byte{7}, 32),
	}
}

func TestASlowStoreCallIsCutOffAtTheRequestDeadline(t *testing.T) {
	store := stuckStore{Store: inmem.New(), ended: make(chan error, 1)}
	logs := &syncBuffer{}
	const timeout = 200 * time.Millisecond
	d := bareDeps(t, store, logs)
	d.RequestTimeout = timeout
	srv, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv}

	start := time.Now()
	resp := f.do(t, http.MethodPost, "/v1/verify", "application/json", `{"certificate_number":"1000142020000000","name":"张三"}`)
	took := time.Since(start)
	body := readBody(t, resp)

	var p Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("not a problem: %s", body)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || p.Type != "/problems/timeout" ||
		resp.Header.Get("Content-Type") != mimeProblem {
		t.Errorf("answer %d %s %q, want 503 /problems/timeout as problem+json", resp.StatusCode, p.Type, resp.Header.Get("Content-Type"))
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
	d := bareDeps(t, inmem.New(), &syncBuffer{})
	left := make(chan time.Duration, 1)
	d.Ready = func(ctx context.Context) error {
		dl, ok := ctx.Deadline()
		if !ok {
			return errors.New("no deadline")
		}
		left <- time.Until(dl)
		return nil
	}
	srv, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv}
	if resp := f.do(t, http.MethodGet, "/readyz", "", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %d %s", resp.StatusCode, readBody(t, resp))
	}
	if l := <-left; l <= 0 || l > DefaultRequestTimeout {
		t.Errorf("deadline %s away, want within DefaultRequestTimeout (%s)", l, DefaultRequestTimeout)
	}
}
