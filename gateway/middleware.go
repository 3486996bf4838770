package gateway

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/gofiber/fiber/v2"
)

// observe is the outermost middleware: it gives the request its
// deadline, turns errors into problem responses here (so the status is
// known), then counts and logs the request (429s in metrics only). The
// access log holds the route pattern, method, status and latency only: no
// path (it may hold a share code), no query, no client address, no body.
func (s *Server) observe() fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		// A fresh context, not one derived from c.UserContext(): a
		// RequestCtx reused without its user values reset
		// (BenchmarkPublicVerify does) would hand on the last request's
		// ended context.
		ctx := newRequestContext(start.Add(s.deps.RequestTimeout))
		defer ctx.cancel()
		c.SetUserContext(ctx)
		err := c.Next()
		if err != nil {
			err = cutOff(ctx, err)
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				s.deps.Logger.Error("error handler failed", "err", herr)
				c.Status(fiber.StatusInternalServerError)
			}
		}
		route := c.Route().Path
		if c.Locals(unmatchedKey{}) != nil {
			// Only the catch-all answered: counted apart, not under
			// its pattern "/", which is the home page's.
			route = "unmatched"
		}
		method := methodName(c.Method())
		status := c.Response().StatusCode()
		d := time.Since(start)
		s.metrics.observe(route, method, status, d)
		// Refusals by the rate limiter are counted in metrics, not logged one
		// by one: a flood must cost almost nothing, log volume included.
		if !s.deps.QuietAccessLog && status != fiber.StatusTooManyRequests {
			s.deps.Logger.LogAttrs(c.UserContext(), slog.LevelInfo, "http",
				slog.String("method", method), slog.String("route", route),
				slog.Int("status", status), slog.Float64("ms", float64(d.Microseconds())/1000))
		}
		return nil
	}
}

// cutOff answers problemTimeout for a request whose deadline passed
// while it waited: whatever a store or Redis client wrapped around the
// context's error stays internal. A handler's own problem stands.
func cutOff(ctx context.Context, err error) error {
	var p *Problem
	if ctx.Err() == nil || errors.As(err, &p) {
		return err
	}
	return problemTimeout
}

// methodName is m as a constant string. Fiber's c.Method() views the
// connection's request buffer, which the next request overwrites; a
// metric label kept from it changes under the series (and two series
// reading alike made Prometheus refuse the whole page).
func methodName(m string) string {
	for _, known := range [...]string{
		fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
		fiber.MethodDelete, fiber.MethodConnect, fiber.MethodOptions, fiber.MethodTrace,
	} {
		if m == known {
			return known
		}
	}
	return "other"
}

// recoverer turns a panic into an internal-error problem: no panic
// reaches a user, and the log records where without request data.
func (s *Server) recoverer() fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				// The panic value may hold request data: log where, not what.
				s.deps.Logger.Error("panic in handler", "route", c.Route().Path, "stack", string(debug.Stack()))
				err = &Problem{Type: "/problems/internal", Title: "Internal error", Status: fiber.StatusInternalServerError}
			}
		}()
		return c.Next()
	}
}

// unmatchedKey marks, in a request's locals, that no route matched it.
type unmatchedKey struct{}
