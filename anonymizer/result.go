package anonymizer

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrUnsatisfiable: no generalisation meets the requirement within the
// suppression bound. The engine never returns a weaker table.
var ErrUnsatisfiable = errors.New("the requirement cannot be met")

// Result is an anonymised table: the chosen generalisation, what it
// achieved and cost, and each row's generalised values.
type Result struct {
	Method    Method    `json:"method"`
	QI        []string  `json:"quasi_identifiers"`
	Levels    []int     `json:"levels,omitempty"`     // global: the level chosen per quasi-identifier
	Heights   []int     `json:"heights"`              // levels each hierarchy has
	LevelUsed [][]int   `json:"level_rows,omitempty"` // mondrian: per quasi-identifier, released rows per level
	K         int       `json:"k"`
	L         int       `json:"l,omitempty"`
	Diversity Diversity `json:"diversity,omitempty"`

	Rows           int64       `json:"rows"`
	People         int64       `json:"people"`
	MaxSuppressed  int64       `json:"max_suppressed_rows"`
	Suppressed     int64       `json:"suppressed_rows"`
	AchievedK      int64       `json:"achieved_k"`
	AchievedL      float64     `json:"achieved_l,omitempty"`
	Classes        int         `json:"classes"`
	ClassHistogram []Bucket    `json:"class_size_histogram"`
	Risk           Risk        `json:"risk"`
	Loss           Loss        `json:"information_loss"`
	Search         SearchStats `json:"search"`
	Seconds        float64     `json:"seconds"`

	rowEntry   []int32    // row → base entry
	entryClass []int32    // base entry → released class, -1 when suppressed
	labels     [][]string // released class → label per quasi-identifier
	top        []string   // a suppressed row
}

// Bucket counts the released classes whose size (in people) lies in
// [Min, Max] (Max 0: no upper end).
type Bucket struct {
	Min     int64 `json:"min"`
	Max     int64 `json:"max,omitempty"`
	Classes int   `json:"classes"`
	Rows    int64 `json:"rows"`
}

// Risk is the re-identification risk left in the released rows, under
// the prosecutor model (the attacker knows the person is in the table):
// a person in a class of s people is re-identified with probability 1/s.
type Risk struct {
	ProsecutorMax     float64 `json:"prosecutor_max"`
	ProsecutorAverage float64 `json:"prosecutor_average"` // over released rows
	// SmallClassSize is 2k: SmallClassShare is the share of released
	// rows in classes of fewer people than that, the rows nearest the
	// limit.
	SmallClassSize  int64   `json:"small_class_size"`
	SmallClassShare float64 `json:"small_class_share"`
}

// Loss is the information lost, two standard ways.
type Loss struct {
	Measure string `json:"measure"`
	// NCP is the normalised certainty penalty, 0 (nothing lost) … 1
	// (everything suppressed): the measure the search minimises.
	NCP float64 `json:"value"`
	// Generalisation is NCP without the cost of suppression.
	Generalisation float64 `json:"generalisation_only"`
	// PerColumn is each quasi-identifier's NCP, suppressed cells costing 1.
	PerColumn []float64 `json:"per_column"`
	// Discernibility sums, over released classes, the squared class size
	// (rows), plus rows × suppressed rows; normalised by rows².
	Discernibility           float64 `json:"discernibility"`
	DiscernibilityNormalised float64 `json:"discernibility_normalised"`
}

