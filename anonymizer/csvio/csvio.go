// Package csvio reads and writes delimiter-separated tables fast: a reader
// that hands out fields as byte slices into one reused buffer, so the
// anonymizer can dictionary-encode a million rows without a string per
// cell, and an escaping helper for the writer side.
//
// The reader follows RFC 4180 as encoding/csv does with LazyQuotes off
// (its fuzz test checks that both agree): fields may be quoted, a quote
// inside a quoted field is doubled, quoted fields may span lines, "\r\n"
// ends a line like "\n", and empty lines are skipped.
package csvio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Errors a ParseError wraps.
var (
	ErrBareQuote = errors.New(`bare " in an unquoted field`)
	ErrQuote     = errors.New(`extraneous or missing " in a quoted field`)
	ErrLineLong  = errors.New("record longer than the limit")
)

// MaxRecordBytes bounds one record, so a file with an unclosed quote
// cannot make the reader buffer the whole file.
const MaxRecordBytes = 1 << 20

// ParseError locates a syntax error. It never quotes the data: the tables
// this package reads may hold personal data.
type ParseError struct {
	Line int // 1-based line where the record starts
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }

// Reader reads records one at a time. The slices Read returns are valid
// until the next call.
type Reader struct {
	br     *bufio.Reader
	sep    byte
	line   int // lines consumed so far
	start  int // first line of the last record
	buf    []byte
	ends   []int
	fields [][]byte
	long   []byte // assembles a line longer than the bufio buffer
}

// NewReader returns a reader of sep-separated records. sep must not be a
// quote, CR or LF.
func NewReader(r io.Reader, sep byte) (*Reader, error) {
	if !ValidSep(sep) {
		return nil, fmt.Errorf("separator %q: must not be a quote or line break", sep)
	}
	return &Reader{br: bufio.NewReaderSize(r, 1<<16), sep: sep}, nil
}

// ValidSep reports whether sep can separate fields.
func ValidSep(sep byte) bool { return sep != '"' && sep != '\r' && sep != '\n' && sep != 0 }

// Line returns the 1-based line on which the last record read started.
func (r *Reader) Line() int { return r.start }

// readLine returns the next physical line including its "\n" (absent at
// end of input), with a final "\r\n" turned into "\n" and a lone "\r"
// before EOF dropped, as encoding/csv does.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.long = append(r.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(r.long) > MaxRecordBytes {
				return nil, ErrLineLong
			}
			line, err = r.br.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		line = r.long
	}
	if len(line) > 0 && err == io.EOF {
		err = nil
		if line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
	}
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	if len(line) > 0 {
		r.line++
	}
	return line, err
}

// Read returns the next record, or io.EOF after the last.
func (r *Reader) Read() ([][]byte, error) {
	var line []byte
	var err error
	for {
		line, err = r.readLine()
		if err != nil {
			if errors.Is(err, ErrLineLong) {
				return nil, &ParseError{Line: r.line + 1, Err: err}
			}
			return nil, err
		}
		if len(line) == 0 {
			return nil, io.EOF
		}
		if len(line) > 1 || line[0] != '\n' {
			break
		}
	}
	r.start = r.line
	if bytes.IndexByte(line, '"') < 0 {
		return r.splitPlain(line), nil
	}
	return r.parseQuoted(line)
}

// splitPlain is the fast path for a line without quotes.
func (r *Reader) splitPlain(line []byte) [][]byte {
	if line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
	}
	r.buf = append(r.buf[:0], line...)
	r.fields = r.fields[:0]
	rest := r.buf
	for {
		i := bytes.IndexByte(rest, r.sep)
		if i < 0 {
			r.fields = append(r.fields, rest)
			return r.fields
		}
		r.fields = append(r.fields, rest[:i:i])
		rest = rest[i+1:]
	}
}

// parseQuoted handles a record with quotes, reading further lines while a
// quoted field is open.
func (r *Reader) parseQuoted(line []byte) ([][]byte, error) {
	r.buf = r.buf[:0]
	r.ends = r.ends[:0]
	fail := func(err error) ([][]byte, error) { return nil, &ParseError{Line: r.start, Err: err} }
	for {
		if len(line) == 0 || line[0] != '"' {
			// Unquoted field.
			i := bytes.IndexByte(line, r.sep)
			field := line
			if i >= 0 {
				field = line[:i]
			} else if n := len(field); n > 0 && field[n-1] == '\n' {
				field = field[:n-1]
			}
			if bytes.IndexByte(field, '"') >= 0 {
				return fail(ErrBareQuote)
			}
			r.buf = append(r.buf, field...)
			r.ends = append(r.ends, len(r.buf))
			if i < 0 {
				break
			}
			line = line[i+1:]
			continue
		}
		// Quoted field.
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				r.buf = append(r.buf, line[:i]...)
				line = line[i+1:]
				switch {
				case len(line) > 0 && line[0] == '"':
					r.buf = append(r.buf, '"')
					line = line[1:]
					continue
				case len(line) > 0 && line[0] == r.sep:
					line = line[1:]
					r.ends = append(r.ends, len(r.buf))
				case len(line) == 0 || (len(line) == 1 && line[0] == '\n'):
					r.ends = append(r.ends, len(r.buf))
					return r.fieldsFromEnds(), nil
				default:
					return fail(ErrQuote)
				}
			case len(line) > 0:
				// The field goes on past this line.
				r.buf = append(r.buf, line...)
				if len(r.buf) > MaxRecordBytes {
					return fail(ErrLineLong)
				}
				var err error
				line, err = r.readLine()
				if err != nil && !errors.Is(err, io.EOF) {
					if errors.Is(err, ErrLineLong) {
						return fail(err)
					}
					return nil, err
				}
				if len(line) == 0 {
					return fail(ErrQuote)
				}
				continue
			default:
				return fail(ErrQuote)
			}
			break
		}
	}
	return r.fieldsFromEnds(), nil
}

func (r *Reader) fieldsFromEnds() [][]byte {
	r.fields = r.fields[:0]
	prev := 0
	for _, end := range r.ends {
		r.fields = append(r.fields, r.buf[prev:end:end])
		prev = end
	}
	return r.fields
}

// NeedsQuotes reports whether s must be quoted to survive a round trip
// (and to match what encoding/csv writes).
func NeedsQuotes[T string | []byte](s T, sep byte) bool {
	if len(s) == 0 {
		return false
	}
	if s[0] == ' ' || s[0] == '\t' {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case sep, '"', '\r', '\n':
			return true
		}
	}
	return false
}

// AppendField appends s to dst, quoted when it needs to be.
func AppendField[T string | []byte](dst []byte, s T, sep byte) []byte {
	if !NeedsQuotes(s, sep) {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// DetectSep guesses the separator of a header line: the most frequent of
// ',', ';', tab and '|' outside quotes (the first of them on a tie), ','
// when none occurs. Separators inside a quoted field do not count: a
// header such as `"surname, given names";id` is ';'-separated. It is the
// one detector of degreegate: anonymize, its hierarchy files and
// dataset check all use it, through PeekSep.
func DetectSep(header []byte) byte {
	best, bestN := byte(','), 0
	for _, c := range []byte{',', ';', '\t', '|'} {
		n, quoted := 0, false
		for _, b := range header {
			if b == '"' {
				quoted = !quoted
			} else if b == c && !quoted {
				n++
			}
		}
		if n > bestN {
			best, bestN = c, n
		}
	}
	return best
}

// PeekSep detects the separator of the table br reads from its first
// line, as far as br's buffer holds it, without consuming anything.
func PeekSep(br *bufio.Reader) byte {
	line, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return DetectSep(line)
}
