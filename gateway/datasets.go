package gateway

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/datasets"
	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// Research datasets (Art. 23–24). Contractors list and download their
// own datasets; officials request them and a second official approves or
// rejects. The lifecycle itself is datasets.Service's: these handlers
// limit, ask the policy and translate; the service audits.

// ContractorDatasets is what the contractor routes may ask of the
// dataset service: the calling contractor's own datasets, never another's
// (an id of someone else's is registry.ErrNotFound).
type ContractorDatasets interface {
	ContractorDatasets(ctx context.Context, contractor string) ([]registry.Dataset, error)
	ContractorDataset(ctx context.Context, id, contractor string) (registry.Dataset, error)
	OpenDownload(ctx context.Context, id string, who datasets.Downloader, format string) (*datasets.Download, error)
}

// OfficeDatasets is what the officials' routes may ask of it: any
// dataset, a request, a decision.
type OfficeDatasets interface {
	Datasets(ctx context.Context, q registry.DatasetQuery) ([]registry.Dataset, error)
	Dataset(ctx context.Context, id string) (registry.Dataset, error)
	Request(ctx context.Context, r datasets.Request) (registry.Dataset, error)
	Decide(ctx context.Context, dec datasets.Decision) (registry.Dataset, error)
}

// DatasetService is the dataset lifecycle the gateway is given
// (*datasets.Service); each route sees only its audience's half.
type DatasetService interface {
	ContractorDatasets
	OfficeDatasets
}

var _ DatasetService = (*datasets.Service)(nil)

// datasetView is a dataset as its contractor sees it: never the key, the
// officials or the filters' reasons.
type datasetView struct {
	ID         string   `json:"id"`
	Status     string   `json:"status"`
	Purpose    string   `json:"purpose"`
	LegalBasis string   `json:"legal_basis"`
	Fields     []string `json:"fields"`
	K          int      `json:"k"`
	Requested  string   `json:"requested_at"`
	Built      string   `json:"built_at,omitempty"`
	Expires    string   `json:"expires_at,omitempty"`
	RowsOut    *int64   `json:"rows,omitempty"`
	AchievedK  *int64   `json:"achieved_k,omitempty"`
	// Formats can be downloaded now: csv and parquet while ready and not
	// expired, none otherwise.
	Formats  []string        `json:"formats"`
	Manifest json.RawMessage `json:"manifest,omitempty"`
}

