package anonymizer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// randomHierarchy builds a consistent table hierarchy over leaves
// v0…v(n-1) with height levels.
func randomHierarchy(rng *rand.Rand, name string, leaves, height int) *Hierarchy {
	chains := make([][]string, leaves)
	prev := make([]int, leaves) // group at the previous level
	for i := range chains {
		chains[i] = []string{fmt.Sprintf("%s%d", name, i)}
		prev[i] = i
	}
	groups := leaves
	for L := 1; L < height-1; L++ {
		next := max(1, groups/2)
		assign := make([]int, groups)
		for g := range assign {
			assign[g] = rng.IntN(next)
		}
		for i := range chains {
			prev[i] = assign[prev[i]]
			chains[i] = append(chains[i], fmt.Sprintf("%s-L%d-%d", name, L, prev[i]))
		}
		groups = next
	}
	for i := range chains {
		chains[i] = append(chains[i], Top)
	}
	h, err := NewHierarchy(chains)
	if err != nil {
		panic(err)
	}
	return h
}

type testRow struct {
	qi        []string
	sensitive string
	person    string
}

type testTable struct {
	cfg  Config
	rows []testRow
}

func randomTable(rng *rand.Rand) *testTable {
	q := 2 + rng.IntN(3)
	t := &testTable{}
	for a := range q {
		name := string(rune('a' + a))
		t.cfg.QIs = append(t.cfg.QIs, QI{Name: name, Hierarchy: randomHierarchy(rng, name, 2+rng.IntN(7), 2+rng.IntN(3))})
	}
	t.cfg.K = 2 + rng.IntN(4)
	t.cfg.MaxSuppression = []float64{0, 0.05, 0.2}[rng.IntN(3)]
	if rng.IntN(3) == 0 {
		t.cfg.L = 2
		if rng.IntN(2) == 0 {
			t.cfg.Diversity = EntropyL
		}
	}
	t.cfg.People = rng.IntN(3) == 0
	correlated := rng.IntN(2) == 0
	n := 10 + rng.IntN(150)
	for i := range n {
		r := testRow{person: fmt.Sprint(i)}
		if t.cfg.People && i > 0 && rng.IntN(4) == 0 {
			r.person = fmt.Sprint(rng.IntN(i)) // a person with several rows
		}
		for _, qi := range t.cfg.QIs {
			leaves := qi.Hierarchy.Leaves()
			// Skewed, so some values are rare.
			j := int(float64(len(leaves)) * rng.Float64() * rng.Float64())
			r.qi = append(r.qi, leaves[j])
		}
		r.sensitive = fmt.Sprint(rng.IntN(4))
		if correlated && rng.IntN(5) > 0 {
			// Mostly a function of the first column: uniform classes,
			// the case where entropy l-diversity is not monotone.
			r.sensitive = fmt.Sprint(int(r.qi[0][len(r.qi[0])-1]) % 3)
		}
		t.rows = append(t.rows, r)
	}
	return t
}

