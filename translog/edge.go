package translog

import (
	"context"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// Edge is the right edge of a tree: the roots of its complete subtrees,
// one per bit set in its size. It is all that appending leaves and
// computing the root need, so a store that keeps the edge of its tree
// appends without reading the hashes it has stored.
type Edge struct {
	size int64
	// The edge's stored hash indexes, largest subtree first, and their
	// hashes. At most 63 of each, so a linear search beats a map; dev
	// appends one leaf per verification (BenchmarkAppendAuditOne).
	indexes []int64
	hashes  []tlog.Hash
}

// EmptyEdge is the edge of the empty tree.
func EmptyEdge() Edge { return Edge{} }

// edgeIndexes are the stored hash indexes of the edge of a tree of size
// leaves, largest subtree first.
func edgeIndexes(size int64) []int64 {
	out := make([]int64, 0, bits.OnesCount64(uint64(size)))
	for level := 62; level >= 0; level-- {
		if size>>level&1 == 1 {
			out = append(out, tlog.StoredHashIndex(level, size>>level-1))
		}
	}
	return out
}

// LoadEdge reads the edge of the tree of size leaves from r.
func LoadEdge(ctx context.Context, r HashReader, size int64) (Edge, error) {
	if size < 0 {
		return Edge{}, fmt.Errorf("translog: negative tree size %d", size)
	}
	idx := edgeIndexes(size)
	if len(idx) == 0 {
		return Edge{size: size}, nil
	}
	hs, err := r.ReadHashes(ctx, idx)
	if err != nil {
		return Edge{}, fmt.Errorf("translog: read the edge of a tree of %d: %w", size, err)
	}
	if len(hs) != len(idx) {
		return Edge{}, fmt.Errorf("translog: asked for %d hashes, read %d", len(idx), len(hs))
	}
	return Edge{size: size, indexes: idx, hashes: hs}, nil
}

// Size is the number of leaves of the tree.
func (e Edge) Size() int64 { return e.size }

// ReadHashes serves the edge's own hashes; any other is an error.
func (e Edge) ReadHashes(_ context.Context, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := e.hash(x)
		if !ok {
			return nil, fmt.Errorf("translog: hash %d is not on the edge of a tree of %d", x, e.size)
		}
		out[i] = h
	}
	return out, nil
}

func (e Edge) hash(x int64) (tlog.Hash, bool) {
	for i, y := range e.indexes {
		if y == x {
			return e.hashes[i], true
		}
	}
	return tlog.Hash{}, false
}

// Root is the tree's root hash (RFC 9162's MTH, SHA-256 of nothing for
// the empty tree).
func (e Edge) Root() tlog.Hash {
	root, err := tlog.TreeHash(e.size, tlog.HashReaderFunc(func(x []int64) ([]tlog.Hash, error) {
		return e.ReadHashes(context.Background(), x)
	}))
	if err != nil {
		panic(err) // an Edge always holds what TreeHash of its size reads
	}
	return root
}

// Append appends the leaves whose hashes are given: it returns the hashes
// to store from index tlog.StoredHashCount(e.Size()) on, and the edge of
// the grown tree. e is left as it was, so a failed store keeps the old.
func (e Edge) Append(leaves []tlog.Hash) (stored []tlog.Hash, next Edge, err error) {
	// The root is left to Root: a caller that stores the hashes asks
	// for it once, of the edge it keeps.
	stored, _, err = appendLeaves(context.Background(), e, e.size, leaves)
	if err != nil {
		return nil, Edge{}, err
	}
	size := e.size + int64(len(leaves))
	base := tlog.StoredHashCount(e.size)
	idx := edgeIndexes(size)
	next = Edge{size: size, indexes: idx, hashes: make([]tlog.Hash, len(idx))}
	for i, x := range idx {
		if x >= base {
			next.hashes[i] = stored[x-base]
		} else {
			next.hashes[i], _ = e.hash(x)
		}
	}
	return stored, next, nil
}
