package anonymizer

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
)

// The global search.
//
// The lattice holds every level vector; a node's generalisations are the
// nodes above it. Two monotone facts drive the search:
//
//  1. k-anonymity with bounded suppression is monotone: when two classes
//     merge, a record in a class of at least k people stays in one, so a
//     node's suppressed rows can only fall as it is generalised (likewise
//     for distinct l-diversity: a union of classes has at least as many
//     distinct values; entropy l-diversity only without suppression, see
//     monotoneAnonymity). So a node below a non-anonymous node is
//     non-anonymous: status() learns that by binary search on chains
//     towards the top (Flash, OLA) and tags whole down-sets at once.
//  2. The generalisation part of the loss, LB(node) = the certainty
//     penalty of every row at the node's levels ignoring suppression, is
//     monotone: a coarser label covers a superset of leaves.
//
// The loss we minimise, NCP with suppressed cells costing 1, is NOT
// monotone when suppression is allowed: generalising can release rows
// that were suppressed and lower the loss. But loss(node) ≥ LB(node),
// and LB only grows upwards, so LB bounds the loss of a node and of all
// its generalisations. The search therefore visits nodes best-first by
// LB (a heap seeded with the bottom node; successors pushed when a node
// is popped) and stops at the first node whose LB exceeds the best loss
// found: no unvisited node can beat it (branch and bound, as ARX's
// Flash does with its metrics' lower bounds). Above an anonymous node
// that suppresses nothing, loss = LB, so its generalisations cannot be
// better and are not pushed at all (fact 1 + 2: the "cannot be better"
// pruning of Flash/OLA/Incognito). The exhaustive search in the tests
// checks that this returns the optimum on random tables.
//
// Ties in loss go to fewer suppressed rows, then the lower sum of
// levels, then the lower lattice index, so the answer is deterministic.

// maxLattice bounds the lattice the global search accepts.
const maxLattice = 1 << 26

// cacheCells bounds the snapshots kept for roll-up (a cell is 4 bytes).
const cacheCells = 1 << 22

// SearchStats says how much of the lattice the search looked at (for
// Mondrian, Evaluated counts the splits made).
type SearchStats struct {
	LatticeNodes int64 `json:"lattice_nodes"`
	Evaluated    int   `json:"nodes_evaluated"`
	Visited      int   `json:"nodes_visited"`
}

type lattice struct {
	heights []int
	strides []uint64
	size    uint64
}

func newLattice(cols []*column) (*lattice, error) {
	l := &lattice{size: 1}
	for _, c := range cols {
		l.heights = append(l.heights, c.height)
	}
	l.strides = make([]uint64, len(cols))
	for a := len(cols) - 1; a >= 0; a-- {
		l.strides[a] = l.size
		l.size *= uint64(l.heights[a])
		if l.size > maxLattice {
			return nil, fmt.Errorf("the generalisation lattice has more than %d nodes: use fewer quasi-identifiers or shallower hierarchies, or --method mondrian", maxLattice)
		}
	}
	return l, nil
}

func (l *lattice) decode(idx uint64, levels []int) {
	for a, s := range l.strides {
		levels[a] = int(idx / s % uint64(l.heights[a]))
	}
}

type heapItem struct {
	lb  float64
	sum int
	idx uint64
}

type nodeHeap []heapItem

