package filing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// Errors that callers branch on.
var (
	// ErrNotFound: no batch has that id, or the batch holds no such record.
	ErrNotFound = errors.New("filing: not found")
	// ErrStateChanged: a record was no longer in the state the action was
	// decided on (another actor moved it first). Nothing was applied.
	ErrStateChanged = errors.New("filing: a record changed state concurrently")
	// ErrOffset: a staged upload's part was sent for another offset than
	// the upload holds, or past its declared size.
	ErrOffset = errors.New("filing: upload offset mismatch")
	// ErrInWorkflow: a certificate number of a new batch is already in
	// the workflow (in another batch that was not withdrawn) or filed.
	ErrInWorkflow = errors.New("filing: certificate number already in the workflow")
)

// InWorkflowError names the certificate numbers of a new batch that are
// in the workflow already; it wraps ErrInWorkflow.
type InWorkflowError struct{ Numbers []string }

func (e *InWorkflowError) Error() string {
	return fmt.Sprintf("%v: %d records", ErrInWorkflow, len(e.Numbers))
}

func (e *InWorkflowError) Unwrap() error { return ErrInWorkflow }

// Staged is a file uploaded in parts: who started it, what it is, its
// declared size and what has arrived.
type Staged struct {
	ID       string
	Owner    string // Actor.ID
	Kind     string // StagedRecords or StagedResolution
	Format   string // csv or jsonl for records, pdf for a resolution
	Size     int64
	Received int64
	Created  time.Time
}

// StagedLifetime is how long a staged upload is kept: long enough to
// send a large file over a slow line and make a batch of it.
const StagedLifetime = 24 * time.Hour

// Complete: every declared byte has arrived.
func (u Staged) Complete() bool { return u.Received == u.Size }

// Kinds of staged upload.
const (
	StagedRecords    = "records"
	StagedResolution = "resolution"
)

// Resolution is the conferral resolution a batch files (Art. 12): its
// number, the day it took effect, and the scanned document's SHA-256 and
// size. The document itself is kept beside the batch.
type Resolution struct {
	Number    string
	Effective registry.Date
	SHA256    [32]byte
	Size      int64
}

// LateState is where a batch's late-submission application stands.
type LateState string

const (
	LateNone     LateState = ""
	LatePending  LateState = "pending"
	LateApproved LateState = "approved"
	LateRefused  LateState = "refused"
)

// Late is a batch's late-submission application: the unit's reason, and
// the province's decision.
type Late struct {
	State     LateState
	Reason    string
	AppliedBy string
	AppliedAt time.Time
	DecidedBy string
	DecidedAt time.Time
	Decision  string // the province's reason
}

// Batch is one upload of a unit's records under one conferral
// resolution. Batches are never deleted.
type Batch struct {
	ID         string
	Unit       string
	Province   string
	Collector  string // Actor.ID of who uploaded it
	Resolution Resolution
	Created    time.Time
	Late       Late
}

// Item is one record in the workflow: the record as the unit submitted
// it, sealed as filed records are, and where it stands.
type Item struct {
	registry.Sealed
	BatchID string
	State   State
	Since   time.Time // when it entered State
	Actor   string    // who moved it there
	Reason  string    // and why, where the rules want a reason
}

// Move is one record's part in a transition: from the state the action
// was decided on to the next; Content replaces the record (a
// correction); File is the version the move files.
type Move struct {
	BatchID           string
	CertificateNumber string
	From, To          State
	Content           *registry.Sealed
	File              *registry.Version
}

// Transition is one action on one or more records, by one actor, at one
// time: stores apply all of its moves, its filed versions and its audit
// entries in one transaction, or nothing.
type Transition struct {
	Actor  string
	Reason string
	At     time.Time
	Moves  []Move
	// Entries are the trail's entries: one per move, the filing entry of
	// its version where the move files one (LogKey.FilingEntry).
	Entries []registry.AuditEntry
}

// Query selects records of the workflow for a queue: by province or
// unit, by state, oldest in their state first. After is the last item
// of the previous page.
type Query struct {
	Province string
	Unit     string
	States   []State
	After    *Item
	Limit    int
}

// Store keeps batches and the records in the workflow. Implementations:
// registry/inmem and registry/postgres; both pass filingtest.Run.
type Store interface {
	// AddBatch stores b, its resolution document, and its records in
	// state Draft with their audit entries, all or nothing. It fails with
	// ErrInWorkflow when a certificate number is in a batch that was not
	// withdrawn, or filed.
	AddBatch(ctx context.Context, b Batch, document []byte, records []registry.Sealed, entries []registry.AuditEntry) error

	// Batch returns a batch, or ErrNotFound.
	Batch(ctx context.Context, id string) (Batch, error)

	// Document returns a batch's resolution document, or ErrNotFound.
	Document(ctx context.Context, batchID string) ([]byte, error)

	// Items returns a batch's records, ordered by certificate number, or
	// ErrNotFound for an unknown batch.
	Items(ctx context.Context, batchID string) ([]Item, error)

	// Queue returns up to q.Limit records that q selects, ordered by
	// Since, then certificate number.
	Queue(ctx context.Context, q Query) ([]Item, error)

	// Move applies t: each move only if its record is still in its From
	// state. If any is not, nothing is applied and Move fails with
	// ErrStateChanged; if a filed version exists already, with
	// registry.ErrVersionConflict.
	Move(ctx context.Context, t Transition) error

	// StageUpload starts a staged upload: a file sent in parts of at
	// most a request's size each (the gateway never holds a larger
	// body), kept until a batch is made of it.
	StageUpload(ctx context.Context, u Staged) error

	// AppendStaged appends part to a staged upload at offset, which must
	// be what it holds so far (else ErrOffset), and returns the new
	// length. The upload never grows past its declared size.
	AppendStaged(ctx context.Context, id string, offset int64, part []byte) (int64, error)

	// Staged returns a staged upload's state, or ErrNotFound.
	Staged(ctx context.Context, id string) (Staged, error)

	// StagedContent returns what a staged upload holds.
	StagedContent(ctx context.Context, id string) ([]byte, error)

	// PurgeStaged removes the staged uploads started before before, and
	// returns how many: a batch or a request keeps its own copy of what
	// it was made of.
	PurgeStaged(ctx context.Context, before time.Time) (int64, error)

	// AppendAudit appends committed entries to the trail (the stores'
	// registry.AuditLog): reads of the workflow's personal data are
	// recorded before they are answered.
	AppendAudit(ctx context.Context, entries []registry.AuditEntry) error

	// AddRequest stores a request on a filed record with its evidence
	// and its audit entry; ErrPendingRequest when the record has one
	// that waits.
	AddRequest(ctx context.Context, r Request, evidence []byte, entry registry.AuditEntry) error

	// Request returns a request, or ErrNotFound.
	Request(ctx context.Context, id string) (Request, error)

	// Requests returns up to q.Limit requests q selects, by Since, then
	// id (Query.After's CertificateNumber holds the id of the last).
	Requests(ctx context.Context, q Query) ([]Request, error)

	// DecideRequest moves r from the state from to r.State (with r's
	// decision) and, with file, writes file as version r.BaseVersion+1
	// of the record, with entries, in one transaction: ErrStateChanged
	// when the request moved, registry.ErrVersionConflict when the
	// record did.
	DecideRequest(ctx context.Context, r Request, from State, file *registry.Version, entries []registry.AuditEntry) error

	// SetLate moves a batch's late application from the state from to
	// late, with its audit entry, or fails with ErrStateChanged.
	SetLate(ctx context.Context, batchID string, from LateState, late Late, entry registry.AuditEntry) error
}
