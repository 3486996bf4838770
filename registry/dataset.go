package registry

import (
	"context"
	"errors"
	"math"
	"regexp"
	"slices"
	"time"
)

// Research datasets (Art. 23–24): an official requests a de-identified,
// expiring dataset for a commissioned contractor, a different official
// approves or rejects it, a builder writes the files, and a purge deletes
// them once the term has run out. The store keeps the request, its
// decision and its outcome; the files themselves live outside it.

// DatasetStatus is where a dataset request stands.
type DatasetStatus string

const (
	DatasetRequested DatasetStatus = "requested" // waiting for a second official
	DatasetRejected  DatasetStatus = "rejected"  // final
	DatasetApproved  DatasetStatus = "approved"  // waiting for a build
	DatasetBuilding  DatasetStatus = "building"  // a builder has claimed it
	DatasetReady     DatasetStatus = "ready"     // files offered until ExpiresAt
	DatasetFailed    DatasetStatus = "failed"    // the build could not meet the request; final
	DatasetPurged    DatasetStatus = "purged"    // files deleted after expiry; final
)

// datasetNext lists the transitions a dataset may make. A build that
// dies half way leaves "building"; it may go back to "approved" to be
// retried, never straight to "ready".
var datasetNext = map[DatasetStatus][]DatasetStatus{
	DatasetRequested: {DatasetApproved, DatasetRejected},
	DatasetApproved:  {DatasetBuilding},
	DatasetBuilding:  {DatasetReady, DatasetFailed, DatasetApproved},
	DatasetReady:     {DatasetPurged},
}

// Known reports whether s is one of the statuses above.
func (s DatasetStatus) Known() bool {
	switch s {
	case DatasetRequested, DatasetRejected, DatasetApproved, DatasetBuilding, DatasetReady, DatasetFailed, DatasetPurged:
		return true
	}
	return false
}

// CanBecome reports whether a dataset may move from s to next.
func (s DatasetStatus) CanBecome(next DatasetStatus) bool {
	return slices.Contains(datasetNext[s], next)
}

// ErrDatasetTransition: the dataset is not in the status the change
// starts from (someone else moved it first), or the change is not a
// transition the lifecycle allows.
var ErrDatasetTransition = errors.New("dataset changed state concurrently or the change is not allowed")

// DatasetSpec is what a request asks for. It never changes once stored.
type DatasetSpec struct {
	// Fields are contract field names (DESIGN.md), in the order the
	// files carry them after the pseudonym column.
	Fields []string `json:"fields"`
	// Filters: conferral years (inclusive, 0 = open), degree levels, and
	// regions (province codes of GB/T 2260 or region names the anonymizer
	// knows). Empty selects everything.
	ConferralYearFrom int      `json:"conferral_year_from,omitempty"`
	ConferralYearTo   int      `json:"conferral_year_to,omitempty"`
	Levels            []string `json:"levels,omitempty"`
	Regions           []string `json:"regions,omitempty"`
	// Privacy: every released class holds at least K people; with
	// Sensitive set, L distinct values of it; at most MaxSuppression of
	// the rows suppressed.
	K              int     `json:"k"`
	Sensitive      string  `json:"sensitive,omitempty"`
	L              int     `json:"l,omitempty"`
	MaxSuppression float64 `json:"max_suppression"`
	// Method is the anonymizer's method ("global" or "mondrian").
	Method string `json:"method,omitempty"`
	// Term is how long the files are offered after the build.
	Term time.Duration `json:"term"`
}

// DatasetState is the part of a dataset that changes along its life.
type DatasetState struct {
	Status DatasetStatus
	// DecidedBy is the official who approved or rejected the request,
	// never RequestedBy.
	DecidedBy    string
	DecidedAt    time.Time
	DecisionNote string
	BuiltAt      time.Time
	ExpiresAt    time.Time // files are offered while now is before it
	// Manifest is the build's manifest.json, kept after the files are
	// purged so that the dataset stays accountable.
	Manifest []byte
	// Failure says why a build failed (no personal data).
	Failure  string
	PurgedAt time.Time
}

