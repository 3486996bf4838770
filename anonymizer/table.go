package anonymizer

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/degreegate/degreegate/anonymizer/csvio"
)

// The CSV pipeline of `degreegate anonymize`: any delimiter-separated
// table with a header row, streamed through the engine twice.

// TableOptions is one run of AnonymizeTable.
type TableOptions struct {
	// In is the input table (CSV with a header row); Out the output
	// table; Manifest the manifest file (ManifestPath(Out) by custom).
	In, Out, Manifest string
	// Sep separates the table's fields; 0 detects it from the header.
	Sep byte
	// HierarchySep separates the hierarchy files' fields; 0 detects it
	// from each file's first line.
	HierarchySep byte
	// QI names the quasi-identifier columns.
	QI []string
	// Hierarchies maps a quasi-identifier to its ARX-style hierarchy
	// file; a column without one can only be kept or generalised to Top.
	Hierarchies    map[string]string
	K, L           int
	MaxSuppression float64
	// Sensitive names the column l-diversity is about; Person the column
	// identifying the person, so that classes count people, not rows.
	Sensitive, Person string
	Diversity         Diversity
	Method            Method
}

// tableLayout says where the columns the run needs are.
type tableLayout struct {
	header    []string
	qi        []int // column of each quasi-identifier
	isQI      []int // per column: index into qi, or -1
	sensitive int   // -1: none
	person    int   // -1: none
}

