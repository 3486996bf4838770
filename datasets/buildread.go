package datasets

import (
	"context"
	"errors"
	"sync"

	"github.com/degreegate/degreegate/anonymizer"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordfile"
)

// selectionReader feeds the engine from a store scan in two stages, so
// that the store's decoding and the engine's encoding overlap: the scan's
// goroutine only picks the requested fields out of each record into a
// batch; a second goroutine computes pseudonyms, dictionary-encodes the
// kept columns and adds the rows to the engine, in scan order.
type selectionReader struct {
	cols      []*column
	cfg       anonymizer.Config
	sensitive string
	pseudo    *anonymizer.Pseudonyms
	eng       *anonymizer.Engine

	persons  [][anonymizer.PseudonymSize]byte // per row
	blanked  int64                            // records whose thesis fields were blanked
	hasNever bool                             // a requested field is thesis information
}

// readBatch is up to batchRows rows: the field values, row-major in the
// order of cols, and each row's person index.
type readBatch struct {
	vals   []string
	people [][]byte
}

const batchRows = 2048

func (r *selectionReader) read(ctx context.Context, scan func(context.Context, registry.Filter, func(registry.Version) error) error, f registry.Filter) error {
	for _, c := range r.cols {
		r.hasNever = r.hasNever || c.never
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pool := sync.Pool{New: func() any {
		return &readBatch{vals: make([]string, 0, batchRows*len(r.cols)), people: make([][]byte, 0, batchRows)}
	}}
	batches := make(chan *readBatch, 4)
	consumed := make(chan error, 1)
	go func() {
		var err error
		for b := range batches {
			if err == nil {
				if err = r.consume(b); err != nil {
					cancel(err)
				}
			}
			b.vals, b.people = b.vals[:0], b.people[:0]
			pool.Put(b)
		}
		consumed <- err
	}()

	cur := pool.Get().(*readBatch)
	send := func() error {
		select {
		case batches <- cur:
			cur = pool.Get().(*readBatch)
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	err := scan(ctx, f, func(v registry.Version) error {
		rec := &v.Record
		if rec.ThesisClassified && r.hasNever {
			r.blanked++
		}
		for _, c := range r.cols {
			val, _ := recordfile.Value(rec, c.name)
			if rec.ThesisClassified && c.never {
				val = ""
			}
			cur.vals = append(cur.vals, val)
		}
		cur.people = append(cur.people, v.PersonIndex)
		if len(cur.people) == batchRows {
			return send()
		}
		return nil
	})
	if err == nil && len(cur.people) > 0 {
		err = send()
	}
	close(batches)
	cerr := <-consumed
	// The consumer's error is the cause when it stopped the scan.
	if cerr != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, cerr)) {
		return cerr
	}
	return err
}

// consume adds one batch to the engine.
func (r *selectionReader) consume(b *readBatch) error {
	n := len(r.cols)
	qi := make([]string, len(r.cfg.QIs))
	for i, person := range b.people {
		row := b.vals[i*n : (i+1)*n]
		sensitive := ""
		for k, c := range r.cols {
			val := row[k]
			if c.name == r.sensitive {
				sensitive = val
			}
			if c.qi >= 0 {
				qi[c.qi] = val
				continue
			}
			code, ok := c.dict[val]
			if !ok {
				code = uint32(len(c.vals))
				c.dict[val] = code
				c.vals = append(c.vals, val)
			}
			c.codes = append(c.codes, code)
		}
		p := r.pseudo.Of(person)
		r.persons = append(r.persons, p)
		if err := r.eng.Add(qi, sensitive, string(p[:])); err != nil {
			return err
		}
	}
	return nil
}
