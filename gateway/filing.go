package gateway

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/filing"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordfile"
)

// The filing workflow (Art. 11–19) under /v1/filing/: staff of units,
// provinces and the national office, each with an office token whose org
// says which (unit:<code>, province:<code>, national) and whose scopes,
// as the policy grants them to that org, say what they may do. The desk
// decides and records; these handlers translate.

// FilingDesk is the filing workflow (*filing.Desk).
type FilingDesk interface {
	StartUpload(ctx context.Context, a filing.Actor, kind, format string, size int64) (filing.Staged, error)
	AppendUpload(ctx context.Context, a filing.Actor, id string, offset int64, part []byte) (filing.Staged, error)
	Upload(ctx context.Context, a filing.Actor, id string) (filing.Staged, error)
	FromUploads(ctx context.Context, a filing.Actor, number string, effective registry.Date, resolutionID, recordsID string) (filing.Batch, error)
	Batch(ctx context.Context, a filing.Actor, id string) (filing.Batch, []filing.Item, error)
	Document(ctx context.Context, a filing.Actor, batchID string) ([]byte, error)
	Act(ctx context.Context, a filing.Actor, batchID string, act filing.Action, numbers []string, reason string) ([]filing.Moved, error)
	Correct(ctx context.Context, a filing.Actor, batchID string, row recordfile.Row) error
	ApplyLate(ctx context.Context, a filing.Actor, batchID, reason string) error
	DecideLate(ctx context.Context, a filing.Actor, batchID string, approve bool, reason string) error
	Queue(ctx context.Context, a filing.Actor, q filing.Query) ([]filing.Queued, error)
	UploadContent(ctx context.Context, a filing.Actor, id, kind string) ([]byte, string, error)
	RequestChange(ctx context.Context, a filing.Actor, number string, row recordfile.Row, evidence []byte, reason string) (filing.Request, error)
	ReportRevocation(ctx context.Context, a filing.Actor, number string, rev registry.Revocation, evidence []byte, reason string) (filing.Request, error)
	RequestDeletion(ctx context.Context, a filing.Actor, number string, evidence []byte, reason string) (filing.Request, error)
	Request(ctx context.Context, a filing.Actor, id string) (filing.Request, error)
	Requests(ctx context.Context, a filing.Actor, q filing.Query) ([]filing.Request, error)
	DecideRequest(ctx context.Context, a filing.Actor, id string, act filing.Action, reason string) (filing.Request, error)
	Overdue(ctx context.Context, a filing.Actor, q filing.Query) ([]filing.OverdueCount, error)
}

// filingScopes are the workflow's scopes, in the order they are tried
// where any of them will do.
var filingScopes = []policies.Scope{policies.ScopeFilingCollect, policies.ScopeFilingCheck,
	policies.ScopeFilingReview, policies.ScopeFilingConsent}

// filingActor is the caller as the desk sees it, once the policy grants
// one of scopes (any filing scope when none is named): who (issuer and
// subject), for which organisation, and, at a unit, with which duties —
// the unit scopes the policy grants this caller.
func (s *Server) filingActor(c *fiber.Ctx, scopes ...policies.Scope) (filing.Actor, FilingDesk, error) {
	if s.deps.Filing == nil {
		return filing.Actor{}, nil, problemFilingDown
	}
	if len(scopes) == 0 {
		scopes = filingScopes
	}
	var err error
	for _, sc := range scopes {
		if _, err = s.decide(c, sc, "", ""); err == nil {
			break
		}
	}
	if err != nil {
		return filing.Actor{}, nil, err
	}
	p := principal(c)
	a := filing.Actor{Issuer: strings.Clone(p.Issuer), Subject: strings.Clone(p.Subject)}
	kind, code, _ := strings.Cut(p.Org, ":")
	switch {
	case kind == "unit":
		a.Kind, a.Code = filing.Unit, strings.Clone(code)
	case kind == "province":
		a.Kind, a.Code = filing.Province, strings.Clone(code)
	case p.Org == "national":
		a.Kind = filing.National
	default:
		return filing.Actor{}, nil, problemFilingNotAllowed.with("the token's organisation is no unit, province or the national office")
	}
	for _, d := range []struct {
		scope policies.Scope
		duty  filing.Duty
	}{{policies.ScopeFilingCollect, filing.Collector}, {policies.ScopeFilingCheck, filing.Checker}} {
		if _, err := s.deps.Policy.Decide(policies.Request{Audience: policies.Audience(p.Audience), Scope: d.scope,
			Granted: p.Scopes.All(), Org: p.Org}); err == nil {
			a.Duties = append(a.Duties, d.duty)
		}
	}
	return a, s.deps.Filing, nil
}

