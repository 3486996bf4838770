package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// AuditEntry is one line of the audit trail (Art. 15): who did what to
// which record, for what purpose, when. Entries carry no personal data in
// clear: RecordRef is a certificate number or a keyed reference, Actor an
// organisation, official, token subject or keyed hash of an address.
type AuditEntry struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	RecordRef string    `json:"record_ref,omitempty"`
	Purpose   string    `json:"purpose,omitempty"`
	// Detail is free-form JSON with no personal data (fields disclosed,
	// policy version, counts …).
	Detail   string `json:"detail,omitempty"`
	PrevHash []byte `json:"prev_hash"`
	Hash     []byte `json:"hash"`
}

// ChainHead is the newest link of the trail: the sequence number and hash
// of its last entry (0 and GenesisHash for an empty trail).
type ChainHead struct {
	Seq  int64
	Hash []byte
}

// GenesisHash is the PrevHash of the first entry.
var GenesisHash = make([]byte, sha256.Size)

// AuditLog is the append-only, hash-chained trail.
//
// Concurrency: AppendAudit must take the chain head, link the batch to it
// and move the head in one atomic step that excludes every other appender,
// in this process or any other (PostgreSQL: the head row is locked with
// SELECT … FOR UPDATE inside the inserting transaction). Appenders
// therefore form one linear chain whatever their number, and a batch
// costs one lock and one round trip, not one per entry.
type AuditLog interface {
	// AppendAudit links entries to the head in order, setting Seq,
	// PrevHash and Hash on each, and stores them atomically.
	AppendAudit(ctx context.Context, entries []AuditEntry) error
	// ScanAudit calls fn for each entry with Seq >= from, in Seq order.
	ScanAudit(ctx context.Context, from int64, fn func(AuditEntry) error) error
	// AuditHead returns the recorded head of the chain.
	AuditHead(ctx context.Context) (ChainHead, error)
}

// Link sets e's Seq, PrevHash and Hash so that it follows head, and
// returns the new head. At is cut to microseconds first, the precision
// PostgreSQL keeps, so hashes survive a round trip through the database.
func Link(head ChainHead, e *AuditEntry) ChainHead {
	e.At = e.At.UTC().Truncate(time.Microsecond)
	e.Seq = head.Seq + 1
	e.PrevHash = append([]byte(nil), head.Hash...)
	e.Hash = e.computeHash()
	return ChainHead{Seq: e.Seq, Hash: e.Hash}
}

// computeHash is SHA-256 over the previous hash and every field,
// each length-prefixed so that no two entries encode alike. The input is
// gathered in one buffer (on the stack for ordinary entries) and hashed
// at once: writing field by field to a hash.Hash cost five allocations
// an entry (BenchmarkAuditWriter).
func (e *AuditEntry) computeHash() []byte {
	var stack [512]byte
	b := binary.BigEndian.AppendUint64(stack[:0], uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixMicro()))
	b = binary.BigEndian.AppendUint64(b, uint64(len(e.PrevHash)))
	b = append(b, e.PrevHash...)
	for _, f := range [...]string{e.Actor, e.Action, e.RecordRef, e.Purpose, e.Detail} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

var errStopScan = errors.New("stop scan")

// ErrTampered is wrapped by every *ChainError.
var ErrTampered = errors.New("audit trail tampered")

// ErrAuditUnstorable is AppendAudit's and AuditWriter.Record's answer to
// an entry whose text no store can keep (PostgreSQL's text type takes
// neither NUL nor invalid UTF-8). Refused up front, such an entry can
// never wedge the writer, which retries a failed batch until it lands.
var ErrAuditUnstorable = errors.New("audit entry holds text that is not UTF-8 or contains NUL")

// Storable reports whether every text field of e can be stored.
func (e *AuditEntry) Storable() bool {
	return isText(e.Actor) && isText(e.Action) && isText(e.RecordRef) && isText(e.Purpose) && isText(e.Detail)
}

// CheckStorable is ErrAuditUnstorable (naming the entry's position, never
// its text) for the first entry of batch that is not Storable.
func CheckStorable(batch []AuditEntry) error {
	for i := range batch {
		if !batch[i].Storable() {
			return fmt.Errorf("entry %d of %d: %w", i+1, len(batch), ErrAuditUnstorable)
		}
	}
	return nil
}

// ChainError names the first entry where the trail stops being a chain.
type ChainError struct {
	Seq    int64 // the first bad entry (or the expected one, when missing)
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit entry %d: %s", e.Seq, e.Reason)
}

func (e *ChainError) Unwrap() error { return ErrTampered }

// VerifyChain walks the trail up to the head it reads first (entries
// appended meanwhile are left for the next run) and checks every link.
// An altered entry breaks its own hash; a removed or reordered one breaks
// the sequence or the next entry's PrevHash; a removed tail no longer
// reaches the recorded head. It returns the number of entries checked.
func VerifyChain(ctx context.Context, log AuditLog) (int64, error) {
	head, err := log.AuditHead(ctx)
	if err != nil {
		return 0, fmt.Errorf("read audit head: %w", err)
	}
	prev := ChainHead{Hash: GenesisHash}
	err = log.ScanAudit(ctx, 1, func(e AuditEntry) error {
		want := prev.Seq + 1
		switch {
		case prev.Seq == head.Seq && e.Seq > head.Seq:
			// Appended after the head was read: a live trail, not tampering.
			return errStopScan
		case e.Seq != want:
			return &ChainError{Seq: want, Reason: fmt.Sprintf("missing or out of order (found %d)", e.Seq)}
		case !bytes.Equal(e.PrevHash, prev.Hash):
			return &ChainError{Seq: e.Seq, Reason: "does not link to the entry before it"}
		case !bytes.Equal(e.computeHash(), e.Hash):
			return &ChainError{Seq: e.Seq, Reason: "content does not match its hash (altered)"}
		}
		prev = ChainHead{Seq: e.Seq, Hash: e.Hash}
		return nil
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return prev.Seq, err
	}
	if prev.Seq != head.Seq || !bytes.Equal(prev.Hash, head.Hash) {
		return prev.Seq, &ChainError{Seq: prev.Seq + 1, Reason: fmt.Sprintf(
			"trail ends at %d but the head records %d (%s): entries removed", prev.Seq, head.Seq, shortHash(head.Hash))}
	}
	return prev.Seq, nil
}

func shortHash(b []byte) string {
	s := hex.EncodeToString(b)
	if len(s) > 12 {
		s = s[:12]
	}
	return s
}
