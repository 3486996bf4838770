package translog

import (
	"context"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// An Edge appends as Append over every stored hash does, and its root is
// RFC 9162's, for every size up to 300 in batches of several sizes.
func TestEdgeAppendsAsTheWholeTree(t *testing.T) {
	ctx := context.Background()
	for _, batches := range [][]int{{1}, {5}, {7, 1, 16}, {64}} {
		t.Run(fmt.Sprint(batches), func(t *testing.T) {
			m := &MemoryHashes{}
			e := EmptyEdge()
			var all [][]byte
			for b := 0; e.Size() < 300; b++ {
				k := min(batches[b%len(batches)], 300-int(e.Size()))
				hs := make([]tlog.Hash, k)
				for i := range hs {
					all = append(all, leafData(len(all)))
					hs[i] = LeafHash(all[len(all)-1])
				}
				want, _, err := Append(ctx, m, e.Size(), hs)
				if err != nil {
					t.Fatal(err)
				}
				m.Add(want)
				stored, next, err := e.Append(hs)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(stored) != fmt.Sprint(want) {
					t.Fatalf("size %d: the edge stores other hashes than the tree", e.Size())
				}
				if e.Size()+int64(k) != next.Size() {
					t.Fatalf("size %d + %d leaves: edge of %d", e.Size(), k, next.Size())
				}
				e = next
				if root := e.Root(); root != mth(all) {
					t.Fatalf("edge root of %d leaves %s, RFC 9162 says %s", e.Size(), root, mth(all))
				}
				loaded, err := LoadEdge(ctx, m, e.Size())
				if err != nil {
					t.Fatal(err)
				}
				if loaded.Root() != e.Root() || fmt.Sprint(loaded.hashes) != fmt.Sprint(e.hashes) {
					t.Fatalf("edge loaded at %d differs from the edge appended", e.Size())
				}
			}
		})
	}
}

// Appending to an edge leaves it as it was: a store whose write failed
// keeps appending to the old one.
func TestEdgeAppendKeepsTheOld(t *testing.T) {
	e := EmptyEdge()
	_, e, _ = e.Append([]tlog.Hash{LeafHash([]byte("a")), LeafHash([]byte("b")), LeafHash([]byte("c"))})
	root := e.Root()
	if _, _, err := e.Append([]tlog.Hash{LeafHash([]byte("d"))}); err != nil {
		t.Fatal(err)
	}
	if e.Size() != 3 || e.Root() != root {
		t.Fatalf("the edge changed under Append: size %d", e.Size())
	}
}

func TestLoadEdgeErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := LoadEdge(ctx, &MemoryHashes{}, -1); err == nil {
		t.Error("negative size: no error")
	}
	if _, err := LoadEdge(ctx, &MemoryHashes{}, 5); err == nil {
		t.Error("hashes not stored: no error")
	}
	if e, err := LoadEdge(ctx, &MemoryHashes{}, 0); err != nil || e.Size() != 0 || e.Root() != mth(nil) {
		t.Errorf("empty tree: %v, size %d", err, e.Size())
	}
}