// officeDatasetView adds what officials need to decide and account.
type officeDatasetView struct {
	datasetView
	Contractor    string               `json:"contractor"`
	PolicyVersion string               `json:"policy_version_requested"`
	Spec          datasetRequestFilter `json:"filters"`
	Sensitive     string               `json:"sensitive,omitempty"`
	L             int                  `json:"l,omitempty"`
	Suppression   float64              `json:"max_suppression"`
	Method        string               `json:"method"`
	TermDays      float64              `json:"term_days"`
	RequestedBy   string               `json:"requested_by"`
	DecidedBy     string               `json:"decided_by,omitempty"`
	Decided       string               `json:"decided_at,omitempty"`
	Note          string               `json:"decision_note,omitempty"`
	Failure       string               `json:"failure,omitempty"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// officialsInManifest are the manifest's keys naming officials: an
// office reads them, a contractor does not.
var officialsInManifest = []string{"requested_by", "approved_by"}

// contractorManifest is the manifest without the officials who asked for
// and approved the dataset.
func contractorManifest(m json.RawMessage) json.RawMessage {
	var fields map[string]json.RawMessage
	if json.Unmarshal(m, &fields) != nil {
		return nil
	}
	for _, k := range officialsInManifest {
		delete(fields, k)
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return nil
	}
	return out
}

// viewDataset is a dataset as its contractor sees it; withManifest adds
// the manifest without the officials' names.
func (s *Server) viewDataset(d registry.Dataset, withManifest bool) datasetView {
	v := datasetView{
		ID: d.ID, Status: string(d.Status), Purpose: d.Purpose, LegalBasis: d.LegalBasis, Fields: d.Spec.Fields, K: d.Spec.K,
		Requested: rfc3339(d.RequestedAt), Built: rfc3339(d.BuiltAt), Expires: rfc3339(d.ExpiresAt), Formats: []string{},
	}
	if d.Status == registry.DatasetReady {
		if d.Expired(s.deps.Now()) {
			v.Status = "expired"
		} else {
			v.Formats = []string{"csv", "parquet"}
		}
	}
	if len(d.Manifest) > 0 {
		var m struct {
			RowsOut   int64 `json:"rows_out"`
			AchievedK int64 `json:"achieved_k"`
		}
		if json.Unmarshal(d.Manifest, &m) == nil {
			v.RowsOut, v.AchievedK = &m.RowsOut, &m.AchievedK
		}
		if withManifest {
			v.Manifest = contractorManifest(d.Manifest)
		}
	}
	return v
}

func (s *Server) viewOfficeDataset(d registry.Dataset, withManifest bool) officeDatasetView {
	v := s.viewDataset(d, false)
	if withManifest && len(d.Manifest) > 0 {
		v.Manifest = json.RawMessage(d.Manifest)
	}
	return officeDatasetView{
		datasetView: v, Contractor: d.Contractor, PolicyVersion: d.PolicyVersion,
		Spec: datasetRequestFilter{
			ConferralYearFrom: d.Spec.ConferralYearFrom, ConferralYearTo: d.Spec.ConferralYearTo,
			Levels: nonNil(d.Spec.Levels), Regions: nonNil(d.Spec.Regions),
		},
		Sensitive: d.Spec.Sensitive, L: d.Spec.L, Suppression: d.Spec.MaxSuppression, Method: d.Spec.Method,
		TermDays:    d.Spec.Term.Hours() / 24,
		RequestedBy: d.RequestedBy, DecidedBy: d.DecidedBy, Decided: rfc3339(d.DecidedAt), Note: d.DecisionNote, Failure: d.Failure,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// datasetsOn returns the service, or the 503 that says there is none.
func (s *Server) datasetsOn() (DatasetService, error) {
	if s.deps.Datasets == nil {
		return nil, problemDatasetsOff
	}
	return s.deps.Datasets, nil
}

// contractorCall is the common start of the contractor routes.
func (s *Server) contractorCall(c *fiber.Ctx) (ContractorDatasets, policies.Decision, error) {
	svc, err := s.datasetsOn()
	if err != nil {
		return nil, policies.Decision{}, err
	}
	d, err := s.decide(c, policies.ScopeDatasetRead, "", "")
	return svc, d, err
}

func (s *Server) handleDatasetList() fiber.Handler {
	return func(c *fiber.Ctx) error {
		svc, _, err := s.contractorCall(c)
		if err != nil {
			return err
		}
		ds, err := svc.ContractorDatasets(c.UserContext(), principal(c).Org)
		if err != nil {
			return fmt.Errorf("list datasets: %w", err)
		}
		out := make([]datasetView, 0, len(ds))
		for _, d := range ds {
			out = append(out, s.viewDataset(d, false))
		}
		return c.JSON(fiber.Map{"datasets": out})
	}
}

func (s *Server) handleDatasetGet() fiber.Handler {
	return func(c *fiber.Ctx) error {
		svc, _, err := s.contractorCall(c)
		if err != nil {
			return err
		}
		d, err := svc.ContractorDataset(c.UserContext(), c.Params("id"), principal(c).Org)
		if err != nil {
			return datasetError(err)
		}
		return c.JSON(s.viewDataset(d, true))
	}
}

func (s *Server) handleDatasetData() fiber.Handler {
	return func(c *fiber.Ctx) error {
		svc, dec, err := s.contractorCall(c)
		if err != nil {
			return err
		}
		p := principal(c)
		format := c.Query("format", "csv")
		// The service puts the download on the trail before it opens.
		dl, err := svc.OpenDownload(c.UserContext(), c.Params("id"),
			datasets.Downloader{Org: p.Org, Subject: p.Subject, PolicyVersion: dec.PolicyVersion}, format)
		if err != nil {
			return datasetError(err)
		}
		d := dl.Dataset
		st, err := dl.File.Stat()
		if err != nil {
			dl.File.Close()
			return fmt.Errorf("dataset download: %w", err)
		}
		ctype, ext := "text/csv; charset=utf-8", "csv"
		if format == "parquet" {
			ctype, ext = "application/vnd.apache.parquet", "parquet"
		}
		c.Set(fiber.HeaderContentType, ctype)
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.%s"`, d.ID, ext))
		c.Set(fiber.HeaderCacheControl, "no-store")
		if sum, err := hex.DecodeString(dl.Info.SHA256); err == nil && len(sum) == 32 {
			c.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
		}
		// fasthttp closes the body (and so the file) once it is sent.
		var body io.Reader = dl.File
		if conn := c.Context().Conn(); conn != nil {
			body = newProgressBody(dl.File, conn, s.app.Server().WriteTimeout, st.Size(), time.Now)
		}
		return c.SendStream(body, int(st.Size()))
	}
}

