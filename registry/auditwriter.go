package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of AuditWriter.Record. A caller that cannot audit must not serve
// personal data: the gateway answers 503 on any error of Record.
var (
	ErrAuditBacklog = errors.New("audit trail backlog full")
	ErrAuditClosed  = errors.New("audit writer closed")
)

// AuditWriterOptions tune an AuditWriter; zero values take the defaults.
type AuditWriterOptions struct {
	Buffer   int // entries waiting for their commit before Record refuses (default 65536)
	MaxBatch int // entries per transaction, whole requests only (default 2048)
	// CommitTimeout bounds one AppendAudit (default 2 s): a hung store
	// fails its waiters then, rather than at their own deadlines.
	CommitTimeout time.Duration
	// HealthHold is how long Healthy stays false after a failed commit
	// (default 5 s).
	HealthHold time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// AuditWriter is group commit for the audit trail: Record returns only
// once its entries are committed, and requests that arrive together
// share one AppendAudit (one transaction, one lock of the chain head).
//
// One goroutine commits. A request arriving while nothing is being
// committed wakes it and is stored at once, with no fixed wait; requests
// arriving during a commit gather into the next group, which is stored
// as soon as that commit ends. Under load each transaction therefore
// carries what arrived during the one before it, and throughput grows
// with the batch rather than with the number of commits.
//
// A failed commit fails every request of its group — they show nothing
// — and is not retried: there is nobody left to answer. Entries of a
// commit whose outcome is unknown (a lost COMMIT acknowledgement) may
// be stored with their answer refused; the trail then records an access
// that showed nothing, never the reverse.
type AuditWriter struct {
	log     AuditLog
	opt     AuditWriterOptions
	wake    chan struct{} // a group is waiting (capacity 1)
	closing chan struct{} // closed by Close: commit what is queued, then stop
	// stopped ends when Close gives up: the commit under way is
	// cancelled and what is queued fails.
	stopped context.Context
	giveUp  context.CancelFunc
	done    chan struct{}
	depth   atomic.Int64 // recorded, not yet committed or failed
	// abandoned counts entries refused because Close gave up.
	abandoned                                 atomic.Int64
	commits, committed, failures, commitNanos atomic.Int64 // for Stats
	// lastFail is the UnixNano of the newest failed commit, 0 once a
	// commit succeeds.
	lastFail atomic.Int64

	mu     sync.Mutex
	groups []*auditGroup // waiting to be committed, oldest first
	shut   bool
}

// auditGroup is the requests stored by one AppendAudit. Its waiters read
// err after done is closed.
type auditGroup struct {
	entries []AuditEntry
	done    chan struct{}
	err     error
}

// NewAuditWriter starts the writer's committing goroutine; Close stops it.
func NewAuditWriter(log AuditLog, opt AuditWriterOptions) *AuditWriter {
	if opt.Buffer <= 0 {
		opt.Buffer = 65536
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 2048
	}
	if opt.CommitTimeout <= 0 {
		opt.CommitTimeout = 2 * time.Second
	}
	if opt.HealthHold <= 0 {
		opt.HealthHold = 5 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	w := &AuditWriter{log: log, opt: opt, wake: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{})}
	w.stopped, w.giveUp = context.WithCancel(context.Background())
	go w.run()
	return w
}

// Record stores e (its At set now if zero) and returns nil only once the
// trail has committed it.
func (w *AuditWriter) Record(ctx context.Context, e AuditEntry) error {
	return w.RecordBatch(ctx, []AuditEntry{e})
}

// RecordBatch stores entries in one transaction, all or none, and
// returns nil only once they are committed. It refuses at once while
// Buffer entries wait (ErrAuditBacklog), after Close (ErrAuditClosed)
// and for text no store can keep (ErrAuditUnstorable); it fails with
// the store's error when the commit fails, and with ctx's when ctx ends
// first — the entries may then still be stored, their answer is not
// given. Entries with a zero At get the same time, now.
func (w *AuditWriter) RecordBatch(ctx context.Context, entries []AuditEntry) error {
	_, err := w.record(ctx, entries)
	return err
}

// RecordLogged is Record, and says which leaf of the log e became.
func (w *AuditWriter) RecordLogged(ctx context.Context, e AuditEntry) (LogRef, error) {
	stored, err := w.record(ctx, []AuditEntry{e})
	if err != nil {
		return LogRef{}, err
	}
	return stored.LogRef()
}

// record enqueues entries and waits for their commit; it returns the
// first of them as stored.
func (w *AuditWriter) record(ctx context.Context, entries []AuditEntry) (*AuditEntry, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	g, first, err := w.enqueue(entries)
	if err != nil {
		return nil, err
	}
	select {
	case <-g.done:
		if g.err != nil {
			return nil, g.err
		}
		// The committer is done with the group: its entries are as
		// stored, linked and committed to the log.
		return &g.entries[first], nil
	case <-ctx.Done():
		return nil, fmt.Errorf("audit commit not confirmed: %w", ctx.Err())
	}
}

// enqueue adds entries to the newest group that has room and wakes the
// committer; it returns the group to wait for and where in it the
// entries start.
func (w *AuditWriter) enqueue(entries []AuditEntry) (*auditGroup, int, error) {
	stamp := false
	for i := range entries {
		if !entries[i].Storable() {
			return nil, 0, ErrAuditUnstorable
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
		return nil, 0, ErrAuditClosed
	}
	if w.depth.Load()+int64(len(entries)) > int64(w.opt.Buffer) {
		w.mu.Unlock()
		return nil, 0, ErrAuditBacklog
	}
	var g *auditGroup
	if n := len(w.groups); n > 0 && len(w.groups[n-1].entries)+len(entries) <= w.opt.MaxBatch {
		g = w.groups[n-1]
	} else {
		// A request larger than MaxBatch gets a group of its own: its
		// entries are never split across transactions.
		g = &auditGroup{done: make(chan struct{})}
		w.groups = append(w.groups, g)
	}
	first := len(g.entries)
	g.entries = append(g.entries, entries...)
	if stamp {
		for i := first; i < len(g.entries); i++ {
			if g.entries[i].At.IsZero() {
				g.entries[i].At = now
			}
		}
	}
	w.depth.Add(int64(len(entries)))
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // already woken
	}
	return g, first, nil
}

// Depth is the number of entries recorded and not yet committed.
func (w *AuditWriter) Depth() int64 { return w.depth.Load() }

// Healthy reports whether no commit has failed in the last HealthHold
// without a successful one since. It recovers by itself, so a readiness
// check built on it does not keep away the traffic that would show the
// trail is back.
func (w *AuditWriter) Healthy() bool {
	failed := w.lastFail.Load()
	return failed == 0 || time.Since(time.Unix(0, failed)) > w.opt.HealthHold
}

// Close stops accepting entries and commits what is queued, until ctx
// ends; then it fails the rest and returns an error if any entry was
// left uncommitted. Every waiter has its answer when Close returns.
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
		w.giveUp()
		<-w.done
	}
	w.giveUp()
	if n := w.abandoned.Load(); n > 0 {
		return fmt.Errorf("audit writer closed with %d entries uncommitted", n)
	}
	return nil
}

