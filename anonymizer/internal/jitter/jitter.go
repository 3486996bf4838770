// Package jitter makes the large benchmark tables: a table replicated
// several times, each copy after the first with one integer column
// nudged by a small deterministic random amount, as the published ARX
// scaling figures use (the adult data 33 times: 995,346 rows).
package jitter

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"

	"github.com/degreegate/degreegate/anonymizer/csvio"
)

// Options say how to replicate.
type Options struct {
	Times  int    // copies in all, the original included
	Rows   int    // stop after this many rows (0: Times copies in full)
	Column string // integer column to jitter, e.g. "age"
	Delta  int    // each jittered value moves by a uniform amount in [-Delta, +Delta]
	Seed   uint64
	Sep    byte
}

// Replicate reads a table with a header from r and writes Times copies
// to w. Copy 0 is the input unchanged; in copy c the jittered value is
// clamped to the smallest and largest value the input has, so it stays
// inside any hierarchy that covers the input. The same options and input
// give the same bytes.
func Replicate(r io.Reader, w io.Writer, o Options) error {
	if o.Times < 1 || o.Delta < 0 {
		return errors.New("jitter: want Times ≥ 1 and Delta ≥ 0")
	}
	cr, err := csvio.NewReader(r, o.Sep)
	if err != nil {
		return err
	}
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("jitter: header: %w", err)
	}
	header := make([]string, len(head))
	col := -1
	for i, h := range head {
		header[i] = string(h)
		if header[i] == o.Column {
			col = i
		}
	}
	if col < 0 {
		return fmt.Errorf("jitter: no column %q", o.Column)
	}
	var rows [][]string
	var values []int
	lo, hi := 0, 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("jitter: %w", err)
		}
		row := make([]string, len(rec))
		for i, f := range rec {
			row[i] = string(f)
		}
		v, err := strconv.Atoi(row[col])
		if err != nil {
			return fmt.Errorf("jitter: line %d: column %q is not an integer", cr.Line(), o.Column)
		}
		if len(rows) == 0 || v < lo {
			lo = v
		}
		if len(rows) == 0 || v > hi {
			hi = v
		}
		rows = append(rows, row)
		values = append(values, v)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	line := writeRow(nil, header, o.Sep)
	bw.Write(line)
	written := 0
	for c := range o.Times {
		rng := rand.New(rand.NewPCG(o.Seed, uint64(c)))
		for i, row := range rows {
			if o.Rows > 0 && written == o.Rows {
				return bw.Flush()
			}
			written++
			v := values[i]
			if c > 0 {
				v = min(max(v+rng.IntN(2*o.Delta+1)-o.Delta, lo), hi)
			}
			saved := row[col]
			row[col] = strconv.Itoa(v)
			line = writeRow(line[:0], row, o.Sep)
			row[col] = saved
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

func writeRow(dst []byte, row []string, sep byte) []byte {
	for i, f := range row {
		if i > 0 {
			dst = append(dst, sep)
		}
		dst = csvio.AppendField(dst, f, sep)
	}
	return append(dst, '\n')
}
