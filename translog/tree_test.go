package translog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// mth is RFC 9162's Merkle Tree Hash (2.1.1), by its recursive
// definition: the reference the tree's roots are held to.
func mth(leaves [][]byte) tlog.Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := mth(leaves[:k]), mth(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func leafData(i int) []byte { return []byte(fmt.Sprintf("leaf %d", i)) }

// grow appends n leaves to m in batches of the given sizes (cycled),
// checking every root against mth.
func grow(t *testing.T, m *MemoryHashes, n int, batches ...int) {
	t.Helper()
	ctx := context.Background()
	var all [][]byte
	for size, b := 0, 0; size < n; b++ {
		k := min(batches[b%len(batches)], n-size)
		hs := make([]tlog.Hash, k)
		for i := range hs {
			all = append(all, leafData(size+i))
			hs[i] = LeafHash(all[len(all)-1])
		}
		stored, root, err := Append(ctx, m, int64(size), hs)
		if err != nil {
			t.Fatal(err)
		}
		m.Add(stored)
		size += k
		if want := mth(all); root != want {
			t.Fatalf("root of %d leaves %s, RFC 9162 says %s", size, root, want)
		}
		if got, err := Root(ctx, m, int64(size)); err != nil || got != root {
			t.Fatalf("Root(%d) = %s, %v; Append said %s", size, got, err, root)
		}
	}
}

func TestAppendMatchesRFC9162(t *testing.T) {
	for _, batches := range [][]int{{1}, {3}, {7, 1, 16}, {100}} {
		t.Run(fmt.Sprint(batches), func(t *testing.T) {
			grow(t, &MemoryHashes{}, 130, batches...)
		})
	}
}

func TestProofs(t *testing.T) {
	ctx := context.Background()
	m := &MemoryHashes{}
	grow(t, m, 70, 5)
	at := func(size int64) Checkpoint {
		root, err := Root(ctx, m, size)
		if err != nil {
			t.Fatal(err)
		}
		return Checkpoint{Origin: "test", Size: size, Root: root}
	}
	for _, size := range []int64{1, 2, 3, 7, 8, 9, 31, 32, 33, 70} {
		c := at(size)
		for index := int64(0); index < size; index++ {
			p, err := ProveInclusion(ctx, m, size, index)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckInclusion(c, index, LeafHash(leafData(int(index))), p); err != nil {
				t.Fatalf("leaf %d of %d: %v", index, size, err)
			}
			if CheckInclusion(c, index, LeafHash([]byte("another leaf")), p) == nil {
				t.Fatalf("leaf %d of %d: a leaf that is not there was proved", index, size)
			}
		}
		for old := int64(1); old <= size; old++ {
			p, err := ProveConsistency(ctx, m, old, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckConsistency(at(old), c, p); err != nil {
				t.Fatalf("%d with %d: %v", old, size, err)
			}
			forged := at(old)
			forged.Root[0] ^= 1
			if CheckConsistency(forged, c, p) == nil {
				t.Fatalf("%d with %d: another tree of %d passed as the older one", old, size, old)
			}
		}
	}
}

// TestProofBounds: indexes and sizes outside the tree are refused with
// ErrOutOfRange, never a panic; two roots for one size are a fork.
func TestProofBounds(t *testing.T) {
	ctx := context.Background()
	m := &MemoryHashes{}
	grow(t, m, 10, 10)
	c := Checkpoint{Origin: "test", Size: 10}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"inclusion of leaf 10 of 10", func() error { _, err := ProveInclusion(ctx, m, 10, 10); return err }()},
		{"inclusion of leaf -1", func() error { _, err := ProveInclusion(ctx, m, 10, -1); return err }()},
		{"consistency of 11 with 10", func() error { _, err := ProveConsistency(ctx, m, 11, 10); return err }()},
		{"consistency of 0 with 10", func() error { _, err := ProveConsistency(ctx, m, 0, 10); return err }()},
		{"checking leaf 12 of 10", CheckInclusion(c, 12, tlog.Hash{}, nil)},
		{"checking a tree of -5", CheckConsistency(Checkpoint{Size: -5}, c, nil)},
		{"checking 20 against 10", CheckConsistency(Checkpoint{Size: 20}, c, nil)},
	} {
		if !errors.Is(tc.err, ErrOutOfRange) {
			t.Errorf("%s: %v, want ErrOutOfRange", tc.name, tc.err)
		}
	}
	if _, err := ProveInclusion(ctx, m, 1<<40, 5); err == nil {
		t.Error("a proof in a tree larger than the one stored")
	}
	if _, _, err := Append(ctx, m, -1, nil); err == nil {
		t.Error("append to a tree of -1 leaves")
	}
	a, b := Checkpoint{Size: 10}, Checkpoint{Size: 10}
	b.Root[0] = 1
	if err := CheckConsistency(a, b, nil); err == nil || !strings.Contains(err.Error(), "forked") {
		t.Errorf("two roots for one size: %v", err)
	}
}

