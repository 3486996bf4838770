package gateway

import (
	"regexp"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/degreegate/degreegate/gateway/token"
)

// routes maps the whole HTTP API in one place, each route as who may call
// it → under which limits → its handler; openapi.json describes the same
// set, and a test keeps the two in step.
//
// Public routes take their limits inside the handler, in stages: per
// address and block before the body is read (admitPublic), per
// certificate number or share code once the request names one. Token
// routes pass authenticate (the audience's token) and then limitCaller
// (the audience's limits for that caller) before the handler runs.
func (s *Server) routes() {
	s.app.Use(s.observe(), s.recoverer())

	// Operations: no personal data, no limits.
	s.app.Get("/healthz", s.handleHealth())
	s.app.Get("/readyz", s.handleReady())
	if s.deps.PublicMetrics {
		s.app.Get("/metrics", adaptor.HTTPHandler(s.MetricsHandler()))
	}
	s.app.Get("/openapi.json", s.handleOpenAPI())
	s.app.Get("/.well-known/jwks.json", s.handleJWKS())

	// The public: verification, and reports a holder shared by code.
	s.app.Post("/v1/verify", s.handlePublicVerify())
	s.app.Get("/v1/verify/:code", s.handleSharedReport())
	s.pageRoutes()

	// The transparency log over the trail: anyone may check it. The
	// checkpoint is served from memory; proofs read the store, so they
	// take the public limits.
	s.app.Get("/v1/log/checkpoint", s.handleLogCheckpoint())
	s.app.Get("/v1/log/proof/inclusion", s.handleLogInclusion())
	s.app.Get("/v1/log/proof/consistency", s.handleLogConsistency())

	// Token routes: the audience's token, then its limits for the caller.
	limited := s.limitCaller()

	// Holders (Art. 22).
	holder := s.authenticate(token.AudienceHolder)
	s.app.Get("/v1/holder/degrees", holder, limited, s.handleHolderDegrees())
	s.app.Post("/v1/holder/codes", holder, limited, s.handleIssueCode())
	s.app.Delete("/v1/holder/codes/:code", holder, limited, s.handleWithdrawCode())
	s.app.Get("/v1/holder/access-log", holder, limited, s.handleAccessLog())

	// Agencies: the data-sharing interface (Art. 20, 22).
	s.app.Post("/v1/agency/verify", s.authenticate(token.AudienceAgency), limited, s.handleAgencyVerify())

	// Officials (Art. 15, 23).
	office := s.authenticate(token.AudienceOffice)
	s.app.Get("/v1/office/audit", office, limited, s.handleOfficeAudit())

	// Research datasets (Art. 23–24).
	contractor := s.authenticate(token.AudienceContractor)
	s.app.Get("/v1/datasets", contractor, limited, s.handleDatasetList())
	s.app.Get("/v1/datasets/:id", contractor, limited, s.handleDatasetGet())
	s.app.Get("/v1/datasets/:id/data", contractor, limited, s.handleDatasetData())
	s.app.Get("/v1/office/datasets", office, limited, s.handleOfficeDatasetList())
	s.app.Post("/v1/office/datasets", office, limited, s.handleDatasetRequest())
	s.app.Get("/v1/office/datasets/:id", office, limited, s.handleOfficeDatasetGet())
	s.app.Post("/v1/office/datasets/:id/approve", office, limited, s.handleDatasetDecision(true))
	s.app.Post("/v1/office/datasets/:id/reject", office, limited, s.handleDatasetDecision(false))

	// The filing workflow (Art. 11–19): staff of units, provinces and the
	// national office, on office tokens; the desk checks org and duty.
	s.app.Post("/v1/filing/uploads", office, limited, s.handleFilingStartUpload())
	s.app.Get("/v1/filing/uploads/:id", office, limited, s.handleFilingUpload())
	s.app.Patch("/v1/filing/uploads/:id", office, limited, s.handleFilingUploadPart())
	s.app.Post("/v1/filing/batches", office, limited, s.handleFilingNewBatch())
	s.app.Get("/v1/filing/batches/:id", office, limited, s.handleFilingBatch())
	s.app.Get("/v1/filing/batches/:id/resolution", office, limited, s.handleFilingResolution())
	s.app.Post("/v1/filing/batches/:id/actions", office, limited, s.handleFilingAction())
	s.app.Put("/v1/filing/batches/:id/records/:number", office, limited, s.handleFilingCorrect())
	s.app.Post("/v1/filing/batches/:id/late", office, limited, s.handleFilingApplyLate())
	s.app.Post("/v1/filing/batches/:id/late/decision", office, limited, s.handleFilingDecideLate())
	s.app.Get("/v1/filing/queue", office, limited, s.handleFilingQueue())
	s.app.Get("/v1/filing/overdue", office, limited, s.handleFilingOverdue())
	s.app.Post("/v1/filing/requests", office, limited, s.handleFilingNewRequest())
	s.app.Get("/v1/filing/requests", office, limited, s.handleFilingRequests())
	s.app.Get("/v1/filing/requests/:id", office, limited, s.handleFilingRequest())
	s.app.Post("/v1/filing/requests/:id/decision", office, limited, s.handleFilingDecideRequest())

	// A path that exists under other methods is 405 with Allow (RFC
	// 9110, 15.5.6); anything else is 404.
	allowed := routeMethods(s.app)
	s.app.Use(func(c *fiber.Ctx) error {
		c.Locals(unmatchedKey{}, true)
		if methods := allowed.of(c.Path()); methods != "" {
			c.Set(fiber.HeaderAllow, methods)
			return problemMethodNotAllowed.with("this path takes " + methods)
		}
		return errNotFound
	})
}

