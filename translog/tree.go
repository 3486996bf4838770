package translog

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// HashReader reads stored hashes by their index (tlog.StoredHashIndex).
type HashReader interface {
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
}

// LeafHash is the RFC 6962 hash of a leaf's content.
func LeafHash(leaf []byte) tlog.Hash { return tlog.RecordHash(leaf) }

// Append computes what a tree of size leaves must store to take the
// leaves whose hashes are given, in order: the hashes to append to the
// store, starting at index tlog.StoredHashCount(size), and the new root.
// Nothing is written; the caller appends the hashes where it keeps the
// tree, in the same transaction as the leaves themselves.
func Append(ctx context.Context, r HashReader, size int64, leaves []tlog.Hash) (stored []tlog.Hash, root tlog.Hash, err error) {
	if size < 0 {
		return nil, tlog.Hash{}, fmt.Errorf("translog: negative tree size %d", size)
	}
	stored, read, err := appendLeaves(ctx, r, size, leaves)
	if err != nil {
		return nil, tlog.Hash{}, err
	}
	root, err = tlog.TreeHash(size+int64(len(leaves)), read)
	if err != nil {
		return nil, tlog.Hash{}, fmt.Errorf("translog: tree hash: %w", err)
	}
	return stored, root, nil
}

// appendLeaves is Append without the root: the stored hashes, and a
// reader of the grown tree's hashes (the new ones from stored, the rest
// from r).
func appendLeaves(ctx context.Context, r HashReader, size int64, leaves []tlog.Hash) ([]tlog.Hash, tlog.HashReader, error) {
	var stored []tlog.Hash
	base := tlog.StoredHashCount(size)
	read := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		return readOver(ctx, r, base, stored, indexes)
	})
	for i, h := range leaves {
		more, err := tlog.StoredHashesForRecordHash(size+int64(i), h, read)
		if err != nil {
			return nil, nil, fmt.Errorf("translog: append leaf %d: %w", size+int64(i), err)
		}
		stored = append(stored, more...)
	}
	return stored, read, nil
}

// readOver reads indexes below base from r and the rest from pending,
// which holds the hashes from base on.
func readOver(ctx context.Context, r HashReader, base int64, pending []tlog.Hash, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var old []int64
	var at []int
	for i, x := range indexes {
		switch {
		case x >= base && x-base < int64(len(pending)):
			out[i] = pending[x-base]
		case x < base:
			old = append(old, x)
			at = append(at, i)
		default:
			return nil, fmt.Errorf("translog: hash %d is not stored yet", x)
		}
	}
	if len(old) > 0 {
		hs, err := r.ReadHashes(ctx, old)
		if err != nil {
			return nil, err
		}
		if len(hs) != len(old) {
			return nil, fmt.Errorf("translog: asked for %d hashes, read %d", len(old), len(hs))
		}
		for k, i := range at {
			out[i] = hs[k]
		}
	}
	return out, nil
}

// Root is the root hash of the tree's first size leaves.
func Root(ctx context.Context, r HashReader, size int64) (tlog.Hash, error) {
	if size < 0 {
		return tlog.Hash{}, fmt.Errorf("translog: negative tree size %d", size)
	}
	return tlog.TreeHash(size, reader(ctx, r))
}

// ErrOutOfRange: a proof was asked for, or checked against, a leaf or a
// tree the tree of that size does not have.
var ErrOutOfRange = errors.New("translog: index or size out of range")

// ProveInclusion proves that leaf index is in the tree of size leaves.
func ProveInclusion(ctx context.Context, r HashReader, size, index int64) (tlog.RecordProof, error) {
	if index < 0 || size <= index {
		return nil, fmt.Errorf("%w: leaf %d of a tree of %d", ErrOutOfRange, index, size)
	}
	return tlog.ProveRecord(size, index, reader(ctx, r))
}

// ProveConsistency proves that the tree of size leaves extends the tree
// of its first old leaves.
func ProveConsistency(ctx context.Context, r HashReader, old, size int64) (tlog.TreeProof, error) {
	if old < 1 || size < old {
		return nil, fmt.Errorf("%w: consistency of %d with %d", ErrOutOfRange, old, size)
	}
	return tlog.ProveTree(size, old, reader(ctx, r))
}

// CheckInclusion checks that leaf index, with leafHash, is in the tree c
// names.
func CheckInclusion(c Checkpoint, index int64, leafHash tlog.Hash, p tlog.RecordProof) error {
	if index < 0 || c.Size <= index {
		return fmt.Errorf("%w: leaf %d of a tree of %d", ErrOutOfRange, index, c.Size)
	}
	if err := tlog.CheckRecord(p, c.Size, c.Root, index, leafHash); err != nil {
		return fmt.Errorf("translog: leaf %d is not in the tree of %d: %w", index, c.Size, err)
	}
	return nil
}

// CheckConsistency checks that newer extends older.
func CheckConsistency(older, newer Checkpoint, p tlog.TreeProof) error {
	if older.Size < 1 || newer.Size < older.Size {
		return fmt.Errorf("%w: consistency of %d with %d", ErrOutOfRange, older.Size, newer.Size)
	}
	if older.Size == newer.Size {
		if older.Root != newer.Root {
			return fmt.Errorf("translog: two roots for a tree of %d: the log forked", older.Size)
		}
		return nil
	}
	if err := tlog.CheckTree(p, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return fmt.Errorf("translog: the tree of %d does not extend the tree of %d: %w", newer.Size, older.Size, err)
	}
	return nil
}

func reader(ctx context.Context, r HashReader) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) { return r.ReadHashes(ctx, indexes) })
}

// MemoryHashes keeps a tree's stored hashes in memory, in one slice
// (tests and small trees; inmem keeps a growing trail's in chunks).
type MemoryHashes struct {
	mu     sync.RWMutex
	hashes []tlog.Hash
}

// ReadHashes returns the hashes at indexes.
func (m *MemoryHashes) ReadHashes(_ context.Context, indexes []int64) ([]tlog.Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("translog: no stored hash %d", x)
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

// Add appends stored hashes, as Append returned them.
func (m *MemoryHashes) Add(hs []tlog.Hash) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hashes = append(m.hashes, hs...)
}
