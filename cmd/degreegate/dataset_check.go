package main

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

// runDataset dispatches the dataset sub-verbs: check lives here;
// request, approve, reject, build, list, purge and trace in dataset.go.
func runDataset(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return usageError{datasetUsage}
	}
	switch {
	case args[0] == "check":
		return runDatasetCheck(ctx, args[1:], e)
	case datasetVerbKnown(args[0]): // dataset.go
		return runDatasetVerb(ctx, args[0], args[1:], e)
	}
	return usageError{fmt.Sprintf("dataset: unknown sub-command %q\n%s", args[0], datasetUsage)}
}

// checkOptions are the claims dataset check verifies.
type checkOptions struct {
	file           string
	sep            sepFlag
	qi             string
	k, l           int
	diversity      string
	sensitive      string
	person         string
	maxSuppression float64
}

// runDatasetCheck recomputes k (and l) from an anonymised file alone.
// It deliberately shares no code with the engine's accounting: it reads
// with encoding/csv and groups with a plain map of joined values, so a
// bug in the engine's packed-key grouping cannot hide itself.
func runDatasetCheck(ctx context.Context, args []string, e env) error {
	fs := newFlags("dataset check", e)
	var o checkOptions
	fs.Var(&o.sep, "sep", "field separator (default: detected from the header)")
	fs.StringVar(&o.qi, "qi", "", "quasi-identifier columns, comma-separated")
	fs.IntVar(&o.k, "k", 0, "the k to verify")
	fs.StringVar(&o.sensitive, "sensitive", "", "sensitive column for l-diversity")
	fs.IntVar(&o.l, "l", 0, "the l to verify (needs --sensitive)")
	fs.StringVar(&o.diversity, "diversity", "distinct", "distinct or entropy")
	fs.StringVar(&o.person, "person", "", "column identifying the person: classes count people")
	fs.Float64Var(&o.maxSuppression, "max-suppression", -1, "also verify that at most this share of rows is suppressed")
	// FILE may come before or after the flags.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		o.file, args = args[0], args[1:]
	}
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if o.file == "" && fs.NArg() > 0 {
		o.file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("dataset check: unexpected argument %q", fs.Arg(0))}
	}
	switch {
	case o.file == "":
		return usageError{"dataset check: FILE is required"}
	case o.qi == "":
		return usageError{"dataset check: --qi is required"}
	case o.k < 1:
		return usageError{"dataset check: --k must be at least 1"}
	case (o.l > 0) != (o.sensitive != ""):
		return usageError{"dataset check: --sensitive and --l go together"}
	case o.diversity != "distinct" && o.diversity != "entropy":
		return usageError{"dataset check: --diversity must be distinct or entropy"}
	}
	rep, err := checkFile(ctx, &o)
	if err != nil {
		return fmt.Errorf("dataset check: %w", err)
	}
	fmt.Fprint(e.stdout, rep.String())
	if !rep.ok {
		return errReported
	}
	return nil
}

type checkReport struct {
	rows, suppressed, classes int
	minK                      int
	minL                      float64
	opts                      *checkOptions
	ok                        bool
}

func (r *checkReport) String() string {
	var b strings.Builder
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "FAILED"
	}
	fmt.Fprintf(&b, "rows %d, suppressed %d, classes %d\n", r.rows, r.suppressed, r.classes)
	fmt.Fprintf(&b, "k: achieved %d, required %d: %s\n", r.minK, r.opts.k, verdict(r.minK >= r.opts.k))
	if r.opts.l > 0 {
		fmt.Fprintf(&b, "%s l: achieved %.4g, required %d: %s\n", r.opts.diversity, r.minL, r.opts.l, verdict(r.minL >= float64(r.opts.l)-1e-9))
	}
	if r.opts.maxSuppression >= 0 {
		share := 0.0
		if r.rows > 0 {
			share = float64(r.suppressed) / float64(r.rows)
		}
		fmt.Fprintf(&b, "suppression: %.4f, allowed %.4f: %s\n", share, r.opts.maxSuppression, verdict(r.suppressed <= int(math.Floor(r.opts.maxSuppression*float64(r.rows)+1e-9))))
	}
	if r.ok {
		b.WriteString("dataset check: PASSED\n")
	} else {
		b.WriteString("dataset check: FAILED\n")
	}
	return b.String()
}

type checkClass struct {
	size    int
	people  map[string]struct{}
	sensCnt map[string]int
}

func checkFile(ctx context.Context, o *checkOptions) (*checkReport, error) {
	f, err := os.Open(o.file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	sep := o.sep.b
	if sep == 0 {
		// Detect from the header: the most frequent candidate wins.
		head, _ := br.Peek(4096)
		line, _, _ := strings.Cut(string(head), "\n")
		best := 0
		for _, c := range []byte{',', ';', '\t', '|'} {
			if n := strings.Count(line, string(c)); n > best {
				sep, best = c, n
			}
		}
		if sep == 0 {
			sep = ','
		}
	}
	cr := csv.NewReader(br)
	cr.Comma = rune(sep)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	header = append([]string(nil), header...)
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
	var qi []int
	for _, name := range strings.Split(o.qi, ",") {
		i, err := col(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		qi = append(qi, i)
	}
	sens, person := -1, -1
	if o.sensitive != "" {
		if sens, err = col(o.sensitive); err != nil {
			return nil, err
		}
	}
	if o.person != "" {
		if person, err = col(o.person); err != nil {
			return nil, err
		}
	}
	rep := &checkReport{opts: o}
	classes := map[string]*checkClass{}
	var key strings.Builder
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		rep.rows++
		if rep.rows%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		suppressed := true
		key.Reset()
		// Cells are read as they were before the dataset writer guarded
		// them against spreadsheets (csvio.GuardFormula).
		for _, i := range qi {
			v := csvio.UnguardFormula(rec[i])
			if v != "*" {
				suppressed = false
			}
			// Length-prefixed, so no value can imitate a separator.
			fmt.Fprintf(&key, "%d:%s", len(v), v)
		}
		if suppressed {
			rep.suppressed++
			continue
		}
		c := classes[key.String()]
		if c == nil {
			c = &checkClass{people: map[string]struct{}{}, sensCnt: map[string]int{}}
			classes[key.String()] = c
		}
		c.size++
		if person >= 0 {
			c.people[csvio.UnguardFormula(rec[person])] = struct{}{}
		}
		if sens >= 0 {
			c.sensCnt[csvio.UnguardFormula(rec[sens])]++
		}
	}
	rep.classes = len(classes)
	rep.minK, rep.minL = -1, -1
	for _, c := range classes {
		k := c.size
		if person >= 0 {
			k = len(c.people)
		}
		if rep.minK < 0 || k < rep.minK {
			rep.minK = k
		}
		if sens >= 0 {
			l := float64(len(c.sensCnt))
			if o.diversity == "entropy" {
				h := 0.0
				for _, n := range c.sensCnt {
					p := float64(n) / float64(c.size)
					h -= p * math.Log(p)
				}
				l = math.Exp(h)
			}
			if rep.minL < 0 || l < rep.minL {
				rep.minL = l
			}
		}
	}
	if len(classes) == 0 {
		// Nothing released: nobody can be singled out.
		rep.minK, rep.minL = o.k, float64(o.l)
	}
	rep.ok = rep.minK >= o.k && (o.l == 0 || rep.minL >= float64(o.l)-1e-9)
	if o.maxSuppression >= 0 && rep.suppressed > int(math.Floor(o.maxSuppression*float64(rep.rows)+1e-9)) {
		rep.ok = false
	}
	return rep, nil
}
