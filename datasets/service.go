package datasets

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/degreegate/degreegate/anonymizer"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// Auditor puts entries on the trail and returns once they are stored;
// *registry.AuditWriter and registry.DirectAudit (the command line) are
// Auditors. A step whose entry is refused does not happen.
type Auditor interface {
	Record(context.Context, registry.AuditEntry) error
}

// Errors of the dataset service that callers branch on.
var (
	// ErrSelfDecision: an official tried to approve or reject their own
	// request; a second official must decide (Art. 21, 23).
	ErrSelfDecision = errors.New("nobody decides their own dataset request")
	// ErrExpired: the dataset's term has run out; its files are
	// no longer offered (and are purged).
	ErrExpired = errors.New("dataset expired")
	// ErrNotReady: the dataset is not built (yet, or ever).
	ErrNotReady = errors.New("dataset not ready")
	// ErrNoKeys: the service was given no keyring, so it can
	// neither seal a new dataset's pseudonym key nor open one to build or
	// trace.
	ErrNoKeys = errors.New("dataset pseudonym keys need the keyring (DEGREEGATE_KEYS_DIR)")
)

// RequestError is a request field that is not acceptable; it names the
// field and the rule, never personal data.
type RequestError struct {
	Field  string
	Reason string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Reason }

// Config wires a Service.
type Config struct {
	Store   registry.DatasetStore
	Records registry.Store
	Policy  *policies.Policy
	Audit   Auditor
	// Keys seals each dataset's pseudonym key before it is stored and
	// opens it to build or trace, so the database alone never yields it.
	// Without it, requests, builds and traces fail with ErrNoKeys.
	Keys *registry.Keyring
	// Dir holds one folder per built dataset, named by its id.
	Dir    string
	Now    func() time.Time
	Logger *slog.Logger
}

// Service runs the dataset lifecycle of Art. 23–24: request, decision by
// a second official, build, download, expiry and purge, each step on the
// audit trail. The gateway's office and contractor routes and the
// `degreegate dataset` verbs share it.
type Service struct {
	cfg  Config
	kick chan struct{}
	// building serialises builds in this process: a build takes most of
	// a core and its memory, and builds in other processes are excluded
	// by the store's approved → building claim.
	building sync.Mutex
}

// NewService checks cfg and returns the service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Records == nil || cfg.Policy == nil || cfg.Audit == nil || cfg.Dir == "" {
		return nil, errors.New("dataset service: store, records, policy, audit and folder are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, kick: make(chan struct{}, 1)}, nil
}

// Policy is the policy the service applies.
func (s *Service) Policy() *policies.Policy { return s.cfg.Policy }

// Folder is where the files of dataset id live once built.
func (s *Service) Folder(id string) string { return filepath.Join(s.cfg.Dir, id) }

// Request is what an official asks for.
type Request struct {
	Contractor string
	Purpose    string
	Spec       registry.DatasetSpec
	// Official names the requesting official (OfficialID); Actor is how
	// the trail names the caller.
	Official string
	Actor    string
}

// OfficialID names an official by their token's issuer and subject, as
// "ISS#SUB": a subject is unique only within its issuer (RFC 7519), so
// two identity providers' "official-1" are two people. An issuer has no
// fragment (OpenID Connect Discovery; the trusted-issuers file refuses a
// "#"), so the first "#" splits the two. Requests and decisions compare
// these names exactly, byte for byte: no case folding, no normalisation
// — "Official-1" and "official-1" are different officials, as their
// identity provider says.
func OfficialID(issuer, subject string) string { return issuer + "#" + subject }

