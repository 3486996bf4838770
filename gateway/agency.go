package gateway

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/gateway/token"
)

// The agency data-sharing interface (Art. 20, 22): government bodies,
// public institutions and degree-granting units verify one record or a
// batch, for a declared purpose, and see the fields the policy grants
// them. Each item is answered on its own; each item answered from the
// registry is on the audit trail before the answer leaves.

type agencyRequest struct {
	Purpose string                 `json:"purpose"`
	Queries []disclose.AgencyQuery `json:"queries"`
}

func (s *Server) handleAgencyVerify() fiber.Handler {
	return func(c *fiber.Ctx) error {
		mt, _, err := mime.ParseMediaType(string(c.Request().Header.ContentType()))
		if err != nil {
			return problemAgencyMedia
		}
		switch mt {
		case fiber.MIMEApplicationJSON:
			var req agencyRequest
			if err := decodeJSON(c, &req); err != nil {
				return err
			}
			ans, err := s.answerAgency(c, req.Purpose, req.Queries, false)
			if err != nil {
				return err
			}
			return c.JSON(ans.AgencyResponse)
		case mimeCSV, mimeXLSX, fiber.MIMEMultipartForm:
			return s.handleAgencySheet(c, mt)
		}
		return problemAgencyMedia
	}
}

// answerAgency answers a batch whatever format it came in, through
// disclose.Service.Agency with this caller's token and quota as guards.
// It sets the policy, rate-limit and quota headers on c; errors are
// Problems, except internal failures. tokenSpent: the caller already
// spent the token's jti (an upload).
func (s *Server) answerAgency(c *fiber.Ctx, purpose string, queries []disclose.AgencyQuery, tokenSpent bool) (disclose.AgencyAnswer, error) {
	p := principal(c)
	ans, err := s.disclose.Agency(c.UserContext(), s.principalFor(c, purpose), purpose, queries, disclose.AgencyGuards{
		TokenSpent: tokenSpent,
		FreshToken: func(context.Context) error { return s.requireFreshJTI(c, p) },
		Charge: func(_ context.Context, n, limit int64) (func(), error) {
			return s.takeQuota(c, p.Org, n, limit)
		},
	})
	return ans, disclosureProblem(err)
}

// requireFreshJTI refuses a batch whose token is not single-use or was
// used before. A cache that cannot answer refuses too (fail closed).
func (s *Server) requireFreshJTI(c *fiber.Ctx, p token.Principal) error {
	if s.deps.Replay == nil {
		return problemReplayDown
	}
	err := token.RequireFreshJTI(c.UserContext(), p, s.deps.Replay)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, token.ErrReplayed):
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="degreegate", error="invalid_token", error_description="replayed"`)
		return problemTokenReplayed
	case errors.Is(err, token.ErrInvalidToken):
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="degreegate", error="invalid_token", error_description="missing_claim"`)
		return problemJTIRequired
	}
	s.deps.Logger.Warn("replay cache unavailable", "err", err)
	return problemReplayDown
}

// takeQuota counts n items against the organisation's daily quota; a
// limit of 0 means the policy sets none. refund gives the items back when
// the request cannot be answered after all; it is nil when nothing was
// charged.
func (s *Server) takeQuota(c *fiber.Ctx, org string, n, limit int64) (refund func(), err error) {
	if limit <= 0 {
		return nil, nil
	}
	if s.deps.Quota == nil {
		return nil, problemQuotaDown
	}
	q, err := s.deps.Quota.Take(c.UserContext(), org, n, limit)
	if err != nil {
		s.deps.Logger.Warn("quota unavailable", "err", err)
		return nil, problemQuotaDown
	}
	c.Set("Degreegate-Quota-Limit", strconv.FormatInt(q.Limit, 10))
	c.Set("Degreegate-Quota-Remaining", strconv.FormatInt(q.Remaining, 10))
	if !q.Allowed {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, ceilSeconds(q.Reset))))
		return nil, problemQuotaExhausted.with(fmt.Sprintf("%d items asked, %d left today", n, q.Remaining))
	}
	return func() {
		// The request's own context may be ending with it; the refund
		// gets a short one of its own. If it fails the items stay
		// charged: counted too much, never too little.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.deps.Quota.Refund(ctx, org, n, q.Day); err != nil {
			s.deps.Logger.Warn("quota refund failed", "items", n, "err", err)
			return
		}
		c.Set("Degreegate-Quota-Remaining", strconv.FormatInt(min(q.Remaining+n, q.Limit), 10))
	}, nil
}
