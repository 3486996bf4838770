package recordfile

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Format is the syntax of a record file.
type Format string

const (
	CSV   Format = "csv"   // RFC 4180 with a header row of field names
	JSONL Format = "jsonl" // JSON Lines: one JSON object per line
)

// FormatOf picks the format from a file name's extension: .csv for CSV;
// .jsonl or .ndjson (JSON Lines) for JSONL. Letter case is ignored, since
// files made on Windows often end in .CSV.
func FormatOf(name string) (Format, error) {
	ext := strings.ToLower(filepath.Ext(name))
	switch ext {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson":
		return JSONL, nil
	}
	// The extension alone is named: a file name may itself hold a person's name.
	if ext == "" {
		return "", fmt.Errorf("recordfile: file name has no extension; want .csv, .jsonl or .ndjson")
	}
	return "", fmt.Errorf("recordfile: extension %q is not .csv, .jsonl or .ndjson", ext)
}

func (f Format) valid() bool { return f == CSV || f == JSONL }

// Options bound what a Reader holds in memory. The zero value is ready to use.
type Options struct {
	// MaxLineBytes is the longest physical line, without its line end, that
	// is read; a longer line is skipped and reported as ProblemLineTooLong.
	// The Reader holds one buffer of this size. Default 64 KiB.
	MaxLineBytes int
	// MaxRecordBytes bounds one CSV record, which may span many lines inside
	// a quoted field, together with any blank lines before it. Going past it
	// almost always means a quote that is never closed, so it ends reading
	// with ErrUnterminatedQuote (or ErrTooLarge for a run of blank lines).
	// The check is accurate to within a few KiB of read-ahead. Default: the
	// larger of 1 MiB and 4 × MaxLineBytes; never less than MaxLineBytes.
	MaxRecordBytes int
}

const (
	defaultMaxLine   = 64 << 10
	defaultMaxRecord = 1 << 20
)

func (o Options) withDefaults() (Options, error) {
	if o.MaxLineBytes < 0 || o.MaxRecordBytes < 0 {
		return o, fmt.Errorf("recordfile: negative size limit in Options")
	}
	if o.MaxLineBytes == 0 {
		o.MaxLineBytes = defaultMaxLine
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = max(defaultMaxRecord, 4*o.MaxLineBytes)
	}
	o.MaxRecordBytes = max(o.MaxRecordBytes, o.MaxLineBytes)
	return o, nil
}
