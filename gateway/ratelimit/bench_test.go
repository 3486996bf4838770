package ratelimit

import (
	"context"
	"net/netip"
	"testing"
)

// BenchmarkLocalAllow measures one decision for a single hot key: the
// allowed path (a bucket that never runs dry) and the refused path (a
// flood from one address), serial and from all cores at once.
func BenchmarkLocalAllow(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name string
		rule Rule
	}{
		{"allowed", Rule{Name: "r", Rate: 1e12, Burst: 1 << 30}},
		{"denied", Rule{Name: "r", Rate: 1e-9, Burst: 1}},
	}
	for _, c := range cases {
		l := NewLocal(Options{})
		k := AddrKey(netip.MustParseAddr("203.0.113.9"))
		l.Allow(ctx, k, c.rule)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.Allow(ctx, k, c.rule)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l.Allow(ctx, k, c.rule)
				}
			})
		})
	}
}

// BenchmarkLocalAllowManyKeys spreads requests over 10 000 addresses, the
// shape of ordinary traffic, from all cores.
func BenchmarkLocalAllowManyKeys(b *testing.B) {
	ctx := context.Background()
	l := NewLocal(Options{})
	rule := Rule{Name: "r", Rate: 1e12, Burst: 1 << 30}
	keys := make([]Key, 10000)
	for i := range keys {
		keys[i] = AddrKey(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		l.Allow(ctx, keys[i], rule)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow(ctx, keys[i%len(keys)], rule)
			i += 7
		}
	})
}

// BenchmarkClientAddr is the trusted-proxy header walk of every request.
func BenchmarkClientAddr(b *testing.B) {
	p, err := ParseProxies("10.0.0.0/8, fd00::/8")
	if err != nil {
		b.Fatal(err)
	}
	peer := netip.MustParseAddr("10.0.0.1")
	for _, xff := range []string{"198.51.100.1", "1.1.1.1, 2001:db8::1, 10.0.0.2"} {
		b.Run(xff, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.ClientAddr(peer, xff)
			}
		})
	}
}
