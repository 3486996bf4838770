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
	Buffer     int           // entries waiting before Record refuses (default 65536)
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
type AuditWriter struct {
	log   AuditLog
	opt   AuditWriterOptions
	in    chan AuditEntry
	done  chan struct{}
	stop  chan struct{}
	depth atomic.Int64
	fails atomic.Int64
	mu    sync.RWMutex // guards closed against Record racing Close
	shut  bool
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
	w := &AuditWriter{log: log, opt: opt, in: make(chan AuditEntry, opt.Buffer), done: make(chan struct{}), stop: make(chan struct{})}
	go w.run()
	return w
}

// Record queues e (its At set now if zero) without waiting for storage.
func (w *AuditWriter) Record(e AuditEntry) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.shut {
		return ErrAuditClosed
	}
	if !e.Storable() {
		return ErrAuditUnstorable
	}
	if e.At.IsZero() {
		e.At = w.opt.Now()
	}
	select {
	case w.in <- e:
		w.depth.Add(1)
		return nil
	default:
		return ErrAuditBacklog
	}
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
		close(w.in)
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

func (w *AuditWriter) run() {
	defer close(w.done)
	batch := make([]AuditEntry, 0, w.opt.MaxBatch)
	tick := time.NewTicker(w.opt.FlushEvery)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-w.in:
			if !ok {
				w.flush(batch)
				return
			}
			batch = append(batch, e)
			// Drain whatever else is waiting, up to a batch.
			for len(batch) < w.opt.MaxBatch {
				select {
				case e, ok = <-w.in:
					if !ok {
						w.flush(batch)
						return
					}
					batch = append(batch, e)
					continue
				default:
				}
				break
			}
			if len(batch) >= w.opt.MaxBatch {
				if !w.flush(batch) {
					return
				}
				batch = batch[:0]
			}
		case <-tick.C:
			if len(batch) > 0 {
				if !w.flush(batch) {
					return
				}
				batch = batch[:0]
			}
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
