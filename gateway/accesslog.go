package gateway

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/registry"
)

// handleAccessLog is GET /v1/holder/access-log: who looked at the
// holder's records (disclose.Service.AccessLog).
func (s *Server) handleAccessLog() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := principal(c)
		q := accessLogParams(c.Query("after"), c.Query("limit"))
		page, err := s.disclose.AccessLog(c.UserContext(), s.principalFor(c, ""),
			disclose.Holder{IDType: registry.IDType(p.IDType), IDNumber: p.IDNumber}, q)
		if err != nil {
			return disclosureProblem(err)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(page)
	}
}

// accessLogParams reads ?after= and ?limit=; a page it cannot read
// carries why in Errors.
func accessLogParams(afterQ, limitQ string) disclose.AccessQuery {
	errs := map[string]string{}
	q := disclose.AccessQuery{Limit: accessLogDefaultPage}
	if afterQ != "" {
		n, ok := holderDigits(afterQ, 18)
		if !ok {
			errs["after"] = "want a non-negative whole number (next_after of the previous page)"
		}
		q.After = n
	}
	if limitQ != "" {
		n, ok := holderDigits(limitQ, 4)
		if !ok || n < 1 || n > accessLogMaxPage {
			errs["limit"] = fmt.Sprintf("want 1 to %d", accessLogMaxPage)
		}
		q.Limit = int(n)
	}
	if len(errs) > 0 {
		return disclose.AccessQuery{Errors: errs}
	}
	return q
}

// holderDigits parses at most maxDigits decimal digits.
func holderDigits(s string, maxDigits int) (int64, bool) {
	if s == "" || len(s) > maxDigits {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, n >= 0
}
