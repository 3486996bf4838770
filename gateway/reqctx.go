package gateway

import (
	"context"
	"sync"
	"time"
)

// requestContext is every request's context: it carries the request's
// deadline, answers Err from the clock, and starts a timer only for a
// caller that waits on Done (a store or Redis call that blocks).
//
// context.WithTimeout started and stopped a runtime timer on every
// request. Under load that was about a tenth of dev's CPU per public
// verification, which never waits on anything (scripts/bench-gateway.sh
// --base, and CPU per request from /proc, 2026-12-07: 48–52 µs with the
// timer, 43–46 without; docs/benchmarks.md). TestRequestContext holds it
// to the context contract.
type requestContext struct {
	deadline time.Time

	mu    sync.Mutex
	done  chan struct{} // made by the first Done
	timer *time.Timer   // started by the first Done, before the deadline
	err   error         // DeadlineExceeded or Canceled, once ended
}

// newRequestContext returns a context ending at deadline; cancel ends it
// earlier (call it when the request is answered).
func newRequestContext(deadline time.Time) *requestContext {
	return &requestContext{deadline: deadline}
}

// cancel ends the context before its deadline. A method rather than a
// returned CancelFunc: a closure would be one more allocation a request.
func (c *requestContext) cancel() { c.end(context.Canceled) }

func (c *requestContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *requestContext) Value(any) any { return nil }

func (c *requestContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		c.expireLocked()
		switch {
		case c.err != nil:
			close(c.done)
		default:
			c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.end(context.DeadlineExceeded) })
		}
	}
	return c.done
}

func (c *requestContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expireLocked() && c.done != nil {
		close(c.done)
	}
	return c.err
}

// expireLocked ends the context if its deadline has passed, and reports
// whether it did so now.
func (c *requestContext) expireLocked() bool {
	if c.err != nil || time.Now().Before(c.deadline) {
		return false
	}
	c.err = context.DeadlineExceeded
	if c.timer != nil {
		c.timer.Stop()
	}
	return true
}

func (c *requestContext) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.done != nil {
		close(c.done)
	}
}

func (c *requestContext) String() string { return "gateway.requestContext" }

var _ context.Context = (*requestContext)(nil)