// Dataset is one research dataset request and what became of it.
type Dataset struct {
	ID string
	// Contractor is the organisation the dataset is for ("pub:…"):
	// only its tokens may see and download it.
	Contractor    string
	Purpose       string
	LegalBasis    string
	PolicyVersion string
	Spec          DatasetSpec
	RequestedBy   string
	RequestedAt   time.Time
	// KeyID and SealedKey hold the key of the dataset's pseudonyms and
	// fingerprint. With the key, pseudonyms link back to the registry's
	// person index, and a leaked file is traced to its dataset; so it
	// never leaves the server and never rests in clear: SealedKey is
	// Keyring.SealDatasetKey's output under the data key KeyID (held
	// outside the database) and bound to the dataset id, so that neither
	// a database dump nor a sealed key copied onto another row yields a
	// key. An empty KeyID marks a key stored in clear before migration
	// 00006; see LegacyKeySealer.
	KeyID     string
	SealedKey []byte
	DatasetState
}

// Expired reports whether the dataset's files are no longer offered at
// now on account of its term.
func (d Dataset) Expired(now time.Time) bool {
	return !d.ExpiresAt.IsZero() && !now.Before(d.ExpiresAt)
}

// datasetIDPattern is the shape of a dataset id: "ds_" and 26 base32
// characters (128 random bits), lower case.
var datasetIDPattern = regexp.MustCompile(`^ds_[a-z2-7]{26}$`)

// ValidDatasetID reports whether id has the shape of a dataset id, so a
// tampered or made-up id is refused before any lookup.
func ValidDatasetID(id string) bool { return datasetIDPattern.MatchString(id) }

// DatasetKeySize is the length of a dataset's pseudonym key;
// SealedDatasetKeySize the length of its sealed form (AES-GCM nonce, key,
// tag).
const (
	DatasetKeySize       = 32
	SealedDatasetKeySize = 12 + DatasetKeySize + 16
)

// Validate checks what a store needs before it keeps a new request. The
// error is an *InvalidError naming fields, never values.
func (d Dataset) Validate() error {
	var vs []Violation
	add := func(field, code, msg string) {
		vs = append(vs, Violation{Field: field, Code: code, Message: msg})
	}
	if !ValidDatasetID(d.ID) {
		add("id", CodeFormat, "want ds_ and 26 base32 characters")
	}
	if d.Contractor == "" {
		add("contractor", CodeRequired, "a dataset is for a named contractor")
	}
	if d.Purpose == "" {
		add("purpose", CodeRequired, "a dataset needs a purpose")
	}
	if d.PolicyVersion == "" {
		add("policy_version", CodeRequired, "the policy that allowed the request")
	}
	if d.RequestedBy == "" {
		add("requested_by", CodeRequired, "the requesting official")
	}
	if d.RequestedAt.IsZero() {
		add("requested_at", CodeRequired, "when it was requested")
	}
	if d.KeyID == "" || len(d.SealedKey) != SealedDatasetKeySize {
		add("key", CodeFormat, "want a pseudonym key sealed by Keyring.SealDatasetKey, never one in clear")
	}
	s := d.Spec
	if len(s.Fields) == 0 {
		add("fields", CodeRequired, "no fields requested")
	}
	if s.K < 1 {
		add("k", CodeOutOfRange, "k must be at least 1")
	}
	if s.L < 0 || (s.L > 0) != (s.Sensitive != "") {
		add("l", CodeOutOfRange, "l and a sensitive field go together")
	}
	if !(s.MaxSuppression >= 0 && s.MaxSuppression < 1) || math.IsNaN(s.MaxSuppression) {
		add("max_suppression", CodeOutOfRange, "want a share in [0, 1)")
	}
	if s.Term <= 0 {
		add("term", CodeOutOfRange, "want a positive term")
	}
	if s.ConferralYearFrom != 0 && s.ConferralYearTo != 0 && s.ConferralYearFrom > s.ConferralYearTo {
		add("conferral_year_from", CodeOrder, "after conferral_year_to")
	}
	if d.Status != DatasetRequested {
		add("status", CodeUnknownValue, "a new dataset starts as requested")
	}
	if len(vs) > 0 {
		return &InvalidError{Violations: vs}
	}
	return nil
}

