package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Registry is the record service above a Store: it seals on the way in,
// opens on the way out, validates every change, writes changes as new
// versions (Art. 16), each filed with its audit entry, a leaf of the log
// (Art. 15). Reads are audited by the caller, which knows who asked and
// why.
type Registry struct {
	store Store
	keys  *Keyring
	log   *LogKey
	now   func() time.Time
}

// New wires a registry: log commits the filing entries of changes; now
// is the clock (time.Now outside tests).
func New(store Store, keys *Keyring, log *LogKey, now func() time.Time) *Registry {
	return &Registry{store: store, keys: keys, log: log, now: now}
}

// Entry is an opened version of a record with its version metadata.
type Entry struct {
	Record  Record
	Version int
	Change  Change
}

func (r *Registry) open(v Version) (Entry, error) {
	rec, err := r.keys.Open(v.Sealed)
	if err != nil {
		return Entry{}, fmt.Errorf("certificate version %d: %w", v.Version, err)
	}
	return Entry{Record: rec, Version: v.Version, Change: v.Change}, nil
}

// Get returns the newest version of a certificate, opened.
func (r *Registry) Get(ctx context.Context, certificateNumber string) (Entry, error) {
	v, err := r.Current(ctx, certificateNumber)
	if err != nil {
		return Entry{}, err
	}
	return r.open(v)
}

// The reads below answer a deleted record (Status.Visible) as one that
// does not exist: it is read and decoded like any other, so the time of
// the answer tells nothing either.

// visible keeps the versions whose record is shown.
func visible(vs []Version, err error) ([]Version, error) {
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(vs, func(v Version) bool { return !v.Status.Visible() }), nil
}

// Current returns the newest version of a certificate, still sealed: its
// clear fields are all that verification compares and shows, so the hot
// path decrypts nothing. Open decrypts it when a caller may see more.
func (r *Registry) Current(ctx context.Context, certificateNumber string) (Version, error) {
	v, err := r.store.Current(ctx, certificateNumber)
	if err == nil && !v.Status.Visible() {
		return Version{}, ErrNotFound
	}
	return v, err
}

// CurrentMany returns the newest versions of those certificates that
// exist, sealed, in one round trip, in no particular order.
func (r *Registry) CurrentMany(ctx context.Context, certificateNumbers []string) ([]Version, error) {
	return visible(r.store.CurrentMany(ctx, certificateNumbers))
}

// ByPersons returns, sealed, the newest version of every certificate of
// the persons with these indexes (PersonIndex), in one round trip,
// ordered by certificate number; callers group them by PersonIndex.
func (r *Registry) ByPersons(ctx context.Context, personIndexes [][]byte) ([]Version, error) {
	return visible(r.store.ByPersons(ctx, personIndexes))
}

// PersonIndex is the blind index of an identity document, normalised as
// records are: the handle that finds a person's records and codes.
func (r *Registry) PersonIndex(t IDType, number string) []byte {
	probe := Record{IDType: t, IDNumber: number}
	Normalize(&probe)
	return r.keys.PersonIndex(probe.IDType, probe.IDNumber)
}

// Open decrypts a sealed version's direct identifiers.
func (r *Registry) Open(v Version) (Record, error) { return r.keys.Open(v.Sealed) }

// ByPerson returns the newest version of every record of one person,
// found through the blind index of their identity document.
func (r *Registry) ByPerson(ctx context.Context, t IDType, number string) ([]Entry, error) {
	return r.openAll(visible(r.store.ByPerson(ctx, r.PersonIndex(t, number))))
}

// History returns every version of a certificate, oldest first.
func (r *Registry) History(ctx context.Context, certificateNumber string) ([]Entry, error) {
	return r.openAll(r.store.History(ctx, certificateNumber))
}

