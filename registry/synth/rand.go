package synth

import "math/rand/v2"

// Randomness. Every random choice comes from a stream keyed by (seed,
// purpose, index): the same key always yields the same numbers, whatever
// else was generated before, in whatever goroutine. That is what makes
// Record(i) a pure function of (seed, i).

// Purposes, so that streams for different uses of the same index never
// coincide.
const (
	tagBlock  uint64 = iota + 1 // layout of a block of 32 records into persons
	tagPerson                   // a person's identity and timeline
	tagCore                     // a record's unit, degree type and discipline
	tagDetail                   // a record's numbers, thesis, status
	tagUnit                     // the unit draw, keyed by index modulo 1e6
	tagCert                     // the certificate-number permutation keys
	tagName                     // a person's name, phone and e-mail
)

// splitmix64 is the finaliser of SplitMix64: a bijective, well-mixing
// map of 64-bit words, used to derive stream seeds from keys.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// key derives a well-mixed 64-bit key from the generator seed, a purpose
// tag and an index.
func key(seed, tag, x uint64) uint64 {
	return splitmix64(splitmix64(seed^tag*0xd1b54a32d192ed03) ^ x)
}

// stream is a PCG generator plus the few draws this package needs. It is
// a value type: a stream lives on the stack of the function using it.
type stream struct{ pcg rand.PCG }

func newStream(seed, tag, x uint64) stream {
	k := key(seed, tag, x)
	var s stream
	s.pcg.Seed(k, splitmix64(k^0x6a09e667f3bcc909))
	return s
}

func (s *stream) u64() uint64 { return s.pcg.Uint64() }

// intn returns a number in [0, n) (n > 0) by Lemire's multiply-shift; the
// bias for the small n used here is below 2⁻³².
func (s *stream) intn(n int) int {
	return int((s.u64() >> 32) * uint64(n) >> 32)
}

// between returns a number in [lo, hi].
func (s *stream) between(lo, hi int) int { return lo + s.intn(hi-lo+1) }

// chance is true with probability ppm parts per million.
func (s *stream) chance(ppm int) bool { return s.intn(1_000_000) < ppm }

// pick returns a uniformly chosen element of xs.
func pick[T any](s *stream, xs []T) T { return xs[s.intn(len(xs))] }

// weighted is a table of cumulative integer weights for O(log n) draws.
type weighted struct {
	cum   []uint32 // cum[i] = sum of the weights of entries 0..i
	total uint32
}

func newWeighted(weights []uint32) weighted {
	w := weighted{cum: make([]uint32, len(weights))}
	for i, x := range weights {
		w.total += x
		w.cum[i] = w.total
	}
	return w
}

// at returns the entry whose weight interval holds position x in
// [0, total).
func (w *weighted) at(x uint32) int {
	lo, hi := 0, len(w.cum)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if w.cum[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// draw picks an entry with probability proportional to its weight.
func (w *weighted) draw(s *stream) int { return w.at(uint32(s.intn(int(w.total)))) }
