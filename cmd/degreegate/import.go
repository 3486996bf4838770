package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/ingest"
	"github.com/degreegate/degreegate/registry/postgres"
	"github.com/degreegate/degreegate/registry/recordfile"
)

func runImport(ctx context.Context, args []string, e env) error {
	fs := newFlags("import", e)
	conf := newConfig(fs, "import", e.getenv)
	batch := fs.Int("batch-size", 5000, "records per transaction; each batch is all or nothing")
	actor := fs.String("actor", "import", "who files these records, recorded on every version and in the audit trail")
	reason := fs.String("reason", "initial filing", "why, recorded with every version")
	report := fs.String("report", "", "also write every rejection to this CSV file (file,line,field,code,message)")
	quiet := fs.Bool("quiet", false, "no progress output")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return usageError{"usage: degreegate import [flags] FILE..."}
	}
	cfg, err := conf.load()
	if err != nil {
		return err
	}
	if err := cfg.requireDatabase(); err != nil {
		return err
	}
	keys, err := registry.LoadKeyring(cfg.KeysDir, cfg.keyEnv)
	if err != nil {
		return err
	}
	logKey, err := registry.LoadLogKey(cfg.KeysDir, cfg.keyEnv)
	if err != nil {
		return err
	}
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()

	var rep *csv.Writer
	if *report != "" {
		f, err := os.Create(*report)
		if err != nil {
			return fmt.Errorf("import: report: %w", err)
		}
		defer f.Close()
		rep = csv.NewWriter(f)
		rep.Write([]string{"file", "line", "field", "code", "message"})
		defer rep.Flush()
	}

	var total ingest.Summary
	for _, name := range files {
		sum, err := importFile(ctx, name, store, keys, ingest.Options{
			BatchSize: *batch,
			Change:    registry.Change{Actor: *actor, Reason: *reason},
			Source:    name,
			Log:       registry.Committing{AuditLog: store, Key: logKey},
			Reject: func(r ingest.Rejection) {
				fmt.Fprintf(e.stdout, "%s:%d: %s: %s: %s\n", name, r.Line, fieldOrRow(r.Field), r.Code, r.Message)
				if rep != nil {
					rep.Write([]string{name, strconv.Itoa(r.Line), r.Field, r.Code, r.Message})
				}
			},
		}, e, *quiet)
		total.Rows += sum.Rows
		total.Inserted += sum.Inserted
		total.Unchanged += sum.Unchanged
		total.Rejected += sum.Rejected
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: stopped after %d rows: %v\n", name, sum.Rows, err)
			return errReported
		}
		fmt.Fprintf(e.stderr, "%s: %d rows: %d filed, %d already filed (unchanged), %d rejected\n",
			name, sum.Rows, sum.Inserted, sum.Unchanged, sum.Rejected)
	}
	if total.Inserted > 0 {
		if err := store.Analyze(ctx); err != nil {
			fmt.Fprintf(e.stderr, "warning: %v (lookups stay slow until autovacuum analyzes)\n", err)
		}
	}
	if total.Rejected > 0 {
		fmt.Fprintf(e.stderr, "%d rows rejected (reasons above)\n", total.Rejected)
		return errReported
	}
	return nil
}

func fieldOrRow(f string) string {
	if f == "" {
		return "row"
	}
	return f
}

func importFile(ctx context.Context, name string, store registry.Store, keys *registry.Keyring, opt ingest.Options, e env, quiet bool) (ingest.Summary, error) {
	format, err := recordfile.FormatOf(name)
	if err != nil {
		return ingest.Summary{}, err
	}
	f, err := os.Open(name)
	if err != nil {
		return ingest.Summary{}, err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	counted := &countingReader{r: f}
	var in io.Reader = counted
	prog := newProgress(e.stderr, name, size, quiet)
	defer prog.finish()
	opt.Progress = func(s ingest.Summary) { prog.update(counted.n.Load(), s.Rows) }
	rd, err := recordfile.NewReader(in, format, recordfile.Options{})
	if err != nil {
		return ingest.Summary{}, fmt.Errorf("%s: %w", name, err)
	}
	sum, err := ingest.Run(ctx, rd, store, keys, opt)
	if errors.Is(err, ingest.ErrBatch) {
		err = fmt.Errorf("%w (earlier batches were filed; re-running the import is safe: filed records come back unchanged)", err)
	}
	return sum, err
}

// countingReader counts the bytes read; the record reader reads on a
// goroutine of its own while progress is reported from the caller's.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progressWriter draws a bar on a terminal and prints a plain line every
// few seconds otherwise (logs, CI).
type progressWriter interface {
	update(bytes int64, rows int)
	finish()
}

func newProgress(w io.Writer, name string, size int64, quiet bool) progressWriter {
	if quiet {
		return noProgress{}
	}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		return newBar(f, name, size)
	}
	return &plainProgress{w: w, name: name, size: size, start: time.Now(), last: time.Now()}
}

type noProgress struct{}

func (noProgress) update(int64, int) {}
func (noProgress) finish()           {}

type plainProgress struct {
	w           io.Writer
	name        string
	size        int64
	start, last time.Time
}

func (p *plainProgress) update(bytes int64, rows int) {
	if time.Since(p.last) < 2*time.Second {
		return
	}
	p.last = time.Now()
	rate := float64(rows) / time.Since(p.start).Seconds()
	pct := ""
	if p.size > 0 {
		pct = fmt.Sprintf(" (%.0f%%)", 100*float64(bytes)/float64(p.size))
	}
	fmt.Fprintf(p.w, "%s: %d rows%s, %.0f rows/s\n", p.name, rows, pct, rate)
}

func (p *plainProgress) finish() {}
