package registry

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of AuditWriter.Record. A caller that cannot audit must not serve
// personal data: the gateway answers 503 on either.
var (
	ErrAuditBacklog = errors.New("audit trail backlog full")
	ErrAuditClosed  = errors.New("audit writer closed")
)

// AuditWriterOptions tune an AuditWriter; zero values take the defaults.
type AuditWriterOptions struct {
	Buffer     int           // entries recorded, not yet stored, before Record refuses (default 65536)
	MaxBatch   int           // entries per AppendAudit (default 2048)
	FlushEvery time.Duration // longest an entry waits (default 50 ms)
	Now        func() time.Time
	Logger     *slog.Logger
}

// AuditWriter batches audit entries from many goroutines into few
// AppendAudit calls, so that every personal-data access can be logged at
// thousands per second for one lock and one round trip per batch. Entries
// are never dropped: a failed batch is retried (with backoff) until it is
// written or Close gives up; while the backlog is full, Record refuses.
//
// Record appends under a mutex and wakes the flushing goroutine only when
// a batch is full: below that the writer sleeps until its tick. A channel
// send per entry woke the writer for every request, and at moderate load
// that wake-up (often another CPU's) cost more than the entry itself.
type AuditWriter struct {
	log     AuditLog
	opt     AuditWriterOptions
	full    chan struct{} // a batch is waiting (capacity 1)
	closing chan struct{} // closed by Close
	done    chan struct{}
	stop    chan struct{}
	depth   atomic.Int64 // recorded, not yet stored
	fails   atomic.Int64

	mu      sync.Mutex
	pending []AuditEntry // recorded, not yet taken by the writer
	shut    bool
}

// NewAuditWriter starts the writer's flushing goroutine; Close stops it.
func NewAuditWriter(log AuditLog, opt AuditWriterOptions) *AuditWriter {
	if opt.Buffer <= 0 {
		opt.Buffer = 65536
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 2048
	}
	if opt.FlushEvery <= 0 {
		opt.FlushEvery = 50 * time.Millisecond
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	w := &AuditWriter{log: log, opt: opt, full: make(chan struct{}, 1), closing: make(chan struct{}),
		done: make(chan struct{}), stop: make(chan struct{})}
	go w.run()
	return w
}

// Record queues e (its At set now if zero) without waiting for storage.
// It refuses while Buffer entries are recorded and not yet stored.
func (w *AuditWriter) Record(e AuditEntry) error {
	return w.RecordBatch([]AuditEntry{e})
}

// RecordBatch queues entries together or not at all: a batch that does
// not fit in what is left of Buffer is refused whole, so a request that
// is refused leaves no part of its trail behind. Entries with a zero At
// get the same time, now.
func (w *AuditWriter) RecordBatch(entries []AuditEntry) error {
	stamp := false
	for i := range entries {
		if !entries[i].Storable() {
			return ErrAuditUnstorable
		}
		stamp = stamp || entries[i].At.IsZero()
	}
	var now time.Time
	if stamp {
		now = w.opt.Now()
	}
	w.mu.Lock()
	if w.shut {
		w.mu.Unlock()
		return ErrAuditClosed
	}
	if w.depth.Load()+int64(len(entries)) > int64(w.opt.Buffer) {
		w.mu.Unlock()
		return ErrAuditBacklog
	}
	first := len(w.pending)
	w.pending = append(w.pending, entries...)
	if stamp {
		for i := first; i < len(w.pending); i++ {
			if w.pending[i].At.IsZero() {
				w.pending[i].At = now
			}
		}
	}
	w.depth.Add(int64(len(entries)))
	batchFull := first < w.opt.MaxBatch && len(w.pending) >= w.opt.MaxBatch
	w.mu.Unlock()
	if batchFull {
		select {
		case w.full <- struct{}{}:
		default: // already signalled
		}
	}
	return nil
}

// Depth is the number of entries not yet stored.
func (w *AuditWriter) Depth() int64 { return w.depth.Load() }

// Healthy reports whether the last attempt to store a batch succeeded.
func (w *AuditWriter) Healthy() bool { return w.fails.Load() == 0 }

// Close stops accepting entries and flushes what is queued, retrying
// until ctx ends; it returns an error if entries remain unstored.
func (w *AuditWriter) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.shut {
		w.shut = true
		close(w.closing)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
	case <-ctx.Done():
		close(w.stop)
		<-w.done
	}
	if n := w.depth.Load(); n > 0 {
		return errors.New("audit writer closed with entries unstored")
	}
	return nil
}

// run stores what is recorded: on its tick, when a batch is full, and
// once more on Close, after which nothing more can be recorded.
func (w *AuditWriter) run() {
	defer close(w.done)
	tick := time.NewTicker(w.opt.FlushEvery)
	defer tick.Stop()
	var spare []AuditEntry
	for {
		closing := false
		select {
		case <-tick.C:
		case <-w.full:
		case <-w.closing:
			closing = true
		}
		// Take everything recorded so far, handing the writer's emptied
		// slice back for the next entries, and store it a batch at a time.
		w.mu.Lock()
		taken := w.pending
		w.pending = spare[:0]
		w.mu.Unlock()
		for rest := taken; len(rest) > 0; {
			n := min(len(rest), w.opt.MaxBatch)
			if !w.flush(rest[:n]) {
				return
			}
			rest = rest[n:]
		}
		clear(taken) // the stored entries' strings may go
		spare = taken
		if closing {
			return
		}
	}
}

// flush stores batch, retrying with backoff; false when told to stop.
func (w *AuditWriter) flush(batch []AuditEntry) bool {
	if len(batch) == 0 {
		return true
	}
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.log.AppendAudit(ctx, batch)
		cancel()
		if err == nil {
			w.fails.Store(0)
			w.depth.Add(-int64(len(batch)))
			return true
		}
		w.fails.Add(1)
		w.opt.Logger.Error("audit append failed; retrying", "entries", len(batch), "err", err)
		select {
		case <-w.stop:
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
