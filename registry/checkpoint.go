package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/translog"
)

// ErrNoCheckpoint: the log has signed no checkpoint yet (its trail is
// empty, or the first is not signed yet).
var ErrNoCheckpoint = errors.New("the log has no signed checkpoint yet")

// ErrLogRange: a proof was asked for a leaf or a tree that no signed
// checkpoint covers. It is translog.ErrOutOfRange, named here for
// callers that see the log through the registry alone.
var ErrLogRange = translog.ErrOutOfRange

// Checkpointer signs checkpoints of the log over the trail and keeps
// every one it signs outside the database, in a directory that is its
// own witness (translog.Witness): before it signs a tree it checks, with
// a consistency proof from the store, that the tree extends the last one
// it kept. A store that was rolled back or rewritten — by a restore, or
// by whoever controls the database — is therefore never signed over;
// the checkpointer stops signing, logs why, and counts the failure.
//
// It also answers proofs against the trees it signed, for the gateway's
// /v1/log routes.
type Checkpointer struct {
	log     AuditLog
	signer  *translog.Signer
	logger  *slog.Logger
	mu      sync.Mutex // one signing at a time
	witness *translog.Witness
	latest  atomic.Pointer[signedCheckpoint]

	signed, failures atomic.Int64
}

type signedCheckpoint struct {
	c    translog.Checkpoint
	note []byte
}

// NewCheckpointer reads the checkpoints kept in dir (created if
// missing); v must verify signer's signatures. A directory kept for
// another log is an error.
func NewCheckpointer(log AuditLog, signer *translog.Signer, v *translog.Verifier, dir string, logger *slog.Logger) (*Checkpointer, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w, err := translog.OpenWitness(dir, v)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	probe, err := signer.Sign(1, tlog.Hash{})
	if err != nil {
		return nil, err
	}
	if _, err := v.Open(probe); err != nil {
		return nil, fmt.Errorf("checkpoints: the log's verifier key does not match its signing key: %w", err)
	}
	c := &Checkpointer{log: log, signer: signer, logger: logger, witness: w}
	if kept, signed, ok := w.Latest(); ok {
		c.latest.Store(&signedCheckpoint{c: kept, note: signed})
	}
	return c, nil
}

// Sign signs the log's current tree if it grew since the last checkpoint
// and returns the newest checkpoint.
func (c *Checkpointer) Sign(ctx context.Context) (translog.Checkpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	head, err := c.log.AuditHead(ctx)
	if err != nil {
		return translog.Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	last := c.latest.Load()
	if head.LogSize == 0 || (last != nil && head.LogSize == last.c.Size && head.LogRoot == last.c.Root) {
		if last == nil {
			return translog.Checkpoint{}, ErrNoCheckpoint
		}
		return last.c, nil
	}
	note, err := c.signer.Sign(head.LogSize, head.LogRoot)
	if err != nil {
		return translog.Checkpoint{}, err
	}
	cp, err := c.witness.Update(note, func(old, size int64) (tlog.TreeProof, error) {
		return translog.ProveConsistency(ctx, LogHashes{c.log}, old, size)
	})
	if err != nil {
		c.failures.Add(1)
		return translog.Checkpoint{}, fmt.Errorf("checkpoint of %d not signed: %w", head.LogSize, err)
	}
	c.signed.Add(1)
	c.latest.Store(&signedCheckpoint{c: cp, note: note})
	return cp, nil
}

// Run signs every interval until ctx ends, logging failures.
func (c *Checkpointer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, max(interval, time.Second))
		if _, err := c.Sign(sctx); err != nil && !errors.Is(err, ErrNoCheckpoint) && ctx.Err() == nil {
			c.logger.Error("log checkpoint", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Origin is the log's name, the first line of its checkpoints.
func (c *Checkpointer) Origin() string { return c.signer.Origin() }

// Latest is the newest signed checkpoint and its signed note.
func (c *Checkpointer) Latest() (translog.Checkpoint, []byte, error) {
	l := c.latest.Load()
	if l == nil {
		return translog.Checkpoint{}, nil, ErrNoCheckpoint
	}
	return l.c, l.note, nil
}

// Stats counts checkpoints signed and refused since the start.
func (c *Checkpointer) Stats() (signed, failures int64) { return c.signed.Load(), c.failures.Load() }

// InclusionProof is the proof that leaf Index, whose hash is LeafHash,
// is in the tree of Size leaves.
type InclusionProof struct {
	Index, Size int64
	LeafHash    tlog.Hash
	Proof       tlog.RecordProof
}

// ProveInclusion proves leaf index in the signed tree of size leaves
// (0: the newest checkpoint's). A size no checkpoint reached is
// translog.ErrOutOfRange: proofs are against signed trees only.
func (c *Checkpointer) ProveInclusion(ctx context.Context, index, size int64) (InclusionProof, error) {
	size, err := c.signedSize(size)
	if err != nil {
		return InclusionProof{}, err
	}
	p, err := translog.ProveInclusion(ctx, LogHashes{c.log}, size, index)
	if err != nil {
		return InclusionProof{}, err
	}
	leaf, err := c.log.ReadLogHashes(ctx, []int64{tlog.StoredHashIndex(0, index)})
	if err != nil {
		return InclusionProof{}, err
	}
	return InclusionProof{Index: index, Size: size, LeafHash: leaf[0], Proof: p}, nil
}

// ProveConsistency proves that the signed tree of size leaves (0: the
// newest checkpoint's) extends the tree of its first old leaves.
func (c *Checkpointer) ProveConsistency(ctx context.Context, old, size int64) (int64, tlog.TreeProof, error) {
	size, err := c.signedSize(size)
	if err != nil {
		return 0, nil, err
	}
	p, err := translog.ProveConsistency(ctx, LogHashes{c.log}, old, size)
	return size, p, err
}

func (c *Checkpointer) signedSize(size int64) (int64, error) {
	l := c.latest.Load()
	if l == nil {
		return 0, ErrNoCheckpoint
	}
	switch {
	case size == 0:
		return l.c.Size, nil
	case size < 0 || size > l.c.Size:
		return 0, fmt.Errorf("%w: no checkpoint has a tree of %d (the newest has %d)", translog.ErrOutOfRange, size, l.c.Size)
	}
	return size, nil
}
