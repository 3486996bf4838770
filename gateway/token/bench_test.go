package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"
)

// Uncached verification: the cache is off, so each iteration parses and
// checks the signature. Compare with issue 4's figures (EdDSA ~70 µs,
// ES256 ~95 µs on this machine).
func benchmarkVerify(b *testing.B, pick func(*fixture) *Minter, opt Options) {
	f := newFixture(b, opt)
	raw := mint(b, pick(f), agencyClaims(), 10*time.Minute)
	ctx := context.Background()
	if _, err := f.verifier.Verify(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.verifier.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyEdDSA(b *testing.B) {
	benchmarkVerify(b, func(f *fixture) *Minter { return f.ed }, Options{CacheSize: -1})
}

func BenchmarkVerifyES256(b *testing.B) {
	benchmarkVerify(b, func(f *fixture) *Minter { return f.es }, Options{CacheSize: -1})
}

func BenchmarkVerifyRS256(b *testing.B) {
	benchmarkVerify(b, func(f *fixture) *Minter { return f.rs }, Options{CacheSize: -1})
}

// BenchmarkVerifyCached is a steady client reusing its token (target ≤ 5 µs).
func BenchmarkVerifyCached(b *testing.B) {
	benchmarkVerify(b, func(f *fixture) *Minter { return f.es }, Options{})
}

// BenchmarkVerifyCachedParallel: the cache under contention from all cores.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	f := newFixture(b, Options{})
	raw := mint(b, f.es, agencyClaims(), 10*time.Minute)
	ctx := context.Background()
	if _, err := f.verifier.Verify(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.verifier.Verify(ctx, raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSignReceipt is the cost every public "match" pays for its receipt.
func BenchmarkSignReceipt(b *testing.B) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSigner(priv)
	if err != nil {
		b.Fatal(err)
	}
	r := sampleReceipt()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(r); err != nil {
			b.Fatal(err)
		}
	}
}

// The signature check alone, through golang-jwt, for the same tokens: the
// difference to BenchmarkVerify* is this package's own cost (parsing twice,
// issuer and key lookup, claim checks), measured under the same load.
func benchmarkSignatureOnly(b *testing.B, pick func(*fixture) *Minter) {
	f := newFixture(b, Options{})
	m := pick(f)
	h, p, s := split(mint(b, m, agencyClaims(), 10*time.Minute))
	sig, err := b64.DecodeString(s)
	if err != nil {
		b.Fatal(err)
	}
	pub := m.key.Public()
	for b.Loop() {
		if err := m.method.Verify(h+"."+p, sig, pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignatureOnlyEdDSA(b *testing.B) {
	benchmarkSignatureOnly(b, func(f *fixture) *Minter { return f.ed })
}

func BenchmarkSignatureOnlyES256(b *testing.B) {
	benchmarkSignatureOnly(b, func(f *fixture) *Minter { return f.es })
}
