package disclose

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
)

// TestPublicActor: the pooled HMAC gives the keyed hash of the address's
// binary form, the same for every call and goroutine, different per
// address, and never the address itself.
func TestPublicActor(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	svc := newTestService(t, key)
	addrs := []string{"192.0.2.1", "192.0.2.2", "2001:db8::1", "fe80::1%eth0", "::ffff:192.0.2.1"}
	seen := map[string]string{}
	for _, s := range addrs {
		a := netip.MustParseAddr(s)
		m := hmac.New(sha256.New, key)
		b, _ := a.MarshalBinary()
		m.Write(b)
		want := "public:" + b32.EncodeToString(m.Sum(nil)[:10])
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if got := svc.PublicActor(a); got != want {
					t.Errorf("PublicActor(%s) = %s, want %s", s, got, want)
				}
			})
		}
		wg.Wait()
		if prev, dup := seen[want]; dup {
			t.Errorf("%s and %s hash alike", prev, s)
		}
		seen[want] = s
	}
}

// newTestService is a service over an empty embedded registry.
func newTestService(t *testing.T, key []byte) *Service {
	t.Helper()
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	store := inmem.New()
	svc, err := New(Deps{Registry: registry.New(store, keys, registry.NewRandomLogKey(), time.Now), Audit: nopAuditor{}, Receipts: nopSigner{}, Policy: mustDefaultPolicy(t), ActorKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

type nopAuditor struct{}

func (nopAuditor) Record(context.Context, registry.AuditEntry) error        { return nil }
func (nopAuditor) RecordBatch(context.Context, []registry.AuditEntry) error { return nil }

type nopSigner struct{}

func (nopSigner) AppendJWS(dst, payload []byte) []byte { return append(dst, "h.p.s"...) }
func (nopSigner) Sign(any) (string, error)             { return "h.p.s", nil }

func mustDefaultPolicy(t *testing.T) *policies.Policy {
	t.Helper()
	p, err := policies.Default()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
