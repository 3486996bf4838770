package main

import (
	"context"
	"errors"
	"sync"
)

// lifecycle owns what a gateway process started and opened. Workers run
// on a context of their own, which outlives the request context: they
// keep working while requests drain. close stops every worker and waits
// for it, then closes what was opened in reverse order of opening — so
// with the HTTP server drained before close, the order is the one
// shutdown needs: workers, audit flush, Redis, the pgx pool.
type lifecycle struct {
	ctx     context.Context
	stop    context.CancelFunc
	workers sync.WaitGroup
	closers []func() error
}

func newLifecycle() *lifecycle {
	ctx, stop := context.WithCancel(context.Background())
	return &lifecycle{ctx: ctx, stop: stop}
}

// Go runs work until close; work must return once its context ends.
func (l *lifecycle) Go(work func(ctx context.Context)) {
	l.workers.Go(func() { work(l.ctx) })
}

// onClose adds f to what close closes, before anything added earlier.
func (l *lifecycle) onClose(f func() error) {
	l.closers = append(l.closers, f)
}

// close stops the workers, waits for them, then runs the closers in
// reverse order, every one even if some fail.
func (l *lifecycle) close() error {
	l.stop()
	l.workers.Wait()
	var errs []error
	for i := len(l.closers) - 1; i >= 0; i-- {
		errs = append(errs, l.closers[i]())
	}
	l.closers = nil
	return errors.Join(errs...)
}
