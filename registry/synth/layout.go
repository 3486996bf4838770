package synth

// How indices map to people. Indices are grouped in blocks of 32. Each
// block is filled, slot by slot, with people drawn from pathTypes: most
// hold one degree, some two or three (a bachelor's and a master's, …),
// and such a person takes one slot per degree. The slots are then
// scattered over the block's 32 positions by an affine permutation, so
// one person's degrees are not neighbours in the output. Everything is
// derived from the block's own stream, so any index can find its person,
// and that person's other degrees, without looking at other blocks.

const blockSize = 32

// path is the sequence of degrees one person holds within the data set,
// oldest first.
type path struct {
	n          int
	levels     [3]int // levelBachelor, levelMaster, levelDoctor
	equivalent bool   // a single postgraduate degree by equivalent level (同等学力)
}

// pathTypes, weighted per 10,000 people. Per 100 degrees: bachelor 80,
// master 17, doctor 3; about 11 % of masters also have their bachelor's in
// the set and a third of doctors their master's; about 3 % of the
// postgraduate degrees are by equivalent level.
var pathTypes = []struct {
	p path
	w uint32
}{
	{path{n: 1, levels: [3]int{levelBachelor}}, 7810},
	{path{n: 1, levels: [3]int{levelMaster}}, 1387},
	{path{n: 1, levels: [3]int{levelMaster}, equivalent: true}, 53},
	{path{n: 1, levels: [3]int{levelDoctor}}, 193},
	{path{n: 1, levels: [3]int{levelDoctor}, equivalent: true}, 7},
	{path{n: 2, levels: [3]int{levelBachelor, levelMaster}}, 160},
	{path{n: 2, levels: [3]int{levelMaster, levelDoctor}}, 70},
	{path{n: 3, levels: [3]int{levelBachelor, levelMaster, levelDoctor}}, 30},
}

// placement says where index i sits: its block, its person (the slot the
// person starts at and the person's path) and which of the person's
// degrees it is.
type placement struct {
	block  uint64
	a, b   uint64 // position = (a*slot + b) mod 32
	start  int    // the person's first slot
	degree int    // this index's degree within the path
	path   path
}

func (g *Generator) place(i uint64) placement {
	block := i / blockSize
	s := newStream(g.seed, tagBlock, block)
	a := s.u64() | 1
	b := s.u64()
	// slot = a⁻¹ (pos − b) mod 32; a is odd, so invertible mod 2^64 and
	// Newton's iteration finds the inverse.
	inv := a
	for range 5 {
		inv *= 2 - a*inv
	}
	slot := int((inv * (i%blockSize - b)) % blockSize)
	start := 0
	for {
		p := pathTypes[g.paths.draw(&s)].p
		if rest := blockSize - start; p.n > rest {
			// The block ends inside this person: keep the most recent
			// degrees, so the levels stay in order.
			copy(p.levels[:], p.levels[p.n-rest:p.n])
			p.n = rest
		}
		if slot < start+p.n {
			return placement{block: block, a: a, b: b, start: start, degree: slot - start, path: p}
		}
		start += p.n
	}
}

// index returns the index of the person's k-th degree.
func (pl *placement) index(k int) uint64 {
	return pl.block*blockSize + (pl.a*uint64(pl.start+k)+pl.b)%blockSize
}

// personKey identifies the person across all of their degrees.
func (pl *placement) personKey() uint64 { return pl.block*blockSize + uint64(pl.start) }
