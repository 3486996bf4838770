package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	m, err := anonymize(ctx, &o)
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

// tableLayout says where the columns the run needs are.
type tableLayout struct {
	header    []string
	qi        []int // column of each quasi-identifier
	isQI      []int // per column: index into qi, or -1
	sensitive int   // -1: none
	person    int   // -1: none
}

func layoutOf(header []string, o *anonymizeOptions) (*tableLayout, error) {
	t := &tableLayout{header: header, sensitive: -1, person: -1, isQI: make([]int, len(header))}
	pos := map[string]int{}
	for i, h := range header {
		if _, dup := pos[h]; dup {
			return nil, fmt.Errorf("header names column %q twice", h)
		}
		pos[h] = i
		t.isQI[i] = -1
	}
	find := func(name, what string) (int, error) {
		i, ok := pos[name]
		if !ok {
			return 0, fmt.Errorf("%s column %q is not in the header", what, name)
		}
		return i, nil
	}
	for _, name := range splitList(o.qi) {
		i, err := find(name, "quasi-identifier")
		if err != nil {
			return nil, err
		}
		if t.isQI[i] >= 0 {
			return nil, fmt.Errorf("quasi-identifier %q named twice", name)
		}
		t.isQI[i] = len(t.qi)
		t.qi = append(t.qi, i)
	}
	for col := range o.hierarchies {
		if i, ok := pos[col]; !ok || t.isQI[i] < 0 {
			return nil, fmt.Errorf("--hierarchy for %q, which is not a quasi-identifier", col)
		}
	}
	var err error
	if o.sensitive != "" {
		if t.sensitive, err = find(o.sensitive, "sensitive"); err != nil {
			return nil, err
		}
		if t.isQI[t.sensitive] >= 0 {
			return nil, fmt.Errorf("column %q cannot be both sensitive and a quasi-identifier", o.sensitive)
		}
	}
	if o.person != "" {
		if t.person, err = find(o.person, "person"); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// openTable opens the input and reads its header, detecting the
// separator when none was given. The file is left at its start.
func openTable(path string, sep byte) (*os.File, []string, byte, error) {
	f, header, sep, err := readHeader(path, sep)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, nil, 0, err
	}
	return f, header, sep, nil
}

func readHeader(path string, sep byte) (*os.File, []string, byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	if sep == 0 {
		line, _ := br.Peek(br.Size())
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		sep = csvio.DetectSep(line)
	}
	cr, err := csvio.NewReader(br, sep)
	if err != nil {
		return f, nil, 0, err
	}
	rec, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil, 0, fmt.Errorf("%s: empty, want a header row", path)
		}
		return f, nil, 0, fmt.Errorf("%s: header: %w", path, err)
	}
	header := make([]string, len(rec))
	for i, h := range rec {
		header[i] = strings.TrimSpace(string(h))
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	return f, header, sep, nil
}

func loadHierarchy(path string, sep byte) (*anonymizer.Hierarchy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if sep == 0 {
		line, _ := br.Peek(4096)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		sep = csvio.DetectSep(line)
	}
	h, err := anonymizer.ParseHierarchy(br, sep)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

func anonymize(ctx context.Context, o *anonymizeOptions) (*anonymizer.Manifest, error) {
	start := time.Now()
	f, header, sep, err := openTable(o.in, o.sep.b)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	lay, err := layoutOf(header, o)
	if err != nil {
		return nil, err
	}
	cfg := anonymizer.Config{
		K: o.k, MaxSuppression: o.maxSuppression, L: o.l,
		Diversity: anonymizer.Diversity(o.diversity), Method: anonymizer.Method(o.method),
		People: lay.person >= 0,
	}
	for _, i := range lay.qi {
		q := anonymizer.QI{Name: header[i]}
		if path, ok := o.hierarchies[header[i]]; ok {
			if q.Hierarchy, err = loadHierarchy(path, o.hierarchySep.b); err != nil {
				return nil, err
			}
		}
		cfg.QIs = append(cfg.QIs, q)
	}
	eng, err := anonymizer.New(cfg)
	if err != nil {
		return nil, err
	}

	// Pass 1: encode. Only codes are kept; the file is read again to write.
	inHash := sha256.New()
	cr, err := csvio.NewReader(io.TeeReader(f, inHash), sep)
	if err != nil {
		return nil, err
	}
	if _, err := cr.Read(); err != nil { // the header, read before
		return nil, err
	}
	qi := make([][]byte, len(lay.qi))
	var sens, person []byte
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.in, err)
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("%s: line %d has %d fields, the header %d", o.in, cr.Line(), len(rec), len(header))
		}
		for j, col := range lay.qi {
			qi[j] = rec[col]
		}
		if lay.sensitive >= 0 {
			sens = rec[lay.sensitive]
		}
		if lay.person >= 0 {
			person = rec[lay.person]
		}
		if err := eng.AddBytes(qi, sens, person); err != nil {
			var ve *anonymizer.ValueError
			if errors.As(err, &ve) {
				return nil, fmt.Errorf("%s: line %d, column %q: %w", o.in, cr.Line(), ve.Column, ve.Err)
			}
			return nil, err
		}
		if eng.Rows()%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	res, err := eng.Solve(ctx)
	if err != nil {
		return nil, err
	}

	// Pass 2: write, after checking the input did not change meanwhile.
	if now, err := f.Stat(); err != nil || now.Size() != info.Size() || !now.ModTime().Equal(info.ModTime()) {
		return nil, fmt.Errorf("%s changed while it was being anonymized", o.in)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	outInfo, err := writeAnonymized(ctx, f, sep, lay, res, o.out)
	if err != nil {
		return nil, err
	}
	m := &anonymizer.Manifest{
		Engine:  anonymizer.Version,
		Created: time.Now().UTC().Truncate(time.Second),
		Spec: anonymizer.Spec{
			Method: res.Method, QuasiIDs: res.QI, Hierarchies: o.hierarchies, K: o.k,
			MaxSuppression: o.maxSuppression, Sensitive: o.sensitive, L: o.l, Person: o.person,
		},
		Input:  anonymizer.FileInfo{Path: o.in, Rows: int64(eng.Rows()), Bytes: info.Size(), SHA256: hex.EncodeToString(inHash.Sum(nil))},
		Output: outInfo,
		Result: res,
	}
	if o.l > 0 {
		m.Spec.Diversity = res.Diversity
	}
	m.Seconds = time.Since(start).Seconds()
	if err := m.WriteFile(o.manifest); err != nil {
		return nil, err
	}
	return m, nil
}