func (h nodeHeap) Len() int { return len(h) }
func (h nodeHeap) Less(i, j int) bool {
	if h[i].lb != h[j].lb {
		return h[i].lb < h[j].lb
	}
	if h[i].sum != h[j].sum {
		return h[i].sum < h[j].sum
	}
	return h[i].idx < h[j].idx
}
func (h nodeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *nodeHeap) Push(x any)   { *h = append(*h, x.(heapItem)) }
func (h *nodeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func levelSum(levels []int) int {
	s := 0
	for _, L := range levels {
		s += L
	}
	return s
}

func (l *lattice) index(levels []int) uint64 {
	var idx uint64
	for a, L := range levels {
		idx += uint64(L) * l.strides[a]
	}
	return idx
}

// candidate is what the search remembers of an evaluated node.
type candidate struct {
	levels     []int
	anonymous  bool
	suppressed int64
	loss       float64
}

func (a *candidate) better(b *candidate, lat *lattice) bool {
	if b == nil {
		return true
	}
	if a.loss != b.loss {
		return a.loss < b.loss
	}
	if a.suppressed != b.suppressed {
		return a.suppressed < b.suppressed
	}
	sa, sb := levelSum(a.levels), levelSum(b.levels)
	if sa != sb {
		return sa < sb
	}
	return lat.index(a.levels) < lat.index(b.levels)
}

// below reports whether x ≤ y in every column.
func below(x, y []int) bool {
	for a := range x {
		if x[a] > y[a] {
			return false
		}
	}
	return true
}

// globalSearch holds the state of one search.
type globalSearch struct {
	ev    *evaluator
	lat   *lattice
	stats SearchStats
	known map[uint64]*candidate
	// nonAnon is an antichain of non-anonymous nodes: every node below
	// one of them is non-anonymous too (predictive tagging).
	nonAnon [][]int
	cache   []*snapshot // FIFO, for roll-up
	cells   int
	best    *candidate
	// monotone: anonymity is inherited upwards, so non-anonymity is
	// inherited downwards (see monotoneAnonymity).
	monotone bool
}

// monotoneAnonymity reports whether "anonymous within the bound" is
// monotone. It is for k and distinct l: a released row's class only
// grows. Entropy l-diversity is monotone only without suppression: a
// diverse class merged with a large suppressed uniform one can lose its
// diversity, so generalising can suppress more rows.
func (ev *evaluator) monotoneAnonymity() bool {
	return !(ev.l > 0 && ev.diversity == EntropyL && ev.bound > 0)
}

func (g *globalSearch) isNonAnon(levels []int) bool {
	for _, m := range g.nonAnon {
		if below(levels, m) {
			return true
		}
	}
	return false
}

func (g *globalSearch) addNonAnon(levels []int) {
	keep := g.nonAnon[:0]
	for _, m := range g.nonAnon {
		if !below(m, levels) {
			keep = append(keep, m)
		}
	}
	g.nonAnon = append(keep, slices.Clone(levels))
}

// evaluate judges a node, rolling up from the smallest cached snapshot
// below it.
func (g *globalSearch) evaluate(idx uint64, levels []int) *candidate {
	if c, ok := g.known[idx]; ok {
		return c
	}
	src := g.ev.base
	for _, s := range g.cache {
		if s.len() < src.len() && below(s.levels, levels) {
			src = s
		}
	}
	r := g.ev.eval(src, levels, false)
	g.stats.Evaluated++
	c := &candidate{levels: r.levels, anonymous: r.anonymous, suppressed: r.suppressed, loss: r.loss}
	g.known[idx] = c
	if c.anonymous {
		if c.better(g.best, g.lat) {
			g.best = c
		}
	} else if g.monotone {
		g.addNonAnon(levels)
	}
	g.cache = append(g.cache, r.snap)
	g.cells += r.snap.cells()
	for g.cells > cacheCells && len(g.cache) > 1 {
		g.cells -= g.cache[0].cells()
		g.cache = g.cache[1:]
	}
	return c
}

// status tells whether the node at idx is anonymous, evaluating as few
// nodes as it can: it walks a chain from the node to the top (raising at
// each step the column whose next level costs least) and binary-searches
// it for the lowest anonymous node, as Flash and OLA do. Every node below
// the highest non-anonymous node found is then known to be non-anonymous
// without evaluation.
func (g *globalSearch) status(idx uint64, levels []int) bool {
	if g.isNonAnon(levels) {
		return false
	}
	if c, ok := g.known[idx]; ok {
		return c.anonymous
	}
	if !g.monotone {
		return g.evaluate(idx, levels).anonymous
	}
	chain := [][]int{slices.Clone(levels)}
	cur := slices.Clone(levels)
	for {
		bestA, bestLB := -1, 0.0
		for a := range cur {
			if cur[a]+1 >= g.lat.heights[a] {
				continue
			}
			cur[a]++
			lb := g.ev.loss(cur, nil)
			cur[a]--
			if bestA < 0 || lb < bestLB {
				bestA, bestLB = a, lb
			}
		}
		if bestA < 0 {
			break
		}
		cur[bestA]++
		chain = append(chain, slices.Clone(cur))
	}
	anon := func(i int) bool {
		if g.isNonAnon(chain[i]) {
			return false
		}
		return g.evaluate(g.lat.index(chain[i]), chain[i]).anonymous
	}
	lo, hi := 0, len(chain)
	for lo < hi {
		mid := (lo + hi) / 2
		if anon(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo == 0
}

// searchGlobal returns the optimal anonymous node, or nil when no node
// meets the requirement.
func (ev *evaluator) searchGlobal(ctx context.Context) (*candidate, SearchStats, error) {
	lat, err := newLattice(ev.cols)
	if err != nil {
		return nil, SearchStats{}, err
	}
	g := &globalSearch{ev: ev, lat: lat, known: map[uint64]*candidate{}, monotone: ev.monotoneAnonymity()}
	g.stats.LatticeNodes = int64(lat.size)
	visited := make([]uint64, (lat.size+63)/64)

	q := len(ev.cols)
	levels := make([]int, q)
	h := &nodeHeap{{lb: ev.loss(levels, nil), idx: 0}}
	visited[0] |= 1
	for h.Len() > 0 {
		it := heap.Pop(h).(heapItem)
		if g.best != nil && it.lb > g.best.loss {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, g.stats, err
		}
		lat.decode(it.idx, levels)
		if g.status(it.idx, levels) && g.known[it.idx].suppressed == 0 {
			continue // anonymous without suppression: nothing above is better
		}
		for a := range levels {
			if levels[a]+1 >= lat.heights[a] {
				continue
			}
			next := it.idx + lat.strides[a]
			if visited[next/64]&(1<<(next%64)) != 0 {
				continue
			}
			visited[next/64] |= 1 << (next % 64)
			levels[a]++
			heap.Push(h, heapItem{lb: ev.loss(levels, nil), sum: it.sum + 1, idx: next})
			levels[a]--
		}
	}
	g.stats.Visited = countBits(visited)
	return g.best, g.stats, nil
}

func countBits(b []uint64) int {
	n := 0
	for _, w := range b {
		for ; w != 0; w &= w - 1 {
			n++
		}
	}
	return n
}
