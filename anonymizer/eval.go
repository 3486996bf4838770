package anonymizer

import (
	"math"
	"slices"
)

// snapshot is a frequency set: the distinct combinations of generalised
// quasi-identifier codes at one lattice node (with the sensitive value
// when l-diversity is asked for), with how many rows, and how many
// single-row persons, each holds. A node's snapshot rolls up from any
// snapshot below it, which is far smaller than the table.
type snapshot struct {
	levels []int
	codes  [][]uint32 // per quasi-identifier, per entry
	sv     []uint32   // per entry, when L > 0
	rows   []int32
	single []int32 // rows of persons who have no other row
}

func (s *snapshot) len() int { return len(s.rows) }

// cells is the snapshot's size for the cache budget.
func (s *snapshot) cells() int { return len(s.rows) * (len(s.codes) + 3) }

// evaluator evaluates lattice nodes. Persons with several rows (multi)
// are kept aside, by base entry, because distinct counts do not add up
// under roll-up: each node looks up which classes their rows fall in.
type evaluator struct {
	cols      []*column
	k, l      int
	diversity Diversity
	n         int64 // rows
	bound     int64 // rows that may be suppressed
	base      *snapshot
	nSV       int
	// multiEntry[i] is the base entry of a row of a person with several
	// rows; multiPerson[i] the person; sorted by person.
	multiEntry, multiPerson []int32
	// lossG[a][L] sums, over all rows, the certainty-penalty numerator
	// of column a generalised to level L.
	lossG [][]int64

	g       grouper
	keys    []uint64
	ids     []int32
	tables  [][]uint32 // between-level tables by (a, from, to)
	maxH    int
	classes []int32 // scratch: one person's classes
}

// evaluation is the outcome at one node.
type evaluation struct {
	levels     []int
	snap       *snapshot
	nClasses   int
	classCodes [][]uint32 // per quasi-identifier, per class
	srcClass   []int32    // class of each entry of the source snapshot
	rows       []int64
	people     []int64
	diverse    []float64 // distinct count, or exp(entropy)
	ok         []bool
	suppressed int64
	penalty    []int64 // per column: numerator added by suppression
	anonymous  bool
	loss       float64
}

func (ev *evaluator) between(a, from, to int) []uint32 {
	i := (a*ev.maxH+from)*ev.maxH + to
	if ev.tables[i] == nil {
		ev.tables[i] = ev.cols[a].between(from, to)
	}
	return ev.tables[i]
}

// overflowGuard keeps mixed-radix keys below 2^62.
const overflowGuard = 1 << 62

// eval rolls src up to levels and judges the classes there.
//
// With exact false, judging stops as soon as the node is known to be
// non-anonymous: suppressed and loss are then not totals.
func (ev *evaluator) eval(src *snapshot, levels []int, exact bool) *evaluation {
	nSrc, nMulti := src.len(), len(ev.multiEntry)
	total := nSrc + nMulti
	if cap(ev.keys) < total {
		ev.keys = make([]uint64, total)
		ev.ids = make([]int32, total)
	}
	keys, ids := ev.keys[:total], ev.ids[:total]
	clear(keys)
	limit := uint64(1)
	for a, c := range ev.cols {
		card := uint64(len(c.labels[levels[a]]))
		if limit > overflowGuard/card {
			// The key would overflow: number the combinations so far
			// densely and go on from those numbers.
			n, _ := ev.g.group(keys, limit, ids)
			for i, id := range ids {
				keys[i] = uint64(id)
			}
			limit = uint64(n)
		}
		t := ev.between(a, src.levels[a], levels[a])
		for i, code := range src.codes[a] {
			keys[i] = keys[i]*card + uint64(t[code])
		}
		if nMulti > 0 {
			tb := ev.between(a, 0, levels[a])
			bc := ev.base.codes[a]
			mk := keys[nSrc:]
			for j, e := range ev.multiEntry {
				mk[j] = mk[j]*card + uint64(tb[bc[e]])
			}
		}
		limit *= card
	}
	nc, reps := ev.g.group(keys, limit, ids)
	r := &evaluation{levels: slices.Clone(levels), nClasses: nc}
	// Every multi row's base entry rolls up into some source entry's
	// class, so reps all lie in the source part.
	r.classCodes = make([][]uint32, len(ev.cols))
	for a := range ev.cols {
		t := ev.between(a, src.levels[a], levels[a])
		cc := make([]uint32, nc)
		col := src.codes[a]
		for c, rep := range reps {
			cc[c] = t[col[rep]]
		}
		r.classCodes[a] = cc
	}
	r.srcClass = slices.Clone(ids[:nSrc])
	r.rows = make([]int64, nc)
	r.people = make([]int64, nc)
	for i, c := range r.srcClass {
		r.rows[c] += int64(src.rows[i])
		r.people[c] += int64(src.single[i])
	}
	ev.countMulti(r.people, ids[nSrc:])
	if ev.l > 0 {
		ev.diversify(src, r)
	} else {
		single := make([]int32, nc)
		for i, c := range r.srcClass {
			single[c] += src.single[i]
		}
		rows := make([]int32, nc)
		for c, v := range r.rows {
			rows[c] = int32(v)
		}
		r.snap = &snapshot{levels: r.levels, codes: r.classCodes, rows: rows, single: single}
	}
	ev.judge(r, exact)
	return r
}

