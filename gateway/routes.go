package gateway

import "github.com/gofiber/fiber/v2"

// routes maps the whole HTTP API in one place; openapi.json describes the
// same set, and a test keeps the two in step.
func (s *Server) routes() {
	s.app.Use(s.observe(), s.recoverer())

	s.app.Get("/healthz", s.handleHealth())
	s.app.Get("/readyz", s.handleReady())
	s.app.Get("/metrics", s.metrics.handler())
	s.app.Get("/openapi.json", s.handleOpenAPI())
	s.app.Get("/.well-known/jwks.json", s.handleJWKS())

	s.app.Post("/v1/verify", s.handlePublicVerify())

	// Each area registers its routes from its own file.
	s.webRoutes()     // web.go: the public page
	s.holderRoutes()  // holder.go: holder self-service and shared reports
	s.agencyRoutes()  // agency.go: the data-sharing interface
	s.officeRoutes()  // office.go: audit reads for officials
	s.datasetRoutes() // datasets.go: research datasets

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
			return problemNotReady
		}
		if !s.deps.Audit.Healthy() {
			return problemNotReady
		}
		status := "ready"
		if s.deps.Degraded() {
			// Still serving, under local limits only: ready, but say so.
			status = "degraded"
		}
		return c.JSON(fiber.Map{"status": status})
	}
}

func (s *Server) handleJWKS() fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		return c.JSON(s.deps.Receipts.JWKS())
	}
}
