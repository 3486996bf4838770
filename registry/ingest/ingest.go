// Package ingest files records from import files into a Store: it reads
// rows, normalises and validates each (Art. 10), refuses duplicates and
// conflicts, seals the direct identifiers and writes batches that are
// each all or nothing. Every rejected row is reported with its line,
// field, code and reason; nothing is silently fixed or dropped.
package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordfile"
)

// Rejection codes of this package (the validator's and the file reader's
// codes appear as they are).
const (
	CodeDuplicate = "duplicate" // the certificate number appeared earlier in the same file
	CodeConflict  = "conflict"  // a different record with this number is already filed
)

// Source yields rows; *recordfile.Reader is one.
type Source interface {
	Next() (recordfile.Row, error)
}

// Rejection is one reason one row was not filed.
type Rejection struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Summary counts what an import did. Rows = Inserted + Unchanged + Rejected.
type Summary struct {
	Rows      int `json:"rows"`
	Inserted  int `json:"inserted"`
	Unchanged int `json:"unchanged"`
	Rejected  int `json:"rejected"`
	Batches   int `json:"batches"`
}

// Options tune an import.
type Options struct {
	BatchSize int             // records per transaction (default 5000)
	Change    registry.Change // actor and reason stamped on every version; At defaults to now
	Today     registry.Date   // "now" for date rules (default: today)
	Source    string          // file name, for the audit trail
	// Log is the audit trail with the log's leaf key (required): every
	// filed version goes in with its filing entry, and every committed
	// batch gets a summary entry.
	Log registry.Committing
	// Reject is called for every rejection, in line order.
	Reject func(Rejection)
	// Progress is called after every committed batch.
	Progress func(Summary)
}

// ErrBatch wraps a failure to write a batch: that batch and the rest of
// the file were not filed; batches before it were.
var ErrBatch = errors.New("batch not filed")

// pending is the unit handed from the preparing goroutine to the writing
// one: the rows rejected while it was built, then a batch of sealed
// records. One channel carries both, so reports stay in line order.
type pending struct {
	rejected [][]Rejection // per rejected row, its reasons
	sealed   []registry.Sealed
	filings  []registry.AuditEntry
	lines    []int
}

// Run imports everything src yields. It returns the summary so far and
// an error if reading or a batch failed (the store then holds exactly the
// batches committed before the failure).
//
// Reading, validating and sealing run in one goroutine while the previous
// batch is written in another, so the database and the CPU work overlap.
// Memory is bounded by two batches plus a duplicate detector of about
// 20 bytes per row (a keyed 64-bit hash of each certificate number and
// its line).
func Run(ctx context.Context, src Source, store registry.Store, keys *registry.Keyring, opt Options) (Summary, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 5000
	}
	if opt.Today.IsZero() {
		opt.Today = registry.DateOf(time.Now())
	}
	if opt.Change.At.IsZero() {
		opt.Change.At = time.Now()
	}
	// As stores keep it, so that filing entries digest what is stored.
	opt.Change = opt.Change.Stored()
	if opt.Log.AuditLog == nil || opt.Log.Key == nil {
		return Summary{}, errors.New("ingest: Options.Log needs the trail and the log's leaf key")
	}
	if opt.Reject == nil {
		opt.Reject = func(Rejection) {}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	work := make(chan pending, 1)
	readErr := make(chan error, 1)
	go func() {
		defer close(work)
		readErr <- prepare(ctx, src, keys, opt, work)
	}()

	var (
		sum  Summary
		werr error
	)
	for p := range work {
		if werr != nil {
			continue // drain so the preparer can stop
		}
		for _, reasons := range p.rejected {
			sum.Rows++
			sum.Rejected++
			for _, r := range reasons {
				opt.Reject(r)
			}
		}
		if len(p.sealed) == 0 {
			continue
		}
		if err := write(ctx, store, p, opt, &sum); err != nil {
			werr = err
			cancel()
		}
	}
	if werr != nil {
		return sum, werr
	}
	if err := <-readErr; err != nil {
		return sum, err
	}
	return sum, nil
}

// Checker judges rows as import does: the reader's problems, then
// Normalize and Validate, and no certificate number twice in one file.
// The filing workflow's uploads use it too, so a row refused by one is
// refused by the other for the same reasons.
type Checker struct {
	today registry.Date
	seed  maphash.Seed
	seen  map[uint64]int32 // keyed hash of a certificate number → its line
}

// NewChecker checks the rows of one file; today is "now" for the date
// rules.
func NewChecker(today registry.Date) *Checker {
	return &Checker{today: today, seed: maphash.MakeSeed(), seen: make(map[uint64]int32)}
}

