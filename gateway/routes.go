package gateway

import "github.com/gofiber/fiber/v2"

// routes maps the whole HTTP API in one place.
func (s *Server) routes() {
	s.app.Get("/healthz", s.handleHealth())
	s.app.Get("/readyz", s.handleReady())
	s.app.Use(func(c *fiber.Ctx) error { return errNotFound })
}

func (s *Server) handleHealth() fiber.Handler {
	return func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	}
}

func (s *Server) handleReady() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.deps.Ready(c.UserContext()); err != nil {
			s.deps.Logger.Warn("not ready", "err", err)
			return &Problem{Status: fiber.StatusServiceUnavailable, Type: "/problems/not-ready", Title: "Not ready"}
		}
		return c.JSON(fiber.Map{"status": "ready"})
	}
}
