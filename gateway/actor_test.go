package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/netip"
	"sync"
	"testing"
)

// TestAddressActor: the pooled HMAC gives the keyed hash of the address's
// binary form, the same for every call and goroutine, different per
// address, and never the address itself.
func TestAddressActor(t *testing.T) {
	f := newFixture(t, 1, fixtureOptions{})
	addrs := []string{"192.0.2.1", "192.0.2.2", "2001:db8::1", "fe80::1%eth0", "::ffff:192.0.2.1"}
	seen := map[string]string{}
	for _, s := range addrs {
		a := netip.MustParseAddr(s)
		m := hmac.New(sha256.New, f.srv.deps.AddressKey)
		b, _ := a.MarshalBinary()
		m.Write(b)
		want := "public:" + b32.EncodeToString(m.Sum(nil)[:10])
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if got := f.srv.addressActor(a); got != want {
					t.Errorf("addressActor(%s) = %s, want %s", s, got, want)
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