// run commits the queued groups, oldest first, whenever woken, and
// after Close the last of them.
func (w *AuditWriter) run() {
	defer close(w.done)
	for {
		closing := false
		select {
		case <-w.wake:
		case <-w.closing:
			closing = true
		}
		for g := w.next(); g != nil; g = w.next() {
			if w.stopped.Err() != nil {
				w.finish(g, ErrAuditClosed)
				continue
			}
			w.finish(g, w.commit(g.entries))
		}
		if closing {
			return
		}
	}
}

// next takes the oldest queued group off the queue, so that requests
// arriving from now on start the next one.
func (w *AuditWriter) next() *auditGroup {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.groups) == 0 {
		return nil
	}
	g := w.groups[0]
	w.groups[0] = nil
	w.groups = w.groups[1:]
	return g
}

// AuditStats are an AuditWriter's counts since it started, for metrics:
// the mean group is Entries/Commits, the mean commit CommitTime/Commits.
type AuditStats struct {
	Commits    int64         // successful commits
	Entries    int64         // entries they stored
	Failures   int64         // failed commits (their requests were refused)
	CommitTime time.Duration // spent in AppendAudit, failures included
}

// Stats reports the writer's counts so far.
func (w *AuditWriter) Stats() AuditStats {
	return AuditStats{Commits: w.commits.Load(), Entries: w.committed.Load(), Failures: w.failures.Load(),
		CommitTime: time.Duration(w.commitNanos.Load())}
}

// commit stores one group in one AppendAudit.
func (w *AuditWriter) commit(entries []AuditEntry) error {
	ctx, cancel := context.WithTimeout(w.stopped, w.opt.CommitTimeout)
	defer cancel()
	start := time.Now()
	err := w.log.AppendAudit(ctx, entries)
	w.commitNanos.Add(int64(time.Since(start)))
	if err != nil {
		w.failures.Add(1)
		w.lastFail.Store(time.Now().UnixNano())
		w.opt.Logger.Error("audit commit failed; its requests are refused", "entries", len(entries), "err", err)
		return fmt.Errorf("audit commit: %w", err)
	}
	w.commits.Add(1)
	w.committed.Add(int64(len(entries)))
	w.lastFail.Store(0)
	return nil
}

// finish answers g's waiters.
func (w *AuditWriter) finish(g *auditGroup, err error) {
	n := len(g.entries)
	if err != nil && w.stopped.Err() != nil {
		w.abandoned.Add(int64(n))
	}
	w.depth.Add(-int64(n))
	g.err = err
	close(g.done)
}

// DirectAudit appends each request's entries to Log on the caller's
// goroutine and returns when Log has them. It suits a trail whose append
// is a lock and a copy in memory (dev), where group commit would only add
// a hand-off to another goroutine, and one-off commands, which have no
// concurrent requests to group.
type DirectAudit struct {
	Log AuditLog
	Now func() time.Time // nil: time.Now
}

// Record appends e, its At set now if zero.
func (a DirectAudit) Record(ctx context.Context, e AuditEntry) error {
	return a.RecordBatch(ctx, []AuditEntry{e})
}

// RecordBatch appends entries in one AppendAudit (which refuses text no
// store can keep), stamping a zero At with now.
func (a DirectAudit) RecordBatch(ctx context.Context, entries []AuditEntry) error {
	now := a.Now
	if now == nil {
		now = time.Now
	}
	var at time.Time
	for i := range entries {
		if entries[i].At.IsZero() {
			if at.IsZero() {
				at = now()
			}
			entries[i].At = at
		}
	}
	return a.Log.AppendAudit(ctx, entries)
}

// RecordLogged is Record, and says which leaf of the log e became.
func (a DirectAudit) RecordLogged(ctx context.Context, e AuditEntry) (LogRef, error) {
	entries := []AuditEntry{e}
	if err := a.RecordBatch(ctx, entries); err != nil {
		return LogRef{}, err
	}
	return entries[0].LogRef()
}

// Depth is always 0: nothing waits.
func (DirectAudit) Depth() int64 { return 0 }

// Healthy is always true: a failure is the caller's answer at once.
func (DirectAudit) Healthy() bool { return true }