// A dataset file may take longer to send than the server's WriteTimeout
// allows: fasthttp sets one write deadline, WriteTimeout from the moment
// it starts the response, and copies the whole body under it, so 200 MB
// to a contractor on a 2 MB/s link would be cut off after 10 s. The
// download alone therefore replaces it with a progress timeout: before
// each chunk goes to the connection, the write deadline moves to
// downloadStall from now, so a client that stops reading is cut off
// after that long, and never past downloadBudget, so that one reading at
// a trickle cannot hold the connection for days. Every other route keeps
// the plain WriteTimeout.

// downloadStall is how long a chunk's write may block. Not WriteTimeout
// itself: the kernel wakes a blocked writer only once a good part of the
// send buffer (up to 4 MiB on Linux) has drained, which takes a client
// at downloadMinRate some 20 s; six WriteTimeouts (a minute by default)
// leave room for that.
func downloadStall(writeTimeout time.Duration) time.Duration { return 6 * writeTimeout }

// downloadMinRate is the slowest average rate a download may take, in
// bytes per second: 100 MB get about 27 minutes.
const downloadMinRate = 64 << 10

// downloadBudget is how long a download of size bytes may take in all.
func downloadBudget(writeTimeout time.Duration, size int64) time.Duration {
	return downloadStall(writeTimeout) + time.Duration(size/downloadMinRate)*time.Second
}

// writeDeadliner is the part of the connection a progressBody moves.
type writeDeadliner interface{ SetWriteDeadline(time.Time) error }

// progressBody reads a file for fasthttp and moves the connection's write
// deadline forward as it goes. It does not embed the file: the file's
// WriteTo (sendfile) would bypass Read and with it the deadline.
type progressBody struct {
	f     *os.File
	conn  writeDeadliner
	every time.Duration // downloadStall
	end   time.Time     // the whole download's deadline
	now   func() time.Time
}

func newProgressBody(f *os.File, conn writeDeadliner, writeTimeout time.Duration, size int64, now func() time.Time) io.ReadCloser {
	if writeTimeout <= 0 {
		return f // no write deadline to outlast
	}
	return &progressBody{f: f, conn: conn, every: downloadStall(writeTimeout), end: now().Add(downloadBudget(writeTimeout, size)), now: now}
}

func (p *progressBody) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if n > 0 {
		deadline := p.now().Add(p.every)
		if deadline.After(p.end) {
			deadline = p.end
		}
		if derr := p.conn.SetWriteDeadline(deadline); derr != nil {
			return n, fmt.Errorf("dataset download: extend write deadline: %w", derr)
		}
	}
	return n, err
}

func (p *progressBody) Close() error { return p.f.Close() }

// datasetError maps the service's errors to problems.
func datasetError(err error) error {
	var req *datasets.RequestError
	var denied *policies.DeniedError
	var inv *registry.InvalidError
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return errNotFound
	case errors.Is(err, datasets.ErrUnaudited):
		return problemAuditDown
	case errors.Is(err, datasets.ErrExpired):
		return problemDatasetExpired
	case errors.Is(err, datasets.ErrNotReady):
		return problemDatasetNotReady
	case errors.Is(err, datasets.ErrSelfDecision):
		return problemSelfDecision
	case errors.Is(err, registry.ErrDatasetTransition):
		return problemDecided
	case errors.As(err, &req):
		return invalid(map[string]string{req.Field: req.Reason})
	case errors.As(err, &denied):
		return policyProblem(err, fiber.StatusForbidden, "The policy does not allow this dataset")
	case errors.As(err, &inv):
		errs := map[string]string{}
		for _, v := range inv.Violations {
			errs[v.Field] = v.Message
		}
		return invalid(errs)
	}
	return err
}

