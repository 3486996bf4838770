package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// gatedAudit holds every AppendAudit at its gate until the test lets it
// through (or the call's context ends), and says when each call starts.
type gatedAudit struct {
	*sliceAudit
	gate    chan struct{}
	started chan int // the batch size of each call, as it starts
}

func newGatedAudit() *gatedAudit {
	return &gatedAudit{sliceAudit: newSliceAudit(), gate: make(chan struct{}), started: make(chan int, 100)}
}

func (g *gatedAudit) AppendAudit(ctx context.Context, es []AuditEntry) error {
	g.started <- len(es)
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.sliceAudit.AppendAudit(ctx, es)
}

func (g *gatedAudit) let(n int) {
	for range n {
		g.gate <- struct{}{}
	}
}

func entries(prefix string, n int) []AuditEntry {
	es := make([]AuditEntry, n)
	for i := range es {
		es[i] = AuditEntry{Actor: fmt.Sprintf("%s%d", prefix, i), Action: "verify.public"}
	}
	return es
}

func closeWriter(t *testing.T, w *AuditWriter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

// TestAuditWriterReturnsOnlyOnceStored is the promise the gateway rests
// on: Record does not return while the commit is pending, and when it
// returns nil the entry is on the trail.
func TestAuditWriterReturnsOnlyOnceStored(t *testing.T) {
	a := newGatedAudit()
	w := NewAuditWriter(a, AuditWriterOptions{})
	defer closeWriter(t, w)
	returned := make(chan error, 1)
	go func() { returned <- w.Record(context.Background(), AuditEntry{Actor: "a", Action: "verify.public"}) }()
	<-a.started
	select {
	case err := <-returned:
		t.Fatalf("Record returned (%v) while its commit was held", err)
	case <-time.After(50 * time.Millisecond):
	}
	a.let(1)
	if err := <-returned; err != nil {
		t.Fatal(err)
	}
	if n, err := VerifyChain(context.Background(), a); err != nil || n != 1 {
		t.Fatalf("after Record returned: %d entries (err %v), want 1", n, err)
	}
}

// TestAuditWriterLoneRequestsDoNotWait: with nothing else arriving, each
// entry is committed at once, not after a tick (a 50 ms wait would take
// 5 s here).
func TestAuditWriterLoneRequestsDoNotWait(t *testing.T) {
	a := newSliceAudit()
	w := NewAuditWriter(a, AuditWriterOptions{})
	defer closeWriter(t, w)
	start := time.Now()
	for i := range 100 {
		if err := w.Record(context.Background(), AuditEntry{Actor: fmt.Sprint(i), Action: "verify.public"}); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("100 lone entries took %v: commits wait for something", took)
	}
	if c := a.calls.Load(); c != 100 {
		t.Errorf("%d commits for 100 sequential entries, want one each", c)
	}
}

// TestAuditWriterGroupsWhatArrivesDuringACommit: requests arriving while
// a commit is under way share the next transaction, each whole, and no
// group exceeds MaxBatch unless one request alone does.
func TestAuditWriterGroupsWhatArrivesDuringACommit(t *testing.T) {
	a := newGatedAudit()
	w := NewAuditWriter(a, AuditWriterOptions{MaxBatch: 10})
	defer closeWriter(t, w)
	var wg sync.WaitGroup
	record := func(es []AuditEntry) {
		wg.Go(func() {
			if err := w.RecordBatch(context.Background(), es); err != nil {
				t.Error(err)
			}
		})
	}
	record(entries("lone", 1))
	if n := <-a.started; n != 1 {
		t.Fatalf("first commit of %d entries, want the lone one", n)
	}
	// While it is held: 3-entry requests (three fit a group of 10, a
	// fourth starts the next group), then one request larger than MaxBatch.
	for i := range 6 {
		record(entries(fmt.Sprintf("r%d-", i), 3))
	}
	waitFor(t, "six requests queued", func() bool { return w.Depth() == 1+18 })
	record(entries("big", 25))
	waitFor(t, "the big request queued", func() bool { return w.Depth() == 1+18+25 })
	a.let(1)
	var sizes []int
	for range 3 {
		sizes = append(sizes, <-a.started)
		a.let(1)
	}
	wg.Wait()
	if fmt.Sprint(sizes) != "[9 9 25]" {
		t.Errorf("commits after the held one: %v, want [9 9 25]", sizes)
	}
	if n, err := VerifyChain(context.Background(), a); err != nil || n != 44 {
		t.Fatalf("%d entries stored (err %v), want 44", n, err)
	}
}

// TestAuditWriterFailedCommitShowsNothing: every request of a failed
// commit gets the store's error (so its answer is refused), none of its
// entries is stored, the writer reports unhealthy for a while and then
// recovers by itself, and the next commit stands alone.
func TestAuditWriterFailedCommitShowsNothing(t *testing.T) {
	a := newSliceAudit()
	a.fail.Store(1)
	w := NewAuditWriter(a, AuditWriterOptions{HealthHold: 100 * time.Millisecond})
	defer closeWriter(t, w)
	err := w.Record(context.Background(), AuditEntry{Actor: "failed", Action: "verify.public"})
	if err == nil || errors.Is(err, ErrAuditBacklog) {
		t.Fatalf("commit failed, Record answered %v", err)
	}
	if w.Healthy() {
		t.Error("healthy right after a failed commit")
	}
	waitFor(t, "health to recover after HealthHold", w.Healthy)
	if err := w.Record(context.Background(), AuditEntry{Actor: "next", Action: "verify.public"}); err != nil {
		t.Fatal(err)
	}
	var actors []string
	a.ScanAudit(context.Background(), 1, func(e AuditEntry) error { actors = append(actors, e.Actor); return nil })
	if fmt.Sprint(actors) != "[next]" || w.Depth() != 0 {
		t.Errorf("trail %v, depth %d; want only the entry whose commit succeeded", actors, w.Depth())
	}
}

// TestAuditWriterCommitTimeout: a store that hangs fails its requests
// after CommitTimeout, not at their own (longer) deadlines.
func TestAuditWriterCommitTimeout(t *testing.T) {
	a := newGatedAudit() // never let through
	w := NewAuditWriter(a, AuditWriterOptions{CommitTimeout: 50 * time.Millisecond})
	defer closeWriter(t, w)
	start := time.Now()
	err := w.Record(context.Background(), AuditEntry{Action: "verify.public"})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("hung store: %v after %v, want the commit's deadline", err, time.Since(start))
	}
}