// Request checks a request against the policy and the filters, and files
// it for a second official's decision. Refusals are a
// *policies.DeniedError (purpose, fields, k, l, term, suppression) or a
// *RequestError (contractor, filters, method).
func (s *Service) Request(ctx context.Context, r Request) (registry.Dataset, error) {
	p := s.cfg.Policy
	spec := r.Spec
	spec.Fields = append([]string(nil), spec.Fields...)
	if spec.Method == "" {
		spec.Method = string(anonymizer.Global)
	}
	var sensitive []string
	if spec.Sensitive != "" {
		sensitive = []string{spec.Sensitive}
	}
	if err := p.CheckDataset(policies.DatasetRequest{
		Purpose: r.Purpose, Fields: spec.Fields, K: spec.K, Sensitive: sensitive, L: spec.L,
		Term: spec.Term, MaxSuppression: spec.MaxSuppression,
	}); err != nil {
		return registry.Dataset{}, err
	}
	if err := s.checkRequest(r, spec); err != nil {
		return registry.Dataset{}, err
	}
	if s.cfg.Keys == nil {
		return registry.Dataset{}, ErrNoKeys
	}
	purpose, _ := p.Purpose(r.Purpose)
	key := make([]byte, registry.DatasetKeySize)
	if _, err := rand.Read(key); err != nil {
		return registry.Dataset{}, err
	}
	d := registry.Dataset{
		ID: NewID(), Contractor: r.Contractor, Purpose: r.Purpose, LegalBasis: purpose.LegalBasis,
		PolicyVersion: p.Version(), Spec: spec, RequestedBy: r.Official, RequestedAt: s.cfg.Now(),
		DatasetState: registry.DatasetState{Status: registry.DatasetRequested},
	}
	var err error
	if d.KeyID, d.SealedKey, err = s.cfg.Keys.SealDatasetKey(d.ID, key); err != nil {
		return registry.Dataset{}, err
	}
	if err := s.cfg.Store.PutDataset(ctx, d); err != nil {
		return registry.Dataset{}, fmt.Errorf("file dataset request: %w", err)
	}
	if err := s.audit(ctx, actorOr(r.Actor, r.Official), "dataset.request", d, map[string]any{
		"contractor": d.Contractor, "spec": specDetail(spec), "legal_basis": d.LegalBasis, "policy_version": d.PolicyVersion,
	}); err != nil {
		return d, fmt.Errorf("dataset %s requested but not audited: %w", d.ID, err)
	}
	return d, nil
}

func (s *Service) checkRequest(r Request, spec registry.DatasetSpec) error {
	if why := checkName(r.Official, 512); why != "" {
		return &RequestError{"official", why}
	}
	if why := checkName(r.Contractor, 128); why != "" {
		return &RequestError{"contractor", why}
	}
	if !strings.Contains(r.Contractor, ":") || !s.cfg.Policy.AdmitsOrg(policies.Contractor, r.Contractor) {
		return &RequestError{"contractor", "not an organisation the policy admits as a contractor (\"type:id\")"}
	}
	if pu, _ := s.cfg.Policy.Purpose(r.Purpose); !orgMatches(pu.Orgs, r.Contractor) {
		return &RequestError{"purpose", "the policy does not let this contractor declare the purpose"}
	}
	this := s.cfg.Now().Year()
	for _, y := range []struct {
		field string
		v     int
	}{{"conferral_year_from", spec.ConferralYearFrom}, {"conferral_year_to", spec.ConferralYearTo}} {
		if y.v != 0 && (y.v < 1981 || y.v > this) {
			return &RequestError{y.field, fmt.Sprintf("want a year from 1981 (the first degrees) to %d", this)}
		}
	}
	if spec.ConferralYearFrom != 0 && spec.ConferralYearTo != 0 && spec.ConferralYearFrom > spec.ConferralYearTo {
		return &RequestError{"conferral_year_from", "after conferral_year_to: the selection would be empty"}
	}
	for _, l := range spec.Levels {
		switch registry.DegreeLevel(l) {
		case registry.LevelDoctor, registry.LevelMaster, registry.LevelBachelor:
		default:
			return &RequestError{"levels", "want doctor, master or bachelor"}
		}
	}
	if _, err := selectionFilter(spec); err != nil {
		return &RequestError{"regions", err.Error()}
	}
	switch anonymizer.Method(spec.Method) {
	case anonymizer.Global, anonymizer.Mondrian:
	default:
		return &RequestError{"method", "want global or mondrian"}
	}
	if spec.Method == string(anonymizer.Mondrian) && spec.L > 0 {
		return &RequestError{"method", "l-diversity needs global recoding"}
	}
	if _, _, err := planColumns(registry.Dataset{Spec: spec, PolicyVersion: s.cfg.Policy.Version()}, s.cfg.Policy.Dataset()); err != nil {
		return &RequestError{"fields", err.Error()}
	}
	return nil
}

