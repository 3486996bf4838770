package gateway

import (
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"
)

// Problem is an RFC 9457 problem detail. Type is a stable, relative URI
// that clients branch on; Detail and Errors never carry personal data.
type Problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail,omitempty"`
	Errors map[string]string `json:"errors,omitempty"`
	// PolicyVersion is set on answers a policy decided.
	PolicyVersion string `json:"policy_version,omitempty"`
}

func (p *Problem) Error() string { return p.Title }

// The stable problem types. Each answer copies one and adds detail.
var (
	errNotFound          = &Problem{Type: "/problems/not-found", Title: "Not found", Status: fiber.StatusNotFound}
	problemNotReady      = &Problem{Type: "/problems/not-ready", Title: "Not ready", Status: fiber.StatusServiceUnavailable}
	problemAuditDown     = &Problem{Type: "/problems/audit-unavailable", Title: "Audit trail unavailable: personal data is not served unaudited", Status: fiber.StatusServiceUnavailable}
	problemRateLimited   = &Problem{Type: "/problems/rate-limited", Title: "Too many requests", Status: fiber.StatusTooManyRequests}
	problemMalformedJSON = &Problem{Type: "/problems/malformed-json", Title: "Request body is not the JSON this route takes", Status: fiber.StatusBadRequest}
	problemMediaType     = &Problem{Type: "/problems/unsupported-media-type", Title: "Send application/json", Status: fiber.StatusUnsupportedMediaType}
	problemInternal      = &Problem{Type: "/problems/internal", Title: "Internal error", Status: fiber.StatusInternalServerError}
)

const mimeProblem = "application/problem+json"

// invalid is a 400 listing each bad field and why.
func invalid(errs map[string]string) *Problem {
	return &Problem{Type: "/problems/invalid-request", Title: "Request fields are invalid", Status: fiber.StatusBadRequest, Errors: errs}
}

// with returns a copy of p with detail set.
func (p *Problem) with(detail string) *Problem {
	q := *p
	q.Detail = detail
	return &q
}

// problemHandler turns every error into problem+json. Errors that are not
// Problems are internal: logged, and answered as "internal error" only.
func problemHandler(log *slog.Logger) fiber.ErrorHandler {
	// A flood is answered with this one body over and over: encode it once.
	rateLimited, _ := json.Marshal(problemRateLimited)
	return func(c *fiber.Ctx, err error) error {
		if err == problemRateLimited {
			c.Status(fiber.StatusTooManyRequests).Response().Header.SetContentType(mimeProblem)
			c.Response().SetBodyRaw(rateLimited) // fasthttp only reads it
			return nil
		}
		var p *Problem
		var fe *fiber.Error
		switch {
		case errors.As(err, &p):
		case errors.As(err, &fe):
			p = &Problem{Type: "/problems/http", Title: fe.Message, Status: fe.Code}
			switch fe.Code {
			case fiber.StatusRequestEntityTooLarge:
				p.Type = "/problems/body-too-large"
			case fiber.StatusMethodNotAllowed:
				p.Type = "/problems/method-not-allowed"
			case fiber.StatusNotFound:
				p = errNotFound
			}
		default:
			log.Error("internal error", "route", c.Route().Path, "err", err)
			p = problemInternal
		}
		return c.Status(p.Status).JSON(p, mimeProblem)
	}
}
