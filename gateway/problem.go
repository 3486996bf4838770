package gateway

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/ingest"
)

// Problem is an RFC 9457 problem detail. Type is stable, and clients
// branch on it: written here as a path, it is answered as an absolute URI
// on the gateway's public address, where GET shows what it means
// (problemdocs.go). Detail and Errors never carry personal data.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Instance is where the problem occurred (RFC 9457, 3.1.5): the
	// route (problemInstance).
	Instance string            `json:"instance,omitempty"`
	Errors   map[string]string `json:"errors,omitempty"`
	// PolicyVersion is set on answers a policy decided.
	PolicyVersion string `json:"policy_version,omitempty"`
	// Code is the stable reason where one type covers several (the
	// filing workflow's refusals).
	Code string `json:"code,omitempty"`
	// Rejections are the refused rows of an uploaded file: line, field,
	// code and reason, never the value.
	Rejections []ingest.Rejection `json:"rejections,omitempty"`
	// Refusals are the records an action was refused for, and why.
	Refusals []refusalView `json:"refusals,omitempty"`
	// RetryAfter, in seconds, is sent as Retry-After when positive: the
	// answer is refused for now, not for good.
	RetryAfter int `json:"-"`
}

func (p *Problem) Error() string { return p.Title }

// The problem catalogue: every stable problem type the gateway answers
// with, in one place. Each answer copies one and adds detail. Policy
// refusals are typed by the refusal's code (policyProblem).
var (
	// Any route.
	errNotFound             = &Problem{Type: "/problems/not-found", Title: "Not found", Status: fiber.StatusNotFound}
	problemMethodNotAllowed = &Problem{Type: "/problems/method-not-allowed", Title: "This path does not take this method", Status: fiber.StatusMethodNotAllowed}
	problemNotReady         = &Problem{Type: "/problems/not-ready", Title: "Not ready", Status: fiber.StatusServiceUnavailable}
	problemAuditDown        = &Problem{Type: "/problems/audit-unavailable", Title: "Audit trail unavailable: personal data is not served unaudited", Status: fiber.StatusServiceUnavailable, RetryAfter: 2}
	problemRateLimited      = &Problem{Type: "/problems/rate-limited", Title: "Too many requests", Status: fiber.StatusTooManyRequests, Detail: guidance["/problems/rate-limited"]}
	problemMalformedJSON    = &Problem{Type: "/problems/malformed-json", Title: "Request body is not the JSON this route takes", Status: fiber.StatusBadRequest}
	problemMediaType        = &Problem{Type: "/problems/unsupported-media-type", Title: "Send application/json", Status: fiber.StatusUnsupportedMediaType}
	problemInternal         = &Problem{Type: "/problems/internal", Title: "Internal error", Status: fiber.StatusInternalServerError}

	// Tokens (auth.go).
	problemUnauthenticated = &Problem{Type: "/problems/unauthenticated", Title: "A bearer token is required", Status: fiber.StatusUnauthorized}
	problemInvalidToken    = &Problem{Type: "/problems/invalid-token", Title: "The token was refused", Status: fiber.StatusUnauthorized}
	problemWrongAudience   = &Problem{Type: "/problems/wrong-audience", Title: "This token is not for this interface", Status: fiber.StatusForbidden}
	problemNoTokens        = &Problem{Type: "/problems/tokens-unavailable", Title: "Token verification is not configured", Status: fiber.StatusServiceUnavailable}

	// The web page's form (web.go).
	problemCrossSite    = &Problem{Type: "/problems/cross-site", Title: "Cross-site form post", Status: fiber.StatusForbidden}
	problemFormMedia    = &Problem{Type: "/problems/unsupported-media-type", Title: "Send a form", Status: fiber.StatusUnsupportedMediaType}
	problemFormTooLarge = &Problem{Type: "/problems/body-too-large", Title: "Form too large", Status: fiber.StatusRequestEntityTooLarge}

	// Holders and share codes (holder.go, sharecodes.go, accesslog.go).
	problemCodeNotFound = &Problem{Type: "/problems/code-not-found", Title: "No such code", Status: fiber.StatusNotFound,
		Detail: "check the code as the holder gave it; letters are case-insensitive"}
	problemCodeExpired = &Problem{Type: "/problems/code-expired", Title: "This code has expired", Status: fiber.StatusGone,
		Detail: "ask the holder for a new code"}
	problemCodeWithdrawn = &Problem{Type: "/problems/code-withdrawn", Title: "The holder withdrew this code", Status: fiber.StatusGone}
	problemCodesDown     = &Problem{Type: "/problems/codes-unavailable", Title: "Share codes are not available", Status: fiber.StatusServiceUnavailable}
	problemSearchDown    = &Problem{Type: "/problems/access-log-unavailable", Title: "The access log is not available", Status: fiber.StatusServiceUnavailable}
	problemNotYourCert   = &Problem{Type: "/problems/certificate-not-found", Title: "None of your degrees has this certificate number", Status: fiber.StatusNotFound}
	problemTooManyCodes  = &Problem{Type: "/problems/too-many-codes", Title: "You have as many unexpired codes as the policy allows", Status: fiber.StatusConflict}

	// The agency interface (agency.go, agency_sheet.go).
	problemQuotaExhausted = &Problem{Type: "/problems/quota-exhausted", Title: "The organisation's daily quota is used up", Status: fiber.StatusTooManyRequests}
	problemQuotaDown      = &Problem{Type: "/problems/quota-unavailable", Title: "The daily quota cannot be counted: nothing is served uncounted", Status: fiber.StatusServiceUnavailable}
	problemReplayDown     = &Problem{Type: "/problems/replay-check-unavailable", Title: "Token reuse cannot be checked: the batch is refused", Status: fiber.StatusServiceUnavailable}
	problemTokenReplayed  = &Problem{Type: "/problems/token-replayed", Title: "This single-use token was used before", Status: fiber.StatusUnauthorized}
	problemJTIRequired    = &Problem{Type: "/problems/jti-required", Title: "A batch needs a single-use token (with a jti)", Status: fiber.StatusUnauthorized}
	problemBatchTooLarge  = &Problem{Type: "/problems/batch-too-large", Title: "The policy does not allow this", Status: fiber.StatusBadRequest}
	problemAgencyMedia    = &Problem{Type: "/problems/unsupported-media-type", Title: "Send application/json, text/csv, an XLSX workbook or multipart/form-data", Status: fiber.StatusUnsupportedMediaType}

	// Research datasets (datasets.go).
	problemDatasetsOff     = &Problem{Type: "/problems/datasets-unavailable", Title: "Research datasets are not configured here", Status: fiber.StatusServiceUnavailable}
	problemDatasetExpired  = &Problem{Type: "/problems/dataset-expired", Title: "The dataset's term has run out; its files are deleted", Status: fiber.StatusGone}
	problemDatasetNotReady = &Problem{Type: "/problems/dataset-not-ready", Title: "The dataset is not built", Status: fiber.StatusConflict}
	problemDecided         = &Problem{Type: "/problems/dataset-already-decided", Title: "The request is no longer waiting for a decision", Status: fiber.StatusConflict}
	problemSelfDecision    = &Problem{Type: "/problems/self-decision", Title: "A second official must decide this request", Status: fiber.StatusForbidden}

	// The filing workflow (filing.go).
	problemFilingBusy       = &Problem{Type: "/problems/filing-busy", Title: "Too many batches are being read; try again", Status: fiber.StatusServiceUnavailable, RetryAfter: 2}
	problemFilingDown       = &Problem{Type: "/problems/filing-unavailable", Title: "The filing workflow is not available", Status: fiber.StatusServiceUnavailable, RetryAfter: 5}
	problemFilingNotAllowed = &Problem{Type: "/problems/filing-not-allowed", Title: "Your organisation or duty may not do this", Status: fiber.StatusForbidden}
	problemFilingWrongState = &Problem{Type: "/problems/filing-wrong-state", Title: "Not allowed in the record's present state", Status: fiber.StatusConflict}
	problemSubmissionLate   = &Problem{Type: "/problems/submission-late", Title: "The submission deadline has passed", Status: fiber.StatusConflict}
	problemStateChanged     = &Problem{Type: "/problems/state-changed", Title: "Someone else changed these records first", Status: fiber.StatusConflict}
	problemRowsRejected     = &Problem{Type: "/problems/rows-rejected", Title: "Rows of the file were rejected", Status: fiber.StatusUnprocessableEntity}
	problemFilingRefused    = &Problem{Type: "/problems/filing-refused", Title: "The action was refused for some records", Status: fiber.StatusUnprocessableEntity}
	problemUploadOffset     = &Problem{Type: "/problems/upload-offset", Title: "The part is not where the upload stands", Status: fiber.StatusConflict}
	problemNotPDF           = &Problem{Type: "/problems/document-not-pdf", Title: "The resolution document is not a PDF", Status: fiber.StatusUnsupportedMediaType}

	// The transparency log (log.go).
	problemNoCheckpoint    = &Problem{Type: "/problems/no-checkpoint", Title: "The log has signed no checkpoint yet", Status: fiber.StatusNotFound}
	problemLogOff          = &Problem{Type: "/problems/log-unavailable", Title: "The transparency log is not served here", Status: fiber.StatusServiceUnavailable}
	problemReceiptNotFound = &Problem{Type: "/problems/receipt-not-found", Title: "No receipt with this id was issued for this certificate number", Status: fiber.StatusNotFound}
	problemLogRange        = &Problem{Type: "/problems/log-range", Title: "No signed tree has that leaf or size", Status: fiber.StatusBadRequest}

	// Officials (office.go).
	problemAuditSearchDown = &Problem{Type: "/problems/audit-search-unavailable", Title: "The audit trail cannot be searched here", Status: fiber.StatusServiceUnavailable}

	// problemTimeout: the request outlived Deps.RequestTimeout waiting on
	// the store or Redis; trying again later may succeed.
	// problemStoreDown: the registry's store cannot be reached right now.
	problemStoreDown = &Problem{Type: "/problems/registry-unavailable", Title: "The registry cannot be reached; try again", Status: fiber.StatusServiceUnavailable, RetryAfter: 2}

	problemSheetsBusy = &Problem{Type: "/problems/sheets-busy", Title: "Too many spreadsheets are being read; try again", Status: fiber.StatusServiceUnavailable, RetryAfter: 2}

	problemTimeout = &Problem{Type: "/problems/timeout", Title: "The registry did not answer in time; try again", Status: fiber.StatusServiceUnavailable, RetryAfter: 2}
)