// Check returns row's record, normalised, or why it is rejected.
func (c *Checker) Check(row recordfile.Row) (registry.Record, []Rejection) {
	if len(row.Problems) > 0 {
		return registry.Record{}, Rejections(row.Line, row.Problems)
	}
	rec := row.Record
	registry.Normalize(&rec)
	if v := registry.Validate(&rec, c.today); len(v.Violations) > 0 {
		return registry.Record{}, Rejections(row.Line, v.Violations)
	}
	h := maphash.String(c.seed, rec.CertificateNumber)
	if first, dup := c.seen[h]; dup {
		return registry.Record{}, []Rejection{{Line: row.Line, Field: "certificate_number", Code: CodeDuplicate,
			Message: fmt.Sprintf("certificate number already appears at line %d of this file", first)}}
	}
	c.seen[h] = int32(row.Line)
	return rec, nil
}

// Rejections are a line's violations as rejections.
func Rejections(line int, vs []registry.Violation) []Rejection {
	out := make([]Rejection, len(vs))
	for i, v := range vs {
		out[i] = Rejection{Line: line, Field: v.Field, Code: v.Code, Message: v.Message}
	}
	return out
}

func prepare(ctx context.Context, src Source, keys *registry.Keyring, opt Options, out chan<- pending) error {
	check := NewChecker(opt.Today)
	var sealErr error
	var p pending
	var recs []registry.Record // p's records, to seal
	send := func() bool {
		if len(recs) == 0 && len(p.rejected) == 0 {
			return true
		}
		if err := sealBatch(keys, opt, recs, &p); err != nil {
			sealErr = err
			return false
		}
		recs = recs[:0]
		select {
		case out <- p:
			p = pending{}
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		row, err := src.Next()
		if errors.Is(err, io.EOF) {
			send()
			return sealErr
		}
		if err != nil {
			send()
			return cmp.Or(sealErr, fmt.Errorf("read: %w", err))
		}
		rec, rejected := check.Check(row)
		if rejected != nil {
			p.rejected = append(p.rejected, rejected)
			if len(p.rejected) >= opt.BatchSize && !send() {
				return cmp.Or(sealErr, ctx.Err())
			}
			continue
		}
		recs = append(recs, rec)
		p.lines = append(p.lines, row.Line)
		if len(recs) >= opt.BatchSize && !send() {
			return cmp.Or(sealErr, ctx.Err())
		}
	}
}

// sealBatch seals recs into p with their filing entries, on as many
// goroutines as there are processors: sealing and filing entries are
// most of import's work in Go, which one goroutine made its bottleneck
// (bench-registry.sh: 33k records/s on one, … on two).
func sealBatch(keys *registry.Keyring, opt Options, recs []registry.Record, p *pending) error {
	n := len(recs)
	p.sealed, p.filings = make([]registry.Sealed, n), make([]registry.AuditEntry, n)
	workers := min(runtime.GOMAXPROCS(0), max(1, n/64))
	var g errgroup.Group
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		g.Go(func() error {
			for i := lo; i < hi; i++ {
				s, err := keys.Seal(recs[i])
				if err != nil {
					return fmt.Errorf("line %d: %w", p.lines[i], err)
				}
				p.sealed[i] = s
				p.filings[i] = opt.Log.Key.FilingEntry(registry.ActionFile, &registry.Version{Sealed: s, Version: 1, Change: opt.Change})
			}
			return nil
		})
	}
	return g.Wait()
}

func write(ctx context.Context, store registry.Store, b pending, opt Options, sum *Summary) error {
	first, last := b.lines[0], b.lines[len(b.lines)-1]
	outcomes, err := store.Insert(ctx, b.sealed, opt.Change, b.filings)
	if err != nil {
		return fmt.Errorf("lines %d–%d: %w: %w", first, last, ErrBatch, err)
	}
	var ins, unch int
	for i, o := range outcomes {
		sum.Rows++
		switch o {
		case registry.Inserted:
			ins++
		case registry.Unchanged:
			unch++
		case registry.Conflict:
			sum.Rejected++
			opt.Reject(Rejection{Line: b.lines[i], Field: "certificate_number", Code: CodeConflict,
				Message: "a different record with this certificate number is already filed; changes go through versions, not import"})
		}
	}
	sum.Inserted += ins
	sum.Unchanged += unch
	sum.Batches++
	e := registry.AuditEntry{At: time.Now(), Actor: opt.Change.Actor, Action: "record.import", Purpose: opt.Change.Reason,
		Detail: fmt.Sprintf(`{"source":%q,"first_line":%d,"last_line":%d,"inserted":%d,"unchanged":%d}`, opt.Source, first, last, ins, unch)}
	if err := opt.Log.AppendAudit(ctx, []registry.AuditEntry{e}); err != nil {
		return fmt.Errorf("lines %d–%d filed but their summary not audited: %w", first, last, err)
	}
	if opt.Progress != nil {
		opt.Progress(*sum)
	}
	return nil
}