// Views: what the API shows of the workflow. Records appear by
// certificate number and state; their contents stay in the desk.

type uploadView struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Format   string `json:"format"`
	Size     int64  `json:"size"`
	Received int64  `json:"received"`
}

func viewUpload(u filing.Staged) uploadView {
	return uploadView{ID: u.ID, Kind: u.Kind, Format: u.Format, Size: u.Size, Received: u.Received}
}

type lateView struct {
	State     string     `json:"state"`
	Reason    string     `json:"reason,omitempty"`
	AppliedBy string     `json:"applied_by,omitempty"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	Decision  string     `json:"decision,omitempty"`
}

type filingRecordView struct {
	CertificateNumber string     `json:"certificate_number"`
	BatchID           string     `json:"batch,omitempty"`
	UnitCode          string     `json:"unit_code,omitempty"`
	State             string     `json:"state"`
	Since             time.Time  `json:"since"`
	Actor             string     `json:"actor"`
	Reason            string     `json:"reason,omitempty"`
	Due               *time.Time `json:"due,omitempty"`
	Overdue           bool       `json:"overdue,omitempty"`
}

type batchView struct {
	ID         string    `json:"id"`
	Unit       string    `json:"unit"`
	Province   string    `json:"province"`
	Collector  string    `json:"collector"`
	Created    time.Time `json:"created"`
	Resolution struct {
		Number    string `json:"number"`
		Effective string `json:"effective"`
		SHA256    string `json:"sha256"`
		Size      int64  `json:"size"`
		Due       string `json:"submission_due"`
	} `json:"resolution"`
	Late    lateView           `json:"late_application"`
	Records []filingRecordView `json:"records,omitempty"`
	Counts  map[string]int     `json:"counts"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func viewBatch(b filing.Batch, items []filing.Item) batchView {
	v := batchView{ID: b.ID, Unit: b.Unit, Province: b.Province, Collector: b.Collector, Created: b.Created,
		Counts: map[string]int{}}
	v.Resolution.Number, v.Resolution.Effective = b.Resolution.Number, b.Resolution.Effective.String()
	v.Resolution.SHA256 = base64.StdEncoding.EncodeToString(b.Resolution.SHA256[:])
	v.Resolution.Size = b.Resolution.Size
	v.Resolution.Due = b.Resolution.Effective.Time().Add(filing.SubmitWithin).Format(time.DateOnly)
	v.Late = lateView{State: string(b.Late.State), Reason: b.Late.Reason, AppliedBy: b.Late.AppliedBy,
		AppliedAt: optTime(b.Late.AppliedAt), DecidedBy: b.Late.DecidedBy, DecidedAt: optTime(b.Late.DecidedAt), Decision: b.Late.Decision}
	if v.Late.State == "" {
		v.Late.State = "none"
	}
	for _, it := range items {
		v.Records = append(v.Records, filingRecordView{CertificateNumber: it.CertificateNumber, State: string(it.State),
			Since: it.Since, Actor: it.Actor, Reason: it.Reason})
		v.Counts[string(it.State)]++
	}
	return v
}

// Handlers.

func (s *Server) handleFilingStartUpload() fiber.Handler {
	type body struct {
		Kind   string `json:"kind"`
		Format string `json:"format"`
		Size   int64  `json:"size"`
	}
	return func(c *fiber.Ctx) error {
		var b body
		if err := decodeJSON(c, &b); err != nil {
			return err
		}
		a, desk, err := s.filingActor(c, policies.ScopeFilingCollect)
		if err != nil {
			return err
		}
		u, err := desk.StartUpload(c.UserContext(), a, strings.Clone(b.Kind), strings.Clone(b.Format), b.Size)
		if err != nil {
			return filingProblem(err)
		}
		c.Location("/v1/filing/uploads/" + u.ID)
		c.Set(headerUploadOffset, "0")
		return c.Status(fiber.StatusCreated).JSON(viewUpload(u))
	}
}

// headerUploadOffset is where a part of a staged upload goes, and how
// much has arrived (as in the tus protocol, whose PATCH it follows).
const headerUploadOffset = "Upload-Offset"

func (s *Server) handleFilingUploadPart() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if ct := string(c.Request().Header.ContentType()); ct != "application/offset+octet-stream" {
			return problemMediaType.with("send the part as application/offset+octet-stream")
		}
		offset, err := strconv.ParseInt(c.Get(headerUploadOffset), 10, 64)
		if err != nil || offset < 0 {
			return invalid(map[string]string{headerUploadOffset: "the header gives the part's offset, a whole number of bytes"})
		}
		if len(c.Body()) == 0 {
			return invalid(map[string]string{"body": "a part holds at least one byte"})
		}
		a, desk, err := s.filingActor(c, policies.ScopeFilingCollect)
		if err != nil {
			return err
		}
		u, err := desk.AppendUpload(c.UserContext(), a, strings.Clone(c.Params("id")), offset, bytes.Clone(c.Body()))
		if err != nil {
			if errors.Is(err, filing.ErrOffset) {
				if cur, err := desk.Upload(c.UserContext(), a, strings.Clone(c.Params("id"))); err == nil {
					c.Set(headerUploadOffset, strconv.FormatInt(cur.Received, 10))
				}
			}
			return filingProblem(err)
		}
		c.Set(headerUploadOffset, strconv.FormatInt(u.Received, 10))
		return c.JSON(viewUpload(u))
	}
}

