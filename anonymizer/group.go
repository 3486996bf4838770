package anonymizer

import "math/bits"

// table is an open-addressing hash table from uint64 keys to int32
// values: the group-by of the hot loop, several times faster than a Go
// map and without allocation per key (BenchmarkAnonymizeAdultJittered,
// the million-row figure in docs/benchmarks.md).
type table struct {
	keys  []uint64
	vals  []int32 // -1: empty
	shift uint
	n     int
}

func newTable(capacity int) *table {
	t := &table{}
	t.reset(capacity)
	return t
}

// reset empties the table and makes room for capacity keys at a load of
// at most one half.
func (t *table) reset(capacity int) {
	size := 16
	for size < 2*capacity {
		size <<= 1
	}
	if cap(t.keys) >= size {
		t.keys = t.keys[:size]
		t.vals = t.vals[:size]
	} else {
		t.keys = make([]uint64, size)
		t.vals = make([]int32, size)
	}
	for i := range t.vals {
		t.vals[i] = -1
	}
	t.shift = uint(64 - bits.TrailingZeros(uint(size)))
	t.n = 0
}

func (t *table) len() int { return t.n }

// insert returns the value of k, storing v first if k is new.
func (t *table) insert(k uint64, v int32) int32 {
	if 2*(t.n+1) > len(t.keys) {
		t.grow()
	}
	mask := uint64(len(t.keys) - 1)
	i := (k * 0x9E3779B97F4A7C15) >> t.shift
	for {
		switch t.vals[i] {
		case -1:
			t.keys[i] = k
			t.vals[i] = v
			t.n++
			return v
		default:
			if t.keys[i] == k {
				return t.vals[i]
			}
		}
		i = (i + 1) & mask
	}
}

func (t *table) grow() {
	keys, vals := t.keys, t.vals
	t.keys, t.vals = nil, nil
	t.reset(len(keys))
	for i, v := range vals {
		if v >= 0 {
			t.insert(keys[i], v)
		}
	}
}

// grouper assigns dense group numbers to keys, reusing its buffers.
type grouper struct {
	t      table
	direct []int32
}

// group numbers the distinct keys 0, 1, … in order of first appearance,
// writing each key's number to ids, and returns the count and, for each
// group, the index of its first key. Keys are below limit.
func (g *grouper) group(keys []uint64, limit uint64, ids []int32) (n int, reps []int32) {
	reps = make([]int32, 0, min(len(keys), 1024))
	if limit <= uint64(2*len(keys)+1<<16) {
		// Small key space: index an array directly.
		if uint64(cap(g.direct)) < limit {
			g.direct = make([]int32, limit)
		}
		d := g.direct[:limit]
		for i := range d {
			d[i] = -1
		}
		for i, k := range keys {
			id := d[k]
			if id < 0 {
				id = int32(len(reps))
				d[k] = id
				reps = append(reps, int32(i))
			}
			ids[i] = id
		}
		return len(reps), reps
	}
	g.t.reset(min(len(keys), int(min(limit, 1<<40))))
	for i, k := range keys {
		next := int32(len(reps))
		id := g.t.insert(k, next)
		if id == next {
			reps = append(reps, int32(i))
		}
		ids[i] = id
	}
	return len(reps), reps
}
