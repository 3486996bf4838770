package anonymizer

import (
	"errors"
	"fmt"
)

// column dictionary-encodes one quasi-identifier: every label at every
// level gets a small integer code, and generalising is a table lookup.
type column struct {
	name   string
	h      *Hierarchy
	height int
	dict   map[string]uint32   // leaf value → leaf code
	labels [][]string          // labels[L][code]
	intern []map[string]uint32 // per level ≥ 1: label → code
	// parent[L][code at L] = code at L+1 (for L+1 < height).
	parent [][]uint32
	// up[L][leaf code] = code at level L, built by finish.
	up [][]uint32
	// leavesUnder[L][code] = number of domain leaves generalising to it.
	leavesUnder [][]int64
}

func newColumn(name string, h *Hierarchy) (*column, error) {
	if h == nil {
		h = SuppressionHierarchy()
	}
	c := &column{name: name, h: h, height: h.Height(), dict: make(map[string]uint32)}
	c.labels = make([][]string, c.height)
	c.intern = make([]map[string]uint32, c.height)
	c.parent = make([][]uint32, c.height)
	for L := 1; L < c.height; L++ {
		c.intern[L] = make(map[string]uint32)
	}
	// A table hierarchy fixes the domain: encode all its leaves now, in
	// file order, so codes and the loss measure do not depend on the data.
	for _, v := range h.Leaves() {
		if _, err := c.add(v); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// code returns the leaf code of v, adding v to the domain when the
// hierarchy is a function. For table hierarchies an unknown value is an
// error; the caller adds the row number, never the value.
func (c *column) code(v string) (uint32, error) {
	if code, ok := c.dict[v]; ok {
		return code, nil
	}
	if c.h.Leaves() != nil {
		return 0, ErrUnknownValue
	}
	return c.add(v)
}

func (c *column) add(v string) (uint32, error) {
	chain, err := c.h.Chain(v)
	if err != nil {
		return 0, err
	}
	if chain[0] != v {
		return 0, errors.New("hierarchy chain does not start with the value itself")
	}
	// Check before changing anything: a label already known at level L
	// must generalise to the label it generalised to before.
	for L := 1; L+1 < c.height; L++ {
		if code, ok := c.intern[L][chain[L]]; ok {
			if got := c.labels[L+1][c.parent[L][code]]; got != chain[L+1] {
				return 0, fmt.Errorf("hierarchy inconsistent: a level %d label generalises to two different level %d labels", L, L+1)
			}
		}
	}
	leaf := uint32(len(c.labels[0]))
	c.labels[0] = append(c.labels[0], v)
	c.dict[v] = leaf
	c.parent[0] = append(c.parent[0], 0)
	prev, prevNew := leaf, true
	for L := 1; L < c.height; L++ {
		code, ok := c.intern[L][chain[L]]
		if !ok {
			code = uint32(len(c.labels[L]))
			c.labels[L] = append(c.labels[L], chain[L])
			c.intern[L][chain[L]] = code
			if L+1 < c.height {
				c.parent[L] = append(c.parent[L], 0)
			}
		}
		if prevNew {
			c.parent[L-1][prev] = code
		}
		prev, prevNew = code, !ok
	}
	return leaf, nil
}

// finish builds the lookup tables once the domain is complete.
func (c *column) finish() {
	n := len(c.labels[0])
	c.up = make([][]uint32, c.height)
	c.up[0] = make([]uint32, n)
	for i := range c.up[0] {
		c.up[0][i] = uint32(i)
	}
	for L := 1; L < c.height; L++ {
		c.up[L] = make([]uint32, n)
		for i := range c.up[L] {
			c.up[L][i] = c.parent[L-1][c.up[L-1][i]]
		}
	}
	c.leavesUnder = make([][]int64, c.height)
	for L := range c.leavesUnder {
		c.leavesUnder[L] = make([]int64, len(c.labels[L]))
		for _, code := range c.up[L] {
			c.leavesUnder[L][code]++
		}
	}
}

// domain is the number of leaf values.
func (c *column) domain() int64 { return int64(len(c.labels[0])) }

// lossDenom is the denominator of the normalised certainty penalty:
// a value covering all leaves costs 1.
func (c *column) lossDenom() int64 { return max(c.domain()-1, 1) }

// lossNum is the numerator of the certainty penalty of code at level L.
func (c *column) lossNum(L int, code uint32) int64 { return c.leavesUnder[L][code] - 1 }

// between returns the table mapping codes at level from to codes at level
// to (from ≤ to).
func (c *column) between(from, to int) []uint32 {
	card := len(c.labels[from])
	t := make([]uint32, card)
	for i := range t {
		code := uint32(i)
		for L := from; L < to; L++ {
			code = c.parent[L][code]
		}
		t[i] = code
	}
	return t
}
