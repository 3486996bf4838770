package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordfile"
	"github.com/degreegate/degreegate/registry/synth"
)

func runGen(ctx context.Context, args []string, e env) error {
	fs := newFlags("gen", e)
	n := fs.Int("records", 1000, "number of records")
	seed := fs.Int64("seed", 1, "seed: the same seed and count give the same records")
	format := fs.String("format", "", "csv or jsonl (default: from --out's extension, else csv)")
	out := fs.String("out", "", "output file (default: standard output)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if *n < 0 {
		return usageError{"gen: --records must be ≥ 0"}
	}
	f, err := chooseFormat(*format, *out)
	if err != nil {
		return err
	}
	var w io.Writer = e.stdout
	if *out != "" {
		file, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		defer file.Close()
		w = file
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	rw, err := recordfile.NewWriter(bw, f)
	if err != nil {
		return err
	}
	err = synth.New(*seed).Generate(ctx, *n, 0, func(_ int, r registry.Record) error {
		return rw.Write(&r)
	})
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if err := rw.Flush(); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if *out != "" {
		fmt.Fprintf(e.stderr, "wrote %d records to %s\n", *n, *out)
	}
	return nil
}

func chooseFormat(flagValue, out string) (recordfile.Format, error) {
	switch flagValue {
	case "csv":
		return recordfile.CSV, nil
	case "jsonl":
		return recordfile.JSONL, nil
	case "":
		if out == "" {
			return recordfile.CSV, nil
		}
		f, err := recordfile.FormatOf(out)
		if err != nil {
			return "", usageError{fmt.Sprintf("gen: %v; pass --format", err)}
		}
		return f, nil
	}
	return "", usageError{fmt.Sprintf("gen: --format %q: want csv or jsonl", flagValue)}
}
