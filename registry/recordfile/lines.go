package recordfile

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineReader yields the physical lines of a file in bounded memory: a line
// longer than max is skipped in buffer-sized pieces, never held whole.
type lineReader struct {
	br  *bufio.Reader
	max int
	num int  // number of the line last returned (1-based); 0 before the first
	eof bool // the source is exhausted
}

// physLine is one physical line.
type physLine struct {
	// text is the line without its line end ("\n" or "\r\n") and, on the
	// first line, without a UTF-8 byte order mark. It aliases the reader's
	// buffer and is valid until the next call of next. Nil when tooLong.
	text    []byte
	tooLong bool
	// quotes counts the '"' bytes of an over-long line, so that the CSV
	// reader can keep its quoting in step (see csvFeed).
	quotes int
}

func newLineReader(r io.Reader, maxLine int) *lineReader {
	// Room for the longest line allowed plus a BOM and "\r\n"; a line that
	// does not fit is over-long however it ends.
	return &lineReader{br: bufio.NewReaderSize(r, maxLine+len(bom)+2), max: maxLine}
}

const bom = "\xef\xbb\xbf"

// next returns the next physical line, io.EOF after the last one, or the
// source's error.
func (lr *lineReader) next() (physLine, error) {
	if lr.eof {
		return physLine{}, io.EOF
	}
	b, err := lr.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return lr.skip(b)
	case err == io.EOF:
		lr.eof = true
		if len(b) == 0 {
			return physLine{}, io.EOF
		}
	case err != nil:
		return physLine{}, err
	}
	lr.num++
	b = bytes.TrimSuffix(b, []byte{'\n'})
	// A lone "\r" before EOF is dropped too, as encoding/csv does.
	b = bytes.TrimSuffix(b, []byte{'\r'})
	if lr.num == 1 {
		b = bytes.TrimPrefix(b, []byte(bom))
	}
	if len(b) > lr.max {
		return physLine{tooLong: true, quotes: bytes.Count(b, []byte{'"'})}, nil
	}
	return physLine{text: b}, nil
}

// skip discards the rest of an over-long line whose first buffer-full is b.
func (lr *lineReader) skip(b []byte) (physLine, error) {
	lr.num++
	quotes := bytes.Count(b, []byte{'"'})
	for {
		b, err := lr.br.ReadSlice('\n')
		quotes += bytes.Count(b, []byte{'"'})
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			lr.eof = true
		case err != nil:
			return physLine{}, err
		}
		return physLine{tooLong: true, quotes: quotes}, nil
	}
}