// orgMatches: an empty list admits everyone; otherwise an exact name or a
// "type:" prefix.
func orgMatches(orgs []string, org string) bool {
	if len(orgs) == 0 {
		return true
	}
	for _, o := range orgs {
		if o == org || strings.HasSuffix(o, ":") && strings.HasPrefix(org, o) {
			return true
		}
	}
	return false
}

func checkName(s string, max int) string {
	switch {
	case s == "":
		return "required"
	case !utf8.ValidString(s):
		return "not UTF-8"
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("longer than %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return "holds a space or control character"
		}
	}
	return ""
}

// NewID returns a fresh random dataset id (128 bits).
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return "ds_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Decision is an official's answer to a request.
type Decision struct {
	ID string
	// Official names the deciding official (OfficialID).
	Official string
	Actor    string
	Approve  bool
	Note     string
}

// Decide approves or rejects a request. The requester cannot decide
// (ErrSelfDecision); a request already decided gives
// registry.ErrDatasetTransition. An approval wakes the builder.
func (s *Service) Decide(ctx context.Context, dec Decision) (registry.Dataset, error) {
	if why := checkName(dec.Official, 512); why != "" {
		return registry.Dataset{}, &RequestError{"official", why}
	}
	d, err := s.cfg.Store.Dataset(ctx, dec.ID)
	if err != nil {
		return registry.Dataset{}, err
	}
	if d.RequestedBy == dec.Official {
		return d, ErrSelfDecision
	}
	next := registry.DatasetState{Status: registry.DatasetRejected, DecidedBy: dec.Official, DecidedAt: s.cfg.Now(), DecisionNote: dec.Note}
	action := "dataset.reject"
	if dec.Approve {
		next.Status, action = registry.DatasetApproved, "dataset.approve"
	}
	d, err = s.cfg.Store.UpdateDataset(ctx, dec.ID, registry.DatasetRequested, next)
	if err != nil {
		return d, err
	}
	if err := s.audit(ctx, actorOr(dec.Actor, dec.Official), action, d, map[string]any{
		"requested_by": d.RequestedBy, "contractor": d.Contractor, "policy_version": s.cfg.Policy.Version(),
	}); err != nil {
		return d, fmt.Errorf("dataset %s decided but not audited: %w", d.ID, err)
	}
	if dec.Approve {
		s.Kick()
	}
	return d, nil
}