// methodTable maps each route's path pattern to the methods it takes.
type methodTable []routeMethodsOf

type routeMethodsOf struct {
	pattern *regexp.Regexp
	methods string // as Allow lists them
}

// routeMethods reads the registered routes: a pattern's ":param" matches
// one path segment, "*" the rest.
func routeMethods(app *fiber.App) methodTable {
	byPath := map[string][]string{}
	var order []string
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead || r.Method == fiber.MethodOptions || r.Method == "USE" {
			continue
		}
		if _, ok := byPath[r.Path]; !ok {
			order = append(order, r.Path)
		}
		if !slices.Contains(byPath[r.Path], r.Method) {
			byPath[r.Path] = append(byPath[r.Path], r.Method)
		}
	}
	var t methodTable
	for _, p := range order {
		re := "^"
		for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
			switch {
			case seg == "":
			case strings.HasPrefix(seg, ":"):
				re += "/[^/]+"
			case seg == "*":
				re += "(/.*)?"
			default:
				re += "/" + regexp.QuoteMeta(seg)
			}
		}
		re += "/?$"
		methods := byPath[p]
		if slices.Contains(methods, fiber.MethodGet) {
			methods = append(methods, fiber.MethodHead)
		}
		slices.Sort(methods)
		t = append(t, routeMethodsOf{regexp.MustCompile(re), strings.Join(methods, ", ")})
	}
	return t
}

// of is the methods a path takes, "" when no route has it.
func (t methodTable) of(path string) string {
	for _, r := range t {
		if r.pattern.MatchString(path) {
			return r.methods
		}
	}
	return ""
}

// pageRoutes registers the web page (Chinese and English, no
// JavaScript), which answers through the same functions as the API. A
// page that cannot be built answers 500 and the log says why, rather than
// the whole gateway refusing to start.
func (s *Server) pageRoutes() {
	p, err := s.newWebPage()
	if err != nil {
		s.deps.Logger.Error("web page unavailable", "err", err)
		broken := func(c *fiber.Ctx) error { return problemInternal }
		s.app.Get("/", broken)
		s.app.Post("/verify", broken)
		s.app.Get("/code/:code", broken)
		s.app.Get("/receipt", broken)
		s.app.Post("/receipt", broken)
		s.app.Get("/assets/:name", broken)
		s.app.Get("/problems", broken)
		s.app.Get("/problems/:name", broken)
		s.app.Get("/docs/api", broken)
		return
	}
	s.app.Get("/", p.handleHome)
	s.app.Post("/verify", p.handleVerify)
	s.app.Get("/code/:code", p.handleCode)
	s.app.Get("/receipt", p.handleReceiptForm)
	s.app.Post("/receipt", p.handleReceiptCheck)
	s.app.Get("/assets/:name", p.handleAsset)
	// Documentation: what problem types mean (their URIs resolve here),
	// and the API reference.
	s.app.Get("/problems", p.handleProblemIndex)
	s.app.Get("/problems/:name", p.handleProblemPage)
	s.app.Get("/docs/api", p.handleAPIReference)
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
