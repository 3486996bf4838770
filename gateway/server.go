// Package gateway is degreegate's HTTP front door on Fiber: public
// verification, holder self-service, the agency interface and the
// operational endpoints. It sees the registry only through its interfaces,
// never a driver.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Deps are everything the server needs; main wires them.
type Deps struct {
	Logger *slog.Logger
	// Ready reports whether the server's dependencies can serve (store
	// reachable, audit trail writable).
	Ready func(ctx context.Context) error
}

// Server is the gateway's HTTP server.
type Server struct {
	app  *fiber.App
	deps Deps
}

// New builds the server and registers every route (routes.go).
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Ready == nil {
		d.Ready = func(context.Context) error { return nil }
	}
	app := fiber.New(fiber.Config{
		AppName:               "degreegate",
		DisableStartupMessage: true,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           60 * time.Second,
		BodyLimit:             1 << 20,
		ErrorHandler:          problemHandler(d.Logger),
	})
	s := &Server{app: app, deps: d}
	s.routes()
	return s
}

// App exposes the Fiber app for in-process tests (app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Serve listens on ln until ctx ends, then drains in-flight requests for
// up to grace before returning.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if err := s.app.ShutdownWithTimeout(grace); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return <-errc
}
