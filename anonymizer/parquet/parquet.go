// Package parquet writes and reads the research datasets' tables as
// Apache Parquet, through github.com/parquet-go/parquet-go: every column a
// required UTF-8 string, dictionary-encoded (quasi-identifiers repeat a
// few generalised labels) and zstd-compressed. It knows nothing of
// records or policies: a header and rows of strings go in and come out.
package parquet

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"unsafe"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// batch is how many rows are handed to the library at once.
const batch = 4096

// Writer writes one table. It is not safe for concurrent use.
type Writer struct {
	w     *pq.Writer
	index []int // schema column → input column
	rows  []pq.Row
	n     int
}

// NewWriter starts a table with these column names (unique, non-empty)
// on out; meta goes into the file's key/value metadata. Parquet orders a
// group's columns by name; readers find them by name, and Read returns
// them in the file's order.
func NewWriter(out io.Writer, columns []string, meta map[string]string) (*Writer, error) {
	if len(columns) == 0 {
		return nil, errors.New("parquet: no columns")
	}
	group := pq.Group{}
	for _, c := range columns {
		if c == "" {
			return nil, errors.New("parquet: empty column name")
		}
		if _, dup := group[c]; dup {
			return nil, fmt.Errorf("parquet: column %q named twice", c)
		}
		group[c] = pq.Encoded(pq.String(), &pq.RLEDictionary)
	}
	schema := pq.NewSchema("dataset", group)
	opts := []pq.WriterOption{schema, pq.Compression(&zstd.Codec{Level: zstd.SpeedFastest}), pq.CreatedBy("degreegate", "1", "")}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		opts = append(opts, pq.KeyValueMetadata(k, meta[k]))
	}
	w := &Writer{w: pq.NewWriter(out, opts...), rows: make([]pq.Row, batch)}
	for _, path := range schema.Columns() {
		w.index = append(w.index, slices.Index(columns, path[0]))
	}
	for i := range w.rows {
		w.rows[i] = make(pq.Row, len(columns))
	}
	return w, nil
}

// Write adds one row, its values in the order of NewWriter's columns.
func (w *Writer) Write(row []string) error {
	if len(row) != len(w.index) {
		return fmt.Errorf("parquet: row has %d values, want %d", len(row), len(w.index))
	}
	r := w.rows[w.n]
	for col, in := range w.index {
		// Strings are immutable, so their bytes are borrowed, not copied,
		// until the batch is handed over (the library copies them then).
		r[col] = pq.ByteArrayValue(unsafe.Slice(unsafe.StringData(row[in]), len(row[in]))).Level(0, 0, col)
	}
	w.n++
	if w.n == batch {
		return w.flushRows()
	}
	return nil
}

func (w *Writer) flushRows() error {
	if w.n == 0 {
		return nil
	}
	_, err := w.w.WriteRows(w.rows[:w.n])
	w.n = 0
	if err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

// Close writes what is buffered and the file's footer; it does not close
// the underlying writer.
func (w *Writer) Close() error {
	if err := w.flushRows(); err != nil {
		return err
	}
	if err := w.w.Close(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

// Read calls fn with the column names (in the file's order) and each row's
// values as strings; fn must not keep row. Only flat files of
// byte-array columns — what Writer writes — are read; anything else is an
// error, and so is a file whose footer or page headers declare more than
// they hold or more than the bounds of bounds.go, before the library
// allocates for them.
func Read(r io.ReaderAt, size int64, fn func(header, row []string) error) (err error) {
	// A file to trace comes from outside; a malformed one must not take
	// the process down with the library.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquet: malformed file (%v)", p)
		}
	}()
	if err := checkFile(r, size); err != nil {
		return err
	}
	f, err := pq.OpenFile(r, size, pq.SkipPageIndex(true), pq.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	schema := f.Schema()
	var header []string
	for _, path := range schema.Columns() {
		if len(path) != 1 {
			return errors.New("parquet: nested columns are not a dataset table")
		}
		header = append(header, path[0])
	}
	rd := pq.NewReader(f)
	defer rd.Close()
	rows := make([]pq.Row, 256)
	out := make([]string, len(header))
	for {
		n, err := rd.ReadRows(rows)
		for _, row := range rows[:n] {
			clear(out)
			for _, v := range row {
				if c := v.Column(); c >= 0 && c < len(out) && !v.IsNull() {
					out[c] = string(v.ByteArray())
				}
			}
			if err := fn(header, out); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
	}
}