// TestAuditWriterCallerDeadline: a caller whose context ends first is
// answered then; its entry is still committed later, so the trail may
// hold an access that showed nothing, never the reverse.
func TestAuditWriterCallerDeadline(t *testing.T) {
	a := newGatedAudit()
	w := NewAuditWriter(a, AuditWriterOptions{})
	defer closeWriter(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := w.Record(ctx, AuditEntry{Action: "verify.public"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller's deadline passed: %v", err)
	}
	a.let(1)
	waitFor(t, "the entry committed", func() bool { return w.Depth() == 0 })
	if n, err := VerifyChain(context.Background(), a); err != nil || n != 1 {
		t.Fatalf("%d entries (err %v), want the abandoned one stored", n, err)
	}
}

// TestAuditWriterRefusals: a full backlog and unstorable text are refused
// at once and whole; after Close nothing is taken.
func TestAuditWriterRefusals(t *testing.T) {
	a := newGatedAudit()
	w := NewAuditWriter(a, AuditWriterOptions{Buffer: 10})
	go w.RecordBatch(context.Background(), entries("held", 6))
	<-a.started
	if err := w.RecordBatch(context.Background(), entries("more", 5)); !errors.Is(err, ErrAuditBacklog) || w.Depth() != 6 {
		t.Fatalf("5 more into 4 places: %v, depth %d; want ErrAuditBacklog and nothing taken", err, w.Depth())
	}
	bad := entries("bad", 2)
	bad[1].Detail = "\x00"
	if err := w.RecordBatch(context.Background(), bad); !errors.Is(err, ErrAuditUnstorable) || w.Depth() != 6 {
		t.Fatalf("a batch with NUL: %v, depth %d; want ErrAuditUnstorable and nothing taken", err, w.Depth())
	}
	if err := w.Record(context.Background(), AuditEntry{Actor: "\xff", Action: "x"}); !errors.Is(err, ErrAuditUnstorable) {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	a.let(1)
	closeWriter(t, w)
	if err := w.Record(context.Background(), AuditEntry{Action: "late"}); !errors.Is(err, ErrAuditClosed) {
		t.Errorf("after Close: %v, want ErrAuditClosed", err)
	}
	if n, err := VerifyChain(context.Background(), a); err != nil || n != 6 {
		t.Fatalf("%d entries (err %v), want the 6 accepted", n, err)
	}
}

// TestAuditWriterCloseGivesUp: when Close's context ends with commits
// pending, the one under way is cancelled, the queued ones are refused,
// every waiter is answered with an error, and Close says so — at once,
// not after CommitTimeout.
func TestAuditWriterCloseGivesUp(t *testing.T) {
	a := newGatedAudit() // never let through
	w := NewAuditWriter(a, AuditWriterOptions{CommitTimeout: time.Hour})
	errs := make(chan error, 3)
	go func() { errs <- w.Record(context.Background(), AuditEntry{Action: "held"}) }()
	<-a.started
	for range 2 {
		go func() { errs <- w.Record(context.Background(), AuditEntry{Action: "queued"}) }()
	}
	waitFor(t, "two queued", func() bool { return w.Depth() == 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := w.Close(ctx); err == nil {
		t.Error("Close reported success with entries uncommitted")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v", took)
	}
	var cancelled, refused int
	for range 3 {
		switch err := <-errs; {
		case errors.Is(err, context.Canceled):
			cancelled++
		case errors.Is(err, ErrAuditClosed):
			refused++
		default:
			t.Errorf("waiter answered %v", err)
		}
	}
	if cancelled != 1 || refused != 2 {
		t.Errorf("%d cancelled and %d refused, want 1 and 2", cancelled, refused)
	}
	if n, _ := VerifyChain(context.Background(), a); n != 0 {
		t.Errorf("%d entries stored, want none", n)
	}
}

// TestAuditWriterConcurrentChain: many goroutines, one linear chain,
// fewer commits than entries.
func TestAuditWriterConcurrentChain(t *testing.T) {
	a := newSliceAudit()
	w := NewAuditWriter(a, AuditWriterOptions{MaxBatch: 100})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				if err := w.Record(context.Background(), AuditEntry{Actor: fmt.Sprintf("g%d-%d", g, i), Action: "verify.public"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	closeWriter(t, w)
	if n, err := VerifyChain(context.Background(), a); err != nil || n != 3200 {
		t.Fatalf("%d entries (err %v), want 3200 in one chain", n, err)
	}
	if c := a.calls.Load(); c >= 3200 {
		t.Errorf("%d commits for 3200 entries from 16 goroutines: none grouped", c)
	}
}

func TestDirectAudit(t *testing.T) {
	a := newSliceAudit()
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	d := DirectAudit{Log: a, Now: func() time.Time { return at }}
	if err := d.RecordBatch(context.Background(), entries("x", 3)); err != nil {
		t.Fatal(err)
	}
	if err := d.Record(context.Background(), AuditEntry{Action: "x", Detail: "\x00"}); !errors.Is(err, ErrAuditUnstorable) {
		t.Fatalf("NUL: %v", err)
	}
	a.fail.Store(1)
	if err := d.Record(context.Background(), AuditEntry{Action: "x"}); err == nil {
		t.Fatal("a failed append answered nil")
	}
	var stamps []time.Time
	a.ScanAudit(context.Background(), 1, func(e AuditEntry) error { stamps = append(stamps, e.At); return nil })
	if len(stamps) != 3 || !stamps[0].Equal(at) {
		t.Errorf("stored %v, want 3 entries stamped %v", stamps, at)
	}
}

// BenchmarkAuditWriter: entries from many goroutines through group
// commit into a store that costs only the chain's hashing.
func BenchmarkAuditWriter(b *testing.B) {
	a := newSliceAudit()
	w := NewAuditWriter(a, AuditWriterOptions{})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Record(context.Background(), AuditEntry{Actor: "bench", Action: "verify.public"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}