// Build claims an approved dataset and builds it. A request that cannot
// be met (k, l, suppression, empty selection, a field no longer allowed)
// marks the dataset failed, with the reason, and is returned as an error
// too; any other failure (the store, the disk, a cancelled context) hands
// the dataset back as approved, with nothing offered, for a later retry.
func (s *Service) Build(ctx context.Context, id string) (registry.Dataset, error) {
	s.building.Lock()
	defer s.building.Unlock()
	d, err := s.cfg.Store.Dataset(ctx, id)
	if err != nil {
		return d, err
	}
	// Opened before the claim: a missing or wrong data key is the
	// deployment's fault, and leaves the dataset approved.
	key, err := s.datasetKey(d)
	if err != nil {
		return d, err
	}
	st := d.DatasetState
	st.Status = registry.DatasetBuilding
	if d, err = s.cfg.Store.UpdateDataset(ctx, id, registry.DatasetApproved, st); err != nil {
		return d, fmt.Errorf("claim dataset %s for a build: %w", id, err)
	}
	dir := s.Folder(id)
	// A folder left by an earlier run that died between its rename and
	// its status update was never offered; this build replaces it.
	if err := os.RemoveAll(dir); err != nil {
		return s.release(d, fmt.Errorf("clear dataset folder: %w", err))
	}
	m, err := BuildFiles(ctx, BuildInput{Dataset: d, Key: key, Rules: s.cfg.Policy.Dataset(), Records: s.cfg.Records, Dir: dir, Now: s.cfg.Now})
	switch {
	case err != nil && unmeetable(err):
		return s.fail(ctx, d, err)
	case err != nil:
		return s.release(d, err)
	}
	return s.offer(ctx, d, m)
}

// fail marks a claimed dataset failed, with the reason the request
// cannot be met, and returns that reason.
func (s *Service) fail(ctx context.Context, d registry.Dataset, cause error) (registry.Dataset, error) {
	st := d.DatasetState
	st.Status, st.Failure = registry.DatasetFailed, cause.Error()
	d, err := s.cfg.Store.UpdateDataset(context.WithoutCancel(ctx), d.ID, registry.DatasetBuilding, st)
	if err != nil {
		return d, errors.Join(cause, err)
	}
	if err := s.audit(ctx, builderActor, "dataset.build.failed", d, map[string]any{"reason": cause.Error()}); err != nil {
		cause = errors.Join(cause, err)
	}
	return d, cause
}

// offer marks a claimed dataset ready once its files are in place; if
// that fails the files go and the dataset is handed back for a retry.
func (s *Service) offer(ctx context.Context, d registry.Dataset, m *Manifest) (registry.Dataset, error) {
	dir := s.Folder(d.ID)
	manifest, err := json.Marshal(m)
	if err != nil {
		os.RemoveAll(dir)
		return s.release(d, err)
	}
	st := d.DatasetState
	st.Status, st.BuiltAt, st.ExpiresAt, st.Manifest = registry.DatasetReady, m.Created, m.Expires, manifest
	ready, err := s.cfg.Store.UpdateDataset(context.WithoutCancel(ctx), d.ID, registry.DatasetBuilding, st)
	if err != nil {
		os.RemoveAll(dir)
		return s.release(d, fmt.Errorf("offer dataset %s: %w", d.ID, err))
	}
	if err := s.audit(ctx, builderActor, "dataset.build", ready, map[string]any{
		"rows_in": m.RowsIn, "rows_out": m.RowsOut, "suppressed": m.Suppressed, "achieved_k": m.AchievedK,
		"achieved_l": m.AchievedL, "fields": d.Spec.Fields, "expires": m.Expires, "policy_version": s.cfg.Policy.Version(),
	}); err != nil {
		return ready, fmt.Errorf("dataset %s built but not audited: %w", d.ID, err)
	}
	return ready, nil
}

const builderActor = "system:dataset-builder"

// unmeetable reports whether a build error is the request's fault, so
// that retrying cannot help.
func unmeetable(err error) bool {
	var ve *anonymizer.ValueError
	return errors.Is(err, anonymizer.ErrUnsatisfiable) || errors.Is(err, ErrEmptySelection) || errors.As(err, &ve) ||
		errors.Is(err, errPlan)
}

// release hands a claimed dataset back for a retry.
func (s *Service) release(d registry.Dataset, cause error) (registry.Dataset, error) {
	st := d.DatasetState
	st.Status = registry.DatasetApproved
	if d2, err := s.cfg.Store.UpdateDataset(context.Background(), d.ID, registry.DatasetBuilding, st); err != nil {
		return d, errors.Join(cause, fmt.Errorf("hand dataset %s back for a retry: %w", d.ID, err))
	} else {
		d = d2
	}
	s.cfg.Logger.Warn("dataset build failed; will retry", "dataset", d.ID, "err", cause)
	return d, cause
}

