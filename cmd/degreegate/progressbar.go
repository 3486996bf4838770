package main

import (
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// bar is the terminal progress bar, by bytes of the file read.
type bar struct{ b *progressbar.ProgressBar }

func newBar(f *os.File, name string, size int64) *bar {
	return &bar{progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b *bar) update(bytes int64, _ int) { _ = b.b.Set64(bytes) }
func (b *bar) finish()                   { _ = b.b.Finish() }
