package translog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/tlog"
)

// Errors of Witness.Update; both name the two tree sizes.
var (
	// ErrRollback: the log offers a smaller tree than one it signed before.
	ErrRollback = errors.New("translog: the log rolled back")
	// ErrFork: the log signed two trees that cannot both be true — two
	// roots for one size, or a larger tree that does not extend the one
	// kept.
	ErrFork = errors.New("translog: the log forked")
)

// Witness keeps the newest checkpoint of one log that it has verified,
// in a directory of its own: latest.checkpoint, the signed note, and
// checkpoints.log, every checkpoint accepted, appended in order. It
// accepts a newer checkpoint only with a proof that it extends the one
// kept, so a log that rewrites its past is caught by whoever keeps a
// witness.
type Witness struct {
	v      *Verifier
	dir    string
	latest Checkpoint
	signed []byte // latest as signed; nil before the first
}

const (
	latestFile  = "latest.checkpoint"
	historyFile = "checkpoints.log"
)

// OpenWitness reads the state kept in dir (created if missing). A state
// kept for another log, or whose checkpoint no longer verifies, is an
// error: a witness never silently starts over.
func OpenWitness(dir string, v *Verifier) (*Witness, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("translog: witness state: %w", err)
	}
	w := &Witness{v: v, dir: dir}
	signed, err := os.ReadFile(filepath.Join(dir, latestFile))
	if errors.Is(err, os.ErrNotExist) {
		return w, nil
	}
	if err != nil {
		return nil, fmt.Errorf("translog: witness state: %w", err)
	}
	c, err := v.Open(signed)
	if err != nil {
		return nil, fmt.Errorf("translog: witness state %s is not a checkpoint of this log: %w", filepath.Join(dir, latestFile), err)
	}
	w.latest, w.signed = c, signed
	return w, nil
}

// Latest is the newest checkpoint kept; ok is false before the first.
func (w *Witness) Latest() (c Checkpoint, signed []byte, ok bool) {
	return w.latest, w.signed, w.signed != nil
}

// Update verifies signed and, if it is newer than the checkpoint kept,
// asks prove for the consistency proof from the kept size to its size,
// checks it, and keeps it. The same checkpoint again is accepted as it
// is; a smaller tree is ErrRollback; a different root for the same size,
// or a proof that fails, is ErrFork.
func (w *Witness) Update(signed []byte, prove func(old, size int64) (tlog.TreeProof, error)) (Checkpoint, error) {
	c, err := w.v.Open(signed)
	if err != nil {
		return Checkpoint{}, err
	}
	if w.signed != nil {
		old := w.latest
		switch {
		case c.Size < old.Size:
			return Checkpoint{}, fmt.Errorf("%w: offered a tree of %d after one of %d", ErrRollback, c.Size, old.Size)
		case c.Size == old.Size && c.Root != old.Root:
			return Checkpoint{}, fmt.Errorf("%w: two roots for a tree of %d (%s kept, %s offered)", ErrFork, c.Size, old.Root, c.Root)
		case c.Size == old.Size:
			return c, nil
		}
		if old.Size > 0 {
			p, err := prove(old.Size, c.Size)
			if err != nil {
				return Checkpoint{}, fmt.Errorf("translog: consistency proof from %d to %d: %w", old.Size, c.Size, err)
			}
			if err := CheckConsistency(old, c, p); err != nil {
				return Checkpoint{}, fmt.Errorf("%w: the tree of %d does not extend the tree of %d kept: %v", ErrFork, c.Size, old.Size, err)
			}
		}
	}
	if err := w.keep(signed); err != nil {
		return Checkpoint{}, err
	}
	w.latest, w.signed = c, bytes.Clone(signed)
	return c, nil
}

// keep appends signed to the history, then replaces the latest file by
// rename, each synced: a crash leaves the old state or the new.
func (w *Witness) keep(signed []byte) error {
	// Signed notes end in a newline; a blank line separates them.
	err := writeSynced(filepath.Join(w.dir, historyFile), os.O_APPEND, append(bytes.Clone(signed), '\n'))
	if err != nil {
		return fmt.Errorf("translog: witness history: %w", err)
	}
	tmp := filepath.Join(w.dir, latestFile+".tmp")
	err = writeSynced(tmp, os.O_TRUNC, signed)
	if err == nil {
		err = os.Rename(tmp, filepath.Join(w.dir, latestFile))
	}
	if err != nil {
		return fmt.Errorf("translog: witness state: %w", err)
	}
	return nil
}

// writeSynced writes b to path (opened with flag: O_APPEND or O_TRUNC)
// and syncs it.
func writeSynced(path string, flag int, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|flag, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SplitNotes cuts a file of signed notes, each followed by a blank line
// as a Witness's history keeps them (a single note, with or without the
// blank line, is a file of one), into the notes. Each note is its text,
// a blank line, and its signature lines.
func SplitNotes(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(bytes.TrimLeft(b, "\n")) > 0 {
		start := len(b) - len(bytes.TrimLeft(b, "\n"))
		b = b[start:]
		text := bytes.Index(b, []byte("\n\n"))
		if text < 0 {
			return nil, fmt.Errorf("%w: note %d has no signatures", ErrBadCheckpoint, len(out)+1)
		}
		end := len(b)
		if sep := bytes.Index(b[text+2:], []byte("\n\n")); sep >= 0 {
			end = text + 2 + sep + 1
		}
		out = append(out, b[:end])
		b = b[end:]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no note", ErrBadCheckpoint)
	}
	return out, nil
}

// ReadCheckpoints reads and verifies every checkpoint kept at path: a
// file of signed notes (one checkpoint, or a witness's history), or a
// witness's (or a gateway's checkpoint) directory, whose history and
// latest checkpoint are read. Any note that does not verify is an error
// naming it.
func ReadCheckpoints(path string, v *Verifier) ([]Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("translog: checkpoints: %w", err)
	}
	files := []string{path}
	if st.IsDir() {
		files = []string{filepath.Join(path, historyFile), filepath.Join(path, latestFile)}
	}
	var out []Checkpoint
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("translog: checkpoints: %w", err)
		}
		notes, err := SplitNotes(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for i, n := range notes {
			c, err := v.Open(n)
			if err != nil {
				return nil, fmt.Errorf("%s: note %d: %w", f, i+1, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}