// BuildPending builds every approved dataset, oldest request first, and
// returns the ids it built or failed. It stops at the first error that is
// not the request's fault.
func (s *Service) BuildPending(ctx context.Context) ([]string, error) {
	ds, err := s.cfg.Store.Datasets(ctx, registry.DatasetQuery{Statuses: []registry.DatasetStatus{registry.DatasetApproved}})
	if err != nil {
		return nil, err
	}
	var done []string
	for i := len(ds) - 1; i >= 0; i-- {
		_, err := s.Build(ctx, ds[i].ID)
		switch {
		case errors.Is(err, registry.ErrDatasetTransition):
			continue // another builder claimed it
		case err != nil && !unmeetable(err):
			return done, err
		}
		done = append(done, ds[i].ID)
	}
	return done, nil
}

// Purge deletes the files of every ready dataset whose term has run out
// and marks it purged; it also removes stale folders of builds that
// died. It returns the ids purged.
func (s *Service) Purge(ctx context.Context) ([]string, error) {
	now := s.cfg.Now()
	ds, err := s.cfg.Store.Datasets(ctx, registry.DatasetQuery{Statuses: []registry.DatasetStatus{registry.DatasetReady}})
	if err != nil {
		return nil, err
	}
	var purged []string
	for _, d := range ds {
		if !d.Expired(now) {
			continue
		}
		if err := os.RemoveAll(s.Folder(d.ID)); err != nil {
			return purged, fmt.Errorf("purge dataset %s: %w", d.ID, err)
		}
		st := d.DatasetState
		st.Status, st.PurgedAt = registry.DatasetPurged, now
		d, err := s.cfg.Store.UpdateDataset(ctx, d.ID, registry.DatasetReady, st)
		if errors.Is(err, registry.ErrDatasetTransition) {
			continue // purged meanwhile by another process
		}
		if err != nil {
			return purged, fmt.Errorf("purge dataset %s: %w", d.ID, err)
		}
		if err := s.audit(ctx, builderActor, "dataset.purge", d, map[string]any{"expired": d.ExpiresAt}); err != nil {
			return purged, fmt.Errorf("dataset %s purged but not audited: %w", d.ID, err)
		}
		purged = append(purged, d.ID)
	}
	s.removeStale(now)
	return purged, nil
}

// staleAfter is how old a temporary build folder must be before a purge
// takes it for the remains of a build that died.
const staleAfter = time.Hour

func (s *Service) removeStale(now time.Time) {
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), TempPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleAfter {
			os.RemoveAll(filepath.Join(s.cfg.Dir, e.Name()))
		}
	}
}

// datasetKey opens d's pseudonym key.
func (s *Service) datasetKey(d registry.Dataset) ([]byte, error) {
	if d.KeyID == "" {
		// Stored in clear before keys were sealed; SealLegacyKeys seals it.
		if len(d.SealedKey) != registry.DatasetKeySize {
			return nil, fmt.Errorf("dataset %s: pseudonym key is neither sealed nor a clear %d-byte key", d.ID, registry.DatasetKeySize)
		}
		return d.SealedKey, nil
	}
	if s.cfg.Keys == nil {
		return nil, ErrNoKeys
	}
	key, err := s.cfg.Keys.OpenDatasetKey(d.ID, d.KeyID, d.SealedKey)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.ID, err)
	}
	return key, nil
}

