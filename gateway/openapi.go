package gateway

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPIDocument describes every route of routes.go; openapi_test.go
// keeps the two in step and validates the document.
//
//go:embed openapi.json
var openAPIDocument []byte

func (s *Server) handleOpenAPI() fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(openAPIDocument)
	}
}