func (t *testTable) engine(tb testing.TB) *Engine {
	tb.Helper()
	e, err := New(t.cfg)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range t.rows {
		if err := e.Add(r.qi, r.sensitive, r.person); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

// naiveNode judges a node the slow, obvious way, from the hierarchies'
// strings: an independent check of the evaluator.
func (t *testTable) naiveNode(levels []int) (suppressed int, loss float64, anonymous bool) {
	type class struct {
		rows   int
		people map[string]bool
		sens   map[string]int
		labels []string
	}
	classes := map[string]*class{}
	var order []string
	for _, r := range t.rows {
		labels := make([]string, len(levels))
		for a, v := range r.qi {
			chain, _ := t.cfg.QIs[a].Hierarchy.Chain(v)
			labels[a] = chain[levels[a]]
		}
		key := strings.Join(labels, "\x00")
		c := classes[key]
		if c == nil {
			c = &class{people: map[string]bool{}, sens: map[string]int{}, labels: labels}
			classes[key] = c
			order = append(order, key)
		}
		c.rows++
		c.people[r.person] = true
		c.sens[r.sensitive]++
	}
	ncp := func(a int, label string) float64 {
		h := t.cfg.QIs[a].Hierarchy
		covered := 0
		for _, leaf := range h.Leaves() {
			chain, _ := h.Chain(leaf)
			if chain[levels[a]] == label {
				covered++
			}
		}
		if len(h.Leaves()) < 2 {
			return 0
		}
		return float64(covered-1) / float64(len(h.Leaves())-1)
	}
	total := 0.0
	for _, key := range order {
		c := classes[key]
		size := c.rows
		if t.cfg.People {
			size = len(c.people)
		}
		ok := size >= t.cfg.K
		if t.cfg.L > 0 {
			div := float64(len(c.sens))
			if t.cfg.Diversity == EntropyL {
				h := 0.0
				for _, n := range c.sens {
					p := float64(n) / float64(c.rows)
					h -= p * math.Log(p)
				}
				div = math.Exp(h)
			}
			ok = ok && div >= float64(t.cfg.L)-1e-9
		}
		for a := range levels {
			if ok {
				total += float64(c.rows) * ncp(a, c.labels[a])
			} else {
				total += float64(c.rows)
			}
		}
		if !ok {
			suppressed += c.rows
		}
	}
	bound := int(math.Floor(t.cfg.MaxSuppression*float64(len(t.rows)) + 1e-9))
	return suppressed, total / float64(len(t.rows)) / float64(len(levels)), suppressed <= bound
}

// TestSearchIsOptimal compares the pruned search with an exhaustive one
// over the whole lattice, and the evaluator with the naive judge, on
// random tables.
func TestSearchIsOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 300 {
		tt := randomTable(rng)
		e := tt.engine(t)
		ev, _ := e.prepare()
		got, _, err := ev.searchGlobal(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		lat, _ := newLattice(ev.cols)
		var want *candidate
		levels := make([]int, len(ev.cols))
		for idx := range lat.size {
			lat.decode(idx, levels)
			r := ev.eval(ev.base, levels, true)
			sup, loss, anon := tt.naiveNode(levels)
			if r.suppressed != int64(sup) || r.anonymous != anon || math.Abs(r.loss-loss) > 1e-9 {
				t.Fatalf("trial %d node %v: evaluator says suppressed %d loss %v anonymous %v, naive %d %v %v",
					trial, levels, r.suppressed, r.loss, r.anonymous, sup, loss, anon)
			}
			c := &candidate{levels: slices.Clone(levels), anonymous: r.anonymous, suppressed: r.suppressed, loss: r.loss}
			if c.anonymous && c.better(want, lat) {
				want = c
			}
		}
		switch {
		case (got == nil) != (want == nil):
			t.Fatalf("trial %d: search found %v, exhaustive %v", trial, got, want)
		case got != nil && math.Abs(got.loss-want.loss) > 1e-12:
			t.Fatalf("trial %d (%+v): search found %v loss %v, exhaustive %v loss %v", trial, tt.cfg, got.levels, got.loss, want.levels, want.loss)
		}
	}
}

// check re-reads a result the obvious way: every released class meets k
// (and l), suppression stays in bounds.
func (t *testTable) check(tb testing.TB, res *Result) {
	tb.Helper()
	people := map[string]map[string]bool{}
	sens := map[string]map[string]bool{}
	suppressed := 0
	for i, r := range t.rows {
		values, sup := res.Row(i)
		if sup {
			suppressed++
			for _, v := range values {
				if v != Top {
					tb.Fatalf("suppressed row %d has %q", i, v)
				}
			}
			continue
		}
		for a, v := range values {
			chain, _ := t.cfg.QIs[a].Hierarchy.Chain(r.qi[a])
			if !slices.Contains(chain, v) {
				tb.Fatalf("row %d column %d: %q does not generalise %q", i, a, v, r.qi[a])
			}
		}
		key := strings.Join(values, "\x00")
		if people[key] == nil {
			people[key], sens[key] = map[string]bool{}, map[string]bool{}
		}
		p := r.person
		if !t.cfg.People {
			p = fmt.Sprint(i)
		}
		people[key][p] = true
		sens[key][r.sensitive] = true
	}
	for key, ps := range people {
		if len(ps) < t.cfg.K {
			tb.Fatalf("class %q holds %d people, k = %d", key, len(ps), t.cfg.K)
		}
		if t.cfg.L > 0 && t.cfg.Diversity != EntropyL && len(sens[key]) < t.cfg.L {
			tb.Fatalf("class %q holds %d sensitive values, l = %d", key, len(sens[key]), t.cfg.L)
		}
	}
	if t.cfg.Method != Mondrian && float64(suppressed) > t.cfg.MaxSuppression*float64(len(t.rows))+1e-9 {
		tb.Fatalf("%d of %d rows suppressed, bound %v", suppressed, len(t.rows), t.cfg.MaxSuppression)
	}
	if int64(suppressed) != res.Suppressed {
		tb.Fatalf("result says %d suppressed, rows show %d", res.Suppressed, suppressed)
	}
}

func TestResultsHoldOnRandomTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for trial := range 300 {
		tt := randomTable(rng)
		if trial%2 == 1 {
			tt.cfg.Method = Mondrian
		}
		res, err := tt.engine(t).Solve(context.Background())
		if errors.Is(err, ErrUnsatisfiable) {
			continue
		}
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		tt.check(t, res)
		if res.AchievedK < int64(tt.cfg.K) || (tt.cfg.L > 0 && res.AchievedL < float64(tt.cfg.L)-1e-9) {
			t.Fatalf("trial %d: achieved k %d l %v", trial, res.AchievedK, res.AchievedL)
		}
		if res.Loss.NCP < 0 || res.Loss.NCP > 1 {
			t.Fatalf("trial %d: loss %v outside 0…1", trial, res.Loss.NCP)
		}
	}
}

// TestWideKeys exercises the grouping when the product of the columns'
// cardinalities overflows a 64-bit key (ten columns of 100 values): the
// combinations are renumbered densely part way.
func TestWideKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	tt := &testTable{cfg: Config{K: 2, MaxSuppression: 0.5}}
	for a := range 10 {
		name := fmt.Sprintf("c%d", a)
		chains := make([][]string, 100)
		for i := range chains {
			chains[i] = []string{fmt.Sprintf("%s-%d", name, i), fmt.Sprintf("%s-g%d", name, i%7), Top}
		}
		h, err := NewHierarchy(chains)
		if err != nil {
			t.Fatal(err)
		}
		tt.cfg.QIs = append(tt.cfg.QIs, QI{Name: name, Hierarchy: h})
	}
	base := make([]string, 10)
	for i := range 400 {
		r := testRow{person: fmt.Sprint(i)}
		for a := range 10 {
			v := base[a]
			if i%2 == 0 || v == "" {
				// Half the rows repeat the previous one, so classes of 2 exist.
				v = fmt.Sprintf("c%d-%d", a, rng.IntN(100))
			}
			base[a] = v
			r.qi = append(r.qi, v)
		}
		tt.rows = append(tt.rows, r)
	}
	ev, _ := tt.engine(t).prepare()
	lat, _ := newLattice(ev.cols)
	levels := make([]int, 10)
	for _, idx := range []uint64{0, 1, 7, lat.size / 3, lat.size / 2, lat.size - 1} {
		lat.decode(idx, levels)
		r := ev.eval(ev.base, levels, true)
		sup, loss, anon := tt.naiveNode(levels)
		if r.suppressed != int64(sup) || r.anonymous != anon || math.Abs(r.loss-loss) > 1e-9 {
			t.Fatalf("node %v: evaluator %d %v %v, naive %d %v %v", levels, r.suppressed, r.loss, r.anonymous, sup, loss, anon)
		}
	}
	res, err := tt.engine(t).Solve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tt.check(t, res)
}
