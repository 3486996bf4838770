package recordcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// batcher turns concurrent lookups of different numbers into few store
// queries. Up to maxActive loaders run at once, each taking up to
// maxBatch waiting lookups per query until none wait; a lookup that finds
// fewer than maxActive loaders becomes one, in its own goroutine (see
// lead). So a lone lookup is sent at once, alone, and under load each
// query carries what queued while the previous ones ran: the batch size
// follows the load, with no timer.
type batcher struct {
	src       Source
	maxBatch  int
	maxActive int
	timeout   time.Duration

	mu      sync.Mutex
	pending []*call
	active  int

	queries atomic.Int64
	keys    atomic.Int64
}

// call is one lookup waiting for its answer. Its entry is what the cache
// keeps and every caller reads, so one allocation serves them all.
type call struct {
	cert string
	done chan struct{}
	entry
}

func newBatcher(src Source, maxBatch, maxActive int, timeout time.Duration) *batcher {
	return &batcher{src: src, maxBatch: maxBatch, maxActive: maxActive, timeout: timeout}
}

// get looks one number up through the next query and returns the answer,
// which the caller must not modify once it has shared it. It has no
// context of its own: the query it joins serves other callers too and is
// bounded by the batcher's timeout instead (the caller stops waiting on
// its own ctx).
func (b *batcher) get(cert string) *entry {
	c := &call{cert: cert, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	lead := b.active < b.maxActive
	if lead {
		b.active++
	}
	b.mu.Unlock()
	if lead {
		b.lead(c)
	}
	<-c.done
	return &c.entry
}

// lead sends queries from the caller's own goroutine until c is answered,
// then hands its loader slot to a goroutine if lookups still wait. A
// loader goroutine per miss cost a goroutine start and two wake-ups (the
// loader's, then the caller's) on every lookup of a moderately loaded
// gateway; the caller's own wait for the store's reply is the only one
// left.
func (b *batcher) lead(c *call) {
	for {
		batch, ok := b.next()
		if !ok {
			return
		}
		b.query(batch)
		select {
		case <-c.done:
		default:
			continue // more waited than one query takes: c is in a later one
		}
		b.mu.Lock()
		more := len(b.pending) > 0
		if !more {
			b.active--
		}
		b.mu.Unlock()
		if more {
			go b.run()
		}
		return
	}
}

// run sends queries until nothing waits.
func (b *batcher) run() {
	for {
		batch, ok := b.next()
		if !ok {
			return
		}
		b.query(batch)
	}
}

// next takes up to maxBatch waiting calls, or gives up the loader's slot
// when none wait.
func (b *batcher) next() ([]*call, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.pending), b.maxBatch)
	if n == 0 {
		b.active--
		return nil, false
	}
	batch := make([]*call, n)
	copy(batch, b.pending)
	// Shift rather than reslice, so the backing array does not keep
	// answered calls reachable.
	rest := copy(b.pending, b.pending[n:])
	clear(b.pending[rest:])
	b.pending = b.pending[:rest]
	return batch, true
}

// query answers every call of batch with one store round trip.
func (b *batcher) query(batch []*call) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	b.queries.Add(1)
	b.keys.Add(int64(len(batch)))
	answered := false
	defer func() {
		// A store that panics must not leave callers waiting forever,
		// nor take the process down from a goroutine nobody can recover.
		if r := recover(); r != nil && !answered {
			for _, c := range batch {
				c.v, c.err = registry.Version{}, errStorePanicked
				close(c.done)
			}
		}
	}()
	if len(batch) == 1 {
		// One number: the store's point lookup, cheaper than ANY($1).
		c := batch[0]
		v, err := b.src.Current(ctx, c.cert)
		answered = true
		c.v, c.err = v, err
		close(c.done)
		return
	}
	certs := make([]string, len(batch))
	for i, c := range batch {
		certs[i] = c.cert
	}
	vs, err := b.src.CurrentMany(ctx, certs)
	answered = true
	found := make(map[string]int, len(vs))
	if err == nil {
		for i := range vs {
			found[vs[i].CertificateNumber] = i
		}
	} else {
		err = fmt.Errorf("recordcache: lookup of %d numbers: %w", len(batch), err)
	}
	for _, c := range batch {
		switch i, ok := found[c.cert]; {
		case err != nil:
			c.err = err
		case ok:
			c.v = vs[i]
		default:
			c.err = registry.ErrNotFound
		}
		close(c.done)
	}
}

var errStorePanicked = errors.New("recordcache: the store panicked during a lookup")

func (b *batcher) stats() (queries, keys int64) { return b.queries.Load(), b.keys.Load() }
