package anonymizer

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// Mondrian (LeFevre et al. 2006) over hierarchies: start with the whole
// table generalised to Top and split a partition, on the quasi-identifier
// whose label is widest (largest certainty penalty), into the children of
// that label in the hierarchy. Children that meet k (and l) become
// partitions of their own; the rest are pooled under the parent label,
// which must meet k (and l) too, borrowing the smallest children when it
// does not. A partition no column can split is a released class. Every
// class meets k by construction, so nothing is suppressed; labels come
// from the hierarchies, so the output reads like a global recoding's.

type partition struct {
	entries []int32 // base entries
	multi   []int32 // indexes into the evaluator's multi rows, by person
	levels  []int
	codes   []uint32
}

type mondrian struct {
	ev    *evaluator
	mark  []int32 // per sensitive value: generation stamp
	count []int64 // per sensitive value: rows
	gen   int32
}

// measure returns a set's rows, people and diversity.
func (m *mondrian) measure(entries, multi []int32) (rows, people int64, diverse float64) {
	ev := m.ev
	b := ev.base
	for _, e := range entries {
		rows += int64(b.rows[e])
		people += int64(b.single[e])
	}
	for i, j := range multi {
		if i == 0 || ev.multiPerson[j] != ev.multiPerson[multi[i-1]] {
			people++
		}
	}
	if ev.l == 0 {
		return rows, people, 0
	}
	m.gen++
	distinct := 0
	for _, e := range entries {
		s := b.sv[e]
		if m.mark[s] != m.gen {
			m.mark[s] = m.gen
			m.count[s] = 0
			distinct++
		}
		m.count[s] += int64(b.rows[e])
	}
	if ev.diversity != EntropyL {
		return rows, people, float64(distinct)
	}
	// Entropy over this set's values: walk the entries again, taking
	// each value once (its stamp is cleared when taken).
	R := float64(rows)
	h := 0.0
	for _, e := range entries {
		s := b.sv[e]
		if m.mark[s] == m.gen {
			m.mark[s] = 0
			x := float64(m.count[s])
			h -= x / R * math.Log(x/R)
		}
	}
	return rows, people, math.Exp(h)
}

func (m *mondrian) ok(entries, multi []int32) bool {
	_, people, diverse := m.measure(entries, multi)
	return people >= int64(m.ev.k) && (m.ev.l == 0 || diverse >= float64(m.ev.l)-diversityTolerance)
}

func (e *Engine) solveMondrian(ctx context.Context, ev *evaluator) (*Result, error) {
	res := e.newResult(ev)
	m := &mondrian{ev: ev, mark: make([]int32, ev.nSV), count: make([]int64, ev.nSV)}
	q := len(ev.cols)
	root := &partition{levels: make([]int, q), codes: make([]uint32, q)}
	for a, c := range ev.cols {
		root.levels[a] = c.height - 1
	}
	for i := range ev.base.len() {
		root.entries = append(root.entries, int32(i))
	}
	for i := range ev.multiEntry {
		root.multi = append(root.multi, int32(i))
	}
	var stack []*partition
	switch {
	case ev.n == 0:
		// Nothing to release: no classes.
	case !m.ok(root.entries, root.multi):
		if res.People >= int64(ev.k) {
			return nil, fmt.Errorf("%w: the whole table is not %s %d-diverse in the sensitive column", ErrUnsatisfiable, ev.diversity, ev.l)
		}
		return nil, ev.whyUnsatisfiable(res)
	default:
		stack = append(stack, root)
	}
	var final []*partition
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("anonymizer: %w", err)
		}
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		parts := m.split(p)
		if parts == nil {
			final = append(final, p)
			continue
		}
		stack = append(stack, parts...)
		res.Search.Evaluated++
	}
	// Present the partitions as an evaluation over the base snapshot.
	r := &evaluation{nClasses: len(final), srcClass: make([]int32, ev.base.len())}
	r.classCodes = make([][]uint32, q)
	for a := range r.classCodes {
		r.classCodes[a] = make([]uint32, len(final))
	}
	res.LevelUsed = make([][]int, q)
	for a, c := range ev.cols {
		res.LevelUsed[a] = make([]int, c.height)
	}
	for c, p := range final {
		for _, e := range p.entries {
			r.srcClass[e] = int32(c)
		}
		rows, people, diverse := m.measure(p.entries, p.multi)
		r.rows = append(r.rows, rows)
		r.people = append(r.people, people)
		r.diverse = append(r.diverse, diverse)
		r.ok = append(r.ok, true)
		for a := range q {
			r.classCodes[a][c] = p.codes[a]
			res.LevelUsed[a][p.levels[a]] += int(rows)
		}
	}
	ev.finishResult(res, r, func(c, a int) int { return final[c].levels[a] })
	return res, nil
}