func layoutOf(header []string, o *TableOptions) (*tableLayout, error) {
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
	for _, name := range o.QI {
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
	for col := range o.Hierarchies {
		if i, ok := pos[col]; !ok || t.isQI[i] < 0 {
			return nil, fmt.Errorf("--hierarchy for %q, which is not a quasi-identifier", col)
		}
	}
	var err error
	if o.Sensitive != "" {
		if t.sensitive, err = find(o.Sensitive, "sensitive"); err != nil {
			return nil, err
		}
		if t.isQI[t.sensitive] >= 0 {
			return nil, fmt.Errorf("column %q cannot be both sensitive and a quasi-identifier", o.Sensitive)
		}
	}
	if o.Person != "" {
		if t.person, err = find(o.Person, "person"); err != nil {
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
		sep = csvio.PeekSep(br)
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

// loadHierarchy reads an ARX-style hierarchy file, detecting its
// separator when none was given.
func loadHierarchy(path string, sep byte) (*Hierarchy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if sep == 0 {
		sep = csvio.PeekSep(br)
	}
	h, err := ParseHierarchy(br, sep)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// AnonymizeTable anonymises the table o.In into o.Out and writes the
// manifest o.Manifest beside it. It reads the input twice — once to
// encode, once to copy it generalised — and fails if it changed between.
func AnonymizeTable(ctx context.Context, o TableOptions) (*Manifest, error) {
	start := time.Now()
	f, header, sep, err := openTable(o.In, o.Sep)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	lay, err := layoutOf(header, &o)
	if err != nil {
		return nil, err
	}
	cfg, err := o.engineConfig(lay)
	if err != nil {
		return nil, err
	}
	eng, err := New(cfg)
	if err != nil {
		return nil, err
	}
	inHash := sha256.New()
	if err := encodeTable(ctx, eng, io.TeeReader(f, inHash), sep, lay, o.In); err != nil {
		return nil, err
	}
	res, err := eng.Solve(ctx)
	if err != nil {
		return nil, err
	}

	// Pass 2: write, after checking the input did not change meanwhile.
	if now, err := f.Stat(); err != nil || now.Size() != info.Size() || !now.ModTime().Equal(info.ModTime()) {
		return nil, fmt.Errorf("%s changed while it was being anonymized", o.In)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	outInfo, err := writeAnonymized(ctx, f, sep, lay, res, o.Out)
	if err != nil {
		return nil, err
	}
	m := &Manifest{
		Engine:  Version,
		Created: time.Now().UTC().Truncate(time.Second),
		Spec: Spec{
			Method: res.Method, QuasiIDs: res.QI, Hierarchies: o.Hierarchies, K: o.K,
			MaxSuppression: o.MaxSuppression, Sensitive: o.Sensitive, L: o.L, Person: o.Person,
		},
		Input:  FileInfo{Path: o.In, Rows: int64(eng.Rows()), Bytes: info.Size(), SHA256: hex.EncodeToString(inHash.Sum(nil))},
		Output: outInfo,
		Result: res,
	}
	if o.L > 0 {
		m.Spec.Diversity = res.Diversity
	}
	m.Seconds = time.Since(start).Seconds()
	if err := m.WriteFile(o.Manifest); err != nil {
		return nil, err
	}
	return m, nil
}

// engineConfig is the engine's configuration for the table laid out as
// lay, with the hierarchy files read.
func (o *TableOptions) engineConfig(lay *tableLayout) (Config, error) {
	cfg := Config{
		K: o.K, MaxSuppression: o.MaxSuppression, L: o.L,
		Diversity: o.Diversity, Method: o.Method,
		People: lay.person >= 0,
	}
	for _, i := range lay.qi {
		q := QI{Name: lay.header[i]}
		if path, ok := o.Hierarchies[lay.header[i]]; ok {
			var err error
			if q.Hierarchy, err = loadHierarchy(path, o.HierarchySep); err != nil {
				return cfg, err
			}
		}
		cfg.QIs = append(cfg.QIs, q)
	}
	return cfg, nil
}

// encodeTable is pass 1: it adds every row of the table in to eng. Only
// codes are kept; the file is read again to write. name is the table's
// path, for errors.
func encodeTable(ctx context.Context, eng *Engine, in io.Reader, sep byte, lay *tableLayout, name string) error {
	cr, err := csvio.NewReader(in, sep)
	if err != nil {
		return err
	}
	if _, err := cr.Read(); err != nil { // the header, read before
		return err
	}
	qi := make([][]byte, len(lay.qi))
	var sens, person []byte
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(rec) != len(lay.header) {
			return fmt.Errorf("%s: line %d has %d fields, the header %d", name, cr.Line(), len(rec), len(lay.header))
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
			var ve *ValueError
			if errors.As(err, &ve) {
				return fmt.Errorf("%s: line %d, column %q: %w", name, cr.Line(), ve.Column, ve.Err)
			}
			return err
		}
		if eng.Rows()%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
}

// writeAnonymized writes the generalised table to a temporary file and
// renames it into place, so an interrupted run leaves no partial output.
// (No fsync: it protects against power loss, not interruption, and costs
// seconds on a busy disk; the dataset builds, which publish, sync.)
func writeAnonymized(ctx context.Context, in io.Reader, sep byte, lay *tableLayout, res *Result, out string) (FileInfo, error) {
	info := FileInfo{Path: out}
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
	sum := NewFileSum(f)
	bw := bufio.NewWriterSize(sum, 1<<16)
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
	info.Bytes, info.SHA256 = sum.Bytes(), sum.SHA256()
	return info, nil
}

// allQI reports whether every column is a quasi-identifier.
func (t *tableLayout) allQI() bool { return len(t.qi) == len(t.header) }

// writeClassLines writes one pre-rendered line per row, for tables whose
// every column is a quasi-identifier (in any order).
func writeClassLines(ctx context.Context, bw *bufio.Writer, sep byte, res *Result, lay *tableLayout) error {
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
		top[i] = Top
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
func copyGeneralised(ctx context.Context, bw *bufio.Writer, cr *csvio.Reader, sep byte, lay *tableLayout, res *Result, info *FileInfo) error {
	// Each class's escaped values, rendered once.
	rendered := make([][][]byte, res.Classes)
	top := make([]string, len(lay.qi))
	for i := range top {
		top[i] = Top
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