func (r *Registry) openAll(vs []Version, err error) ([]Entry, error) {
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(vs))
	for _, v := range vs {
		e, err := r.open(v)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// ErrNoChange: an amendment that changes nothing is refused, so the
// history holds only real changes.
var ErrNoChange = errors.New("amendment changes nothing")

// Amend applies edit to the newest version and files the result as a new
// version, after validating it. The certificate number cannot change.
func (r *Registry) Amend(ctx context.Context, certificateNumber string, edit func(*Record), change Change) (Entry, error) {
	return r.change(ctx, certificateNumber, ActionAmend, func(rec *Record) error { edit(rec); return nil }, change)
}

// Revoke marks a record revoked (Art. 19) as a new version; the record
// itself stays, and verification shows "revoked" from then on. A degree
// already revoked is left as it is: with the same details the answer is
// ErrNoChange, with others an *AlreadyRevokedError naming the revocation
// on file; AmendRevocation changes a revocation's details.
func (r *Registry) Revoke(ctx context.Context, certificateNumber string, rev Revocation, change Change) (Entry, error) {
	return r.change(ctx, certificateNumber, ActionRevoke, func(rec *Record) error {
		if rec.Status == StatusRevoked {
			if rec.RevokedOn == rev.On && rec.RevocationResolution == rev.Resolution && rec.RevocationReason == rev.Reason {
				return ErrNoChange
			}
			return &AlreadyRevokedError{On: rec.RevokedOn, Resolution: rec.RevocationResolution}
		}
		setRevocation(rec, rev)
		return nil
	}, change)
}

// AmendRevocation files new details of a revoked degree's revocation as
// a new version; a degree that is not revoked is ErrNotRevoked.
func (r *Registry) AmendRevocation(ctx context.Context, certificateNumber string, rev Revocation, change Change) (Entry, error) {
	return r.change(ctx, certificateNumber, ActionRevocationAmend, func(rec *Record) error {
		if rec.Status != StatusRevoked {
			return ErrNotRevoked
		}
		setRevocation(rec, rev)
		return nil
	}, change)
}

func setRevocation(rec *Record, rev Revocation) {
	rec.Status = StatusRevoked
	rec.RevokedOn = rev.On
	rec.RevocationResolution = rev.Resolution
	rec.RevocationReason = rev.Reason
}

// ErrNotRevoked: AmendRevocation of a degree that is not revoked.
var ErrNotRevoked = errors.New("the degree is not revoked")

// ErrAlreadyRevoked is wrapped by *AlreadyRevokedError.
var ErrAlreadyRevoked = errors.New("the degree is already revoked")

// AlreadyRevokedError: Revoke of a degree revoked before with other
// details, which it names.
type AlreadyRevokedError struct {
	On         Date
	Resolution string
}

func (e *AlreadyRevokedError) Error() string {
	return fmt.Sprintf("already revoked on %s by resolution %s", e.On, e.Resolution)
}

func (e *AlreadyRevokedError) Unwrap() error { return ErrAlreadyRevoked }

// change files edit's result as a new version; an error of edit, which
// sees the newest version, refuses the change.
func (r *Registry) change(ctx context.Context, certificateNumber, action string, edit func(*Record) error, change Change) (Entry, error) {
	if change.Actor == "" {
		return Entry{}, errors.New("a change needs an actor (Art. 15)")
	}
	if change.At.IsZero() {
		change.At = r.now()
	}
	cur, err := r.Get(ctx, certificateNumber)
	if err != nil {
		return Entry{}, err
	}
	next := cur.Record
	next.ThesisKeywords = append([]string(nil), cur.Record.ThesisKeywords...)
	if err := edit(&next); err != nil {
		return Entry{}, err
	}
	next.CertificateNumber = cur.Record.CertificateNumber
	Normalize(&next)
	if err := Validate(&next, DateOf(r.now())).Err(); err != nil {
		return Entry{}, err
	}
	sealed, err := r.keys.Seal(next)
	if err != nil {
		return Entry{}, err
	}
	if old, err := r.keys.Digest(cur.Record); err == nil && bytes.Equal(old, sealed.Digest) {
		return Entry{}, ErrNoChange
	}
	v, err := Append(ctx, r.store, r.log, action, cur.Version, sealed, change)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", action, err)
	}
	return Entry{Record: next, Version: v.Version, Change: v.Change}, nil
}
