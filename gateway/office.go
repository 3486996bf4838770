package gateway

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/registry"
)

// Officials of the national and provincial offices read the audit trail
// (Art. 15) with filters. Reading the trail is itself an access that
// goes on the trail, before the answer leaves.

// maxAuditFilterValues bounds repeated action and record parameters.
const maxAuditFilterValues = 20

func (s *Server) handleOfficeAudit() fiber.Handler {
	return func(c *fiber.Ctx) error {
		page, err := s.disclose.OfficeAudit(c.UserContext(), s.principalFor(c, ""), parseAuditQuery(c))
		if err != nil {
			return disclosureProblem(err)
		}
		return c.JSON(page)
	}
}

// parseAuditQuery reads the filters: from and to (RFC 3339), org (the
// caller organisation, as in actors "org:<org>/sub:<subject>"),
// purpose, record (a certificate number; repeatable), action
// (repeatable), after (the cursor) and limit. Errors name the parameter
// and the rule.
func parseAuditQuery(c *fiber.Ctx) disclose.AuditRead {
	var q registry.AuditQuery
	errs := map[string]string{}
	args := c.Context().QueryArgs()
	one := func(name string) string {
		vs := args.PeekMulti(name)
		if len(vs) > 1 {
			errs[name] = "give it once"
		}
		if len(vs) == 0 {
			return ""
		}
		return string(vs[0]) // a copy: the buffer is Fiber's
	}
	many := func(name string, maxRunes int) []string {
		vs := args.PeekMulti(name)
		if len(vs) > maxAuditFilterValues {
			errs[name] = fmt.Sprintf("at most %d values", maxAuditFilterValues)
			return nil
		}
		out := make([]string, 0, len(vs))
		for _, v := range vs {
			s := strings.TrimSpace(string(v))
			if why := disclose.CheckText(s, maxRunes); why != "" {
				errs[name] = why
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	times := func(name string) time.Time {
		v := one(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			errs[name] = "want an RFC 3339 time, e.g. 2025-01-31T00:00:00+08:00"
		}
		return t
	}
	text := func(name string, maxRunes int) string {
		v := strings.TrimSpace(one(name))
		if v == "" {
			return ""
		}
		if why := disclose.CheckText(v, maxRunes); why != "" {
			errs[name] = why
		}
		return v
	}
	number := func(name string, lo, hi int64) int64 {
		v := one(name)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			errs[name] = fmt.Sprintf("want a whole number from %d to %d", lo, hi)
		}
		return n
	}

	q.From, q.To = times("from"), times("to")
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		errs["to"] = "must be after from"
	}
	org := text("org", 128)
	if org != "" {
		// The trailing slash keeps gov:a from matching gov:ab.
		q.ActorPrefix = "org:" + org + "/"
	}
	q.Purpose = text("purpose", 64)
	q.RecordRefs = many("record", 64)
	q.Actions = many("action", 64)
	q.AfterSeq = number("after", 0, 1<<62)
	q.Limit = int(number("limit", 1, registry.MaxAuditLimit))
	if len(errs) > 0 {
		return disclose.AuditRead{Errors: errs}
	}
	f := disclose.AuditFilters{
		Org: org, Purpose: q.Purpose, Records: q.RecordRefs, Actions: q.Actions,
		After: q.AfterSeq, Limit: q.PageSize(),
	}
	if !q.From.IsZero() {
		f.From = q.From.UTC().Format(time.RFC3339Nano)
	}
	if !q.To.IsZero() {
		f.To = q.To.UTC().Format(time.RFC3339Nano)
	}
	return disclose.AuditRead{Query: q, Filters: f}
}
