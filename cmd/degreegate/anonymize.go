package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/degreegate/degreegate/anonymizer"
	"github.com/degreegate/degreegate/anonymizer/csvio"
)

// hierarchyFlags collects repeated --hierarchy column=FILE flags.
type hierarchyFlags map[string]string

func (h hierarchyFlags) String() string { return fmt.Sprint(map[string]string(h)) }
func (h hierarchyFlags) Set(v string) error {
	col, file, ok := strings.Cut(v, "=")
	if !ok || col == "" || file == "" {
		return fmt.Errorf("want COLUMN=FILE, got %q", v)
	}
	if _, dup := h[col]; dup {
		return fmt.Errorf("column %q has two hierarchies", col)
	}
	h[col] = file
	return nil
}

// sepFlag is a one-byte separator; empty means "detect".
type sepFlag struct{ b byte }

func (s *sepFlag) String() string {
	if s.b == 0 {
		return ""
	}
	return string(s.b)
}
func (s *sepFlag) Set(v string) error {
	switch v {
	case `\t`, "tab":
		v = "\t"
	}
	if len(v) != 1 || !csvio.ValidSep(v[0]) {
		return fmt.Errorf("want one character (not a quote or line break), got %q", v)
	}
	s.b = v[0]
	return nil
}

type anonymizeOptions struct {
	in, out, manifest string
	sep, hierarchySep sepFlag
	qi                string
	hierarchies       hierarchyFlags
	k, l              int
	maxSuppression    float64
	sensitive, person string
	diversity, method string
}

func (o *anonymizeOptions) register(fs *flag.FlagSet) {
	o.hierarchies = hierarchyFlags{}
	fs.StringVar(&o.in, "in", "", "input table (CSV with a header row)")
	fs.Var(&o.sep, "sep", "field separator of the table (default: detected from the header)")
	fs.Var(&o.hierarchySep, "hierarchy-sep", "field separator of the hierarchy files (default: detected from each file's first line)")
	fs.StringVar(&o.qi, "qi", "", "quasi-identifier columns, comma-separated")
	fs.Var(o.hierarchies, "hierarchy", "COLUMN=FILE: ARX-style hierarchy of a quasi-identifier (repeat; a column without one can only be kept or generalised to *)")
	fs.IntVar(&o.k, "k", 0, "every released class holds at least k people")
	fs.Float64Var(&o.maxSuppression, "max-suppression", 0.05, "largest share of rows that may be suppressed")
	fs.StringVar(&o.sensitive, "sensitive", "", "sensitive column for l-diversity")
	fs.IntVar(&o.l, "l", 0, "l-diversity of the sensitive column (needs --sensitive)")
	fs.StringVar(&o.diversity, "diversity", "distinct", "l-diversity variant: distinct or entropy")
	fs.StringVar(&o.method, "method", "global", "global (full-domain recoding, optimal) or mondrian (multidimensional partitioning)")
	fs.StringVar(&o.person, "person", "", "column identifying the person: classes count people, not rows")
	fs.StringVar(&o.out, "out", "", "output table")
	fs.StringVar(&o.manifest, "manifest", "", "manifest file (default: OUT.manifest.json)")
}

func (o *anonymizeOptions) check() error {
	var problems []string
	if o.in == "" {
		problems = append(problems, "--in is required")
	}
	if o.out == "" {
		problems = append(problems, "--out is required")
	}
	if o.qi == "" {
		problems = append(problems, "--qi is required")
	}
	if o.k < 1 {
		problems = append(problems, "--k must be at least 1")
	}
	if (o.l > 0) != (o.sensitive != "") {
		problems = append(problems, "--sensitive and --l go together")
	}
	if o.in != "" && o.out != "" && filepath.Clean(o.in) == filepath.Clean(o.out) {
		problems = append(problems, "--out must differ from --in")
	}
	if len(problems) > 0 {
		return usageError{"anonymize: " + strings.Join(problems, "; ")}
	}
	if o.manifest == "" {
		o.manifest = anonymizer.ManifestPath(o.out)
	}
	return nil
}

// table is the library's view of the options.
func (o *anonymizeOptions) table() anonymizer.TableOptions {
	return anonymizer.TableOptions{
		In: o.in, Out: o.out, Manifest: o.manifest, Sep: o.sep.b, HierarchySep: o.hierarchySep.b,
		QI: splitList(o.qi), Hierarchies: o.hierarchies, K: o.k, L: o.l, MaxSuppression: o.maxSuppression,
		Sensitive: o.sensitive, Person: o.person,
		Diversity: anonymizer.Diversity(o.diversity), Method: anonymizer.Method(o.method),
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func runAnonymize(ctx context.Context, args []string, e env) error {
	fs := newFlags("anonymize", e)
	var o anonymizeOptions
	o.register(fs)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("anonymize: unexpected argument %q", fs.Arg(0))}
	}
	if err := o.check(); err != nil {
		return err
	}
	m, err := anonymizer.AnonymizeTable(ctx, o.table())
	if err != nil {
		return fmt.Errorf("anonymize: %w", err)
	}
	r := m.Result
	fmt.Fprintf(e.stdout, "anonymized %d rows (%s): k=%d achieved, %d rows suppressed (bound %d), %d classes\n",
		r.Rows, r.Method, r.AchievedK, r.Suppressed, r.MaxSuppressed, r.Classes)
	if r.Levels != nil {
		parts := make([]string, len(r.QI))
		for i, q := range r.QI {
			parts[i] = fmt.Sprintf("%s=%d/%d", q, r.Levels[i], r.Heights[i]-1)
		}
		fmt.Fprintf(e.stdout, "levels: %s\n", strings.Join(parts, " "))
	}
	if r.L > 0 {
		fmt.Fprintf(e.stdout, "%s l-diversity: %.3g achieved\n", r.Diversity, r.AchievedL)
	}
	fmt.Fprintf(e.stdout, "information loss: NCP %.4f, discernibility %.4g; max prosecutor risk %.3g\n",
		r.Loss.NCP, r.Loss.Discernibility, r.Risk.ProsecutorMax)
	fmt.Fprintf(e.stdout, "wrote %s and %s in %.2fs\n", o.out, o.manifest, m.Seconds)
	return nil
}
