package registry

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Every filed record version is a leaf of the log as well: a store files
// a version together with its filing entry, in the same transaction, and
// the entry's Detail names the version and the SHA-256 of all a store
// keeps of it (VersionDigest). The entry's commitment covers its Detail,
// so whoever controls the database but not the log's leaf key can neither
// change a version nor add one unnoticed: VerifyTrail recomputes the
// digest of every stored version and matches it with the entry that
// filed it.
//
// The digest shows nothing personal: it covers the sealed secret (random
// nonce and all) and the keyed digest of the clear record, so no one
// without the data keys can test a guess against it.

// Actions of filing entries: one per way a version is filed.
const (
	// ActionFile files version 1 (Insert).
	ActionFile = "record.file"
	// ActionAmend, ActionRevoke and ActionRevocationAmend file a changed
	// record, a revocation, and new details of a revocation (Registry).
	ActionAmend           = "record.amend"
	ActionRevoke          = "record.revoke"
	ActionRevocationAmend = "record.revocation_amend"
	// ActionDelete files a record's version marked deleted (the filing
	// workflow's approved deletion, Art. 18).
	ActionDelete = "record.delete"
	// ActionLogVersion binds a version filed before versions were
	// leaves; `degreegate migrate` writes it (LogVersions).
	ActionLogVersion = "record.log"
)

// ErrUnfiled: a store was asked to write a version without its filing
// entry.
var ErrUnfiled = errors.New("record version has no filing entry")

// VersionRef names one version of a certificate.
type VersionRef struct {
	CertificateNumber string
	Version           int
}

// versionDetail is a filing entry's Detail.
type versionDetail struct {
	Version int    `json:"version"`
	SHA256  string `json:"sha256"`
}

// VersionDigest is the SHA-256 of everything a store keeps of v: every
// field of the record that is not empty, by name (so that a field added
// later leaves the digests of older versions alone), its sealing, its
// number and its change.
func VersionDigest(v *Version) [sha256.Size]byte {
	// Buffers on the stack for a usual record, no closures, no fmt or
	// reflection: import digests every record it files, and this was a
	// fifth of its preparing goroutine (bench-registry.sh).
	var stack [2048]byte
	var scratch [512]byte
	b := append(stack[:0], "degreegate record version v1\n"...)
	r := &v.Record
	for _, f := range versionFields {
		val := scratch[:0]
		switch f.Kind {
		case FieldText:
			val = append(val, f.Text(r)...)
		case FieldDate:
			if d := *f.Date(r); !d.IsZero() {
				val = strconv.AppendInt(val, int64(d.Year()), 10)
				val = strconv.AppendInt(append(val, '-'), int64(d.Month()), 10)
				val = strconv.AppendInt(append(val, '-'), int64(d.Day()), 10)
			}
		case FieldMonth:
			if m := *f.Month(r); !m.IsZero() {
				val = strconv.AppendInt(val, int64(m.Year()), 10)
				val = strconv.AppendInt(append(val, '-'), int64(m.Month()), 10)
			}
		case FieldInt:
			if n := *f.Int(r); n != 0 {
				val = strconv.AppendInt(val, int64(n), 10)
			}
		case FieldBool:
			if *f.Bool(r) {
				val = append(val, "true"...)
			}
		case FieldList:
			// The list's length, then each item: ["a,b"] and ["a","b"]
			// differ, and so do nil and empty.
			if l := *f.List(r); l != nil {
				val = binary.BigEndian.AppendUint32(val, uint32(len(l)))
				for _, s := range l {
					val = binary.BigEndian.AppendUint32(val, uint32(len(s)))
					val = append(val, s...)
				}
			}
		}
		if len(val) > 0 {
			b = appendLenPrefixed(b, f.Name)
			b = appendLenPrefixed(b, val)
		}
	}
	b = appendLenPrefixed(b, "")
	b = appendLenPrefixed(b, v.KeyID)
	b = appendLenPrefixed(b, v.Secret)
	b = appendLenPrefixed(b, v.PersonIndex)
	b = appendLenPrefixed(b, v.Digest)
	b = binary.BigEndian.AppendUint64(b, uint64(v.Version))
	b = appendLenPrefixed(b, v.Change.Actor)
	b = appendLenPrefixed(b, v.Change.Reason)
	b = binary.BigEndian.AppendUint64(b, uint64(v.Change.At.UnixMicro()))
	return sha256.Sum256(b)
}

func appendLenPrefixed[S string | []byte](b []byte, s S) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// versionFields is Fields, read once.
var versionFields = Fields()

// FilingEntry is the entry that files v, committed under k: at, actor
// and reason are v's change, the record ref its certificate number.
func (k *LogKey) FilingEntry(action string, v *Version) AuditEntry {
	d := VersionDigest(v)
	// The Detail versionDetail's JSON would give, without reflection.
	var buf [128]byte
	detail := append(buf[:0], `{"version":`...)
	detail = strconv.AppendInt(detail, int64(v.Version), 10)
	detail = append(detail, `,"sha256":"`...)
	detail = hex.AppendEncode(detail, d[:])
	detail = append(detail, `"}`...)
	e := AuditEntry{At: v.Change.At, Actor: v.Change.Actor, Action: action,
		RecordRef: v.CertificateNumber, Purpose: v.Change.Reason, Detail: string(detail)}
	k.Commit(&e)
	return e
}

