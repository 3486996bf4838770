// Package check recomputes k (and l) from an anonymised CSV file alone,
// for `degreegate dataset check`. It deliberately shares no code with the
// engine's accounting: it reads with encoding/csv and groups with a plain
// map of joined values, so a bug in the engine's packed-key grouping
// cannot hide itself.
package check

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/degreegate/degreegate/anonymizer/csvio"
)

// Options are the claims File verifies.
type Options struct {
	// Sep separates fields; 0 detects it from the header (csvio.PeekSep).
	Sep byte
	// QI names the quasi-identifier columns.
	QI []string
	K  int
	// Sensitive names the column whose l-diversity is verified when L > 0.
	Sensitive string
	L         int
	// Diversity is "distinct" or "entropy".
	Diversity string
	// Person names the column identifying the person: classes then count
	// people, not rows.
	Person string
	// MaxSuppression, when not negative, is the largest share of rows
	// that may be suppressed.
	MaxSuppression float64
}

// Report is what File found, and whether the claims hold.
type Report struct {
	Rows, Suppressed, Classes int
	MinK                      int
	MinL                      float64
	OK                        bool
	opts                      Options
}

// String is the report as `dataset check` prints it.
func (r *Report) String() string {
	var b strings.Builder
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "FAILED"
	}
	fmt.Fprintf(&b, "rows %d, suppressed %d, classes %d\n", r.Rows, r.Suppressed, r.Classes)
	fmt.Fprintf(&b, "k: achieved %d, required %d: %s\n", r.MinK, r.opts.K, verdict(r.MinK >= r.opts.K))
	if r.opts.L > 0 {
		fmt.Fprintf(&b, "%s l: achieved %.4g, required %d: %s\n", r.opts.Diversity, r.MinL, r.opts.L, verdict(r.MinL >= float64(r.opts.L)-1e-9))
	}
	if r.opts.MaxSuppression >= 0 {
		share := 0.0
		if r.Rows > 0 {
			share = float64(r.Suppressed) / float64(r.Rows)
		}
		fmt.Fprintf(&b, "suppression: %.4f, allowed %.4f: %s\n", share, r.opts.MaxSuppression, verdict(r.suppressionOK()))
	}
	if r.OK {
		b.WriteString("dataset check: PASSED\n")
	} else {
		b.WriteString("dataset check: FAILED\n")
	}
	return b.String()
}

func (r *Report) suppressionOK() bool {
	return r.Suppressed <= int(math.Floor(r.opts.MaxSuppression*float64(r.Rows)+1e-9))
}

// File reads the anonymised table at path and verifies o's claims.
func File(ctx context.Context, path string, o Options) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	sep := o.Sep
	if sep == 0 {
		sep = csvio.PeekSep(br)
	}
	cr := csv.NewReader(br)
	cr.Comma = rune(sep)
	cr.ReuseRecord = true
	cols, err := readColumns(cr, o)
	if err != nil {
		return nil, err
	}
	rep := &Report{opts: o}
	classes, err := group(ctx, cr, cols, rep)
	if err != nil {
		return nil, err
	}
	rep.evaluate(classes, cols)
	return rep, nil
}

// columns locates the columns a check reads; -1 is a column not asked for.
type columns struct {
	qi                []int
	sensitive, person int
}

// readColumns reads the header and finds the columns o names.
func readColumns(cr *csv.Reader, o Options) (columns, error) {
	cols := columns{sensitive: -1, person: -1}
	header, err := cr.Read()
	if err != nil {
		return cols, fmt.Errorf("header: %w", err)
	}
	pos := map[string]int{}
	for i, h := range header {
		pos[csvio.UnguardFormula(strings.TrimPrefix(strings.TrimSpace(h), "\ufeff"))] = i
	}
	col := func(name string) (int, error) {
		i, ok := pos[name]
		if !ok {
			return 0, fmt.Errorf("column %q is not in the header", name)
		}
		return i, nil
	}
	for _, name := range o.QI {
		i, err := col(strings.TrimSpace(name))
		if err != nil {
			return cols, err
		}
		cols.qi = append(cols.qi, i)
	}
	if o.Sensitive != "" {
		if cols.sensitive, err = col(o.Sensitive); err != nil {
			return cols, err
		}
	}
	if o.Person != "" {
		if cols.person, err = col(o.Person); err != nil {
			return cols, err
		}
	}
	return cols, nil
}

// class is one equivalence class: the rows sharing their
// quasi-identifiers' values.
type class struct {
	size    int
	people  map[string]struct{}
	sensCnt map[string]int
}

// group reads the rows into their classes, counting rows and suppressed
// rows into rep.
func group(ctx context.Context, cr *csv.Reader, cols columns, rep *Report) (map[string]*class, error) {
	classes := map[string]*class{}
	var key strings.Builder
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return classes, nil
		}
		if err != nil {
			return nil, err
		}
		rep.Rows++
		if rep.Rows%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		suppressed := true
		key.Reset()
		// Cells are read as they were before the dataset writer guarded
		// them against spreadsheets (csvio.GuardFormula).
		for _, i := range cols.qi {
			v := csvio.UnguardFormula(rec[i])
			if v != "*" {
				suppressed = false
			}
			// Length-prefixed, so no value can imitate a separator.
			fmt.Fprintf(&key, "%d:%s", len(v), v)
		}
		if suppressed {
			rep.Suppressed++
			continue
		}
		c := classes[key.String()]
		if c == nil {
			c = &class{people: map[string]struct{}{}, sensCnt: map[string]int{}}
			classes[key.String()] = c
		}
		c.size++
		if cols.person >= 0 {
			c.people[csvio.UnguardFormula(rec[cols.person])] = struct{}{}
		}
		if cols.sensitive >= 0 {
			c.sensCnt[csvio.UnguardFormula(rec[cols.sensitive])]++
		}
	}
}

// evaluate finds the smallest k and l over the classes and decides
// whether the claims hold.
func (r *Report) evaluate(classes map[string]*class, cols columns) {
	o := r.opts
	r.Classes = len(classes)
	r.MinK, r.MinL = -1, -1
	for _, c := range classes {
		k := c.size
		if cols.person >= 0 {
			k = len(c.people)
		}
		if r.MinK < 0 || k < r.MinK {
			r.MinK = k
		}
		if cols.sensitive >= 0 {
			if l := c.diversity(o.Diversity); r.MinL < 0 || l < r.MinL {
				r.MinL = l
			}
		}
	}
	if len(classes) == 0 {
		// Nothing released: nobody can be singled out.
		r.MinK, r.MinL = o.K, float64(o.L)
	}
	r.OK = r.MinK >= o.K && (o.L == 0 || r.MinL >= float64(o.L)-1e-9)
	if o.MaxSuppression >= 0 && !r.suppressionOK() {
		r.OK = false
	}
}

// diversity is the class's l: its distinct sensitive values, or the
// exponential of their entropy.
func (c *class) diversity(kind string) float64 {
	if kind != "entropy" {
		return float64(len(c.sensCnt))
	}
	h := 0.0
	for _, n := range c.sensCnt {
		p := float64(n) / float64(c.size)
		h -= p * math.Log(p)
	}
	return math.Exp(h)
}
