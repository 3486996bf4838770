package inmem

import (
	"runtime"
	"slices"
	"testing"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/synth"
)

// BenchmarkLayout re-measures what packing (pack.go) earns against the
// plain alternative, a map from certificate number to registry.Version:
// the live heap of synthetic sealed records loaded as `degreegate dev`
// loads them (heap-B/record), then one lookup and copy-out by certificate
// number (unpack, against the deep copy a plain store must hand out).
func BenchmarkLayout(b *testing.B) {
	const n = 200_000
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		b.Fatal(err)
	}
	gen := synth.New(1)
	sealed := func(i int) registry.Sealed {
		s, err := keys.Seal(gen.Record(i))
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	certs := make([]string, 1024)
	for k := range certs {
		certs[k] = gen.Record(k * (n / len(certs))).CertificateNumber
	}

	// One layout at a time, loaded once, so that each heap figure is its own.
	func() {
		before := liveHeap()
		byCert := make(map[string]int32)
		var stored []version
		for i := range n {
			s := sealed(i)
			p, err := pack(&s)
			if err != nil {
				b.Fatal(err)
			}
			byCert[s.CertificateNumber] = int32(len(stored))
			stored = append(stored, version{packed: p, number: 1})
		}
		stored = slices.Clip(stored)
		heap := float64(liveHeap()-before) / n
		b.Run("packed", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				v := &stored[byCert[certs[i%len(certs)]]]
				_ = registry.Version{Sealed: v.unpack(), Version: int(v.number)}
				i++
			}
			b.ReportMetric(heap, "heap-B/record")
		})
		runtime.KeepAlive(stored)
	}()
	func() {
		before := liveHeap()
		stored := make(map[string]registry.Version)
		for i := range n {
			s := sealed(i)
			stored[s.CertificateNumber] = registry.Version{Sealed: s, Version: 1}
		}
		heap := float64(liveHeap()-before) / n
		b.Run("plain", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				v := stored[certs[i%len(certs)]]
				v.ThesisKeywords = slices.Clone(v.ThesisKeywords)
				v.Secret, v.PersonIndex, v.Digest = slices.Clone(v.Secret), slices.Clone(v.PersonIndex), slices.Clone(v.Digest)
				_ = v
				i++
			}
			b.ReportMetric(heap, "heap-B/record")
		})
		runtime.KeepAlive(stored)
	}()
}