// FiledVersion reads the version a filing entry files and its digest;
// ok is false for every other entry, including filing entries written
// before versions were leaves (whose Detail has no digest).
func FiledVersion(e *AuditEntry) (ref VersionRef, digest [sha256.Size]byte, ok bool) {
	if !strings.HasPrefix(e.Action, "record.") || !strings.Contains(e.Detail, `"sha256"`) {
		return ref, digest, false
	}
	var d versionDetail
	if json.Unmarshal([]byte(e.Detail), &d) != nil || d.Version < 1 || hex.DecodedLen(len(d.SHA256)) != sha256.Size {
		return ref, digest, false
	}
	if _, err := hex.Decode(digest[:], []byte(d.SHA256)); err != nil {
		return ref, digest, false
	}
	return VersionRef{CertificateNumber: e.RecordRef, Version: d.Version}, digest, true
}

// Insert files batch through s as version 1 of each new record, each
// with its filing entry committed under k (see Store.Insert).
func Insert(ctx context.Context, s Store, k *LogKey, batch []Sealed, change Change) ([]Outcome, error) {
	change = change.Stored()
	entries := make([]AuditEntry, len(batch))
	for i := range batch {
		entries[i] = k.FilingEntry(ActionFile, &Version{Sealed: batch[i], Version: 1, Change: change})
	}
	return s.Insert(ctx, batch, change, entries)
}

// Append files next as version after+1 of its certificate through s,
// with its filing entry for action committed under k (see Store.Append).
func Append(ctx context.Context, s Store, k *LogKey, action string, after int, next Sealed, change Change) (Version, error) {
	change = change.Stored()
	e := k.FilingEntry(action, &Version{Sealed: next, Version: after + 1, Change: change})
	return s.Append(ctx, after, next, change, e)
}

// CheckFilings is what stores check of the filing entries Insert and
// Append are given: one per record, committed, naming its record and
// storable.
func CheckFilings(batch []Sealed, filings []AuditEntry) error {
	if len(filings) != len(batch) {
		return fmt.Errorf("%d records, %d filing entries: %w", len(batch), len(filings), ErrUnfiled)
	}
	for i := range filings {
		if filings[i].RecordRef != batch[i].CertificateNumber || !strings.HasPrefix(filings[i].Action, "record.") {
			return fmt.Errorf("record %d: the filing entry is another record's: %w", i, ErrUnfiled)
		}
	}
	for i := range filings {
		if len(filings[i].Commitment) != sha256.Size {
			return fmt.Errorf("filing entry %d of %d: %w", i+1, len(filings), ErrUncommitted)
		}
	}
	return CheckStorable(filings)
}

// VersionScanner reads every stored version (Store.ScanVersions).
type VersionScanner interface {
	ScanVersions(ctx context.Context, fn func(Version) error) error
}

// VersionError names a stored version that is not the one the trail
// filed.
type VersionError struct {
	Ref VersionRef
	// Seq is the filing entry's, 0 for a version that none filed.
	Seq    int64
	Reason string
	// Unfiled: no entry filed the version (added outside the registry,
	// or filed before versions were leaves and not yet migrated).
	Unfiled bool
}

func (e *VersionError) Error() string {
	if e.Seq == 0 {
		return fmt.Sprintf("record version %d of certificate %s: %s", e.Ref.Version, e.Ref.CertificateNumber, e.Reason)
	}
	return fmt.Sprintf("audit entry %d: record version %d of certificate %s: %s", e.Seq, e.Ref.Version, e.Ref.CertificateNumber, e.Reason)
}

func (e *VersionError) Unwrap() error { return ErrTampered }

// filing is what a filing entry says of its version.
type filing struct {
	seq    int64
	digest [sha256.Size]byte
}

// filedVersions are the versions a trail's filing entries filed.
type filedVersions map[VersionRef]filing

// add records e's version if e is a filing entry.
func (f filedVersions) add(e *AuditEntry) error {
	if f == nil {
		return nil
	}
	ref, digest, ok := FiledVersion(e)
	if !ok {
		return nil
	}
	if first, dup := f[ref]; dup {
		return &ChainError{Seq: e.Seq, Reason: fmt.Sprintf("files a record version that entry %d filed already", first.seq)}
	}
	f[ref] = filing{seq: e.Seq, digest: digest}
	return nil
}

// verify matches every stored version with its filing, removing each
// from f; what is left was filed and is gone. Versions filed after the
// trail was read up to head, by a live registry, are found by reading
// the trail on from there.
func (f filedVersions) verify(ctx context.Context, versions VersionScanner, log AuditLog, head int64) error {
	var late []Version
	err := versions.ScanVersions(ctx, func(v Version) error {
		ref := VersionRef{CertificateNumber: v.CertificateNumber, Version: v.Version}
		fl, ok := f[ref]
		if !ok {
			late = append(late, v)
			return nil
		}
		delete(f, ref)
		if VersionDigest(&v) != fl.digest {
			return &VersionError{Ref: ref, Seq: fl.seq, Reason: "not the version this entry filed (altered since)"}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(late) > 0 {
		more := filedVersions{}
		err := log.ScanAudit(ctx, head+1, func(e AuditEntry) error { return more.add(&e) })
		if err != nil {
			return fmt.Errorf("read the trail after entry %d: %w", head, err)
		}
		for i := range late {
			v := &late[i]
			ref := VersionRef{CertificateNumber: v.CertificateNumber, Version: v.Version}
			fl, ok := more[ref]
			if !ok {
				return &VersionError{Ref: ref, Reason: "no entry of the trail filed it (added outside the registry)", Unfiled: true}
			}
			if VersionDigest(v) != fl.digest {
				return &VersionError{Ref: ref, Seq: fl.seq, Reason: "not the version this entry filed (altered since)"}
			}
		}
	}
	if len(f) > 0 {
		var first VersionRef
		fl := filing{seq: -1}
		for ref, x := range f {
			if fl.seq < 0 || x.seq < fl.seq {
				first, fl = ref, x
			}
		}
		return &VersionError{Ref: first, Seq: fl.seq, Reason: "filed by this entry but no longer stored (removed)"}
	}
	return nil
}
