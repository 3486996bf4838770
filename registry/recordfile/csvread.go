package recordfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/degreegate/degreegate/registry"
)

// csvRec is a record as encoding/csv returned it, held until Next hands it
// out. fields is encoding/csv's reused slice: valid until its next Read.
type csvRec struct {
	ok         bool
	fields     []string
	start, end int // first and last physical line
	perr       *csv.ParseError
}

// startCSV reads and checks the header row.
func (r *Reader) startCSV() error {
	r.feed = newCSVFeed(r.lines, r.opt.MaxRecordBytes)
	r.csv = csv.NewReader(r.feed)
	r.csv.ReuseRecord = true

	hdr, err := r.csv.Read()
	r.feed.recordDone()
	pe, err := r.csvError(err)
	if errors.Is(err, io.EOF) {
		return &FileError{Line: 1, Err: fmt.Errorf("%w: want a header row naming the columns", ErrEmpty)}
	}
	if err != nil {
		return err
	}
	_, end := r.span(hdr, pe)
	if first, n := r.feed.takeThrough(end); n > 0 {
		return &FileError{Line: first, Err: fmt.Errorf("%w: header line is longer than %d bytes", ErrHeader, r.opt.MaxLineBytes)}
	}
	if pe != nil {
		return &FileError{Line: pe.Line, Err: fmt.Errorf("%w: %s", ErrHeader, quoteMessage(pe))}
	}
	seen := make(map[int]int, len(hdr)) // field index → header position
	r.cols = make([]int, len(hdr))
	for i, name := range hdr {
		line, _ := r.csv.FieldPos(i)
		switch fi, known := r.byName[name]; {
		case invalidUTF8At(name) >= 0:
			return &FileError{Line: line, Err: fmt.Errorf("%w: column %d is not UTF-8 (is the file GBK-encoded? save it as UTF-8)", ErrHeader, i+1)}
		case name == "":
			return &FileError{Line: line, Err: fmt.Errorf("%w: column %d has no name", ErrHeader, i+1)}
		case !known:
			desc, _ := unknownName(name, r.byName)
			return &FileError{Line: line, Err: fmt.Errorf("%w: column %d: %s", ErrHeader, i+1, desc)}
		default:
			if j, dup := seen[fi]; dup {
				return &FileError{Line: line, Err: fmt.Errorf("%w: column %d: %q is also column %d", ErrHeader, i+1, name, j+1)}
			}
			seen[fi] = i
			r.cols[i] = fi
		}
	}
	r.csv.FieldsPerRecord = len(hdr)
	return nil
}

func (r *Reader) nextCSV() (Row, error) {
	for {
		switch {
		case r.held.ok:
			// Defensive: every over-long line is part of some record, but
			// should one come before this record, it still gets its row.
			if line, ok := r.feed.popBefore(r.held.start); ok {
				return r.tooLongRow(line), nil
			}
			r.held.ok = false
			return r.csvRow(&r.held), nil
		case r.final != nil:
			// Over-long lines before the end are reported before it.
			if line, ok := r.feed.popBefore(r.finalStop); ok {
				return r.tooLongRow(line), nil
			}
			return r.fail(r.final)
		}
		rec, err := r.csv.Read()
		r.feed.recordDone()
		pe, err := r.csvError(err)
		if err != nil {
			r.final, r.finalStop = err, math.MaxInt
			if fe := (*FileError)(nil); errors.As(err, &fe) {
				r.finalStop = fe.Line
			}
			continue
		}
		start, end := r.span(rec, pe)
		r.held = csvRec{ok: true, fields: rec, start: start, end: end, perr: pe}
	}
}

func (r *Reader) tooLongRow(line int) Row {
	return Row{Line: line, Problems: []registry.Violation{lineTooLong(line, 1, r.opt.MaxLineBytes)}}
}

