package gateway

import (
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"
)

// Problem is an RFC 9457 problem detail. Type is a stable, relative URI
// that clients branch on; Detail never carries personal data.
type Problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail,omitempty"`
	Errors map[string]string `json:"errors,omitempty"`
}

func (p *Problem) Error() string { return p.Title }

var errNotFound = &Problem{Type: "/problems/not-found", Title: "Not found", Status: fiber.StatusNotFound}

// problemHandler turns every error into problem+json. Errors that are not
// Problems are internal: logged, and answered as "internal error" only.
func problemHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var p *Problem
		var fe *fiber.Error
		switch {
		case errors.As(err, &p):
		case errors.As(err, &fe):
			p = &Problem{Type: "/problems/http", Title: fe.Message, Status: fe.Code}
			if fe.Code == fiber.StatusRequestEntityTooLarge {
				p.Type = "/problems/body-too-large"
			}
		default:
			log.Error("internal error", "route", c.Route().Path, "err", err)
			p = &Problem{Type: "/problems/internal", Title: "Internal error", Status: fiber.StatusInternalServerError}
		}
		c.Set(fiber.HeaderContentType, "application/problem+json")
		return c.Status(p.Status).JSON(p, "application/problem+json")
	}
}
