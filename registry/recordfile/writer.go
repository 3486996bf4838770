package recordfile

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/degreegate/degreegate/registry"
)

// ErrNotWritable is wrapped by Writer.Write when a record holds a value
// that the format cannot carry so that the Reader gets it back exactly.
var ErrNotWritable = errors.New("value cannot be written exactly")

// Writer writes records in either format. CSV starts with a header row of
// every field (Columns); JSONL writes one object per line with the field
// names of DESIGN.md. Whatever Write accepts, Reader reads back equal.
// Call Flush at the end. It is not safe for concurrent use.
type Writer struct {
	format Format
	n      int // records written, for messages

	csv  *csv.Writer
	cell []string // reused CSV row

	buf *bufio.Writer
	enc *json.Encoder
}

// NewWriter returns a Writer to w. Output is buffered until Flush.
func NewWriter(w io.Writer, f Format) (*Writer, error) {
	switch f {
	case CSV:
		cw := csv.NewWriter(w)
		// The header goes out even if no record follows: a header-only
		// file reads as a file with no rows.
		if err := cw.Write(Columns()); err != nil {
			return nil, fmt.Errorf("recordfile: write header: %w", err)
		}
		return &Writer{format: f, csv: cw, cell: make([]string, len(fields))}, nil
	case JSONL:
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw) // Encode ends each object with "\n"
		enc.SetEscapeHTML(false)
		return &Writer{format: f, buf: bw, enc: enc}, nil
	}
	return nil, fmt.Errorf("recordfile: unknown format %q", f)
}

// Write writes one record. It fails, writing nothing, if a value cannot be
// read back exactly: text that is not UTF-8, a date or month that does not
// exist or has no four-digit year, and, in CSV, a carriage return in a text
// (encoding/csv reads "\r\n" as "\n") or a keyword that is empty, holds ";"
// or has spaces at either end.
func (w *Writer) Write(r *registry.Record) error {
	w.n++
	if w.format == JSONL {
		if err := w.check(r, nil); err != nil {
			return err
		}
		if err := w.enc.Encode(r); err != nil {
			return fmt.Errorf("recordfile: record %d: %w", w.n, err)
		}
		return nil
	}
	if err := w.check(r, w.cell); err != nil {
		return err
	}
	if err := w.csv.Write(w.cell); err != nil {
		return fmt.Errorf("recordfile: record %d: %w", w.n, err)
	}
	return nil
}

// check tells whether r can be written exactly and, when cells is not nil,
// fills it with the CSV text of each field.
func (w *Writer) check(r *registry.Record, cells []string) error {
	for i := range fields {
		f := &fields[i]
		var s string
		switch f.Kind {
		case registry.FieldText:
			s = f.Text(r)
			if !utf8.ValidString(s) {
				return w.notWritable(f, "is not UTF-8")
			}
			if cells != nil && strings.IndexByte(s, '\r') >= 0 {
				return w.notWritable(f, "holds a carriage return, which CSV reads back as part of a line end")
			}
		case registry.FieldDate:
			if d := *f.Date(r); !d.IsZero() {
				if s = d.String(); !validDate(s) {
					return w.notWritable(f, "is not a date YYYY-MM-DD that exists")
				}
			}
		case registry.FieldMonth:
			if m := *f.Month(r); !m.IsZero() {
				if s = m.String(); !validMonth(s) {
					return w.notWritable(f, "is not a month YYYY-MM")
				}
			}
		case registry.FieldInt:
			if n := *f.Int(r); n != 0 {
				s = strconv.Itoa(n)
			}
		case registry.FieldBool:
			s = strconv.FormatBool(*f.Bool(r))
		case registry.FieldList:
			kws := *f.List(r)
			for _, kw := range kws {
				if !utf8.ValidString(kw) {
					return w.notWritable(f, "holds a keyword that is not UTF-8")
				}
				if cells != nil && (kw == "" || kw != strings.TrimSpace(kw) || strings.ContainsAny(kw, ";\r")) {
					return w.notWritable(f, `holds a keyword that is empty, has spaces at either end, or holds ";" or a carriage return`)
				}
			}
			if cells != nil {
				s = strings.Join(kws, ";")
			}
		}
		if cells != nil {
			cells[i] = s
		}
	}
	return nil
}

func (w *Writer) notWritable(f *registry.Field, why string) error {
	return fmt.Errorf("recordfile: record %d: %s %s: %w", w.n, f.Name, why, ErrNotWritable)
}

func validDate(s string) bool {
	_, err := registry.ParseDate(s)
	return err == nil
}

func validMonth(s string) bool {
	_, err := registry.ParseMonth(s)
	return err == nil
}

// Flush writes out any buffered output and reports the first error met
// since the Writer was made.
func (w *Writer) Flush() error {
	if w.format == JSONL {
		if err := w.buf.Flush(); err != nil {
			return fmt.Errorf("recordfile: flush: %w", err)
		}
		return nil
	}
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return fmt.Errorf("recordfile: flush: %w", err)
	}
	return nil
}
