package registry

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/translog"
)

// The trail is also a transparency log (translog): audit entry Seq is
// leaf Seq−1 of an append-only Merkle tree whose signed checkpoints are
// kept outside the database. A leaf must show nothing personal — entries
// name certificates and keyed addresses — so a leaf is a keyed
// commitment to its entry: HMAC-SHA256 under the log's leaf key, which
// stays with the other keys. Whoever controls the database but not that
// key cannot make a leaf for an entry of their own, and whoever sees a
// proof learns nothing they could test a guess against.

// ErrLogBehind: the trail holds entries that are not yet leaves of the
// log (a trail written before the log existed): AppendAudit refuses until
// `degreegate migrate` has made them leaves (Store.ExtendLog).
var ErrLogBehind = errors.New("audit trail has entries that are not yet in the log; run degreegate migrate with the keys")

// ErrUncommitted: an entry reached a store without its commitment (an
// AuditLog not wrapped by Committing).
var ErrUncommitted = errors.New("audit entry has no log commitment")

// LogKey commits audit entries to the log.
type LogKey struct {
	key []byte
	// macs are HMACs keyed with key, each with a buffer for the
	// message, reused: a fresh HMAC for every entry was a fifth of the
	// commit's time (BenchmarkLogAppend), and a buffer on the stack
	// escapes through the hash.Hash interface (BenchmarkAppendAuditOne).
	macs sync.Pool
}

type committer struct {
	mac hash.Hash
	buf []byte
}

// NewLogKey takes the leaf key's KeySize bytes.
func NewLogKey(key []byte) (*LogKey, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("log leaf key: want %d bytes, have %d", KeySize, len(key))
	}
	return newLogKey(append([]byte(nil), key...)), nil
}

func newLogKey(key []byte) *LogKey {
	k := &LogKey{key: key}
	k.macs.New = func() any { return &committer{mac: hmac.New(sha256.New, k.key)} }
	return k
}

// Commit cuts e.At to microseconds, as Link does, and sets e.Commitment
// to the HMAC of every field but Seq and the chain links, which the
// leaf's place in the tree stands for.
func (k *LogKey) Commit(e *AuditEntry) {
	e.At = e.At.UTC().Truncate(time.Microsecond)
	c := k.macs.Get().(*committer)
	defer k.macs.Put(c)
	b := append(c.buf[:0], "degreegate audit entry v1\n"...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixMicro()))
	for _, f := range [...]string{e.Actor, e.Action, e.RecordRef, e.Purpose, e.Detail} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	c.buf = b
	c.mac.Reset()
	c.mac.Write(b)
	e.Commitment = c.mac.Sum(e.Commitment[:0])
}

// auditLeafPrefix starts every audit entry's leaf, so that leaves of
// other kinds can join the tree without ever hashing alike.
const auditLeafPrefix = "degreegate/audit/v1\n"

// LeafData is the leaf the log holds for e: the prefix and e's
// commitment. It is what an inclusion proof shows.
func LeafData(e *AuditEntry) []byte {
	return append([]byte(auditLeafPrefix), e.Commitment...)
}

// LeafHashes are the RFC 6962 leaf hashes of entries, which must carry
// their commitments.
func LeafHashes(entries []AuditEntry) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(entries))
	for i := range entries {
		if len(entries[i].Commitment) != sha256.Size {
			return nil, fmt.Errorf("entry %d of %d: %w", i+1, len(entries), ErrUncommitted)
		}
		out[i] = translog.LeafHash(LeafData(&entries[i]))
	}
	return out, nil
}

// LogRef is where a stored entry is in the log: its leaf index (Seq−1)
// and leaf hash, which a receipt names so that its holder can ask for
// the proof that the log holds it.
type LogRef struct {
	Index    int64
	LeafHash tlog.Hash
}

// LogRef is the leaf e became; e must be stored, with its commitment.
func (e *AuditEntry) LogRef() (LogRef, error) {
	if len(e.Commitment) != sha256.Size || e.Seq < 1 {
		return LogRef{}, ErrUncommitted
	}
	return LogRef{Index: e.Seq - 1, LeafHash: translog.LeafHash(LeafData(e))}, nil
}

// Committing is the trail as every writer must see it: AppendAudit
// commits each entry under Key before Log stores it and its leaf.
type Committing struct {
	AuditLog
	Key *LogKey
}

// AppendAudit commits entries, then appends them.
func (c Committing) AppendAudit(ctx context.Context, entries []AuditEntry) error {
	for i := range entries {
		c.Key.Commit(&entries[i])
	}
	return c.AuditLog.AppendAudit(ctx, entries)
}

// LogHashes reads a log's stored hashes as translog does.
type LogHashes struct{ Log AuditLog }

// ReadHashes reads the stored hashes at indexes.
func (h LogHashes) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	return h.Log.ReadLogHashes(ctx, indexes)
}

// NewRandomLogKey makes a leaf key that lives as long as the process:
// dev's, whose trail lives no longer.
func NewRandomLogKey() *LogKey {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return newLogKey(key)
}
