package anonymizer

import (
	"cmp"
	"math"
	"slices"
)

// prepare closes the domains, groups the rows into the base snapshot
// (level 0 everywhere) and sets the evaluator up. It returns, per row,
// its base entry, and frees the per-row codes.
func (e *Engine) prepare() (*evaluator, []int32) {
	for _, c := range e.cols {
		c.finish()
	}
	q := len(e.cols)
	ev := &evaluator{
		cols: e.cols, k: e.cfg.K, l: e.cfg.L, diversity: e.cfg.Diversity,
		n:     int64(e.rows),
		bound: int64(math.Floor(e.cfg.MaxSuppression*float64(e.rows) + 1e-9)),
		nSV:   max(len(e.sensDict), 1),
	}
	for _, c := range e.cols {
		ev.maxH = max(ev.maxH, c.height)
	}
	ev.tables = make([][]uint32, q*ev.maxH*ev.maxH)

	// Group rows by (leaf codes, sensitive value).
	n := e.rows
	keys := make([]uint64, n)
	ids := make([]int32, n)
	limit := uint64(1)
	fold := func(card uint64, code func(i int) uint64) {
		if limit > overflowGuard/card {
			m, _ := ev.g.group(keys, limit, ids)
			for i, id := range ids {
				keys[i] = uint64(id)
			}
			limit = uint64(m)
		}
		for i := range keys {
			keys[i] = keys[i]*card + code(i)
		}
		limit *= card
	}
	for a, c := range e.cols {
		col := e.codes[a]
		fold(uint64(max(c.domain(), 1)), func(i int) uint64 { return uint64(col[i]) })
	}
	if e.cfg.L > 0 {
		fold(uint64(ev.nSV), func(i int) uint64 { return uint64(e.sensCodes[i]) })
	}
	ne, reps := ev.g.group(keys, limit, ids)
	base := &snapshot{levels: make([]int, q), codes: make([][]uint32, q), rows: make([]int32, ne), single: make([]int32, ne)}
	for a := range e.cols {
		col := make([]uint32, ne)
		for i, rep := range reps {
			col[i] = e.codes[a][rep]
		}
		base.codes[a] = col
	}
	if e.cfg.L > 0 {
		base.sv = make([]uint32, ne)
		for i, rep := range reps {
			base.sv[i] = e.sensCodes[rep]
		}
	}
	for _, id := range ids {
		base.rows[id]++
	}
	if !e.cfg.People {
		copy(base.single, base.rows)
	} else {
		perPerson := make([]int32, e.personIDs.len())
		for _, p := range e.personOf {
			perPerson[p]++
		}
		type mr struct{ person, entry int32 }
		var multi []mr
		for row, p := range e.personOf {
			if perPerson[p] == 1 {
				base.single[ids[row]]++
			} else {
				multi = append(multi, mr{p, ids[row]})
			}
		}
		slices.SortFunc(multi, func(x, y mr) int {
			return cmp.Or(cmp.Compare(x.person, y.person), cmp.Compare(x.entry, y.entry))
		})
		multi = slices.Compact(multi)
		for _, m := range multi {
			ev.multiPerson = append(ev.multiPerson, m.person)
			ev.multiEntry = append(ev.multiEntry, m.entry)
		}
		e.personOf = nil
	}
	ev.base = base
	e.codes, e.sensCodes = nil, nil

	ev.lossG = make([][]int64, q)
	for a, c := range e.cols {
		ev.lossG[a] = make([]int64, c.height)
		for L := range c.height {
			var s int64
			up := c.up[L]
			for i, code := range base.codes[a] {
				s += int64(base.rows[i]) * c.lossNum(L, up[code])
			}
			ev.lossG[a][L] = s
		}
	}
	return ev, ids
}