// CheckTransition checks that next may follow cur: an allowed move whose
// state carries what the new status needs. Errors wrap
// ErrDatasetTransition or are an *InvalidError.
func CheckTransition(cur Dataset, next DatasetState) error {
	if !cur.Status.CanBecome(next.Status) {
		return ErrDatasetTransition
	}
	var vs []Violation
	add := func(field, code, msg string) {
		vs = append(vs, Violation{Field: field, Code: code, Message: msg})
	}
	switch next.Status {
	case DatasetApproved, DatasetRejected:
		if cur.Status != DatasetRequested {
			break // a retried build goes back to approved: nothing to decide
		}
		if next.DecidedBy == "" || next.DecidedAt.IsZero() {
			add("decided_by", CodeRequired, "a decision names the official and the time")
		}
		if next.DecidedBy == cur.RequestedBy {
			add("decided_by", CodeMismatch, "nobody decides their own request")
		}
	case DatasetReady:
		if next.BuiltAt.IsZero() || !next.ExpiresAt.After(next.BuiltAt) {
			add("expires_at", CodeOrder, "a ready dataset has a build time and a later expiry")
		}
		if len(next.Manifest) == 0 {
			add("manifest", CodeRequired, "a ready dataset has a manifest")
		}
	case DatasetFailed:
		if next.Failure == "" {
			add("failure", CodeRequired, "a failed build says why")
		}
	case DatasetPurged:
		if next.PurgedAt.IsZero() {
			add("purged_at", CodeRequired, "when the files were deleted")
		}
	}
	if len(vs) > 0 {
		return &InvalidError{Violations: vs}
	}
	return nil
}

// DatasetQuery selects datasets; zero fields select everything.
type DatasetQuery struct {
	Contractor string          // exact
	Statuses   []DatasetStatus // any of
}

// DatasetStore keeps dataset requests. Implementations: registry/inmem
// (Datasets) and registry/postgres; both pass registrytest.Run. Times
// come back in UTC, cut to microseconds; every method fails on a
// cancelled context.
type DatasetStore interface {
	// PutDataset stores a new request (see Dataset.Validate); an id
	// already stored is refused with ErrDuplicate and nothing changes.
	PutDataset(ctx context.Context, d Dataset) error

	// Dataset returns the dataset with this id, or ErrNotFound.
	Dataset(ctx context.Context, id string) (Dataset, error)

	// Datasets returns the datasets q selects, newest RequestedAt first
	// (equal times: by ID).
	Datasets(ctx context.Context, q DatasetQuery) ([]Dataset, error)

	// UpdateDataset moves the dataset from status from to next, checked
	// by CheckTransition, atomically: when the stored status is not from,
	// it fails with ErrDatasetTransition and changes nothing, so that of
	// two officials deciding, or two builders claiming, one wins. Only
	// the state changes; the request never does. It returns the dataset
	// as stored, or ErrNotFound.
	UpdateDataset(ctx context.Context, id string, from DatasetStatus, next DatasetState) (Dataset, error)
}

// BulkScanner is an optional power of a Store, for dataset builds that
// read a large share of the registry at once: ScanBulk calls fn with the
// newest version of every record f selects, like Scan, but in no
// particular order and with only Record, PersonIndex and Version set
// (no sealed identifiers, digest or change), so that a store can stream
// at full speed. A build uses it when the store has it, Scan otherwise.
type BulkScanner interface {
	ScanBulk(ctx context.Context, f Filter, fn func(Version) error) error
}

// LegacyKeySealer is an optional power of a DatasetStore that may still
// hold pseudonym keys in clear, stored before keys were sealed
// (registry/postgres rows older than migration 00006; they read back with
// an empty KeyID and the clear key in SealedKey).
type LegacyKeySealer interface {
	// SealLegacyKey replaces the clear key of dataset id with its sealed
	// form, if and only if it is still in clear: a key already sealed is
	// refused with ErrDatasetTransition and nothing changes; an unknown
	// id is ErrNotFound.
	SealLegacyKey(ctx context.Context, id, keyID string, sealed []byte) error
}