// SealLegacyKeys seals the pseudonym keys a store still holds in clear
// (datasets requested before keys were sealed; see
// registry.LegacyKeySealer) and returns how many it sealed. Run calls it
// at start; so do the dataset verbs that have the keys.
func (s *Service) SealLegacyKeys(ctx context.Context) (int, error) {
	sealer, ok := s.cfg.Store.(registry.LegacyKeySealer)
	if !ok || s.cfg.Keys == nil {
		return 0, nil
	}
	ds, err := s.cfg.Store.Datasets(ctx, registry.DatasetQuery{})
	if err != nil {
		return 0, fmt.Errorf("seal dataset keys: %w", err)
	}
	n := 0
	for _, d := range ds {
		if d.KeyID != "" {
			continue
		}
		key, err := s.datasetKey(d)
		if err != nil {
			return n, err
		}
		keyID, sealed, err := s.cfg.Keys.SealDatasetKey(d.ID, key)
		if err != nil {
			return n, fmt.Errorf("dataset %s: %w", d.ID, err)
		}
		switch err := sealer.SealLegacyKey(ctx, d.ID, keyID, sealed); {
		case errors.Is(err, registry.ErrDatasetTransition):
			continue // sealed meanwhile by another process
		case err != nil:
			return n, err
		}
		n++
	}
	return n, nil
}

