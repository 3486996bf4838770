// Command adultjitter writes the large benchmark tables: the ARX adult
// data replicated with the age jittered by ±1, e.g.
//
//	go run ./anonymizer/internal/jitter/adultjitter -times 33 -out /tmp/adult-1m.csv
//
// (995,346 rows), or -rows 100000 for a table of exactly that size. Write them to a temporary folder, never to the repo.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/degreegate/degreegate/anonymizer/internal/jitter"
)

func main() {
	in := flag.String("in", "../shared/benchdata/adult/adult.csv", "input table")
	out := flag.String("out", "", "output table (required)")
	times := flag.Int("times", 33, "copies in all, the original included")
	column := flag.String("column", "age", "integer column to jitter")
	delta := flag.Int("delta", 1, "largest change of a jittered value")
	rows := flag.Int("rows", 0, "stop after this many rows (0: all copies)")
	seed := flag.Uint64("seed", 1, "seed")
	flag.Parse()
	if err := run(*in, *out, jitter.Options{Times: *times, Rows: *rows, Column: *column, Delta: *delta, Seed: *seed, Sep: ';'}); err != nil {
		fmt.Fprintln(os.Stderr, "adultjitter:", err)
		os.Exit(1)
	}
}

func run(in, out string, o jitter.Options) error {
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	r, err := os.Open(in)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := jitter.Replicate(r, w, o); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