// Solve searches for the anonymisation; after it, Add fails.
func (e *Engine) Solve(ctx context.Context) (*Result, error) {
	if e.solved {
		return nil, errors.New("anonymizer: Solve called twice")
	}
	e.solved = true
	start := time.Now()
	ev, rowEntry := e.prepare()
	var res *Result
	var err error
	switch e.cfg.Method {
	case Mondrian:
		res, err = e.solveMondrian(ctx, ev)
	default:
		res, err = e.solveGlobal(ctx, ev)
	}
	if err != nil {
		return nil, err
	}
	res.rowEntry = rowEntry
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func (e *Engine) newResult(ev *evaluator) *Result {
	res := &Result{Method: e.cfg.Method, K: e.cfg.K, Rows: ev.n, MaxSuppressed: ev.bound}
	if e.cfg.L > 0 {
		res.L, res.Diversity = e.cfg.L, e.cfg.Diversity
	}
	for _, c := range e.cols {
		res.QI = append(res.QI, c.name)
		res.Heights = append(res.Heights, c.height)
	}
	res.People = ev.n
	if e.cfg.People {
		res.People = int64(e.personIDs.len())
	}
	return res
}

func (e *Engine) solveGlobal(ctx context.Context, ev *evaluator) (*Result, error) {
	res := e.newResult(ev)
	best, stats, err := ev.searchGlobal(ctx)
	if err != nil {
		return nil, fmt.Errorf("anonymizer: %w", err)
	}
	res.Search = stats
	if best == nil {
		return nil, ev.whyUnsatisfiable(res)
	}
	// Evaluate the chosen node once more from the base, which maps every
	// base entry to its class.
	r := ev.eval(ev.base, best.levels, true)
	res.Levels = r.levels
	ev.finishResult(res, r, func(c int, a int) int { return r.levels[a] })
	return res, nil
}

// whyUnsatisfiable explains the failure from the top of the lattice,
// where suppression is least.
func (ev *evaluator) whyUnsatisfiable(res *Result) error {
	top := make([]int, len(ev.cols))
	for a, c := range ev.cols {
		top[a] = c.height - 1
	}
	r := ev.eval(ev.base, top, true)
	switch {
	case res.People < int64(ev.k):
		return fmt.Errorf("%w: the table holds %d people, fewer than k = %d", ErrUnsatisfiable, res.People, ev.k)
	case !ev.monotoneAnonymity():
		return fmt.Errorf("%w: no generalisation is %d-anonymous and entropy %d-diverse with at most %d of %d rows suppressed", ErrUnsatisfiable, ev.k, ev.l, ev.bound, ev.n)
	case ev.l > 0 && !r.ok[0]:
		return fmt.Errorf("%w: even the whole table is not %s %d-diverse in the sensitive column", ErrUnsatisfiable, ev.diversity, ev.l)
	}
	// Suppression only falls as columns are generalised: the top of the
	// lattice shows the least any generalisation needs.
	return fmt.Errorf("%w: every generalisation suppresses at least %d of %d rows, more than the bound of %d", ErrUnsatisfiable, r.suppressed, ev.n, ev.bound)
}

// finishResult fills the statistics and the row mapping from the
// evaluation of the chosen node over the base snapshot.
func (ev *evaluator) finishResult(res *Result, r *evaluation, level func(class, a int) int) {
	q := len(ev.cols)
	released := make([]int32, r.nClasses)
	var relRows, dm int64
	var riskSum float64
	small := 2 * int64(ev.k)
	var smallRows int64
	res.AchievedK, res.AchievedL = 0, 0
	perColumn := make([]float64, q)
	for c := range r.nClasses {
		if !r.ok[c] {
			released[c] = -1
			continue
		}
		released[c] = int32(len(res.labels))
		lab := make([]string, q)
		for a, col := range ev.cols {
			L := level(c, a)
			code := r.classCodes[a][c]
			lab[a] = col.labels[L][code]
			perColumn[a] += float64(r.rows[c]*col.lossNum(L, code)) / float64(col.lossDenom())
		}
		res.labels = append(res.labels, lab)
		p, rows := r.people[c], r.rows[c]
		if res.AchievedK == 0 || p < res.AchievedK {
			res.AchievedK = p
		}
		if ev.l > 0 && (res.AchievedL == 0 || r.diverse[c] < res.AchievedL) {
			res.AchievedL = r.diverse[c]
		}
		relRows += rows
		dm += rows * rows
		riskSum += float64(rows) / float64(p)
		if p < small {
			smallRows += rows
		}
		res.ClassHistogram = addToHistogram(res.ClassHistogram, p, rows)
	}
	res.Classes = len(res.labels)
	res.Suppressed = r.suppressed
	res.entryClass = make([]int32, len(r.srcClass))
	for i, c := range r.srcClass {
		res.entryClass[i] = released[c]
	}
	if res.AchievedK > 0 {
		res.Risk.ProsecutorMax = 1 / float64(res.AchievedK)
	}
	if relRows > 0 {
		res.Risk.ProsecutorAverage = riskSum / float64(relRows)
		res.Risk.SmallClassShare = float64(smallRows) / float64(relRows)
	}
	res.Risk.SmallClassSize = small
	n := float64(ev.n)
	dm += r.suppressed * ev.n
	res.Loss = Loss{Measure: "normalised certainty penalty (NCP; ARX 'Loss')", Discernibility: float64(dm)}
	if ev.n > 0 {
		res.Loss.DiscernibilityNormalised = float64(dm) / (n * n)
		var sum, gen float64
		for a := range perColumn {
			perColumn[a] = (perColumn[a] + float64(r.suppressed)) / n
			sum += perColumn[a]
		}
		res.Loss.NCP = sum / float64(q)
		for a := range ev.cols {
			gen += float64(ev.lossG[a][level(0, a)]) / float64(ev.cols[a].lossDenom())
		}
		if res.Method == Global {
			res.Loss.Generalisation = gen / n / float64(q)
		}
	}
	res.Loss.PerColumn = perColumn
	res.ClassHistogram = TrimHistogram(res.ClassHistogram)
	res.top = make([]string, q)
	for a := range res.top {
		res.top[a] = Top
	}
}

// histogramBounds are the lower ends of the class-size buckets.
var histogramBounds = [...]int64{1, 2, 3, 4, 5, 10, 20, 50, 100, 200, 500, 1000, 10000, 100000}

func addToHistogram(h []Bucket, size, rows int64) []Bucket {
	if h == nil {
		for i, lo := range histogramBounds {
			b := Bucket{Min: lo}
			if i+1 < len(histogramBounds) {
				b.Max = histogramBounds[i+1] - 1
			}
			h = append(h, b)
		}
	}
	i := len(histogramBounds) - 1
	for i > 0 && size < histogramBounds[i] {
		i--
	}
	h[i].Classes++
	h[i].Rows += rows
	return h
}

// TrimHistogram drops empty buckets at both ends, for reports.
func TrimHistogram(h []Bucket) []Bucket {
	for len(h) > 0 && h[0].Classes == 0 {
		h = h[1:]
	}
	for len(h) > 0 && h[len(h)-1].Classes == 0 {
		h = h[:len(h)-1]
	}
	return h
}

// Row returns the generalised quasi-identifier values of row i (in the
// order rows were added), Top everywhere when the row is suppressed. The
// slice is shared: do not modify it.
func (r *Result) Row(i int) (values []string, suppressed bool) {
	c := r.entryClass[r.rowEntry[i]]
	if c < 0 {
		return r.top, true
	}
	return r.labels[c], false
}

// Class returns the released class of row i, -1 when it is suppressed.
// Classes are numbered 0 … Classes-1.
func (r *Result) Class(i int) int { return int(r.entryClass[r.rowEntry[i]]) }

// ClassValues returns the generalised quasi-identifier values of class c
// (shared: do not modify).
func (r *Result) ClassValues(c int) []string { return r.labels[c] }

// RowCount is the number of rows the result covers.
func (r *Result) RowCount() int { return len(r.rowEntry) }