func (s *Server) handleFilingUpload() fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, desk, err := s.filingActor(c, policies.ScopeFilingCollect)
		if err != nil {
			return err
		}
		u, err := desk.Upload(c.UserContext(), a, strings.Clone(c.Params("id")))
		if err != nil {
			return filingProblem(err)
		}
		c.Set(headerUploadOffset, strconv.FormatInt(u.Received, 10))
		return c.JSON(viewUpload(u))
	}
}

func (s *Server) handleFilingNewBatch() fiber.Handler {
	type body struct {
		ResolutionNumber    string `json:"resolution_number"`
		ResolutionEffective string `json:"resolution_effective"`
		ResolutionUpload    string `json:"resolution_upload"`
		RecordsUpload       string `json:"records_upload"`
	}
	return func(c *fiber.Ctx) error {
		var b body
		if err := decodeJSON(c, &b); err != nil {
			return err
		}
		effective, err := registry.ParseDate(b.ResolutionEffective)
		if err != nil {
			return invalid(map[string]string{"resolution_effective": "the day the resolution took effect, YYYY-MM-DD"})
		}
		a, desk, err := s.filingActor(c, policies.ScopeFilingCollect)
		if err != nil {
			return err
		}
		select {
		case s.batchReads <- struct{}{}:
		case <-c.UserContext().Done():
			return problemFilingBusy
		}
		batch, err := desk.FromUploads(c.UserContext(), a, strings.Clone(b.ResolutionNumber), effective,
			strings.Clone(b.ResolutionUpload), strings.Clone(b.RecordsUpload))
		<-s.batchReads
		if err != nil {
			return filingProblem(err)
		}
		got, items, err := desk.Batch(c.UserContext(), a, batch.ID)
		if err != nil {
			return filingProblem(err)
		}
		c.Location("/v1/filing/batches/" + batch.ID)
		return c.Status(fiber.StatusCreated).JSON(viewBatch(got, items))
	}
}