// split returns the parts of p, or nil when no column can split it.
func (m *mondrian) split(p *partition) []*partition {
	ev := m.ev
	order := make([]int, 0, len(ev.cols))
	width := make([]float64, len(ev.cols))
	for a, c := range ev.cols {
		if p.levels[a] == 0 {
			continue
		}
		width[a] = float64(c.lossNum(p.levels[a], p.codes[a])) / float64(c.lossDenom())
		if width[a] > 0 {
			order = append(order, a)
		}
	}
	slices.SortStableFunc(order, func(x, y int) int {
		switch {
		case width[x] > width[y]:
			return -1
		case width[x] < width[y]:
			return 1
		}
		return 0
	})
	for _, a := range order {
		if parts := m.splitOn(p, a); len(parts) >= 2 {
			return parts
		}
	}
	return nil
}

// splitOn specialises column a of p by one level.
func (m *mondrian) splitOn(p *partition, a int) []*partition {
	ev := m.ev
	L := p.levels[a] - 1
	up := ev.between(a, 0, L)
	codes := ev.base.codes[a]
	index := map[uint32]int{}
	var kids []*partition
	child := func(code uint32) *partition {
		i, ok := index[code]
		if !ok {
			i = len(kids)
			index[code] = i
			k := &partition{levels: slices.Clone(p.levels), codes: slices.Clone(p.codes)}
			k.levels[a], k.codes[a] = L, code
			kids = append(kids, k)
		}
		return kids[i]
	}
	for _, e := range p.entries {
		k := child(up[codes[e]])
		k.entries = append(k.entries, e)
	}
	if len(kids) < 2 {
		return nil
	}
	for _, j := range p.multi {
		k := child(up[codes[ev.multiEntry[j]]])
		k.multi = append(k.multi, j)
	}
	var good []*partition
	pool := &partition{levels: p.levels, codes: p.codes}
	for _, k := range kids {
		if m.ok(k.entries, k.multi) {
			good = append(good, k)
			continue
		}
		pool.entries = append(pool.entries, k.entries...)
		pool.multi = append(pool.multi, k.multi...)
	}
	if len(pool.entries) == 0 {
		return good
	}
	// Keep the pool's multi rows ordered by person for measure.
	slices.SortFunc(pool.multi, func(x, y int32) int { return int(ev.multiPerson[x]) - int(ev.multiPerson[y]) })
	slices.SortStableFunc(good, func(x, y *partition) int {
		rx, _, _ := m.measure(x.entries, nil)
		ry, _, _ := m.measure(y.entries, nil)
		return int(rx - ry)
	})
	for !m.ok(pool.entries, pool.multi) {
		if len(good) == 0 {
			return nil
		}
		g := good[0]
		good = good[1:]
		pool.entries = append(pool.entries, g.entries...)
		pool.multi = append(pool.multi, g.multi...)
		slices.SortFunc(pool.multi, func(x, y int32) int { return int(ev.multiPerson[x]) - int(ev.multiPerson[y]) })
	}
	return append(good, pool)
}
