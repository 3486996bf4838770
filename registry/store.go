package registry

import (
	"context"
	"errors"
	"time"
)

// Errors that callers branch on.
var (
	// ErrNotFound: no record has that certificate number.
	ErrNotFound = errors.New("record not found")
	// ErrVersionConflict: the record changed since the caller read it.
	ErrVersionConflict = errors.New("record changed concurrently")
	// ErrInvalid: the record breaks a validation rule (see *InvalidError).
	ErrInvalid = errors.New("record invalid")
	// ErrUnavailable: the store could not be reached or did not answer
	// (a refused or broken connection, a timeout); trying again later
	// may succeed. Stores wrap their transport failures with it.
	ErrUnavailable = errors.New("registry store unavailable")
)

// Sealed is a record as stores keep it. The direct identifiers that no
// query needs in clear (ID number, phone, e-mail) are empty in Record and
// live, encrypted, in Secret; the person is found through PersonIndex, a
// keyed blind index. Stores never see a key, so a stolen database or a
// store bug cannot disclose them (Vault's "storage is untrusted").
type Sealed struct {
	Record
	// KeyID names the data key that encrypted Secret, so keys can rotate.
	KeyID string
	// Secret is nonce||AES-256-GCM ciphertext of the direct identifiers.
	Secret []byte
	// PersonIndex is HMAC-SHA256(index key, id_type ‖ id_number).
	PersonIndex []byte
	// Digest is a keyed hash of the whole clear record: equal records have
	// equal digests, so re-importing one is recognised as a no-op without
	// decrypting anything.
	Digest []byte
}

// Change says who made a change, when, and why; every stored version
// carries one (Art. 15).
type Change struct {
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Stored is c as stores keep it: At in UTC, to the microsecond. What a
// filing entry digests must be what is stored.
func (c Change) Stored() Change {
	c.At = c.At.UTC().Truncate(time.Microsecond)
	return c
}

// Version is one stored version of a record. Versions of a certificate
// are numbered 1, 2, … and never change once written (Art. 16).
type Version struct {
	Sealed
	Version int
	Change  Change
}

// Outcome is what Insert did with one record of a batch.
type Outcome int

const (
	Inserted  Outcome = iota + 1 // a new record, filed as version 1
	Unchanged                    // an identical record was already filed: nothing written
	Conflict                     // a different record has this certificate number: rejected
)

func (o Outcome) String() string {
	switch o {
	case Inserted:
		return "inserted"
	case Unchanged:
		return "unchanged"
	case Conflict:
		return "conflict"
	}
	return "unknown"
}

// Filter selects records for Scan. Zero fields select everything.
type Filter struct {
	ConferralYearFrom, ConferralYearTo int // inclusive; 0 = open
	Levels                             []DegreeLevel
	UnitCodes                          []string
	Statuses                           []Status
}

// Store keeps versioned, sealed records. Implementations: registry/inmem
// (dev and fast tests) and registry/postgres; both pass registrytest.Run.
// A Store never updates or deletes a version.
type Store interface {
	// Insert files a batch of new records as version 1, all or nothing: if
	// it returns an error, nothing of the batch was written. A batch that
	// repeats a certificate number not yet filed fails whole; copies of a
	// number already filed are each judged against it. The outcome of
	// batch[i] is outcomes[i].
	//
	// filings[i] is batch[i]'s filing entry (LogKey.FilingEntry; use
	// registry.Insert): the store appends it to the audit trail, in the
	// same transaction, exactly when outcomes[i] is Inserted. Without
	// one for every record, Insert fails with ErrUnfiled.
	Insert(ctx context.Context, batch []Sealed, change Change, filings []AuditEntry) (outcomes []Outcome, err error)

	// Current returns the newest version of a certificate, or ErrNotFound.
	Current(ctx context.Context, certificateNumber string) (Version, error)

	// CurrentMany returns the newest versions of those certificates that
	// exist, in one round trip, in no particular order.
	CurrentMany(ctx context.Context, certificateNumbers []string) ([]Version, error)

	// ByPerson returns the newest version of every certificate whose newest
	// version has this person index, ordered by certificate number.
	ByPerson(ctx context.Context, personIndex []byte) ([]Version, error)

	// ByPersons is ByPerson for many person indexes in one round trip:
	// the newest version of every certificate whose newest version has
	// one of them, each once however often its index was asked for,
	// ordered by certificate number. Callers group the answer by
	// Version.PersonIndex; empty indexes match nothing.
	ByPersons(ctx context.Context, personIndexes [][]byte) ([]Version, error)

	// History returns every version of a certificate, oldest first, or
	// ErrNotFound.
	History(ctx context.Context, certificateNumber string) ([]Version, error)

	// Append writes next as version after+1 of its certificate and
	// appends its filing entry to the audit trail, in one transaction
	// (use registry.Append). It fails with ErrVersionConflict when the
	// newest version is not after, with ErrNotFound when the certificate
	// does not exist, and with ErrUnfiled without a filing entry.
	Append(ctx context.Context, after int, next Sealed, change Change, filing AuditEntry) (Version, error)

	// ScanVersions calls fn with every stored version, ordered by
	// certificate number and version, stopping at fn's first error.
	ScanVersions(ctx context.Context, fn func(Version) error) error

	// Scan calls fn with the newest version of every record the filter
	// selects, ordered by certificate number, stopping at fn's first error.
	Scan(ctx context.Context, f Filter, fn func(Version) error) error

	// Count returns the number of certificates (not versions).
	Count(ctx context.Context) (int64, error)
}