func (s *Server) handleFilingBatch() fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, desk, err := s.filingActor(c)
		if err != nil {
			return err
		}
		b, items, err := desk.Batch(c.UserContext(), a, strings.Clone(c.Params("id")))
		if err != nil {
			return filingProblem(err)
		}
		return c.JSON(viewBatch(b, items))
	}
}

func (s *Server) handleFilingResolution() fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, desk, err := s.filingActor(c)
		if err != nil {
			return err
		}
		doc, err := desk.Document(c.UserContext(), a, strings.Clone(c.Params("id")))
		if err != nil {
			return filingProblem(err)
		}
		c.Set(fiber.HeaderContentType, "application/pdf")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="resolution.pdf"`)
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Send(doc)
	}
}

// actionScopes are the scopes an action may be taken under.
var actionScopes = map[filing.Action][]policies.Scope{
	filing.ActCheck:    {policies.ScopeFilingCheck},
	filing.ActSubmit:   {policies.ScopeFilingCollect, policies.ScopeFilingCheck},
	filing.ActWithdraw: {policies.ScopeFilingCollect, policies.ScopeFilingCheck},
	filing.ActAccept:   {policies.ScopeFilingReview},
	filing.ActReturn:   {policies.ScopeFilingReview},
}

// maxChosen bounds the certificate numbers one action names: a batch
// holds at most filing.MaxBatch records, and the whole batch is chosen
// by naming none.
const maxChosen = 1000

func (s *Server) handleFilingAction() fiber.Handler {
	type body struct {
		Action             string   `json:"action"`
		CertificateNumbers []string `json:"certificate_numbers"`
		Reason             string   `json:"reason"`
	}
	type moved struct {
		CertificateNumber string `json:"certificate_number"`
		From              string `json:"from"`
		To                string `json:"to"`
		Version           int    `json:"version,omitempty"`
	}
	return func(c *fiber.Ctx) error {
		var b body
		if err := decodeJSON(c, &b); err != nil {
			return err
		}
		act := filing.Action(b.Action)
		scopes, ok := actionScopes[act]
		if !ok {
			return invalid(map[string]string{"action": "one of check, submit, withdraw, accept, return"})
		}
		if len(b.CertificateNumbers) > maxChosen {
			return invalid(map[string]string{"certificate_numbers": "at most " + strconv.Itoa(maxChosen) + "; name none for the whole batch"})
		}
		a, desk, err := s.filingActor(c, scopes...)
		if err != nil {
			return err
		}
		out, err := desk.Act(c.UserContext(), a, strings.Clone(c.Params("id")), act, cloneAll(b.CertificateNumbers), strings.Clone(b.Reason))
		if err != nil {
			return filingProblem(err)
		}
		view := make([]moved, len(out))
		for i, m := range out {
			view[i] = moved{m.CertificateNumber, string(m.From), string(m.To), m.Version}
		}
		return c.JSON(fiber.Map{"moved": view})
	}
}

func (s *Server) handleFilingCorrect() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !bytes.HasPrefix(bytes.TrimSpace(c.Request().Header.ContentType()), []byte(fiber.MIMEApplicationJSON)) {
			return problemMediaType
		}
		row, err := recordRow(c.Body())
		if err != nil {
			return err
		}
		if row.Record.CertificateNumber != c.Params("number") {
			return invalid(map[string]string{"certificate_number": "the record's number is the one in the path"})
		}
		a, desk, err := s.filingActor(c, policies.ScopeFilingCollect)
		if err != nil {
			return err
		}
		if err := desk.Correct(c.UserContext(), a, strings.Clone(c.Params("id")), row); err != nil {
			return filingProblem(err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

func (s *Server) handleFilingApplyLate() fiber.Handler {
	type body struct {
		Reason string `json:"reason"`
	}
	return func(c *fiber.Ctx) error {
		var b body
		if err := decodeJSON(c, &b); err != nil {
			return err
		}
		a, desk, err := s.filingActor(c, policies.ScopeFilingCollect)
		if err != nil {
			return err
		}
		if err := desk.ApplyLate(c.UserContext(), a, strings.Clone(c.Params("id")), strings.Clone(b.Reason)); err != nil {
			return filingProblem(err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

func (s *Server) handleFilingDecideLate() fiber.Handler {
	type body struct {
		Approve *bool  `json:"approve"`
		Reason  string `json:"reason"`
	}
	return func(c *fiber.Ctx) error {
		var b body
		if err := decodeJSON(c, &b); err != nil {
			return err
		}
		if b.Approve == nil {
			return invalid(map[string]string{"approve": "true to approve, false to refuse"})
		}
		a, desk, err := s.filingActor(c, policies.ScopeFilingReview)
		if err != nil {
			return err
		}
		if err := desk.DecideLate(c.UserContext(), a, strings.Clone(c.Params("id")), *b.Approve, strings.Clone(b.Reason)); err != nil {
			return filingProblem(err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// handleFilingQueue lists the records the caller works on: state
// (repeatable), unit, limit, and after (the cursor of the last page's
// next).
func (s *Server) handleFilingQueue() fiber.Handler {
	return func(c *fiber.Ctx) error {
		q, err := parseQueueQuery(c)
		if err != nil {
			return err
		}
		a, desk, err := s.filingActor(c)
		if err != nil {
			return err
		}
		page, err := desk.Queue(c.UserContext(), a, q)
		if err != nil {
			return filingProblem(err)
		}
		out := struct {
			Records []filingRecordView `json:"records"`
			Next    string             `json:"next,omitempty"`
		}{Records: make([]filingRecordView, len(page))}
		for i, it := range page {
			out.Records[i] = filingRecordView{CertificateNumber: it.CertificateNumber, BatchID: it.BatchID,
				UnitCode: it.UnitCode, State: string(it.State), Since: it.Since, Actor: it.Actor, Reason: it.Reason,
				Due: optTime(it.Due), Overdue: it.Overdue}
		}
		if len(page) == cmp.Or(q.Limit, filing.DefaultQueue) {
			last := page[len(page)-1]
			out.Next = queueCursor(last.Since, last.CertificateNumber)
		}
		return c.JSON(out)
	}
}

// parseQueueQuery reads a queue's parameters: state (repeatable), unit,
// limit, and after (the previous page's next).
func parseQueueQuery(c *fiber.Ctx) (filing.Query, error) {
	var q filing.Query
	errs := map[string]string{}
	args := c.Context().QueryArgs()
	for _, v := range args.PeekMulti("state") {
		st := filing.State(v)
		if !isState(st) {
			errs["state"] = "a state of the workflow, e.g. submitted"
			break
		}
		q.States = append(q.States, st)
	}
	q.Unit = string(args.Peek("unit"))
	if v := args.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > filing.MaxQueue {
			errs["limit"] = "1 to " + strconv.Itoa(filing.MaxQueue)
		}
		q.Limit = n
	}
	if v := args.Peek("after"); len(v) > 0 {
		after, ok := parseQueueCursor(string(v))
		if !ok {
			errs["after"] = "the next cursor of the previous page"
		}
		q.After = after
	}
	if len(errs) > 0 {
		return q, invalid(errs)
	}
	return q, nil
}

func isState(s filing.State) bool { return slices.Contains(filing.States(), s) }

// A queue cursor is the last record's moment and number, opaque to
// clients.
func queueCursor(since time.Time, number string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(since.UTC().Format(time.RFC3339Nano) + " " + number))
}

func parseQueueCursor(v string) (*filing.Item, bool) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, false
	}
	at, number, ok := strings.Cut(string(b), " ")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || number == "" || len(number) > 32 {
		return nil, false
	}
	it := &filing.Item{Since: t}
	it.CertificateNumber = number
	return it, true
}

// maxRejections bounds the rejections one answer lists; the count says
// how many there were.
const maxRejections = 1000

// filingProblem translates what the desk answers.
func filingProblem(err error) error {
	var rows *filing.RowsRejectedError
	var refused *filing.RefusedError
	var fe *filing.Error
	switch {
	case errors.As(err, &rows):
		p := *problemRowsRejected
		p.Detail = strconv.Itoa(len(rows.Rejections)) + " rejections in " + strconv.Itoa(rows.Rows) + " rows; nothing was stored"
		p.Rejections = rows.Rejections[:min(len(rows.Rejections), maxRejections)]
		return &p
	case errors.As(err, &refused):
		p := *problemFilingRefused
		p.Detail = string(refused.Action) + " was refused for " + strconv.Itoa(len(refused.Refusals)) + " records; nothing was done"
		for _, r := range refused.Refusals[:min(len(refused.Refusals), maxRejections)] {
			p.Refusals = append(p.Refusals, refusalView{r.CertificateNumber, string(r.Code), r.Message})
		}
		return &p
	case errors.Is(err, filing.ErrNotFound):
		return errNotFound
	case errors.Is(err, filing.ErrStateChanged), errors.Is(err, filing.ErrInWorkflow), errors.Is(err, registry.ErrVersionConflict):
		return problemStateChanged
	case errors.Is(err, filing.ErrOffset):
		return problemUploadOffset
	case errors.Is(err, filing.ErrPendingRequest):
		p := problemFilingWrongState.with("the record has a request that waits for a decision")
		p.Code = "pending-request"
		return p
	case errors.As(err, &fe):
		return filingCodeProblem(fe)
	}
	return err
}

func filingCodeProblem(fe *filing.Error) *Problem {
	var p *Problem
	switch fe.Code {
	case filing.CodeWrongOrg, filing.CodeWrongDuty, filing.CodeOutOfScope, filing.CodeSamePerson, filing.CodeUnknownUnit:
		p = problemFilingNotAllowed.with(fe.Msg)
	case filing.CodeNotFromState, filing.CodeLateState:
		p = problemFilingWrongState.with(fe.Msg)
	case filing.CodeLate:
		p = problemSubmissionLate.with(fe.Msg)
	case filing.CodeDocumentTooLarge, filing.CodeBatchTooLarge:
		p = &Problem{Type: "/problems/body-too-large", Title: "The file is larger than allowed", Status: fiber.StatusRequestEntityTooLarge, Detail: fe.Msg}
	case filing.CodeNotPDF:
		p = problemNotPDF.with(fe.Msg)
	default:
		field := map[filing.Code]string{filing.CodeReasonRequired: "reason", filing.CodeBadReason: "reason",
			filing.CodeBadResolution: "resolution_number", filing.CodeEmptyBatch: "records_upload",
			filing.CodeNotInBatch: "certificate_numbers", filing.CodeNotABatchAction: "action",
			filing.CodeUnknownAction: "action", filing.CodeBadUpload: "upload", filing.CodeNoChange: "record"}[fe.Code]
		if field == "" {
			field = "request"
		}
		p = invalid(map[string]string{field: fe.Msg})
	}
	p.Code = string(fe.Code)
	return p
}

// refusalView is one record an action was refused for.
type refusalView struct {
	CertificateNumber string `json:"certificate_number"`
	Code              string `json:"code"`
	Message           string `json:"message"`
}

// Requests on filed records (Art. 18, 19).

type requestView struct {
	ID                string    `json:"id"`
	Kind              string    `json:"kind"`
	CertificateNumber string    `json:"certificate_number"`
	Unit              string    `json:"unit"`
	Province          string    `json:"province"`
	BaseVersion       int       `json:"base_version"`
	KeyField          bool      `json:"key_field"`
	Changed           []string  `json:"changed"`
	LateReport        bool      `json:"late_report,omitempty"`
	RequestedBy       string    `json:"requested_by"`
	RequestedAt       time.Time `json:"requested_at"`
	Reason            string    `json:"reason"`
	Evidence          struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"evidence"`
	State     string     `json:"state"`
	Since     time.Time  `json:"since"`
	Due       *time.Time `json:"due,omitempty"`
	Outcome   string     `json:"outcome,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	Decision  string     `json:"decision,omitempty"`
}

func viewRequest(r filing.Request) requestView {
	v := requestView{ID: r.ID, Kind: string(r.Kind), CertificateNumber: r.CertificateNumber, Unit: r.Unit, Province: r.Province,
		BaseVersion: r.BaseVersion, KeyField: r.KeyField, Changed: r.Changed, LateReport: r.LateReport(), RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt,
		Reason: r.Reason, State: string(r.State), Since: r.Since, Outcome: string(r.Outcome), DecidedBy: r.DecidedBy,
		DecidedAt: optTime(r.DecidedAt), Decision: r.Decision}
	if v.Changed == nil {
		v.Changed = []string{}
	}
	v.Evidence.SHA256 = base64.StdEncoding.EncodeToString(r.EvidenceSHA256[:])
	v.Evidence.Size = r.EvidenceSize
	if r.Pending() {
		_, due := filing.Overdue(filing.Record{State: r.State, Since: r.Since}, time.Time{})
		v.Due = optTime(due)
	}
	return v
}

func (s *Server) handleFilingNewRequest() fiber.Handler {
	type body struct {
		Kind              string          `json:"kind"`
		CertificateNumber string          `json:"certificate_number"`
		Reason            string          `json:"reason"`
		EvidenceUpload    string          `json:"evidence_upload"`
		Record            json.RawMessage `json:"record"`
		Revocation        *struct {
			On         string `json:"revoked_on"`
			Resolution string `json:"revocation_resolution"`
			Reason     string `json:"revocation_reason"`
		} `json:"revocation"`
	}
	return func(c *fiber.Ctx) error {
		var b body
		if err := decodeJSON(c, &b); err != nil {
			return err
		}
		switch filing.RequestKind(b.Kind) {
		case filing.KindChange:
			if len(b.Record) == 0 || b.Revocation != nil {
				return invalid(map[string]string{"record": "a change gives the record as it should be filed, and no revocation"})
			}
		case filing.KindRevocation:
			if b.Revocation == nil || len(b.Record) != 0 {
				return invalid(map[string]string{"revocation": "a revocation gives its date, resolution and reason, and no record"})
			}
		case filing.KindDeletion:
			if b.Revocation != nil || len(b.Record) != 0 {
				return invalid(map[string]string{"kind": "a deletion gives no record and no revocation"})
			}
		default:
			return invalid(map[string]string{"kind": "change, deletion or revocation"})
		}
		a, desk, err := s.filingActor(c, policies.ScopeFilingCollect)
		if err != nil {
			return err
		}
		ctx := c.UserContext()
		evidence, _, err := desk.UploadContent(ctx, a, strings.Clone(b.EvidenceUpload), filing.StagedResolution)
		if err != nil {
			return filingProblem(err)
		}
		number, reason := strings.Clone(b.CertificateNumber), strings.Clone(b.Reason)
		var r filing.Request
		switch filing.RequestKind(b.Kind) {
		case filing.KindChange:
			row, err := recordRow(b.Record)
			if err != nil {
				return err
			}
			r, err = desk.RequestChange(ctx, a, number, row, evidence, reason)
			if err != nil {
				return filingProblem(err)
			}
		case filing.KindDeletion:
			if r, err = desk.RequestDeletion(ctx, a, number, evidence, reason); err != nil {
				return filingProblem(err)
			}
		default:
			on, err := registry.ParseDate(b.Revocation.On)
			if err != nil {
				return invalid(map[string]string{"revocation.revoked_on": "the day of the revocation, YYYY-MM-DD"})
			}
			r, err = desk.ReportRevocation(ctx, a, number, registry.Revocation{On: on,
				Resolution: strings.Clone(b.Revocation.Resolution), Reason: strings.Clone(b.Revocation.Reason)}, evidence, reason)
			if err != nil {
				return filingProblem(err)
			}
		}
		c.Location("/v1/filing/requests/" + r.ID)
		return c.Status(fiber.StatusCreated).JSON(viewRequest(r))
	}
}

// recordRow reads one record in the JSON of an import file's line.
func recordRow(raw json.RawMessage) (recordfile.Row, error) {
	var line bytes.Buffer
	if err := json.Compact(&line, raw); err != nil {
		return recordfile.Row{}, problemMalformedJSON.with(jsonReason(err))
	}
	rd, err := recordfile.NewReader(&line, recordfile.JSONL, recordfile.Options{})
	if err != nil {
		return recordfile.Row{}, err
	}
	row, err := rd.Next()
	if err != nil {
		return recordfile.Row{}, problemMalformedJSON.with("a record is one JSON object with the fields of an import file")
	}
	return row, nil
}

func (s *Server) handleFilingRequest() fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, desk, err := s.filingActor(c)
		if err != nil {
			return err
		}
		r, err := desk.Request(c.UserContext(), a, strings.Clone(c.Params("id")))
		if err != nil {
			return filingProblem(err)
		}
		return c.JSON(viewRequest(r))
	}
}

// decisionScopes are the scopes a decision on a request is taken under.
var decisionScopes = map[filing.Action]policies.Scope{
	filing.ActApproveChange: policies.ScopeFilingReview, filing.ActRejectChange: policies.ScopeFilingReview,
	filing.ActConfirmRevoke: policies.ScopeFilingReview, filing.ActRejectRevoke: policies.ScopeFilingReview,
	filing.ActApproveDeletion: policies.ScopeFilingReview, filing.ActRejectDeletion: policies.ScopeFilingReview,
	filing.ActConsent: policies.ScopeFilingConsent, filing.ActRefuseConsent: policies.ScopeFilingConsent,
}

func (s *Server) handleFilingDecideRequest() fiber.Handler {
	type body struct {
		Action string `json:"action"`
		Reason string `json:"reason"`
	}
	return func(c *fiber.Ctx) error {
		var b body
		if err := decodeJSON(c, &b); err != nil {
			return err
		}
		act := filing.Action(b.Action)
		scope, ok := decisionScopes[act]
		if !ok {
			return invalid(map[string]string{"action": "one of approve_change, reject_change, consent, refuse_consent, approve_deletion, reject_deletion, confirm_revocation, reject_revocation"})
		}
		a, desk, err := s.filingActor(c, scope)
		if err != nil {
			return err
		}
		r, err := desk.DecideRequest(c.UserContext(), a, strings.Clone(c.Params("id")), act, strings.Clone(b.Reason))
		if err != nil {
			return filingProblem(err)
		}
		return c.JSON(viewRequest(r))
	}
}

// handleFilingRequests lists the requests the caller works on: state
// (repeatable), unit, limit and after, as the queue.
func (s *Server) handleFilingRequests() fiber.Handler {
	return func(c *fiber.Ctx) error {
		q, err := parseQueueQuery(c)
		if err != nil {
			return err
		}
		a, desk, err := s.filingActor(c)
		if err != nil {
			return err
		}
		page, err := desk.Requests(c.UserContext(), a, q)
		if err != nil {
			return filingProblem(err)
		}
		out := struct {
			Requests []requestView `json:"requests"`
			Next     string        `json:"next,omitempty"`
		}{Requests: make([]requestView, len(page))}
		for i, r := range page {
			out.Requests[i] = viewRequest(r)
		}
		if len(page) == cmp.Or(q.Limit, filing.DefaultQueue) {
			last := page[len(page)-1]
			out.Next = queueCursor(last.Since, last.ID)
		}
		return c.JSON(out)
	}
}

// handleFilingOverdue summarises, by unit and state, what waits past its
// deadline among what the caller oversees (unit narrows a province's).
func (s *Server) handleFilingOverdue() fiber.Handler {
	type count struct {
		Unit      string    `json:"unit_code"`
		State     string    `json:"state"`
		Count     int       `json:"count"`
		OldestDue time.Time `json:"oldest_due"`
	}
	return func(c *fiber.Ctx) error {
		a, desk, err := s.filingActor(c)
		if err != nil {
			return err
		}
		sum, err := desk.Overdue(c.UserContext(), a, filing.Query{Unit: strings.Clone(c.Query("unit"))})
		if err != nil {
			return filingProblem(err)
		}
		out := make([]count, len(sum))
		for i, o := range sum {
			out[i] = count{o.Unit, string(o.State), o.Count, o.OldestDue}
		}
		return c.JSON(fiber.Map{"overdue": out})
	}
}