// policyProblem is the one translation of a policy refusal into a
// problem: its type names the refusal's reason, status and title say what
// was refused. Errors that are not refusals pass through.
func policyProblem(err error, status int, title string) error {
	var denied *policies.DeniedError
	if !errors.As(err, &denied) {
		return err
	}
	return &Problem{Type: "/problems/" + denied.Code(), Title: title, Status: status,
		Detail: denied.Detail, PolicyVersion: denied.PolicyVersion}
}

// disclosureProblem translates what package disclose answers into the
// problems above; nil stays nil, and anything else is internal.
func disclosureProblem(err error) error {
	if err == nil {
		// Before anything escapes: this is every public answer's path
		// (BenchmarkPublicVerify).
		return nil
	}
	var invalidErr *disclose.InvalidError
	var batch *disclose.BatchError
	var tooMany *disclose.TooManyCodesError
	var outOfPolicy *disclose.OutOfPolicyError
	switch {
	case errors.Is(err, disclose.ErrAuditUnavailable):
		return problemAuditDown
	case errors.Is(err, disclose.ErrCodesUnavailable):
		return problemCodesDown
	case errors.Is(err, disclose.ErrAccessLogUnavailable):
		return problemSearchDown
	case errors.Is(err, disclose.ErrAuditSearchUnavailable):
		return problemAuditSearchDown
	case errors.Is(err, disclose.ErrCodeNotFound):
		return problemCodeNotFound
	case errors.Is(err, registry.ErrCodeExpired):
		return problemCodeExpired
	case errors.Is(err, registry.ErrCodeWithdrawn):
		return problemCodeWithdrawn
	case errors.Is(err, disclose.ErrNotYourCertificate):
		return problemNotYourCert
	case errors.As(err, &tooMany):
		return problemTooManyCodes.with(tooMany.Error())
	case errors.As(err, &outOfPolicy):
		// The holder's choice is out of the policy's range: a bad
		// request, answered with the bounds to choose within.
		return policyProblem(outOfPolicy.Denied, fiber.StatusBadRequest, "The code's level or validity is outside the policy")
	case errors.Is(err, disclose.ErrNoIdentity):
		return problemInvalidToken.with("missing_claim")
	case errors.As(err, &invalidErr):
		return invalid(invalidErr.Fields)
	case errors.As(err, &batch):
		return policyProblem(batch.Denied, fiber.StatusBadRequest, "The policy does not allow this")
	}
	return err
}

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
// Types are made absolute on base(c): the public URL when one is
// configured, else the address the request named.
func problemHandler(log *slog.Logger, publicURL string, base func(*fiber.Ctx) string) fiber.ErrorHandler {
	// A flood is answered with this one body over and over: encode it
	// once, when the address is known in advance.
	var rateLimited []byte
	if publicURL != "" {
		p := *problemRateLimited
		p.Type = problemTypeURI(publicURL, p.Type)
		rateLimited, _ = json.Marshal(&p)
	}
	return func(c *fiber.Ctx, err error) error {
		if err == problemRateLimited && rateLimited != nil {
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
		case errors.Is(err, registry.ErrUnavailable):
			log.Warn("registry store unavailable", "route", c.Route().Path, "err", err)
			p = problemStoreDown
		default:
			log.Error("internal error", "route", c.Route().Path, "err", err)
			p = problemInternal
		}
		if p.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(p.RetryAfter))
		}
		answer := *p
		answer.Instance = problemInstance(c)
		if answer.Detail == "" && answer.Status < 500 {
			answer.Detail = guidance[answer.Type]
		}
		answer.Type = problemTypeURI(base(c), answer.Type)
		return c.Status(p.Status).JSON(&answer, mimeProblem)
	}
}

// problemInstance names where a problem occurred: the matched route's
// pattern ("/v1/verify/:code"), so that the answer does not echo what
// the caller put in the path — a share code someone else holds and one
// that does not exist must get the same body — or, for a path no route
// has, the path itself; never the query.
func problemInstance(c *fiber.Ctx) string {
	if unmatched, _ := c.Locals(unmatchedKey{}).(bool); unmatched {
		return c.Path()
	}
	return c.Route().Path
}