// TestProofsAgainstAnIndependentVerifier runs RFC 9162's verification
// algorithms as written in testdata/rfc9162.py (Python, hashlib alone)
// over proofs this package made, and over some it must refuse.
func TestProofsAgainstAnIndependentVerifier(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed for the independent proof check: ", err)
	}
	ctx := context.Background()
	m := &MemoryHashes{}
	grow(t, m, 40, 3)
	var in bytes.Buffer
	var want []string
	add := func(c map[string]any, ok bool) {
		b, _ := json.Marshal(c)
		in.Write(append(b, '\n'))
		want = append(want, map[bool]string{true: "ok", false: "fail"}[ok])
	}
	hashes := func(hs []tlog.Hash) []string {
		out := make([]string, len(hs))
		for i, h := range hs {
			out[i] = h.String()
		}
		return out
	}
	for size := int64(1); size <= 40; size += 3 {
		root, _ := Root(ctx, m, size)
		for index := int64(0); index < size; index += 2 {
			p, err := ProveInclusion(ctx, m, size, index)
			if err != nil {
				t.Fatal(err)
			}
			leaf := LeafHash(leafData(int(index)))
			add(map[string]any{"kind": "inclusion", "size": size, "index": index, "leaf": leaf.String(), "root": root.String(), "proof": hashes(p)}, true)
			other := LeafHash(leafData(int(index) + 1))
			add(map[string]any{"kind": "inclusion", "size": size, "index": index, "leaf": other.String(), "root": root.String(), "proof": hashes(p)}, false)
		}
		for old := int64(1); old < size; old += 2 {
			p, err := ProveConsistency(ctx, m, old, size)
			if err != nil {
				t.Fatal(err)
			}
			oldRoot, _ := Root(ctx, m, old)
			add(map[string]any{"kind": "consistency", "old": old, "size": size, "old_root": oldRoot.String(), "root": root.String(), "proof": hashes(p)}, true)
			add(map[string]any{"kind": "consistency", "old": old, "size": size, "old_root": root.String(), "root": root.String(), "proof": hashes(p)}, false)
		}
	}
	cmd := exec.Command(python, "testdata/rfc9162.py")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rfc9162.py: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	i := 0
	for ; sc.Scan(); i++ {
		if i < len(want) && sc.Text() != want[i] {
			t.Errorf("case %d: the independent verifier says %s, want %s", i+1, sc.Text(), want[i])
		}
	}
	if i != len(want) {
		t.Fatalf("the independent verifier answered %d of %d cases", i, len(want))
	}
}

// BenchmarkAppend appends leaves in groups of 64, as group commit would,
// with the root of every group and a signed checkpoint every 1,000
// groups (one a second at 64,000 leaves a second). Issue 15's target:
// ≥ 50,000 leaves/s.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	skey, _, _ := GenerateKey("bench.example/log")
	s, _ := NewSigner(skey)
	m := &MemoryHashes{}
	hs := make([]tlog.Hash, 64)
	size := int64(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range hs {
			hs[j] = LeafHash([]byte(fmt.Sprint(size + int64(j))))
		}
		stored, root, err := Append(ctx, m, size, hs)
		if err != nil {
			b.Fatal(err)
		}
		m.Add(stored)
		size += int64(len(hs))
		if i%1000 == 0 {
			if _, err := s.Sign(size, root); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(size)/b.Elapsed().Seconds(), "leaves/s")
}