// writeAnonymized writes the generalised table to a temporary file and
// renames it into place, so an interrupted run leaves no partial output.
// (No fsync: it protects against power loss, not interruption, and costs
// seconds on a busy disk; the dataset builds, which publish, sync.)
func writeAnonymized(ctx context.Context, in io.Reader, sep byte, lay *tableLayout, res *anonymizer.Result, out string) (anonymizer.FileInfo, error) {
	info := anonymizer.FileInfo{Path: out}
	cr, err := csvio.NewReader(in, sep)
	if err != nil {
		return info, err
	}
	if _, err := cr.Read(); err != nil {
		return info, err
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return info, err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h)}
	bw := bufio.NewWriterSize(cw, 1<<16)
	line := make([]byte, 0, 256)
	for i, name := range lay.header {
		if i > 0 {
			line = append(line, sep)
		}
		line = csvio.AppendField(line, name, sep)
	}
	bw.Write(append(line, '\n'))
	if lay.allQI() {
		// Nothing to copy from the input: each row is its class's line.
		if err := writeClassLines(ctx, bw, sep, res, lay); err != nil {
			return info, err
		}
		info.Rows = int64(res.RowCount())
	} else if err := copyGeneralised(ctx, bw, cr, sep, lay, res, &info); err != nil {
		return info, err
	}
	if err := bw.Flush(); err != nil {
		return info, err
	}
	if err := f.Close(); err != nil {
		return info, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return info, err
	}
	ok = true
	info.Bytes = cw.n
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	return info, nil
}

// allQI reports whether every column is a quasi-identifier.
func (t *tableLayout) allQI() bool { return len(t.qi) == len(t.header) }

// writeClassLines writes one pre-rendered line per row, for tables whose
// every column is a quasi-identifier (in any order).
func writeClassLines(ctx context.Context, bw *bufio.Writer, sep byte, res *anonymizer.Result, lay *tableLayout) error {
	line := func(values []string) []byte {
		var b []byte
		for i := range lay.header {
			if i > 0 {
				b = append(b, sep)
			}
			b = csvio.AppendField(b, values[lay.isQI[i]], sep)
		}
		return append(b, '\n')
	}
	rendered := make([][]byte, res.Classes)
	top := make([]string, len(lay.qi))
	for i := range top {
		top[i] = anonymizer.Top
	}
	suppressed := line(top)
	for row := range res.RowCount() {
		if row%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		l := suppressed
		if c := res.Class(row); c >= 0 {
			if rendered[c] == nil {
				rendered[c] = line(res.ClassValues(c))
			}
			l = rendered[c]
		}
		if _, err := bw.Write(l); err != nil {
			return err
		}
	}
	return nil
}

// copyGeneralised copies the input row by row, replacing the
// quasi-identifiers by their generalised values.
func copyGeneralised(ctx context.Context, bw *bufio.Writer, cr *csvio.Reader, sep byte, lay *tableLayout, res *anonymizer.Result, info *anonymizer.FileInfo) error {
	// Each class's escaped values, rendered once.
	rendered := make([][][]byte, res.Classes)
	top := make([]string, len(lay.qi))
	for i := range top {
		top[i] = anonymizer.Top
	}
	suppressed := render(top, sep)
	var line []byte
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			if row != res.RowCount() {
				return errors.New("input changed while it was being anonymized")
			}
			break
		}
		if err != nil {
			return err
		}
		if row >= res.RowCount() || len(rec) != len(lay.header) {
			return errors.New("input changed while it was being anonymized")
		}
		if row%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		fields := suppressed
		if c := res.Class(row); c >= 0 {
			if rendered[c] == nil {
				rendered[c] = render(res.ClassValues(c), sep)
			}
			fields = rendered[c]
		}
		line = line[:0]
		for i, field := range rec {
			if i > 0 {
				line = append(line, sep)
			}
			if j := lay.isQI[i]; j >= 0 {
				line = append(line, fields[j]...)
			} else {
				line = csvio.AppendField(line, field, sep)
			}
		}
		if _, err := bw.Write(append(line, '\n')); err != nil {
			return err
		}
		info.Rows++
	}
	return nil
}

func render(values []string, sep byte) [][]byte {
	out := make([][]byte, len(values))
	for i, v := range values {
		out[i] = csvio.AppendField(nil, v, sep)
	}
	return out
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
