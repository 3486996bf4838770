package recordcache

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// slowSource answers every query, whatever its size, after a fixed round
// trip, like a database on the same machine.
type slowSource struct{ rtt time.Duration }

func (s slowSource) Current(_ context.Context, cert string) (registry.Version, error) {
	time.Sleep(s.rtt)
	var v registry.Version
	v.CertificateNumber = cert
	return v, nil
}

func (s slowSource) CurrentMany(_ context.Context, certs []string) ([]registry.Version, error) {
	time.Sleep(s.rtt)
	out := make([]registry.Version, len(certs))
	for i, c := range certs {
		out[i].CertificateNumber = c
	}
	return out, nil
}

func BenchmarkGetHit(b *testing.B) {
	c := New(slowSource{}, Options{TTL: time.Hour})
	ctx := context.Background()
	certs := make([]string, 1000)
	for i := range certs {
		certs[i] = fmt.Sprintf("E%015d", i)
		c.Get(ctx, certs[i])
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(n.Add(1)) * 7919
		for pb.Next() {
			i++
			if _, hit, err := c.Get(ctx, certs[i%len(certs)]); !hit || err != nil {
				b.Fatal("miss")
			}
		}
	})
}

// BenchmarkGetMiss: every lookup a different number, 200 µs per store
// round trip, 256 callers at once. With one query per lookup (MaxBatch 1)
// the loaders cap throughput at Loaders/rtt; batching lifts the cap.
func BenchmarkGetMiss(b *testing.B) {
	for _, maxBatch := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch=%d", maxBatch), func(b *testing.B) {
			c := New(slowSource{rtt: 200 * time.Microsecond}, Options{Loaders: 4, MaxBatch: maxBatch})
			ctx := context.Background()
			var n atomic.Int64
			b.SetParallelism(128)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := c.Get(ctx, fmt.Sprintf("F%015d", n.Add(1))); err != nil {
						b.Fatal(err)
					}
				}
			})
			st := c.Stats()
			b.ReportMetric(float64(st.Keys)/float64(max(st.Queries, 1)), "keys/query")
		})
	}
}
