package translog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// logFixture is a log a witness watches: its tree, and a signed
// checkpoint of any size.
type logFixture struct {
	t    *testing.T
	m    *MemoryHashes
	s    *Signer
	size int64
}

func (l *logFixture) grow(n int) {
	hs := make([]tlog.Hash, n)
	for i := range hs {
		hs[i] = LeafHash(leafData(int(l.size) + i))
	}
	stored, _, err := Append(context.Background(), l.m, l.size, hs)
	if err != nil {
		l.t.Fatal(err)
	}
	l.m.Add(stored)
	l.size += int64(n)
}

func (l *logFixture) checkpoint(size int64) []byte {
	root, err := Root(context.Background(), l.m, size)
	if err != nil {
		l.t.Fatal(err)
	}
	msg, err := l.s.Sign(size, root)
	if err != nil {
		l.t.Fatal(err)
	}
	return msg
}

func (l *logFixture) prove(old, size int64) (tlog.TreeProof, error) {
	return ProveConsistency(context.Background(), l.m, old, size)
}

func TestWitness(t *testing.T) {
	s, v := testKeys(t, origin)
	lg := &logFixture{t: t, m: &MemoryHashes{}, s: s}
	lg.grow(5)
	dir := t.TempDir()
	w, err := OpenWitness(dir, v)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := w.Latest(); ok {
		t.Fatal("a new witness has a checkpoint")
	}
	for _, size := range []int64{3, 5, 5} {
		if _, err := w.Update(lg.checkpoint(size), lg.prove); err != nil {
			t.Fatalf("checkpoint of %d: %v", size, err)
		}
	}
	lg.grow(20)
	if c, err := w.Update(lg.checkpoint(25), lg.prove); err != nil || c.Size != 25 {
		t.Fatalf("the log grew to 25: %+v %v", c, err)
	}

	// Rollback: a smaller tree than one signed before.
	if _, err := w.Update(lg.checkpoint(10), lg.prove); !errors.Is(err, ErrRollback) ||
		!strings.Contains(err.Error(), "10") || !strings.Contains(err.Error(), "25") {
		t.Errorf("rollback to 10: %v", err)
	}

	// Fork of equal size: the same key signs another tree of 25 (the
	// owner of the log rewrote leaf 7 and re-signed).
	forked := &logFixture{t: t, m: &MemoryHashes{}, s: s}
	forked.grow(7)
	forked.m.Add(mustAppend(t, forked.m, 7, LeafHash([]byte("rewritten"))))
	forked.size = 8
	forked.grow(17)
	if _, err := w.Update(forked.checkpoint(25), forked.prove); !errors.Is(err, ErrFork) || !strings.Contains(err.Error(), "25") {
		t.Errorf("another tree of 25: %v", err)
	}
	// And a larger tree that does not extend the one kept.
	forked.grow(5)
	if _, err := w.Update(forked.checkpoint(30), forked.prove); !errors.Is(err, ErrFork) ||
		!strings.Contains(err.Error(), "30") || !strings.Contains(err.Error(), "25") {
		t.Errorf("a tree of 30 that does not extend 25: %v", err)
	}

	// The refusals changed nothing; the state survives a restart.
	w2, err := OpenWitness(dir, v)
	if err != nil {
		t.Fatal(err)
	}
	if c, _, ok := w2.Latest(); !ok || c.Size != 25 {
		t.Fatalf("after a restart: %+v", c)
	}
	history, _ := os.ReadFile(filepath.Join(dir, historyFile))
	if n := strings.Count(string(history), "— "+origin); n != 3 {
		t.Errorf("history holds %d checkpoints, want 3 (3, 5, 25)", n)
	}

	// A witness state from another log is refused, not overwritten.
	_, otherV := testKeys(t, "other.example/log")
	if _, err := OpenWitness(dir, otherV); err == nil {
		t.Error("a witness of another log opened this log's state")
	}
}

func mustAppend(t *testing.T, m *MemoryHashes, size int64, h tlog.Hash) []tlog.Hash {
	t.Helper()
	stored, _, err := Append(context.Background(), m, size, []tlog.Hash{h})
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func TestReadCheckpoints(t *testing.T) {
	skey, vkey, _ := GenerateKey("read.example/log")
	s, _ := NewSigner(skey)
	v, _ := NewVerifier(vkey)
	dir := t.TempDir()
	w, err := OpenWitness(dir, v)
	if err != nil {
		t.Fatal(err)
	}
	m := &MemoryHashes{}
	var sizes []int64
	size := int64(0)
	for _, n := range []int{3, 4, 9} {
		hs := make([]tlog.Hash, n)
		for i := range hs {
			hs[i] = LeafHash([]byte{byte(size), byte(i)})
		}
		stored, root, err := Append(context.Background(), m, size, hs)
		if err != nil {
			t.Fatal(err)
		}
		m.Add(stored)
		size += int64(n)
		signed, _ := s.Sign(size, root)
		if _, err := w.Update(signed, func(old, size int64) (tlog.TreeProof, error) {
			return ProveConsistency(context.Background(), m, old, size)
		}); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, size)
	}
	cps, err := ReadCheckpoints(dir, v)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, c := range cps {
		got = append(got, c.Size)
	}
	if fmt.Sprint(got) != fmt.Sprint(append(sizes, size)) {
		t.Fatalf("sizes read %v, want %v and the latest", got, sizes)
	}
	one, err := ReadCheckpoints(filepath.Join(dir, latestFile), v)
	if err != nil || len(one) != 1 || one[0].Size != size {
		t.Fatalf("one file: %v, %v", one, err)
	}
	_, other, _ := GenerateKey("other.example/log")
	ov, _ := NewVerifier(other)
	if _, err := ReadCheckpoints(dir, ov); !errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("another log's verifier: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("origin\n1\n"), 0o600)
	if _, err := ReadCheckpoints(bad, v); !errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("a note without signatures: %v", err)
	}
}

func FuzzSplitNotes(f *testing.F) {
	f.Add([]byte("a\n1\nx\n\n— k sig\n\nb\n2\ny\n\n— k sig\n"))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte("a\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		notes, err := SplitNotes(b)
		if err != nil {
			return
		}
		for _, n := range notes {
			if !bytes.Contains(n, []byte("\n\n")) {
				t.Fatalf("a note without its blank line: %q", n)
			}
		}
	})
}
