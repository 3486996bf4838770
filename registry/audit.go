package registry

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/translog"
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
	// Commitment is the keyed commitment the log's leaf holds (LogKey);
	// stores never keep it: whoever checks the log recomputes it.
	Commitment []byte `json:"-"`
}

// ChainHead is the newest link of the trail: the sequence number and hash
// of its last entry (0 and GenesisHash for an empty trail), and the size
// and root of the log over it — Seq and its root once every entry is a
// leaf, less only for a trail written before the log existed.
type ChainHead struct {
	Seq     int64
	Hash    []byte
	LogSize int64
	LogRoot tlog.Hash
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
//
// The same step appends each entry's leaf to the log (LeafHashes) and
// moves the log's root, so the trail and the log never disagree.
type AuditLog interface {
	// AppendAudit links entries to the head in order, setting Seq,
	// PrevHash and Hash on each, and stores them and their leaves
	// atomically. Every entry must carry its Commitment
	// (ErrUncommitted), and every earlier entry must be a leaf
	// (ErrLogBehind).
	AppendAudit(ctx context.Context, entries []AuditEntry) error
	// ReadLogHashes reads the log's stored hashes (tlog.StoredHashIndex)
	// for proofs.
	ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// ExtendLog makes up to max of the entries that are not yet leaves
	// into leaves, in Seq order, after commit has set their Commitment,
	// and returns the head it leaves. Only a trail written before the log
	// existed needs it (degreegate migrate).
	ExtendLog(ctx context.Context, max int, commit func(*AuditEntry)) (ChainHead, error)
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
//
// VerifyChain trusts the head the database holds; VerifyTrail with the
// log's key and checkpoints kept outside it does not.
func VerifyChain(ctx context.Context, log AuditLog) (int64, error) {
	return VerifyTrail(ctx, log, nil, nil, nil)
}

// VerifyTrail checks the chain as VerifyChain does and, given the log's
// leaf key, that every entry is the leaf the log holds for it and that
// the trail hashes to the log's recorded root and to the root of every
// checkpoint given — checkpoints kept outside the database, by the
// gateway's checkpoint directory or a witness. Whoever rewrites the
// trail, its head and the log's stored hashes together, without the leaf
// key and the log's signing key, is caught by the checkpoints: an
// edited, removed or reordered entry changes the root of every
// checkpoint that covers it, and a removed tail leaves a checkpoint
// larger than the trail.
//
// Given the store's versions as well, it checks that every stored record
// version is the one its filing entry filed (VersionDigest): a version
// altered, removed or added outside the registry is named by a
// *VersionError.
func VerifyTrail(ctx context.Context, log AuditLog, versions VersionScanner, key *LogKey, checkpoints []translog.Checkpoint) (int64, error) {
	if key == nil && len(checkpoints) > 0 {
		return 0, errors.New("checking a trail against checkpoints needs the log's leaf key")
	}
	head, err := log.AuditHead(ctx)
	if err != nil {
		return 0, fmt.Errorf("read audit head: %w", err)
	}
	var filed filedVersions
	if versions != nil {
		filed = filedVersions{}
	}
	v := trailVerifier{filed: filed, ctx: ctx, log: log, key: key, head: head, edge: translog.EmptyEdge(), prev: ChainHead{Hash: GenesisHash},
		cps: slices.SortedFunc(slices.Values(checkpoints), func(a, b translog.Checkpoint) int { return cmp.Compare(a.Size, b.Size) })}
	// The scan hands pages to workers that hash them and read their
	// stored leaves, one page each, and to one goroutine that checks
	// them in order: hashing runs on every core while the store sends
	// the next rows (BenchmarkVerifyTrail, 10M entries: 246k entries/s
	// with one goroutine hashing and checking, 289k with two workers).
	work := make(chan *verifyPage, verifyWorkers)
	ordered := make(chan *verifyPage, 2*verifyWorkers)
	var wg sync.WaitGroup
	for range verifyWorkers {
		wg.Go(func() {
			for p := range work {
				v.hash(p)
				close(p.done)
			}
		})
	}
	var failed atomic.Bool
	var verr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range ordered {
			<-p.done
			if verr == nil {
				if verr = v.check(p); verr != nil {
					failed.Store(true)
				}
			}
		}
	}()
	send := func(entries []AuditEntry) {
		p := &verifyPage{entries: entries, done: make(chan struct{})}
		ordered <- p
		work <- p
	}
	page := make([]AuditEntry, 0, verifyPageSize)
	err = log.ScanAudit(ctx, 1, func(e AuditEntry) error {
		if failed.Load() || e.Seq > head.Seq {
			// Failed, or appended after the head was read: a live
			// trail, not tampering.
			return errStopScan
		}
		page = append(page, e)
		if len(page) == verifyPageSize {
			send(page)
			page = make([]AuditEntry, 0, verifyPageSize)
		}
		return nil
	})
	if len(page) > 0 {
		send(page)
	}
	close(work)
	close(ordered)
	wg.Wait()
	<-done
	prev := v.prev
	var ce *ChainError
	switch {
	case errors.As(verr, &ce):
		return min(prev.Seq, ce.Seq-1), verr
	case verr != nil:
		return prev.Seq, verr
	case err != nil && !errors.Is(err, errStopScan):
		return prev.Seq, err
	}
	if prev.Seq != head.Seq || !bytes.Equal(prev.Hash, head.Hash) {
		return prev.Seq, &ChainError{Seq: prev.Seq + 1, Reason: fmt.Sprintf(
			"trail ends at %d but the head records %d (%s): entries removed", prev.Seq, head.Seq, shortHash(head.Hash))}
	}
	if err := v.finish(); err != nil {
		return prev.Seq, err
	}
	if versions != nil {
		return prev.Seq, v.filed.verify(ctx, versions, log, head.Seq)
	}
	return prev.Seq, nil
}

// trailVerifier recomputes the log from the entries VerifyTrail walks.
type trailVerifier struct {
	ctx     context.Context
	log     AuditLog
	key     *LogKey
	head    ChainHead
	edge    translog.Edge
	cps     []translog.Checkpoint // ascending; those not reached yet
	matched int64                 // the size of the largest checkpoint matched so far
	prev    ChainHead             // the last entry checked
	filed   filedVersions         // the versions the entries filed
}

// verifyPageSize is how many entries are hashed, and their leaves read
// from the store, at once; verifyWorkers how many pages at a time.
const (
	verifyPageSize = 1024
	verifyWorkers  = 2
)

// verifyPage is a page of the trail, with what the workers found of it.
type verifyPage struct {
	entries []AuditEntry
	done    chan struct{} // closed once the fields below are set
	// hashOK[i]: entries[i]'s content hashes to its Hash.
	hashOK []bool
	// leaves are the entries' leaf hashes (with the key); stored those
	// the log holds for the entries it covers.
	leaves, stored []tlog.Hash
	err            error
}

// hash does the page's work that needs no other page: each entry's
// chain hash and, with the key, its commitment and leaf, and the read of
// the leaves the log stores for it.
func (v *trailVerifier) hash(p *verifyPage) {
	p.hashOK = make([]bool, len(p.entries))
	for i := range p.entries {
		p.hashOK[i] = bytes.Equal(p.entries[i].computeHash(), p.entries[i].Hash)
	}
	if v.key == nil {
		return
	}
	var idx []int64
	for i := range p.entries {
		e := &p.entries[i]
		v.key.Commit(e)
		if e.Seq <= v.head.LogSize {
			idx = append(idx, tlog.StoredHashIndex(0, e.Seq-1))
		}
	}
	if p.leaves, p.err = LeafHashes(p.entries); p.err != nil {
		return
	}
	if len(idx) > 0 {
		if p.stored, p.err = v.log.ReadLogHashes(v.ctx, idx); p.err != nil {
			p.err = fmt.Errorf("read the log's leaves: %w", p.err)
		}
	}
}

// check checks the chain through the page, then the page's leaves.
func (v *trailVerifier) check(p *verifyPage) error {
	for i := range p.entries {
		e := &p.entries[i]
		want := v.prev.Seq + 1
		switch {
		case e.Seq != want:
			return &ChainError{Seq: want, Reason: fmt.Sprintf("missing or out of order (found %d)", e.Seq)}
		case !bytes.Equal(e.PrevHash, v.prev.Hash):
			return &ChainError{Seq: e.Seq, Reason: "does not link to the entry before it"}
		case !p.hashOK[i]:
			return &ChainError{Seq: e.Seq, Reason: "content does not match its hash (altered)"}
		}
		v.prev = ChainHead{Seq: e.Seq, Hash: e.Hash}
		if err := v.filed.add(e); err != nil {
			return err
		}
	}
	if v.key == nil {
		return nil
	}
	if p.err != nil {
		return p.err
	}
	return v.flush(p.entries, p.leaves, p.stored)
}

// flush compares the page's leaves with stored, those the log holds
// for its entries the log covers, appends them to the recomputed tree,
// and checks the root of every checkpoint and of the head the tree
// reaches.
func (v *trailVerifier) flush(page []AuditEntry, leaves, stored []tlog.Hash) error {
	for i, h := range stored {
		if h != leaves[i] {
			e := page[i]
			return &ChainError{Seq: e.Seq, Reason: fmt.Sprintf("is not the entry the log holds at leaf %d (altered, or the log rewritten)", e.Seq-1)}
		}
	}
	// Append up to each size whose root is due, then check it.
	for len(leaves) > 0 {
		end := v.edge.Size() + int64(len(leaves))
		if len(v.cps) > 0 && v.cps[0].Size < end {
			end = v.cps[0].Size
		}
		if v.head.LogSize > v.edge.Size() && v.head.LogSize < end {
			end = v.head.LogSize
		}
		k := end - v.edge.Size()
		_, next, err := v.edge.Append(leaves[:k])
		if err != nil {
			return err
		}
		v.edge, leaves = next, leaves[k:]
		if err := v.reached(end); err != nil {
			return err
		}
	}
	return nil
}

// reached checks the roots due at a tree of size leaves.
func (v *trailVerifier) reached(size int64) error {
	for len(v.cps) > 0 && v.cps[0].Size == size {
		if cp := v.cps[0]; v.edge.Root() != cp.Root {
			return &ChainError{Seq: size, Reason: fmt.Sprintf(
				"the first %d entries do not make the tree of the checkpoint of %d kept outside the database: an entry from %d to %d was altered, removed or reordered",
				size, cp.Size, v.matched+1, size)}
		}
		v.matched, v.cps = size, v.cps[1:]
	}
	if size == v.head.LogSize && v.edge.Root() != v.head.LogRoot {
		return &ChainError{Seq: size, Reason: "the log's recorded root is not the root of the trail's entries"}
	}
	return nil
}

// finish names a checkpoint the trail never reached: its tail is gone.
func (v *trailVerifier) finish() error {
	if len(v.cps) > 0 {
		cp, end := v.cps[len(v.cps)-1], v.edge.Size()
		if v.matched == end {
			// The trail is the checkpoint's tree of its own size: the
			// entries after it are gone.
			return &ChainError{Seq: end + 1, Reason: fmt.Sprintf(
				"trail ends at %d but a checkpoint kept outside the database covers %d entries: entries %d–%d removed", end, cp.Size, end+1, cp.Size)}
		}
		return &ChainError{Seq: v.matched + 1, Reason: fmt.Sprintf(
			"trail ends at %d but a checkpoint kept outside the database covers %d entries: entries after %d (the largest checkpoint the trail matches) were removed or rewritten",
			end, cp.Size, v.matched)}
	}
	return nil
}

func shortHash(b []byte) string {
	s := hex.EncodeToString(b)
	if len(s) > 12 {
		s = s[:12]
	}
	return s
}