// officeCall is the common start of the officials' dataset routes.
func (s *Server) officeCall(c *fiber.Ctx) (OfficeDatasets, error) {
	return s.datasetsOn()
}

// officeDecide asks the policy about the first of scopes it grants for
// a dataset purpose: dataset scopes are decided per purpose.
func (s *Server) officeDecide(c *fiber.Ctx, purpose string, scopes ...policies.Scope) (policies.Decision, error) {
	var (
		d   policies.Decision
		err error
	)
	for _, scope := range scopes {
		if d, err = s.decide(c, scope, purpose, ""); err == nil {
			break
		}
	}
	return d, err
}

// anyDatasetPurpose stands for the policy's dataset purposes where a call
// spans them (a list): the scope must be granted for one of them.
func (s *Server) anyDatasetPurpose() string {
	if ps := s.deps.Policy.Dataset().Purposes; len(ps) > 0 {
		return ps[0]
	}
	return ""
}

func (s *Server) handleOfficeDatasetList() fiber.Handler {
	return func(c *fiber.Ctx) error {
		svc, err := s.officeCall(c)
		if err != nil {
			return err
		}
		if _, err := s.officeDecide(c, s.anyDatasetPurpose(), policies.ScopeDatasetApprove, policies.ScopeDatasetRequest); err != nil {
			return err
		}
		q := registry.DatasetQuery{Contractor: c.Query("contractor")}
		if st := c.Query("status"); st != "" {
			if !registry.DatasetStatus(st).Known() {
				return invalid(map[string]string{"status": "not a dataset status"})
			}
			q.Statuses = []registry.DatasetStatus{registry.DatasetStatus(st)}
		}
		ds, err := svc.Datasets(c.UserContext(), q)
		if err != nil {
			return fmt.Errorf("list datasets: %w", err)
		}
		out := make([]officeDatasetView, 0, len(ds))
		for _, d := range ds {
			out = append(out, s.viewOfficeDataset(d, false))
		}
		return c.JSON(fiber.Map{"datasets": out})
	}
}

func (s *Server) handleOfficeDatasetGet() fiber.Handler {
	return func(c *fiber.Ctx) error {
		svc, err := s.officeCall(c)
		if err != nil {
			return err
		}
		id := c.Params("id")
		if !registry.ValidDatasetID(id) {
			return errNotFound
		}
		d, err := svc.Dataset(c.UserContext(), id)
		if err != nil {
			return datasetError(err)
		}
		if _, err := s.officeDecide(c, d.Purpose, policies.ScopeDatasetApprove, policies.ScopeDatasetRequest); err != nil {
			return err
		}
		return c.JSON(s.viewOfficeDataset(d, true))
	}
}

// datasetRequestFilter selects the records of a dataset.
type datasetRequestFilter struct {
	ConferralYearFrom int      `json:"conferral_year_from,omitempty"`
	ConferralYearTo   int      `json:"conferral_year_to,omitempty"`
	Levels            []string `json:"levels"`
	Regions           []string `json:"regions"`
}

type datasetRequestBody struct {
	Contractor     string               `json:"contractor"`
	Purpose        string               `json:"purpose"`
	Fields         []string             `json:"fields"`
	Filters        datasetRequestFilter `json:"filters"`
	K              int                  `json:"k"`
	Sensitive      string               `json:"sensitive"`
	L              int                  `json:"l"`
	MaxSuppression *float64             `json:"max_suppression"`
	TermDays       int                  `json:"term_days"`
	Method         string               `json:"method"`
}

// maxListItems bounds the lists of a request body.
const maxListItems = 64