// countMulti adds each person with several rows once to every class that
// holds one of their rows.
func (ev *evaluator) countMulti(people []int64, classOf []int32) {
	for i := 0; i < len(classOf); {
		j := i
		ev.classes = ev.classes[:0]
		for ; j < len(classOf) && ev.multiPerson[j] == ev.multiPerson[i]; j++ {
			if !slices.Contains(ev.classes, classOf[j]) {
				ev.classes = append(ev.classes, classOf[j])
			}
		}
		for _, c := range ev.classes {
			people[c]++
		}
		i = j
	}
}

// diversify groups the source entries by (class, sensitive value): that
// is the node's snapshot, and per class it gives the distinct count and
// the entropy of the sensitive values.
func (ev *evaluator) diversify(src *snapshot, r *evaluation) {
	nSrc := src.len()
	keys, ids := ev.keys[:nSrc], ev.ids[:nSrc]
	nSV := uint64(ev.nSV)
	for i, c := range r.srcClass {
		keys[i] = uint64(c)*nSV + uint64(src.sv[i])
	}
	ne, reps := ev.g.group(keys, uint64(r.nClasses)*nSV, ids)
	s := &snapshot{levels: r.levels, codes: make([][]uint32, len(ev.cols)), sv: make([]uint32, ne), rows: make([]int32, ne), single: make([]int32, ne)}
	entryClass := make([]int32, ne)
	for e, rep := range reps {
		entryClass[e] = r.srcClass[rep]
		s.sv[e] = src.sv[rep]
	}
	for a := range ev.cols {
		col := make([]uint32, ne)
		for e, c := range entryClass {
			col[e] = r.classCodes[a][c]
		}
		s.codes[a] = col
	}
	for i, e := range ids {
		s.rows[e] += src.rows[i]
		s.single[e] += src.single[i]
	}
	r.snap = s
	r.diverse = make([]float64, r.nClasses)
	if ev.diversity == EntropyL {
		// H = log R - (1/R) Σ r log r over the class's sensitive values.
		acc := make([]float64, r.nClasses)
		for e, c := range entryClass {
			x := float64(s.rows[e])
			acc[c] += x * math.Log(x)
		}
		for c := range acc {
			R := float64(r.rows[c])
			r.diverse[c] = math.Exp(math.Log(R) - acc[c]/R)
		}
		return
	}
	for _, c := range entryClass {
		r.diverse[c]++
	}
}

// diversityTolerance absorbs rounding in exp(entropy) when comparing
// with l.
const diversityTolerance = 1e-9

// judge marks classes released or suppressed and totals the cost.
func (ev *evaluator) judge(r *evaluation, exact bool) {
	r.ok = make([]bool, r.nClasses)
	k := int64(ev.k)
	for c := range r.ok {
		ok := r.people[c] >= k && (ev.l == 0 || r.diverse[c] >= float64(ev.l)-diversityTolerance)
		r.ok[c] = ok
		if !ok {
			r.suppressed += r.rows[c]
			if !exact && r.suppressed > ev.bound {
				r.loss = math.Inf(1)
				return
			}
		}
	}
	r.anonymous = r.suppressed <= ev.bound
	// What suppression adds to the loss: a suppressed cell costs 1, its
	// generalised value's penalty already counted in lossG.
	r.penalty = make([]int64, len(ev.cols))
	for a, col := range ev.cols {
		L, codes := r.levels[a], r.classCodes[a]
		denom := col.lossDenom()
		var p int64
		for c, ok := range r.ok {
			if !ok {
				p += r.rows[c] * (denom - col.lossNum(L, codes[c]))
			}
		}
		r.penalty[a] = p
	}
	r.loss = ev.loss(r.levels, r.penalty)
}

// loss is the normalised certainty penalty of the node: penalty holds
// what suppression adds per column (nil: nothing suppressed, which is
// the node's lower bound).
func (ev *evaluator) loss(levels []int, penalty []int64) float64 {
	if ev.n == 0 {
		return 0
	}
	sum := 0.0
	for a, col := range ev.cols {
		num := ev.lossG[a][levels[a]]
		if penalty != nil {
			num += penalty[a]
		}
		sum += float64(num) / float64(col.lossDenom())
	}
	return sum / float64(ev.n) / float64(len(ev.cols))
}