// csvError sorts what encoding/csv returned: nil or a *csv.ParseError for a
// problem with this record only; io.EOF; or a *FileError that ends reading.
func (r *Reader) csvError(err error) (*csv.ParseError, error) {
	if err == nil {
		return nil, nil
	}
	if errors.Is(err, io.EOF) {
		if r.feed.tripped {
			return nil, &FileError{Line: r.lines.num, Err: fmt.Errorf(
				"%w: more than %d bytes of blank lines", ErrTooLarge, r.opt.MaxRecordBytes)}
		}
		return nil, io.EOF
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return nil, &FileError{Line: r.lines.num + 1, Err: fmt.Errorf("read: %w", err)}
	}
	if errors.Is(pe.Err, csv.ErrQuote) {
		if r.feed.tripped {
			return nil, &FileError{Line: pe.StartLine, Err: fmt.Errorf(
				"%w: a quoted field in the record starting here is not closed within %d bytes",
				ErrUnterminatedQuote, r.opt.MaxRecordBytes)}
		}
		if pe.StartLine < pe.Line && r.feed.exhausted(r.csv.InputOffset()) {
			return nil, &FileError{Line: pe.StartLine, Err: fmt.Errorf(
				"%w: a quoted field in the record starting here is never closed and runs to the end of the file",
				ErrUnterminatedQuote)}
		}
	}
	return pe, nil
}

// span returns the first and last physical line of the record encoding/csv
// returned last.
func (r *Reader) span(rec []string, pe *csv.ParseError) (start, end int) {
	if n := len(rec); n > 0 {
		start, _ = r.csv.FieldPos(0)
		end, _ = r.csv.FieldPos(n - 1)
		// A quoted last field may run over several lines.
		end += strings.Count(rec[n-1], "\n")
	}
	if pe != nil {
		if n := len(rec); n == 0 || start == 0 {
			start = pe.StartLine
		}
		if !errors.Is(pe.Err, csv.ErrFieldCount) {
			// A quote error ends the record on the line it was found.
			end = max(end, pe.Line)
		}
	}
	return start, max(start, end)
}

// csvRow turns a held record into a Row.
func (r *Reader) csvRow(h *csvRec) Row {
	row := Row{Line: h.start}
	// Part of the text was skipped: nothing else in it can be trusted.
	if first, n := r.feed.takeThrough(h.end); n > 0 {
		if n > 1 {
			first = h.start // the message then speaks of the record's lines
		}
		row.Problems = []registry.Violation{lineTooLong(first, n, r.opt.MaxLineBytes)}
		return row
	}
	// One report per row is enough: a bad encoding is nearly always the
	// whole file's, and further messages would only bury that.
	for i, s := range h.fields {
		if at := invalidUTF8At(s); at >= 0 {
			line, _ := r.csv.FieldPos(i)
			line += strings.Count(s[:at], "\n")
			row.Problems = []registry.Violation{notUTF8(r.colName(i), line)}
			return row
		}
	}
	if pe := h.perr; pe != nil {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			row.Problems = []registry.Violation{problem("", ProblemFieldCount,
				fmt.Sprintf("want %d fields as in the header, found %d", len(r.cols), len(h.fields)))}
		} else {
			// encoding/csv stops at the field it could not read.
			row.Problems = []registry.Violation{problem(r.colName(len(h.fields)), ProblemBadQuote, quoteMessage(pe))}
		}
		return row
	}
	for i, s := range h.fields {
		if v, ok := setCell(&fields[r.cols[i]], &row.Record, s); !ok {
			row.Problems = append(row.Problems, v)
		}
	}
	return row
}

// colName is the field name of header position i, or "" past the header.
func (r *Reader) colName(i int) string {
	if i < len(r.cols) {
		return fields[r.cols[i]].Name
	}
	return ""
}

// quoteMessage explains a quoting error without quoting the text.
func quoteMessage(pe *csv.ParseError) string {
	if errors.Is(pe.Err, csv.ErrBareQuote) {
		return fmt.Sprintf(`a '"' at line %d byte %d is inside a field that does not start with one; `+
			`enclose the whole field in quotes and double the quotes inside it`, pe.Line, pe.Column)
	}
	return fmt.Sprintf(`the quoted field closed at line %d byte %d goes on after its closing '"'; `+
		`a closing quote must be followed by a comma or the line end, and quotes inside a field doubled`, pe.Line, pe.Column)
}
