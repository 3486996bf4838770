package synth

import (
	"context"
	"testing"

	"github.com/degreegate/degreegate/registry"
)

func BenchmarkRecord(b *testing.B) {
	g := New(1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = g.Record(i)
		i++
	}
}

func BenchmarkGenerate(b *testing.B) {
	g := New(1)
	const n = 100_000
	b.ReportAllocs()
	for b.Loop() {
		err := g.Generate(context.Background(), n, 0, func(int, registry.Record) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

func BenchmarkGenerateOneWorker(b *testing.B) {
	g := New(1)
	const n = 100_000
	b.ReportAllocs()
	for b.Loop() {
		err := g.Generate(context.Background(), n, 1, func(int, registry.Record) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
