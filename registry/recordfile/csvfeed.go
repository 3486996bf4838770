package recordfile

import "io"

// csvFeed stands between the file and encoding/csv and bounds what
// encoding/csv can be made to hold:
//
//   - A physical line longer than the limit is never passed on. In its place
//     goes a one-byte stand-in that keeps the quoting in step: '"' when the
//     skipped line held an odd number of quotes (it opened or closed a quoted
//     field), '-' otherwise. Either way encoding/csv sees a non-empty line,
//     so the over-long line belongs to exactly one record, which the Reader
//     then reports as ProblemLineTooLong by its line number.
//   - Once more than the record limit has been passed on without
//     encoding/csv finishing a record (an unclosed quote swallowing the file,
//     or a flood of blank lines), the feed pretends the input ended, at a
//     line boundary. encoding/csv then reports a quote error or EOF, and the
//     Reader turns that into a *FileError because tripped is set.
//
// Line ends are passed on as "\n" only; encoding/csv treats "\r\n" the same.
type csvFeed struct {
	lines   *lineReader
	pending []byte // rest of the current line, not yet passed on
	owesNL  bool   // the current line's "\n" is not yet passed on
	end     error  // io.EOF or the source's error, once met
	tripped bool   // the record limit was hit; end is a pretend io.EOF

	// tooLong holds the numbers of over-long lines passed on as stand-ins
	// and not yet reported, in increasing order.
	tooLong []int

	// weight counts the input since the Reader last finished a record: bytes
	// passed on, plus the line limit for each over-long line skipped.
	weight int
	limit  int
	// maxRead is the largest buffer encoding/csv has asked to fill; it can
	// have read that much beyond the record it returned last.
	maxRead int
	// passed counts all bytes passed on, to tell when encoding/csv has
	// consumed the whole input.
	passed int64

	stand [2]byte // the stand-ins: '"' and '-'
}

func newCSVFeed(lines *lineReader, limit int) *csvFeed {
	return &csvFeed{lines: lines, limit: limit, stand: [2]byte{'"', '-'}}
}

func (f *csvFeed) Read(p []byte) (int, error) {
	f.maxRead = max(f.maxRead, len(p))
	n := 0
	for n < len(p) {
		switch {
		case len(f.pending) > 0:
			c := copy(p[n:], f.pending)
			f.pending = f.pending[c:]
			n += c
			continue
		case f.owesNL:
			p[n] = '\n'
			n++
			f.owesNL = false
			continue
		case f.end != nil:
		case f.weight+n > f.limit+f.maxRead:
			// Trip only when nothing is passed on in this call: then
			// encoding/csv has every line so far and still wants more, so it
			// is inside a record (or skipping blank lines) and cannot
			// return a whole record on the pretend end of input.
			if n == 0 {
				f.tripped = true
				f.end = io.EOF
			}
		default:
			f.fetch()
			continue
		}
		break
	}
	f.weight += n
	f.passed += int64(n)
	if n > 0 {
		return n, nil
	}
	return 0, f.end
}

// fetch reads the next physical line into pending.
func (f *csvFeed) fetch() {
	l, err := f.lines.next()
	if err != nil {
		f.end = err
		return
	}
	f.owesNL = true
	if !l.tooLong {
		f.pending = l.text
		return
	}
	f.tooLong = append(f.tooLong, f.lines.num)
	f.weight += f.lines.max
	if l.quotes%2 == 1 {
		f.pending = f.stand[0:1]
	} else {
		f.pending = f.stand[1:2]
	}
}

// recordDone restarts the record limit; the Reader calls it each time
// encoding/csv returns.
func (f *csvFeed) recordDone() { f.weight = 0 }

// exhausted reports whether the real input has ended and encoding/csv,
// having consumed offset bytes, has read all of it.
func (f *csvFeed) exhausted(offset int64) bool {
	return f.end == io.EOF && !f.tripped && len(f.pending) == 0 && !f.owesNL && offset == f.passed
}

// popBefore removes and returns the first over-long line if it is before line.
func (f *csvFeed) popBefore(line int) (int, bool) {
	if len(f.tooLong) == 0 || f.tooLong[0] >= line {
		return 0, false
	}
	n := f.tooLong[0]
	f.tooLong = f.tooLong[1:]
	return n, true
}

// takeThrough removes the over-long lines up to and including line and
// returns the first of them and how many there were.
func (f *csvFeed) takeThrough(line int) (first, count int) {
	for len(f.tooLong) > count && f.tooLong[count] <= line {
		count++
	}
	if count > 0 {
		first = f.tooLong[0]
		f.tooLong = f.tooLong[count:]
	}
	return first, count
}