func (b *datasetRequestBody) check() map[string]string {
	errs := map[string]string{}
	for name, v := range map[string]string{"contractor": b.Contractor, "purpose": b.Purpose} {
		if why := disclose.CheckText(v, 128); why != "" {
			errs[name] = why
		}
	}
	for name, list := range map[string][]string{"fields": b.Fields, "filters.levels": b.Filters.Levels, "filters.regions": b.Filters.Regions} {
		if len(list) > maxListItems {
			errs[name] = fmt.Sprintf("more than %d items", maxListItems)
			continue
		}
		for _, v := range list {
			if why := disclose.CheckText(v, 64); why != "" {
				errs[name] = "an item is " + why
			}
		}
	}
	if len(b.Fields) == 0 {
		errs["fields"] = "required"
	}
	switch {
	case b.TermDays <= 0:
		errs["term_days"] = "required: a positive number of days"
	case b.TermDays > 3650:
		errs["term_days"] = "more than ten years"
	}
	if b.MaxSuppression != nil && (math.IsNaN(*b.MaxSuppression) || *b.MaxSuppression < 0 || *b.MaxSuppression >= 1) {
		errs["max_suppression"] = "want a share in [0, 1)"
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (s *Server) handleDatasetRequest() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var body datasetRequestBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		if errs := body.check(); errs != nil {
			return invalid(errs)
		}
		// The purpose is the dataset's, declared by the requesting
		// official: the policy decides the scope for it.
		svc, err := s.officeCall(c)
		if err != nil {
			return err
		}
		if _, err := s.officeDecide(c, body.Purpose, policies.ScopeDatasetRequest); err != nil {
			return err
		}
		suppression := s.deps.Policy.Dataset().MaxSuppression
		if body.MaxSuppression != nil {
			suppression = *body.MaxSuppression
		}
		p := principal(c)
		d, err := svc.Request(c.UserContext(), datasets.Request{
			Contractor: strings.Clone(body.Contractor), Purpose: strings.Clone(body.Purpose),
			Spec: registry.DatasetSpec{
				Fields: cloneAll(body.Fields), ConferralYearFrom: body.Filters.ConferralYearFrom, ConferralYearTo: body.Filters.ConferralYearTo,
				Levels: cloneAll(body.Filters.Levels), Regions: cloneAll(body.Filters.Regions),
				K: body.K, Sensitive: strings.Clone(body.Sensitive), L: body.L, MaxSuppression: suppression,
				Method: strings.Clone(body.Method), Term: time.Duration(body.TermDays) * 24 * time.Hour,
			},
			Official: datasets.OfficialID(p.Issuer, p.Subject), Actor: "org:" + p.Org + "/sub:" + p.Subject,
		})
		if err != nil {
			return datasetError(err)
		}
		c.Location("/v1/office/datasets/" + d.ID)
		return c.Status(fiber.StatusCreated).JSON(s.viewOfficeDataset(d, false))
	}
}

func cloneAll(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = strings.Clone(v)
	}
	return out
}

type decisionBody struct {
	Note string `json:"note"`
}

func (s *Server) handleDatasetDecision(approve bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		svc, err := s.officeCall(c)
		if err != nil {
			return err
		}
		var body decisionBody
		if len(c.Body()) > 0 {
			if err := decodeJSON(c, &body); err != nil {
				return err
			}
		}
		if body.Note != "" {
			if why := disclose.CheckText(body.Note, 500); why != "" {
				return invalid(map[string]string{"note": why})
			}
		}
		id := c.Params("id")
		if !registry.ValidDatasetID(id) {
			return errNotFound
		}
		cur, err := svc.Dataset(c.UserContext(), id)
		if err != nil {
			return datasetError(err)
		}
		if _, err := s.officeDecide(c, cur.Purpose, policies.ScopeDatasetApprove); err != nil {
			return err
		}
		p := principal(c)
		d, err := svc.Decide(c.UserContext(), datasets.Decision{
			ID: strings.Clone(id), Official: datasets.OfficialID(p.Issuer, p.Subject), Actor: "org:" + p.Org + "/sub:" + p.Subject,
			Approve: approve, Note: strings.Clone(body.Note),
		})
		if err != nil {
			return datasetError(err)
		}
		return c.JSON(s.viewOfficeDataset(d, false))
	}
}
