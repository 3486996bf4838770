package recordfile

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/degreegate/degreegate/registry"
)

// Row is one record of the file, or the reasons it could not be read.
// Line is the 1-based physical line where the record starts (CSV records
// may span lines inside quotes). When Problems is not empty, Record holds
// whatever could be read and must not be stored.
type Row struct {
	Line     int
	Record   registry.Record
	Problems []registry.Violation
}

// Reader streams the records of one file in bounded memory. It is not safe
// for concurrent use.
type Reader struct {
	format Format
	opt    Options
	lines  *lineReader
	byName map[string]int // field name → index in fields
	err    error          // sticky: io.EOF or a *FileError once reading has ended

	// CSV only.
	feed      *csvFeed
	csv       *csv.Reader
	cols      []int  // header position → index in fields
	held      csvRec // record read from csv but not yet returned
	final     error  // io.EOF or *FileError met, returned once earlier rows are out
	finalStop int    // over-long lines before this line are reported before final

	// JSONL only.
	records int    // rows returned, to tell an empty file
	seen    []bool // fields given on the current line, by index in fields
}

// NewReader returns a Reader of the records in r. For CSV it reads and
// checks the header row here, returning a *FileError if the file is empty
// or the header is unusable; a header-only file is fine and has no rows.
func NewReader(r io.Reader, f Format, o Options) (*Reader, error) {
	if !f.valid() {
		return nil, fmt.Errorf("recordfile: unknown format %q", f)
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	rd := &Reader{
		format: f,
		opt:    o,
		lines:  newLineReader(r, o.MaxLineBytes),
		byName: fieldIndex(),
		seen:   make([]bool, len(fields)),
	}
	// A UTF-16 file would otherwise show up as a puzzling header error or
	// as every line not UTF-8.
	if b, _ := rd.lines.br.Peek(2); string(b) == "\xff\xfe" || string(b) == "\xfe\xff" {
		return nil, &FileError{Line: 1, Err: fmt.Errorf("%w: it is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8", ErrNotUTF8)}
	}
	if f == CSV {
		if err := rd.startCSV(); err != nil {
			return nil, err
		}
	}
	return rd, nil
}

// Next returns the next row, or io.EOF after the last one. A problem with
// one record is reported in Row.Problems and the next call goes on with the
// following line. A problem with the file as a whole (see FileError) ends
// reading: Next returns it, and returns it again on every later call.
func (r *Reader) Next() (Row, error) {
	if r.err != nil {
		return Row{}, r.err
	}
	if r.format == CSV {
		return r.nextCSV()
	}
	return r.nextJSONL()
}

func (r *Reader) fail(err error) (Row, error) {
	r.err = err
	return Row{}, err
}