// Kick wakes Run to build what was approved.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run builds approved datasets and purges expired ones, at once, then
// whenever Kick is called and every interval, until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	if _, err := s.SealLegacyKeys(ctx); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Error("seal dataset keys stored in clear", "err", err)
	}
	for {
		if _, err := s.Purge(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("dataset purge", "err", err)
		}
		if _, err := s.BuildPending(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("dataset build", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// Formats a dataset is offered in.
var formats = map[string]string{"csv": DataCSV, "parquet": DataParquet}

// Download is a dataset file opened for a contractor.
type Download struct {
	Dataset registry.Dataset
	File    *os.File
	Info    anonymizer.FileInfo // from the manifest: name, rows, bytes, SHA-256
	Format  string
}

// Downloader is who downloads: the contractor (its organisation), the
// person at it (the token's subject), and the version of the policy that
// allowed the download.
type Downloader struct {
	Org, Subject, PolicyVersion string
}

// ErrUnaudited: the trail refused a download's entry, so nothing is sent.
var ErrUnaudited = errors.New("datasets: the download could not be audited")

// downloadDetail is what the trail records of a download: who, under
// which legal basis and policy, which fields, which exact file.
type downloadDetail struct {
	Org                  string   `json:"org"`
	Subject              string   `json:"sub"`
	Contractor           string   `json:"contractor"`
	LegalBasis           string   `json:"legal_basis"`
	Fields               []string `json:"fields"`
	Format               string   `json:"format"`
	Rows                 int64    `json:"rows"`
	SHA256               string   `json:"sha256"`
	PolicyVersion        string   `json:"policy_version"`
	DatasetPolicyVersion string   `json:"dataset_policy_version"`
}

// OpenDownload opens a dataset's file for its contractor, and puts the
// download on the trail before a byte of it can leave. Another
// contractor's dataset, or an id of the wrong shape, is ErrNotFound, so
// nobody learns which datasets exist; an expired one ErrExpired; one not
// built ErrNotReady; one the trail refuses ErrUnaudited. The caller
// sends, then closes File.
func (s *Service) OpenDownload(ctx context.Context, id string, who Downloader, format string) (*Download, error) {
	dl, err := s.openDownload(ctx, id, who.Org, format)
	if err != nil {
		return dl, err
	}
	d := dl.Dataset
	detail, _ := json.Marshal(downloadDetail{
		Org: who.Org, Subject: who.Subject, Contractor: d.Contractor, LegalBasis: d.LegalBasis,
		Fields: append([]string{PersonColumn}, d.Spec.Fields...), Format: format,
		Rows: dl.Info.Rows, SHA256: dl.Info.SHA256, PolicyVersion: who.PolicyVersion, DatasetPolicyVersion: d.PolicyVersion,
	})
	if err := s.cfg.Audit.Record(ctx, registry.AuditEntry{
		At: s.cfg.Now(), Actor: "org:" + who.Org + "/sub:" + who.Subject, Action: "dataset.download",
		RecordRef: "dataset:" + d.ID, Purpose: d.Purpose, Detail: string(detail),
	}); err != nil {
		dl.File.Close()
		return nil, ErrUnaudited
	}
	return dl, nil
}

func (s *Service) openDownload(ctx context.Context, id, contractor, format string) (*Download, error) {
	name, ok := formats[format]
	if !ok {
		return nil, &RequestError{"format", "want csv or parquet"}
	}
	d, err := s.ContractorDataset(ctx, id, contractor)
	if err != nil {
		return nil, err
	}
	switch {
	case d.Status == registry.DatasetPurged || d.Status == registry.DatasetReady && d.Expired(s.cfg.Now()):
		return &Download{Dataset: d}, ErrExpired
	case d.Status != registry.DatasetReady:
		return &Download{Dataset: d}, ErrNotReady
	}
	var m Manifest
	if err := json.Unmarshal(d.Manifest, &m); err != nil {
		return nil, fmt.Errorf("dataset %s: manifest: %w", id, err)
	}
	dl := &Download{Dataset: d, Format: format}
	for _, f := range m.Files {
		if f.Path == name {
			dl.Info = f
		}
	}
	f, err := os.Open(filepath.Join(s.Folder(id), name))
	if err != nil {
		return nil, fmt.Errorf("dataset %s: open %s: %w", id, name, err)
	}
	dl.File = f
	return dl, nil
}

// Datasets lists the datasets q selects, newest request first, for the
// officials.
func (s *Service) Datasets(ctx context.Context, q registry.DatasetQuery) ([]registry.Dataset, error) {
	return s.cfg.Store.Datasets(ctx, q)
}

// Dataset returns one dataset, for the officials; an unknown id is
// registry.ErrNotFound.
func (s *Service) Dataset(ctx context.Context, id string) (registry.Dataset, error) {
	return s.cfg.Store.Dataset(ctx, id)
}

// ContractorDatasets lists contractor's datasets and no other's.
func (s *Service) ContractorDatasets(ctx context.Context, contractor string) ([]registry.Dataset, error) {
	if contractor == "" {
		return nil, nil
	}
	return s.cfg.Store.Datasets(ctx, registry.DatasetQuery{Contractor: contractor})
}

// ContractorDataset returns a dataset of contractor's; any other is
// registry.ErrNotFound.
func (s *Service) ContractorDataset(ctx context.Context, id, contractor string) (registry.Dataset, error) {
	if !registry.ValidDatasetID(id) || contractor == "" {
		return registry.Dataset{}, registry.ErrNotFound
	}
	d, err := s.cfg.Store.Dataset(ctx, id)
	if err != nil {
		return registry.Dataset{}, err
	}
	if d.Contractor != contractor {
		return registry.Dataset{}, registry.ErrNotFound
	}
	return d, nil
}

func actorOr(actor, official string) string {
	if actor != "" {
		return actor
	}
	return "official:" + official
}

func specDetail(s registry.DatasetSpec) map[string]any {
	return map[string]any{
		"fields": s.Fields, "conferral_year_from": s.ConferralYearFrom, "conferral_year_to": s.ConferralYearTo,
		"levels": s.Levels, "regions": s.Regions, "k": s.K, "sensitive": s.Sensitive, "l": s.L,
		"max_suppression": s.MaxSuppression, "method": s.Method, "term": s.Term.String(),
	}
}

// audit records one step of a dataset's life.
func (s *Service) audit(ctx context.Context, actor, action string, d registry.Dataset, detail map[string]any) error {
	detail["status"] = d.Status
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	return s.cfg.Audit.Record(ctx, registry.AuditEntry{
		At: s.cfg.Now(), Actor: actor, Action: action, RecordRef: "dataset:" + d.ID, Purpose: d.Purpose, Detail: string(b),
	})
}
